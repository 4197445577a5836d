/**
 * MLP consistency network for 2D data: [c_in·x, emb(σ)] -> depth × (Dense, SiLU, dropout) -> Dense.
 * The noise embedding is one of the two of iCT Sec. 3.1 (Fourier with scale s, or positional).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../util/rng';
import { embedNoise, embeddingFrequencies, type NoiseEmbeddingSpec } from './embedding';
import type { ApplyOptions, DropoutMasks, Network, ParamSpec } from './types';
import { silu } from './silu';
import { MLP_GRAD_KERNEL, MLP_KERNEL, type MlpAttrs } from '../kernels';

/** Whether the active backend runs the whole MLP as one kernel each way (the native kernels on wasm). */
export function hasFusedMlp(): boolean {
  const b = tf.getBackend();
  return tf.getKernel(MLP_KERNEL, b) !== undefined && tf.getKernel(MLP_GRAD_KERNEL, b) !== undefined;
}

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

  apply(weights: readonly tf.Tensor[], xIn: tf.Tensor, sigma: tf.Tensor1D, masks: DropoutMasks | null, opts: ApplyOptions = {}): tf.Tensor {
    this.checkCall(weights, masks);
    if (hasFusedMlp() && xIn.rank === 2) return this.applyFused(weights, xIn as tf.Tensor2D, sigma, masks, opts.constant === true, null);
    return this.applyComposite(weights, xIn, sigma, masks);
  }

  /**
   * skip + cOut·F_θ(xIn, σ), the consistency function from its prepared input (Network.applyAffine):
   * one kernel call each way where the fused MLP runs, else `apply` and two ops.
   */
  applyAffine(
    weights: readonly tf.Tensor[],
    xIn: tf.Tensor,
    sigma: tf.Tensor1D,
    masks: DropoutMasks | null,
    skip: tf.Tensor,
    cOut: tf.Tensor,
    opts: ApplyOptions = {},
  ): tf.Tensor {
    this.checkCall(weights, masks);
    if (hasFusedMlp() && xIn.rank === 2) return this.applyFused(weights, xIn as tf.Tensor2D, sigma, masks, opts.constant === true, { skip, cOut });
    return tf.tidy(() => tf.add(skip, tf.mul(this.applyComposite(weights, xIn, sigma, masks), cOut)));
  }

  private checkCall(weights: readonly tf.Tensor[], masks: DropoutMasks | null): void {
    if (weights.length !== this.params.length) {
      throw new RangeError(`mlp: expected ${this.params.length} weight tensors, got ${weights.length}`);
    }
    if (masks && masks.length > 0 && masks.length !== this.spec.depth)
      throw new RangeError(`mlp: expected ${this.spec.depth} dropout masks, got ${masks.length}`);
  }

  /** The network as TF.js ops (any backend; TF.js differentiates it). */
  applyComposite(weights: readonly tf.Tensor[], xIn: tf.Tensor, sigma: tf.Tensor1D, masks: DropoutMasks | null): tf.Tensor {
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

  /**
   * The same function as one MLP kernel forward and one backward (src/kernels.ts MLP_KERNEL): the
   * gradient flows to the weights, x and σ; the masks are constants of the step (zeros stand in).
   * `constant`: the forward alone, keeping nothing for a gradient (see ApplyOptions). `affine`: the
   * output is skip + cOut·F (applyAffine), and the gradient also flows to skip and cOut.
   */
  private applyFused(
    weights: readonly tf.Tensor[],
    xIn: tf.Tensor2D,
    sigma: tf.Tensor1D,
    masks: DropoutMasks | null,
    constant: boolean,
    affine: { skip: tf.Tensor; cOut: tf.Tensor } | null,
  ): tf.Tensor {
    const layers = this.spec.depth + 1;
    const ms = masks ?? [];
    const attrs: MlpAttrs = { layers, embedding: this.spec.embedding.kind, masks: ms.length > 0, save: !constant, affine: affine !== null };
    const freqs = this.freqs;
    const ends = affine ? [affine.skip, affine.cOut] : [];
    // inputs in the kernels' order: x, σ, w0, b0, …, [skip, cOut], masks
    const named = (ts: readonly tf.Tensor[]): tf.NamedTensorMap => {
      const m: tf.NamedTensorMap = { x: ts[0] as tf.Tensor, sigma: ts[1] as tf.Tensor, freqs };
      for (let i = 0; i < 2 * layers; i++) m[`${i % 2 === 0 ? 'w' : 'b'}${i >> 1}`] = ts[2 + i] as tf.Tensor;
      if (affine) [m.skip, m.cOut] = ts.slice(2 + 2 * layers, 4 + 2 * layers) as [tf.Tensor, tf.Tensor];
      ts.slice(2 + 2 * layers + ends.length).forEach((t, i) => (m[`m${i}`] = t));
      return m;
    };
    const inputs = [xIn, sigma, ...weights, ...ends, ...ms];
    if (constant) return (tf.engine().runKernel(MLP_KERNEL, named(inputs), attrs) as unknown as tf.Tensor[])[0] as tf.Tensor;
    const hidden = layers - 1;
    const maskShapes = ms.map((m) => m.shape);
    const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const save = args[args.length - 1] as tf.GradSaveFunc;
      const ts = args.slice(0, -1) as tf.Tensor[];
      // y, then each hidden layer's h and its SiLU factor f (the masks are inside them), then F (affine)
      const [y, ...kept] = tf.engine().runKernel(MLP_KERNEL, named(ts), attrs) as unknown as tf.Tensor[];
      const ws = ts.slice(2, 2 + 2 * layers).filter((_, i) => i % 2 === 0);
      save([ts[0] as tf.Tensor, ts[1] as tf.Tensor, ...ws, ...kept, ...(affine ? [ts[3 + 2 * layers] as tf.Tensor] : [])]);
      return {
        value: y as tf.Tensor,
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
          const g: tf.NamedTensorMap = { dy: dy as tf.Tensor, x: saved[0] as tf.Tensor, sigma: saved[1] as tf.Tensor, freqs };
          saved.slice(2, 2 + layers).forEach((w, l) => (g[`w${l}`] = w));
          saved.slice(2 + layers, 2 + layers + 2 * hidden).forEach((t, i) => (g[`${i < hidden ? 'h' : 'f'}${i % hidden}`] = t));
          if (affine) [g.F, g.cOut] = saved.slice(2 + layers + 2 * hidden) as [tf.Tensor, tf.Tensor];
          // dx, dσ, dw0, db0, …, [dskip, dcOut]: the inputs' order
          const grads = tf.engine().runKernel(MLP_GRAD_KERNEL, g, attrs) as unknown as tf.Tensor[];
          return [...grads, ...maskShapes.map((shape) => tf.zeros(shape))];
        },
      };
    });
    return run(...inputs);
  }

  dispose(): void {
    this.freqs.dispose();
  }
}
