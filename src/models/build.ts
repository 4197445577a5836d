/** Build the network a config asks for. */
import type { TrainConfig } from '../config/schema';
import { Mlp } from './mlp';
import { UNetNetwork } from './unet';
import type { Network } from './types';

/** Fixed frequencies of the Fourier embedding come from the run's seed (stream inside embedding.ts). */
export function buildNetwork(cfg: TrainConfig, shape: readonly number[]): Network & { dispose(): void } {
  const m = cfg.model;
  switch (m.kind) {
    case 'mlp':
      return new Mlp({
        dataDim: shape.reduce((a, b) => a * b, 1),
        hidden: m.hidden,
        depth: m.depth,
        embedding: m.embedding,
        dropout: m.dropout,
        embeddingSeed: cfg.seed,
      });
    case 'unet': {
      const [height, width, imageChannels] = shape;
      if (shape.length !== 3 || height === undefined || width === undefined || imageChannels === undefined) {
        throw new RangeError(`a U-Net needs image data [H, W, C], got examples of shape [${shape}]`);
      }
      const { sigmaData, sigmaMin } = cfg.noise;
      return new UNetNetwork(
        {
          imageChannels,
          height,
          width,
          channels: m.channels,
          numResBlocks: m.numResBlocks,
          embedding: m.embedding,
          dropout: m.dropout,
          groups: m.groups,
          attentionHeads: m.attention?.heads ?? 0,
          scalings: { sigmaData, sigmaMin },
        },
        cfg.seed,
      );
    }
  }
}
