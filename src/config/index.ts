export * from './schema';
export * from './presets';
export { mergeConfig, mergeUntyped, type DeepPartial } from './merge';
export * from './data-kind';
