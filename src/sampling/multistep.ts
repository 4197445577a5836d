/**
 * One-step and multistep consistency sampling (CM Algorithm 1):
 *   x ← f_θ(σ_0·z, σ_0);  for each later τ (descending): x̂ = x + √(τ² − σ_min²)·z, x ← f_θ(x̂, τ).
 * The σ list is explicit and validated (users of the official code trip over its `ts` indices).
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
}

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
  const chunks: SamplePlan['chunks'] = [];
  for (let start = 0, chunk = 0; start < opts.n; start += batch, chunk++) {
    const b = Math.min(batch, opts.n - start);
    const c = chunk;
    chunks.push([
      start,
      b,
      () =>
        tf.tidy(() => {
          const rng = new Rng(opts.seed, SAMPLE_STREAM, c);
          const s0 = opts.sigmas[0] as number;
          let x: tf.Tensor = tf.tensor(rng.fillNormal(new Float32Array(b * d), 0, s0), [b, ...shape]);
          x = consistencyFunction(net, weights, x, tf.fill<tf.Rank.R1>([b], s0), null, opts);
          for (const tau of opts.sigmas.slice(1)) {
            const z = tf.tensor(rng.fillNormal(new Float32Array(b * d)), [b, ...shape]);
            const xHat = tf.add(x, tf.mul(z, Math.sqrt(tau * tau - sigmaMin * sigmaMin)));
            x = consistencyFunction(net, weights, xHat, tf.fill<tf.Rank.R1>([b], tau), null, opts);
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
