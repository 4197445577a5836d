/**
 * The unit the benchmark times: the trainer's own training step (`trainStep` in
 * src/training/ct-step.ts, the function `ctlab train` runs each step), on a model state built by the
 * trainer's `createModelState` from a ctlab config. Nothing of the step is copied here: the draw of
 * (x, z, σ pairs, λ, dropout masks), the target pass (θ⁻ = stopgrad θ, outside the tape), the
 * student pass and its gradients, the pseudo-Huber loss with iCT's weighting, the optimizer update
 * and the sampling EMA all come from the kit.
 *
 * Configs: the iCT preset with the bench's scale: `BENCH_UNET_CONFIG` (16×16×1 images, U-Net widths
 * 32/64, GroupNorm(8), dropout 0.1, batch 32) and `BENCH_MLP_CONFIG` (2-D points, 3 × 256 SiLU,
 * dropout 0.1, batch 512); Adam at lr 1e-4 and EMA 0.999, as bench/pytorch_step.py does. The
 * training examples are uniform noise in [−0.5, 0.5] of the right shape (the step's cost does not
 * depend on their values), so the bench needs no data set.
 */
import * as tf from '@tensorflow/tfjs';
import { buildConfig } from '../src/config/presets';
import type { TrainConfig } from '../src/config/schema';
import { consistencyFunction } from '../src/consistency/model';
import { SIGMA_MAX } from '../src/constants';
import { exampleShape } from '../src/data/source';
import { buildNetwork } from '../src/models/build';
import { stepContext, trainStep } from '../src/training/ct-step';
import { createModelState } from '../src/training/model-state';
import { Rng } from '../src/util/rng';

export interface StepRunner {
  name: string;
  numParams: number;
  /** One training step of the trainer (it reads the loss back, as the trainer does). */
  step(): Promise<number>;
  dispose(): void;
}

export const BENCH_UNET_SIZE = 16;
export const BENCH_UNET_BATCH = 32;
export const BENCH_MLP_BATCH = 512;
const BENCH_SCALE = { optimizer: { kind: 'adam', lr: 1e-4 }, emaRate: 0.999, checkpointEvery: 1_000_000, evalEvery: 0 } as const;

/** The U-Net step's config: the iCT preset at the image scale with the bench's net. */
export const BENCH_UNET_CONFIG: TrainConfig = buildConfig(
  'ict',
  {
    ...BENCH_SCALE,
    name: 'bench-unet',
    batchSize: BENCH_UNET_BATCH,
    data: { kind: 'fashion-mnist', size: BENCH_UNET_SIZE },
    model: { kind: 'unet', channels: [32, 64], numResBlocks: 1, groups: 8, embedding: { kind: 'fourier', scale: 0.02, dim: 32 }, dropout: 0.1 },
  },
  'fashion-mnist',
);

/** The MLP step's config: the iCT preset at the 2D scale with a 3 × 256 MLP. */
export const BENCH_MLP_CONFIG: TrainConfig = buildConfig('ict', {
  ...BENCH_SCALE,
  name: 'bench-mlp',
  batchSize: BENCH_MLP_BATCH,
  model: { kind: 'mlp', hidden: 256, depth: 3, embedding: { kind: 'fourier', scale: 0.02, dim: 32 }, dropout: 0.1 },
});

/** A runner of the trainer's step for `cfg` on synthetic examples. */
export function benchStep(cfg: TrainConfig, opts: { seed?: number; examples?: number } = {}): StepRunner {
  const seed = opts.seed ?? 0;
  const shape = exampleShape(cfg.data);
  const d = shape.reduce((a, b) => a * b, 1);
  const train = new Rng(seed, 1).fillUniform(new Float32Array((opts.examples ?? 1024) * d)).map((v) => v - 0.5);
  const config = { ...cfg, seed };
  const state = createModelState(config, shape);
  const ctx = stepContext(config, state.net, train, shape);
  let k = 0;
  return {
    name: cfg.model.kind,
    numParams: state.net.params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0),
    async step() {
      // the bench runs past the config's step count: k stays inside the curriculum's range
      const r = await trainStep(config, state, k % config.steps, ctx);
      k++;
      return r.loss;
    },
    dispose() {
      state.dispose();
    },
  };
}

export function benchUNet(opts: { seed?: number } = {}): StepRunner {
  return benchStep(BENCH_UNET_CONFIG, opts);
}

export function benchMlp(opts: { seed?: number } = {}): StepRunner {
  return benchStep(BENCH_MLP_CONFIG, opts);
}

export interface Sampler {
  batch: number;
  numParams: number;
  /** One-step sampling of `batch` images: f_θ(σ_max·z, σ_max), read back to the CPU. */
  sample(): Float32Array;
  dispose(): void;
}

/** 1-step sampling with the bench U-Net (no dropout, the initial weights of the seed). */
export function benchUNetSampler(opts: { batch?: number; seed?: number } = {}): Sampler {
  const cfg = BENCH_UNET_CONFIG;
  const shape = exampleShape(cfg.data);
  const B = opts.batch ?? 256;
  const seed = opts.seed ?? 0;
  const net = buildNetwork({ ...cfg, seed }, shape);
  const weights = net.init(seed).map((w, i) => tf.tensor(w, (net.params[i] as { shape: number[] }).shape));
  const rng = new Rng(seed, 3);
  const x = tf.tensor(
    rng.fillNormal(new Float32Array(B * shape.reduce((a, b) => a * b, 1))).map((v) => v * SIGMA_MAX),
    [B, ...shape],
  );
  const sigma = tf.fill<tf.Rank.R1>([B], SIGMA_MAX);
  const { sigmaMin, sigmaData } = cfg.noise;
  return {
    batch: B,
    numParams: net.params.reduce((a, p) => a + p.shape.reduce((q, r) => q * r, 1), 0),
    sample() {
      const out = tf.tidy(() => consistencyFunction(net, weights, x, sigma, null, { sigmaMin, sigmaData }));
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
