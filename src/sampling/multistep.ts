/**
 * One-step and multistep consistency sampling (CM Algorithm 1):
 *   x ← f_θ(σ_0·z, σ_0);  for each later τ (descending): x̂ = x + √(τ² − σ_min²)·z, x ← f_θ(x̂, τ).
 * The σ list is explicit and validated (users of the official code trip over its `ts` indices).
 * Open for editing (CM Algorithm 4): the start can be given noise, a given image noised to σ_0, or an
 * image already at σ_0, and a projection hook runs after each f_θ call.
 */
import { SIGMA_MAX, SIGMA_MIN } from '../constants';
import * as tf from '@tensorflow/tfjs-core';
import { consistencyFunction } from '../consistency/model';
import type { ScalingOptions } from '../consistency/scalings';
import type { Network } from '../models/types';
import { Rng } from '../util/rng';

export interface SampleOptions extends ScalingOptions {
  /** Descending noise levels, the first one the starting level (σ_max for a full sample). */
  sigmas: readonly number[];
  n: number;
  seed: number;
  /** Upper bound of valid σ (σ_max of training). */
  sigmaMax?: number;
  /** Examples per forward pass. */
  batchSize?: number;
  /** Shape of one example (default [net.dataDim]); images: [H, W, C]. */
  shape?: readonly number[];
  /** Called after each batch with the number of samples done. */
  onProgress?: (done: number) => void;
  /** Where the chain starts (default: fresh noise σ_0·z); its arrays hold n examples, row-major. */
  init?: SampleInit;
  /** Runs after each f_θ call on the chunk's [size, ...shape] batch (examples start..start+size−1); returns the new x. */
  project?: ProjectHook;
}

/**
 * The start of a chain: `noise`: x = σ_0·z for the given standard-normal z (interpolation);
 * `image`: x = y + σ_0·z with z drawn from the seed (CM Alg. 4's x ~ N(y, σ_0² I); SDEdit);
 * `noisy`: x is already an image at noise level σ_0 (denoising: f_θ(x, σ_0)).
 */
export type SampleInit = { kind: 'noise'; z: Float32Array } | { kind: 'image'; y: Float32Array } | { kind: 'noisy'; x: Float32Array };

export type ProjectHook = (x: tf.Tensor, start: number, size: number) => tf.Tensor;

const SAMPLE_STREAM = 0x5a4d;

/** Check a σ list: non-empty, finite, strictly descending, inside (σ_min, σ_max]. */
export function validateSigmas(sigmas: readonly number[], sigmaMin: number, sigmaMax: number): void {
  if (sigmas.length === 0) throw new RangeError('sigmas: expected at least one noise level');
  sigmas.forEach((s, i) => {
    if (!Number.isFinite(s)) throw new RangeError(`sigmas[${i}]: expected a finite number, got ${s}`);
    if (!(s > sigmaMin) || s > sigmaMax) {
      throw new RangeError(`sigmas[${i}]: expected a value in (sigmaMin, sigmaMax] = (${sigmaMin}, ${sigmaMax}], got ${s}`);
    }
    if (i > 0 && !(s < (sigmas[i - 1] as number))) {
      throw new RangeError(`sigmas: expected a strictly descending list, but sigmas[${i}] = ${s} >= sigmas[${i - 1}] = ${sigmas[i - 1]}`);
    }
  });
}

interface SamplePlan {
  d: number;
  out: Float32Array;
  /** [start, size, run] of each chunk; run returns the chunk's samples as a tensor. */
  chunks: [number, number, () => tf.Tensor][];
}

function samplePlan(net: Network, weights: readonly tf.Tensor[], opts: SampleOptions): SamplePlan {
  const sigmaMin = opts.sigmaMin ?? SIGMA_MIN;
  const sigmaMax = opts.sigmaMax ?? SIGMA_MAX;
  validateSigmas(opts.sigmas, sigmaMin, sigmaMax);
  if (!Number.isInteger(opts.n) || opts.n < 1) throw new RangeError(`n: expected a positive integer, got ${opts.n}`);
  const d = net.dataDim;
  const shape = opts.shape ?? [d];
  if (shape.reduce((a, b) => a * b, 1) !== d) throw new RangeError(`shape [${shape}] does not hold ${d} values per example`);
  const batch = opts.batchSize ?? (d > 64 ? 256 : 2048);
  const init = opts.init;
  const given = init === undefined ? null : init.kind === 'noise' ? init.z : init.kind === 'image' ? init.y : init.x;
  if (init && given && given.length !== opts.n * d) {
    const field = init.kind === 'noise' ? 'z' : init.kind === 'image' ? 'y' : 'x';
    throw new RangeError(`init.${field}: expected n·d = ${opts.n}·${d} = ${opts.n * d} values, got ${given.length}`);
  }
  const chunks: SamplePlan['chunks'] = [];
  for (let start = 0, chunk = 0; start < opts.n; start += batch, chunk++) {
    const b = Math.min(batch, opts.n - start);
    const c = chunk;
    const first = start;
    chunks.push([
      start,
      b,
      () =>
        tf.tidy(() => {
          const rng = new Rng(opts.seed, SAMPLE_STREAM, c);
          const s0 = opts.sigmas[0] as number;
          const part = (a: Float32Array): Float32Array => a.subarray(first * d, (first + b) * d);
          const noise0 = rng.fillNormal(new Float32Array(b * d), 0, s0);
          let start0: Float32Array = noise0;
          if (init?.kind === 'noise') start0 = part(init.z).map((v) => v * s0);
          else if (init?.kind === 'image') start0 = part(init.y).map((v, i) => v + (noise0[i] as number));
          else if (init?.kind === 'noisy') start0 = part(init.x);
          const f = (xIn: tf.Tensor, sigma: number): tf.Tensor => {
            // no gradient goes through sampling: the network keeps nothing for one
            const out = consistencyFunction(net, weights, xIn, tf.fill<tf.Rank.R1>([b], sigma), null, opts, null, { constant: true });
            return opts.project ? opts.project(out, first, b) : out;
          };
          let x = f(tf.tensor(start0, [b, ...shape]), s0);
          for (const tau of opts.sigmas.slice(1)) {
            const z = tf.tensor(rng.fillNormal(new Float32Array(b * d)), [b, ...shape]);
            x = f(tf.add(x, tf.mul(z, Math.sqrt(tau * tau - sigmaMin * sigmaMin))), tau);
          }
          return x;
        }),
    ]);
  }
  return { d, out: new Float32Array(opts.n * d), chunks };
}

/** Draw n samples of dimension `net.dataDim` (row-major [n, d]) with the given weights. */
export function sampleConsistency(net: Network, weights: readonly tf.Tensor[], opts: SampleOptions): Float32Array {
  const { d, out, chunks } = samplePlan(net, weights, opts);
  for (const [start, b, run] of chunks) {
    const result = run();
    out.set(result.dataSync(), start * d);
    result.dispose();
    opts.onProgress?.(start + b);
  }
  return out;
}

/**
 * `sampleConsistency` reading each chunk back with `await data()`: the same samples, on backends
 * without a synchronous readback too (webgpu in Node).
 */
export async function sampleConsistencyAsync(net: Network, weights: readonly tf.Tensor[], opts: SampleOptions): Promise<Float32Array> {
  const { d, out, chunks } = samplePlan(net, weights, opts);
  for (const [start, b, run] of chunks) {
    const result = run();
    out.set(await result.data(), start * d);
    result.dispose();
    opts.onProgress?.(start + b);
  }
  return out;
}
