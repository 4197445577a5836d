/** Build the network a config asks for. */
import type { TrainConfig } from '../config/schema';
import { Mlp } from './mlp';
import type { Network } from './types';

/** Fixed frequencies of the Fourier embedding come from the run's seed (stream inside embedding.ts). */
export function buildNetwork(cfg: TrainConfig, dataDim: number): Network & { dispose(): void } {
  const m = cfg.model;
  switch (m.kind) {
    case 'mlp':
      return new Mlp({ dataDim, hidden: m.hidden, depth: m.depth, embedding: m.embedding, dropout: m.dropout, embeddingSeed: cfg.seed });
  }
}
