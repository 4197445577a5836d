/**
 * One consistency-training step, the unit the benchmark times (and the leak test repeats), for any
 * `Network` (src/models/types): teacher forward f_{θ⁻}(x + σ_n z, σ_n) with the EMA weights and the
 * same dropout masks (outside the tape: stop-gradient), student forward and backward of
 * λ·pseudo-Huber(f_θ(x + σ_{n+1} z, σ_{n+1}), target) with λ = 1/(σ_{n+1} − σ_n), an Adam update
 * (src/optim, fused on wasm) and the EMA of the weights.
 *
 * Models: `benchUNet` (src/models/unet.ts, batch 32, 16x16x1, widths 32/64) and `benchMlp`
 * (src/models/mlp.ts, 2-D points, 3 x 256 SiLU, batch 512).
 */
import * as tf from '@tensorflow/tfjs';
import { UNetNetwork, type UNetConfig, DropoutMasks } from '../src/models/unet';
import { Mlp } from '../src/models/mlp';
import type { Network } from '../src/models/types';
import { createOptimizer, type Optimizer } from '../src/optim/index';
import { consistencyFunction } from '../src/consistency/model';
import { Rng } from '../src/util/rng';

export interface StepRunner {
  name: string;
  numParams: number;
  /** One full training step; returns the loss when asked (a sync read), else NaN. */
  step(readLoss?: boolean): number;
  dispose(): void;
}

export const BENCH_UNET: UNetConfig = {
  imageChannels: 1,
  channels: [32, 64],
  numResBlocks: 1,
  embedding: { kind: 'fourier', scale: 0.02, dim: 32 },
  embDim: 128,
  groups: 8,
  dropout: 0.1,
};
export const BENCH_UNET_BATCH = 32;
export const BENCH_UNET_SIZE = 16;

export const BENCH_MLP = { dataDim: 2, hidden: 256, depth: 3, embedding: { kind: 'fourier' as const, scale: 0.02, dim: 32 }, dropout: 0.1 };
export const BENCH_MLP_BATCH = 512;

/** Karras-grid noise pairs σ_n < σ_{n+1} (N = 11 levels, as the first iCT stage), drawn from rng. */
function sigmaPairs(rng: Rng, B: number): [Float32Array, Float32Array] {
  const N = 11;
  const [smin, smax, rho] = [0.002, 80, 7];
  const grid = Array.from({ length: N }, (_, i) => (smin ** (1 / rho) + (i / (N - 1)) * (smax ** (1 / rho) - smin ** (1 / rho))) ** rho);
  const lo = new Float32Array(B);
  const hi = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    const i = rng.int(N - 1);
    lo[b] = grid[i] as number;
    hi[b] = grid[i + 1] as number;
  }
  return [lo, hi];
}

