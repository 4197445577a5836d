/**
 * EDM diffusion (Karras et al. 2022), the teacher of consistency distillation: the preconditioned
 * denoiser D(x, σ) = c_skip(σ)·x + c_out(σ)·F(c_in(σ)·x, c_noise(σ)), its training loss, and the
 * probability-flow ODE dx/dσ = (x − D(x, σ))/σ solved by Euler or Heun steps (EDM Alg. 1).
 * Constants: ict-facts.md §1 (EDM Table 1, NVlabs/edm training/loss.py and networks.py).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from '../config/schema';
import type { DropoutMasks, Network } from '../models/types';
import { karrasSigmas } from '../schedules/karras';
import { Rng } from '../util/rng';
import type { ModelState } from './model-state';
import type { StepContext, StepResult } from './ct-step';

export interface EdmScalings {
  cSkip: number;
  cOut: number;
  cIn: number;
  cNoise: number;
}

/** EDM Table 1: c_skip = σd²/(σ²+σd²), c_out = σ·σd/√(σ²+σd²), c_in = 1/√(σ²+σd²), c_noise = ¼·ln σ. */
export function edmScalings(sigma: number, sigmaData = 0.5): EdmScalings {
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new RangeError(`edmScalings: sigma must be a finite number > 0, got ${sigma}`);
  if (!(sigmaData > 0)) throw new RangeError(`edmScalings: sigmaData must be > 0, got ${sigmaData}`);
  const s2 = sigma * sigma + sigmaData * sigmaData;
  return { cSkip: (sigmaData * sigmaData) / s2, cOut: (sigma * sigmaData) / Math.sqrt(s2), cIn: 1 / Math.sqrt(s2), cNoise: 0.25 * Math.log(sigma) };
}

/** EDM's loss weight λ(σ) = (σ² + σd²)/(σ·σd)² = 1/c_out² (EDM Eq. 8 / Table 1). */
export function edmLossWeight(sigma: number, sigmaData = 0.5): number {
  if (!(sigma > 0)) throw new RangeError(`edmLossWeight: sigma must be > 0, got ${sigma}`);
  return (sigma * sigma + sigmaData * sigmaData) / (sigma * sigmaData) ** 2;
}

/**
 * The denoiser D(x, σ): x [B, ...], sigma [B] -> [B, ...]. The network's embedding computes c_noise
 * from σ itself (¼·ln σ for the Fourier embedding, the same c_noise as EDM).
 */
export function edmDenoise(
  net: Network,
  weights: readonly tf.Tensor[],
  x: tf.Tensor,
  sigma: tf.Tensor1D,
  masks: DropoutMasks | null,
  sigmaData = 0.5,
): tf.Tensor {
  return tf.tidy(() => {
    const bshape = [x.shape[0], ...x.shape.slice(1).map(() => 1)];
    const s2 = tf.add(tf.square(sigma), sigmaData * sigmaData);
    const cSkip = tf.reshape(tf.div(sigmaData * sigmaData, s2), bshape);
    const cOut = tf.reshape(tf.div(tf.mul(sigma, sigmaData), tf.sqrt(s2)), bshape);
    const cIn = tf.reshape(tf.rsqrt(s2), bshape);
    const out = net.apply(weights, tf.mul(x, cIn), sigma, masks);
    return tf.add(tf.mul(x, cSkip), tf.mul(out, cOut));
  });
}

/** A denoiser as a function of (x, σ [B]). */
export type Denoiser = (x: tf.Tensor, sigma: tf.Tensor1D) => tf.Tensor;
export type OdeSolver = 'heun' | 'euler';

/**
 * One step of the PF-ODE dx/dσ = (x − D(x, σ))/σ from σ_from to σ_to (per example, [B]): Euler, or
 * Heun (Euler predictor, then the average of both slopes; EDM Alg. 1 lines 5-8). A step to σ = 0 is
 * always Euler (the slope at 0 is undefined). Returns x at σ_to and the denoiser calls it made.
 */
export function pfOdeStep(denoise: Denoiser, x: tf.Tensor, sFrom: tf.Tensor1D, sTo: tf.Tensor1D, solver: OdeSolver, toZero = false): tf.Tensor {
  return tf.tidy(() => {
    const bshape = [x.shape[0], ...x.shape.slice(1).map(() => 1)];
    const from = tf.reshape(sFrom, bshape);
    const h = tf.reshape(tf.sub(sTo, sFrom), bshape);
    const d = tf.div(tf.sub(x, denoise(x, sFrom)), from);
    const xE = tf.add(x, tf.mul(h, d));
    if (solver === 'euler' || toZero) return xE;
    const to = tf.reshape(sTo, bshape);
    const d2 = tf.div(tf.sub(xE, denoise(xE, sTo)), to);
    return tf.add(x, tf.mul(h, tf.mul(tf.add(d, d2), 0.5)));
  });
}

