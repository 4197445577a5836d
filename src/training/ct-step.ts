/**
 * One consistency-training step's randomness and loss (CM Eq. 10 / iCT Eq. 6):
 *   L = mean_b λ(σ_{i_b}) · d( f_θ(x + σ_{i+1} z, σ_{i+1}), f_{θ⁻}(x + σ_i z, σ_i) )
 * with the same x, z and dropout masks in both branches; θ⁻ is stop-gradient (the target pass runs
 * outside the gradient tape).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from '../config/schema';
import { consistencyFunction, consistencyOfPrepared, preparedInputOf, scalingTensorsOf } from '../consistency/model';
import { lossWeight } from '../consistency/weighting';
import { weightedDistance } from '../losses/distance';
import type { PerceptualDistance } from '../losses/lpips';
import type { ApplyOptions, Network } from '../models/types';
import type { ModelState } from './model-state';
import { karrasSigmas } from '../schedules/karras';
import { curriculumSize } from '../schedules/curriculum';
import { targetEma } from '../schedules/target-ema';
import { lognormalNoiseProbs, uniformNoiseProbs } from '../schedules/noise-levels';
import { Rng } from '../util/rng';
import { cdTeacherStep, drawBatch, edmTrainStep, type DistillTeacher } from './edm-step';

const STEP_STREAM = 0x57e9;
/** The target pass's network call: no gradient goes through it (ApplyOptions). */
const CONSTANT: ApplyOptions = { constant: true };

/** N(k) of the configured curriculum; CD's fixed N (CM Alg. 2). */
export function gridSize(cfg: TrainConfig, k: number): number {
  if (cfg.method?.kind === 'cd') return cfg.method.n;
  return curriculumSize(cfg.curriculum, k, cfg.steps);
}

/** The target EMA μ(k) a run of this config uses at step k: μ of its own curriculum's N(k) (0 when θ⁻ = stopgrad θ). */
export function targetEmaAt(cfg: TrainConfig, k: number): number {
  return targetEma(cfg.target, gridSize(cfg, k));
}

/** Cache of (grid, cumulative pair probabilities) per N: the grid changes only at curriculum stages. */
export class NoiseLevelTable {
  private n = -1;
  sigmas: Float64Array = new Float64Array(0);
  cdf: Float64Array = new Float64Array(0);

  constructor(private readonly cfg: TrainConfig) {}

  at(n: number): this {
    if (n === this.n) return this;
    const { sigmaMin, sigmaMax, rho } = this.cfg.noise;
    this.sigmas = karrasSigmas(n, { sigmaMin, sigmaMax, rho });
    const s = this.cfg.noiseSampler;
    const probs = s.kind === 'uniform' ? uniformNoiseProbs(this.sigmas) : lognormalNoiseProbs(this.sigmas, s);
    this.cdf = new Float64Array(probs.length);
    let acc = 0;
    probs.forEach((p, i) => (this.cdf[i] = acc += p));
    this.n = n;
    return this;
  }
}

/** Everything random in step k, drawn in JS from Rng(seed, k): identical on a resumed run. */
export interface StepDraw {
  x: Float32Array; // [B, d] clean data
  z: Float32Array; // [B, d] shared noise
  sigma: Float32Array; // [B] σ_i (target)
  sigmaNext: Float32Array; // [B] σ_{i+1} (student)
  weight: Float32Array; // [B] λ(σ_i)
  masks: { shape: number[]; data: Float32Array }[];
}

export function drawStep(cfg: TrainConfig, k: number, train: Float32Array, dim: number, table: NoiseLevelTable, maskShapes: number[][]): StepDraw {
  const rng = new Rng(cfg.seed, STEP_STREAM, k);
  const b = cfg.batchSize;
  const x = drawBatch(rng, train, dim, b);
  const z = rng.fillNormal(new Float32Array(b * dim));
  const sigma = new Float32Array(b);
  const sigmaNext = new Float32Array(b);
  const weight = new Float32Array(b);
  for (let j = 0; j < b; j++) {
    const i = rng.fromCdf(table.cdf);
    const s = table.sigmas[i] as number;
    const sn = table.sigmas[i + 1] as number;
    sigma[j] = s;
    sigmaNext[j] = sn;
    weight[j] = lossWeight(cfg.weighting, s, sn);
  }
  const p = cfg.model.dropout;
  const masks = maskShapes.map((shape) => {
    const data = rng.fillDropoutMask(new Float32Array(shape.reduce((a, c) => a * c, 1)), p, 1 / (1 - p)); // = uniform() < p ? 0 : keep
    return { shape, data };
  });
  return { x, z, sigma, sigmaNext, weight, masks };
}