export function networkStep(opts: {
  name: string;
  net: Network & { dispose(): void };
  dataShape: number[];
  batch: number;
  dropout: number;
  seed?: number;
  emaRate?: number;
  lr?: number;
}): StepRunner {
  const { net, dataShape, batch: B } = opts;
  const seed = opts.seed ?? 0;
  const init = net.init(seed);
  const params = net.params.map((p, i) => tf.tidy(() => tf.variable(tf.tensor(init[i] as Float32Array, p.shape), true)));
  const ema = params.map((p) => tf.variable(p, false));
  const opt: Optimizer = createOptimizer({ kind: 'adam', lr: opts.lr ?? 1e-4 }, params);
  const d = dataShape.reduce((a, b) => a * b, 1);
  const c = 0.00054 * Math.sqrt(d);
  const rate = opts.emaRate ?? 0.999;
  const dataRng = new Rng(seed, 1);
  const x0 = tf.keep(tf.tensor(dataRng.fillUniform(new Float32Array(B * d)).map((v) => v - 0.5), [B, ...dataShape]));
  const bshape = [B, ...dataShape.map(() => 1)];
  const maskShapes = net.dropoutShapes(B);
  let k = 0;
  return {
    name: opts.name,
    numParams: net.params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0),
    step(readLoss = false) {
      const rng = new Rng(seed, 2, k);
      const [lo, hi] = sigmaPairs(rng, B);
      const z = rng.fillNormal(new Float32Array(B * d));
      const dm = new DropoutMasks(seed, k);
      k++;
      let lossValue = NaN;
      tf.tidy(() => {
        const masks = opts.dropout > 0 ? dm.masks(maskShapes, opts.dropout) : null;
        const sLo = tf.tensor1d(lo);
        const sHi = tf.tensor1d(hi);
        const zt = tf.tensor(z, [B, ...dataShape]);
        const xLo = tf.add(x0, tf.mul(zt, tf.reshape(sLo, bshape)));
        const xHi = tf.add(x0, tf.mul(zt, tf.reshape(sHi, bshape)));
        const weight = tf.div(1, tf.sub(sHi, sLo));
        const target = consistencyFunction(net, ema, xLo, sLo, masks); // outside the tape: stop-gradient
        const { value, grads } = tf.variableGrads(() => {
          const pred = consistencyFunction(net, params, xHi, sHi, masks);
          const diff = tf.reshape(tf.sub(pred, target), [B, d]);
          const dist = tf.sub(tf.sqrt(tf.add(tf.sum(tf.square(diff), 1), c * c)), c);
          return tf.mean(tf.mul(dist, weight)) as tf.Scalar;
        }, params);
        opt.step(params.map((p) => grads[p.name] as tf.Tensor));
        opt.emaUpdate(ema, params, rate);
        if (readLoss) lossValue = value.dataSync()[0] as number;
      });
      dm.dispose();
      return lossValue;
    },
    dispose() {
      opt.dispose();
      tf.dispose([...ema, ...params, x0]);
      net.dispose();
    },
  };
}

export function benchUNet(opts: { batch?: number; size?: number; config?: UNetConfig; seed?: number } = {}): StepRunner {
  const config = opts.config ?? BENCH_UNET;
  const size = opts.size ?? BENCH_UNET_SIZE;
  const net = new UNetNetwork({ ...config, height: size, width: size }, opts.seed ?? 0);
  return networkStep({ name: 'unet', net, dataShape: [size, size, config.imageChannels], batch: opts.batch ?? BENCH_UNET_BATCH, dropout: config.dropout ?? 0, seed: opts.seed });
}

export function benchMlp(opts: { batch?: number; seed?: number } = {}): StepRunner {
  const net = new Mlp({ ...BENCH_MLP, embeddingSeed: opts.seed ?? 0 });
  return networkStep({ name: 'mlp', net, dataShape: [BENCH_MLP.dataDim], batch: opts.batch ?? BENCH_MLP_BATCH, dropout: BENCH_MLP.dropout, seed: opts.seed });
}

export interface Sampler {
  batch: number;
  numParams: number;
  /** One-step sampling of `batch` images: f_θ(σ_max·z, σ_max), read back to the CPU. */
  sample(): Float32Array;
  dispose(): void;
}

/** 1-step sampling with the bench U-Net (no dropout, fixed weights from the seed). */
export function benchUNetSampler(opts: { batch?: number; seed?: number } = {}): Sampler {
  const size = BENCH_UNET_SIZE;
  const B = opts.batch ?? 256;
  const seed = opts.seed ?? 0;
  const net = new UNetNetwork({ ...BENCH_UNET, height: size, width: size }, seed);
  const weights = net.init(seed).map((w, i) => tf.tensor(w, (net.params[i] as { shape: number[] }).shape));
  const rng = new Rng(seed, 3);
  const sigmaMax = 80;
  const x = tf.tensor(rng.fillNormal(new Float32Array(B * size * size * BENCH_UNET.imageChannels)).map((v) => v * sigmaMax), [B, size, size, BENCH_UNET.imageChannels]);
  const sigma = tf.fill([B], sigmaMax) as tf.Tensor1D;
  return {
    batch: B,
    numParams: net.params.reduce((a, p) => a + p.shape.reduce((q, r) => q * r, 1), 0),
    sample() {
      const out = tf.tidy(() => consistencyFunction(net, weights, x, sigma, null));
      const v = out.dataSync() as Float32Array;
      out.dispose();
      return v;
    },
    dispose() {
      tf.dispose([...weights, x, sigma]);
      net.dispose();
    },
  };
}
