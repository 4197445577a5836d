/**
 * MLP consistency network for 2D data: [c_in·x, emb(σ)] -> depth × (Dense, SiLU, dropout) -> Dense.
 * The noise embedding is one of the two of iCT Sec. 3.1 (Fourier with scale s, or positional).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../util/rng';
import { embedNoise, embeddingFrequencies, type NoiseEmbeddingSpec } from './embedding';
import type { DropoutMasks, Network, ParamSpec } from './types';
import { silu } from './silu';

export interface MlpSpec {
  dataDim: number; // 2 for points
  hidden: number;
  depth: number;
  embedding: NoiseEmbeddingSpec;
  dropout: number;
  /** Seed of the fixed Fourier frequencies (part of the model, not trained). */
  embeddingSeed: number;
}

const INIT_STREAM = 0x1417;

export class Mlp implements Network {
  readonly params: readonly ParamSpec[];
  readonly dataDim: number;
  private readonly freqs: tf.Tensor1D;

  constructor(readonly spec: MlpSpec) {
    if (!Number.isInteger(spec.depth) || spec.depth < 1) throw new RangeError(`mlp depth must be an integer >= 1, got ${spec.depth}`);
    if (!Number.isInteger(spec.hidden) || spec.hidden < 1) throw new RangeError(`mlp hidden must be an integer >= 1, got ${spec.hidden}`);
    if (!(spec.dropout >= 0 && spec.dropout < 1)) throw new RangeError(`mlp dropout must be in [0, 1), got ${spec.dropout}`);
    this.dataDim = spec.dataDim;
    const params: ParamSpec[] = [];
    let fanIn = spec.dataDim + spec.embedding.dim;
    for (let l = 0; l < spec.depth; l++) {
      params.push({ name: `dense${l}/kernel`, shape: [fanIn, spec.hidden] }, { name: `dense${l}/bias`, shape: [spec.hidden] });
      fanIn = spec.hidden;
    }
    params.push({ name: 'out/kernel', shape: [fanIn, spec.dataDim] }, { name: 'out/bias', shape: [spec.dataDim] });
    this.params = params;
    this.freqs = tf.keep(tf.tensor1d(embeddingFrequencies(spec.embedding, spec.embeddingSeed)));
  }

  /** Glorot-uniform kernels, zero biases. */
  init(seed: number): Float32Array[] {
    const rng = new Rng(seed, INIT_STREAM);
    return this.params.map((p) => {
      const size = p.shape.reduce((a, b) => a * b, 1);
      const w = new Float32Array(size);
      if (p.shape.length === 2) {
        const limit = Math.sqrt(6 / ((p.shape[0] as number) + (p.shape[1] as number)));
        for (let i = 0; i < size; i++) w[i] = (2 * rng.uniform() - 1) * limit;
      }
      return w;
    });
  }

  dropoutShapes(batch: number): number[][] {
    if (this.spec.dropout === 0) return [];
    return Array.from({ length: this.spec.depth }, () => [batch, this.spec.hidden]);
  }

  apply(weights: readonly tf.Tensor[], xIn: tf.Tensor, sigma: tf.Tensor1D, masks: DropoutMasks | null): tf.Tensor {
    if (weights.length !== this.params.length) {
      throw new RangeError(`mlp: expected ${this.params.length} weight tensors, got ${weights.length}`);
    }
    return tf.tidy(() => {
      const emb = embedNoise(sigma, this.spec.embedding, this.freqs); // [B, E]
      let h: tf.Tensor2D = tf.concat([xIn as tf.Tensor2D, emb], 1); // [B, d + E]
      for (let l = 0; l < this.spec.depth; l++) {
        const kernel = weights[2 * l] as tf.Tensor2D;
        const bias = weights[2 * l + 1] as tf.Tensor1D;
        h = tf.add(tf.matMul(h, kernel), bias); // [B, H]
        h = silu(h, masks?.[l] ?? null); // SiLU, then the dropout mask (one fused kernel where the backend has it)
      }
      const k = this.params.length;
      return tf.add(tf.matMul(h, weights[k - 2] as tf.Tensor2D), weights[k - 1] as tf.Tensor1D); // [B, d]
    });
  }

  dispose(): void {
    this.freqs.dispose();
  }
}