/** x + σ_b·z per example b (x, z [B, d] row-major, σ [B]), in float64 rounded once to float32. */
export function noisyInput(x: Float32Array, z: Float32Array, sigma: Float32Array): Float32Array {
  const b = sigma.length;
  const d = x.length / b;
  if (!Number.isInteger(d) || z.length !== x.length) throw new RangeError(`noisyInput: x and z must both be [${b}, d], got ${x.length} and ${z.length} values`);
  const out = new Float32Array(x.length);
  for (let j = 0; j < b; j++) {
    const s = sigma[j] as number;
    for (let i = j * d; i < (j + 1) * d; i++) out[i] = (x[i] as number) + s * (z[i] as number);
  }
  return out;
}

/**
 * Loss and gradients of one step. `targetWeights` are θ⁻'s weights (the student's own variables when
 * the target is stopgrad(θ)). Returns the scalar loss and the gradients in `student` order. With a
 * `distill` teacher (CD, CM Alg. 2) the target's input is the teacher's ODE step x̂_n from
 * x + σ_{n+1}z down to σ_n instead of CT's x + σ_n z.
 */
export function ctLossAndGrads(
  cfg: TrainConfig,
  net: Network,
  student: readonly tf.Variable[],
  targetWeights: readonly tf.Tensor[],
  draw: StepDraw,
  dataShape: number[],
  perceptual: PerceptualDistance | null = null,
  distill: DistillTeacher | null = null,
): { loss: tf.Scalar; grads: tf.Tensor[] } {
  if (cfg.method?.kind === 'cd' && !distill)
    throw new Error('config.method.teacher: CD needs its loaded EDM teacher (the trainer loads it from the run directory)');
  if (cfg.distance.kind === 'lpips' && !perceptual)
    throw new Error("distance 'lpips' needs its feature network: pass the PerceptualDistance (the trainer loads it)");
  if (tf.getGradient(tf.Mean) === undefined) {
    // tfjs-core alone registers no gradients; the '@tensorflow/tfjs' package (what the Node shell loads) does
    throw new Error(
      "the CT step needs TF.js's gradients, and none are registered: import '@tensorflow/tfjs-core/dist/register_all_gradients' (or '@tensorflow/tfjs') once before training",
    );
  }
  const b = cfg.batchSize;
  const noise = { sigmaMin: cfg.noise.sigmaMin, sigmaData: cfg.noise.sigmaData };
  return tf.tidy(() => {
    const shape = [b, ...dataShape];
    const sigma = tf.tensor1d(draw.sigma);
    const sigmaNext = tf.tensor1d(draw.sigmaNext);
    const weight = tf.tensor1d(draw.weight);
    const masks = draw.masks.map((m) => tf.tensor(m.data, m.shape));
    // the noisy inputs, their scalings c_in·x, c_skip·x and c_out in JS from the draws (a handful of
    // uploads instead of ~30 small kernels and their tape records)
    const xT = noisyInput(draw.x, draw.z, draw.sigmaNext); // x + σ_{i+1} z (student input)
    const target = distill
      ? consistencyFunction(
          net,
          targetWeights,
          cdTeacherStep(distill, tf.tensor(xT, shape), sigmaNext, sigma), // CD: the teacher's x̂_n
          sigma,
          masks,
          noise,
          scalingTensorsOf(draw.sigma, shape.length, noise),
          CONSTANT,
        )
      : consistencyOfPrepared(net, targetWeights, preparedInputOf(noisyInput(draw.x, draw.z, draw.sigma), draw.sigma, shape, noise), sigma, masks, CONSTANT);
    // (the target, CT's from x + σ_i z, outside the tape: stop-gradient, so the network keeps nothing for a gradient)
    const studentInput = preparedInputOf(xT, draw.sigmaNext, shape, noise);
    const c = cfg.distance.c;
    const { value, grads } = tf.variableGrads(() => {
      const pred = consistencyOfPrepared(net, student, studentInput, sigmaNext, masks);
      // LPIPS-style, through the frozen feature net
      if (perceptual) return tf.mean<tf.Scalar>(tf.mul(perceptual.distance(pred as tf.Tensor4D, target as tf.Tensor4D), weight));
      if (cfg.distance.kind === 'lpips') throw new Error("distance 'lpips' needs its feature network");
      return weightedDistance(cfg.distance.kind, pred, target, weight, c === undefined ? {} : { c }); // mean_b λ_b·d_b
    }, student as tf.Variable[]);
    return { loss: value, grads: student.map((v) => grads[v.name] as tf.Tensor) };
  });
}