/** EDM's sampling grid: `steps` Karras levels from σ_max down to σ_min, then 0 (EDM Eq. 5, ρ = 7). */
export function edmSigmas(steps: number, noise: { sigmaMin: number; sigmaMax: number; rho: number }): number[] {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps: expected an integer >= 1, got ${steps}`);
  if (steps === 1) return [noise.sigmaMax, 0];
  return [...Array.from(karrasSigmas(steps, noise)).reverse(), 0];
}

/** Denoiser calls of a solve along a σ list ending at 0: Heun 2N − 1, Euler N (N = steps). */
export function edmNfe(sigmas: readonly number[], solver: OdeSolver): number {
  const steps = sigmas.length - 1;
  return solver === 'euler' ? steps : 2 * steps - (sigmas[sigmas.length - 1] === 0 ? 1 : 0);
}

export interface EdmSampleOptions {
  /** Descending σ list; the last may be 0 (a full sample). */
  sigmas: readonly number[];
  solver: OdeSolver;
  n: number;
  seed: number;
  shape: readonly number[];
  sigmaData?: number;
  batchSize?: number;
}

const EDM_SAMPLE_STREAM = 0xed35;

/** Solve the PF-ODE from x ~ N(0, σ_0²I) along `sigmas` (EDM Alg. 1, deterministic). Row-major [n, d]. */
export async function sampleEdm(net: Network, weights: readonly tf.Tensor[], opts: EdmSampleOptions): Promise<Float32Array> {
  const s = opts.sigmas;
  if (s.length < 2) throw new RangeError('sigmas: expected at least two levels (start and end)');
  s.forEach((v, i) => {
    if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`sigmas[${i}]: expected a finite number >= 0, got ${v}`);
    if (i > 0 && !(v < (s[i - 1] as number))) throw new RangeError(`sigmas: expected a strictly descending list, but sigmas[${i}] = ${v} >= ${s[i - 1]}`);
  });
  const d = opts.shape.reduce((a, b) => a * b, 1);
  const batch = opts.batchSize ?? (d > 64 ? 256 : 2048);
  const out = new Float32Array(opts.n * d);
  const sd = opts.sigmaData ?? 0.5;
  const denoise: Denoiser = (x, sigma) => edmDenoise(net, weights, x, sigma, null, sd);
  for (let start = 0, chunk = 0; start < opts.n; start += batch, chunk++) {
    const b = Math.min(batch, opts.n - start);
    const rng = new Rng(opts.seed, EDM_SAMPLE_STREAM, chunk);
    const result = tf.tidy(() => {
      let x: tf.Tensor = tf.tensor(rng.fillNormal(new Float32Array(b * d), 0, s[0] as number), [b, ...opts.shape]);
      for (let i = 0; i + 1 < s.length; i++) {
        const to = s[i + 1] as number;
        const next = pfOdeStep(denoise, x, tf.fill<tf.Rank.R1>([b], s[i] as number), tf.fill<tf.Rank.R1>([b], to), opts.solver, to === 0);
        x.dispose();
        x = next;
      }
      return x;
    });
    out.set(await result.data(), start * d);
    result.dispose();
  }
  return out;
}

// ---------------------------------------------------------------- training

const EDM_STEP_STREAM = 0xed31;

export interface EdmDraw {
  x: Float32Array;
  n: Float32Array; // [B, d] standard normal
  sigma: Float32Array; // [B], ln σ ~ N(pMean, pStd²)
  weight: Float32Array; // [B] λ(σ)
  masks: { shape: number[]; data: Float32Array }[];
}

/** b training examples drawn with replacement (one rng.int per row), as rows of `dim` values: the batch of every step kind. */
export function drawBatch(rng: Rng, train: Float32Array, dim: number, b: number): Float32Array {
  const nTrain = train.length / dim;
  const x = new Float32Array(b * dim);
  for (let j = 0; j < b; j++) {
    const r = rng.int(nTrain);
    for (let c = 0; c < dim; c++) x[j * dim + c] = train[r * dim + c] as number;
  }
  return x;
}

/** Everything random in EDM step k, from Rng(seed, k): identical on a resumed run. */
export function drawEdmStep(cfg: TrainConfig, k: number, train: Float32Array, dim: number, maskShapes: number[][]): EdmDraw {
  if (cfg.method?.kind !== 'edm') throw new Error("drawEdmStep: config.method.kind must be 'edm'");
  const { pMean, pStd } = cfg.method;
  const rng = new Rng(cfg.seed, EDM_STEP_STREAM, k);
  const b = cfg.batchSize;
  const x = drawBatch(rng, train, dim, b);
  const n = rng.fillNormal(new Float32Array(b * dim));
  const sigma = new Float32Array(b);
  const weight = new Float32Array(b);
  for (let j = 0; j < b; j++) {
    sigma[j] = Math.exp(pMean + pStd * rng.normal());
    weight[j] = edmLossWeight(sigma[j] as number, cfg.noise.sigmaData);
  }
  const p = cfg.model.dropout;
  const masks = maskShapes.map((shape) => ({ shape, data: rng.fillDropoutMask(new Float32Array(shape.reduce((a, c) => a * c, 1)), p, 1 / (1 - p)) }));
  return { x, n, sigma, weight, masks };
}

/** EDM loss L = mean_b λ(σ_b)·mean_j (D_θ(x + σn, σ) − x)²_j and its gradients (EDM Eq. 2 and 8). */
export function edmLossAndGrads(
  cfg: TrainConfig,
  net: Network,
  student: readonly tf.Variable[],
  draw: EdmDraw,
  dataShape: number[],
): { loss: tf.Scalar; grads: tf.Tensor[] } {
  const b = cfg.batchSize;
  return tf.tidy(() => {
    const x = tf.tensor(draw.x, [b, ...dataShape]);
    const sigma = tf.tensor1d(draw.sigma);
    const bshape = [b, ...dataShape.map(() => 1)];
    const y = tf.add(x, tf.mul(tf.tensor(draw.n, [b, ...dataShape]), tf.reshape(sigma, bshape)));
    const weight = tf.tensor1d(draw.weight);
    const masks = draw.masks.map((m) => tf.tensor(m.data, m.shape));
    const axes = dataShape.map((_, i) => i + 1);
    const { value, grads } = tf.variableGrads(() => {
      const d = edmDenoise(net, student, y, sigma, masks, cfg.noise.sigmaData);
      return tf.mean<tf.Scalar>(tf.mul(tf.mean(tf.square(tf.sub(d, x)), axes), weight));
    }, student as tf.Variable[]);
    return { loss: value, grads: student.map((v) => grads[v.name] as tf.Tensor) };
  });
}

/** EDM training step k: the loss, and (finite loss only) the optimizer update and the sampling EMA. */
export async function edmTrainStep(cfg: TrainConfig, state: ModelState, k: number, ctx: StepContext): Promise<StepResult> {
  const draw = drawEdmStep(cfg, k, ctx.train, ctx.dim, ctx.maskShapes);
  const { loss, grads } = edmLossAndGrads(cfg, state.net, state.student, draw, ctx.dataShape);
  const value = (await loss.data())[0] as number;
  loss.dispose();
  if (!Number.isFinite(value)) {
    tf.dispose(grads);
    return { loss: value, n: 0, mu: 0, applied: false };
  }
  state.optimizer.step(grads);
  tf.dispose(grads);
  state.optimizer.emaUpdate(state.ema, state.student, cfg.emaRate);
  return { loss: value, n: 0, mu: 0, applied: true };
}

// ---------------------------------------------------------------- distillation

/** A frozen EDM teacher for CD: its network, weights (its sampling EMA) and σ_data. */
export interface DistillTeacher {
  net: Network;
  weights: readonly tf.Tensor[];
  sigmaData: number;
  solver: OdeSolver;
}

/**
 * CD's ODE estimate x̂_n (CM Alg. 2): one teacher step of the PF-ODE from x_{n+1} at σ_{n+1} down to
 * σ_n. Call inside a tidy; no gradient flows (the teacher is frozen).
 */
export function cdTeacherStep(teacher: DistillTeacher, xNext: tf.Tensor, sigmaNext: tf.Tensor1D, sigma: tf.Tensor1D): tf.Tensor {
  const denoise: Denoiser = (x, s) => edmDenoise(teacher.net, teacher.weights, x, s, null, teacher.sigmaData);
  return pfOdeStep(denoise, xNext, sigmaNext, sigma, teacher.solver);
}
