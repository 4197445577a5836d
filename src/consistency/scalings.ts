/**
 * The CM parametrization f_θ(x, σ) = c_skip(σ)·x + c_out(σ)·F_θ(c_in(σ)·x, c_noise(σ)) with the
 * σ_min boundary shift, so that f_θ(x, σ_min) = x exactly (CM Sec. 3; iCT keeps it).
 * Source: OAI-CM `get_scalings_for_boundary_condition`, OAI-C10 `get_distiller_fn`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SIGMA_DATA, SIGMA_MIN } from '../constants';

export interface ScalingOptions {
  /** σ_data: the data's standard deviation the scalings assume (CM/iCT: 0.5). */
  sigmaData?: number;
  /** σ_min: the boundary noise level where f is the identity (CM/iCT: 0.002). */
  sigmaMin?: number;
}

export interface Scalings {
  cSkip: number;
  cOut: number;
  cIn: number;
}

function resolve(opts: ScalingOptions): { sd: number; smin: number } {
  const sd = opts.sigmaData ?? SIGMA_DATA;
  const smin = opts.sigmaMin ?? SIGMA_MIN;
  if (!(sd > 0)) throw new RangeError(`sigmaData must be > 0, got ${sd}`);
  if (!(smin >= 0)) throw new RangeError(`sigmaMin must be >= 0, got ${smin}`);
  return { sd, smin };
}

/**
 * c_skip = σ_d² / ((σ − σ_min)² + σ_d²), c_out = σ_d (σ − σ_min) / √(σ² + σ_d²), c_in = 1 / √(σ² + σ_d²).
 */
export function consistencyScalings(sigma: number, opts: ScalingOptions = {}): Scalings {
  const { sd, smin } = resolve(opts);
  if (!(sigma >= smin) || !Number.isFinite(sigma)) {
    throw new RangeError(`sigma must be a finite number >= sigmaMin (${smin}), got ${sigma}`);
  }
  const d = sigma - smin;
  return {
    cSkip: (sd * sd) / (d * d + sd * sd),
    cOut: (sd * d) / Math.sqrt(sigma * sigma + sd * sd),
    cIn: 1 / Math.sqrt(sigma * sigma + sd * sd),
  };
}

/** Tensor form: sigma [B] -> each scaling as [B]. Call inside a tidy. */
export function consistencyScalingsTensor(sigma: tf.Tensor1D, opts: ScalingOptions = {}): { cSkip: tf.Tensor1D; cOut: tf.Tensor1D; cIn: tf.Tensor1D } {
  const { sd, smin } = resolve(opts);
  const d = tf.sub(sigma, smin);
  const denom = tf.sqrt(tf.add(tf.square(sigma), sd * sd));
  return {
    cSkip: tf.div<tf.Tensor1D>(sd * sd, tf.add(tf.square(d), sd * sd)),
    cOut: tf.div<tf.Tensor1D>(tf.mul(d, sd), denom),
    cIn: tf.div<tf.Tensor1D>(1, denom),
  };
}