/** What one step needs besides the state: the training examples and the per-run caches. */
export interface StepContext {
  /** Row-major training examples [n, ...dataShape]. */
  train: Float32Array;
  /** Shape of one example ([2] for points, [H, W, C] for images), and its size d. */
  dataShape: number[];
  dim: number;
  /** Shapes of the network's dropout masks for one batch (fixed for a run). */
  maskShapes: number[][];
  /** The (grid, pair-probability) cache of this run's noise-level sampler. */
  table: NoiseLevelTable;
  /** The LPIPS-style distance's feature network, when `distance.kind` is 'lpips'. */
  perceptual: PerceptualDistance | null;
  /** CD's frozen EDM teacher (config.method.kind 'cd'). */
  distill?: DistillTeacher | null;
}

export interface StepResult {
  /** The step's loss (mean over the batch of λ·d). */
  loss: number;
  /** N(k) and μ(k) the step used. */
  n: number;
  mu: number;
  /** False when the loss was not finite: then no weight was touched. */
  applied: boolean;
}

/** A context for a run's network and data, computed once per run; the noise-level cache starts empty. */
export function stepContext(
  cfg: TrainConfig,
  net: Network,
  train: Float32Array,
  dataShape: number[],
  perceptual: PerceptualDistance | null = null,
  distill: DistillTeacher | null = null,
): StepContext {
  const dim = dataShape.reduce((a, b) => a * b, 1);
  return { train, dataShape, dim, maskShapes: net.dropoutShapes(cfg.batchSize), table: new NoiseLevelTable(cfg), perceptual, distill };
}

/**
 * Training step k, the one the trainer runs and the bench times: draw (x, z, σ pairs, λ, dropout
 * masks) from Rng(seed, k), the CT loss and its gradients, then, only when the loss is finite, the
 * optimizer update, the target EMA θ⁻ ← μ(k)θ⁻ + (1 − μ(k))θ (EMA target only) and the sampling EMA.
 */
export async function trainStep(cfg: TrainConfig, state: ModelState, k: number, ctx: StepContext): Promise<StepResult> {
  if (cfg.method?.kind === 'edm') return edmTrainStep(cfg, state, k, ctx);
  const n = gridSize(cfg, k);
  const mu = targetEma(cfg.target, n);
  const draw = drawStep(cfg, k, ctx.train, ctx.dim, ctx.table.at(n), ctx.maskShapes);
  const { loss, grads } = ctLossAndGrads(
    cfg,
    state.net,
    state.student,
    state.target ?? state.student,
    draw,
    ctx.dataShape,
    ctx.perceptual,
    ctx.distill ?? null,
  );
  const value = (await loss.data())[0] as number;
  loss.dispose();
  if (!Number.isFinite(value)) {
    tf.dispose(grads);
    return { loss: value, n, mu, applied: false };
  }
  state.optimizer.step(grads);
  tf.dispose(grads);
  if (state.target) state.optimizer.emaUpdate(state.target, state.student, mu);
  state.optimizer.emaUpdate(state.ema, state.student, cfg.emaRate);
  return { loss: value, n, mu, applied: true };
}
