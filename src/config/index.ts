export * from './schema';
export * from './presets';
export { mergeConfig } from './merge';
