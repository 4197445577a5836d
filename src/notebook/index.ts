/** Notebook helpers (tslab): static figures, tables, images, committed ablation results, scale. */
export * from './display';
