export * from './karras';
export * from './curriculum';
export * from './noise-levels';
export * from './target-ema';
