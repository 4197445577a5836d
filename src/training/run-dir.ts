/** Moved to src/run/run-dir.ts (the one module that reads and writes run directories); kept for old imports. */
export * from '../run/run-dir';
