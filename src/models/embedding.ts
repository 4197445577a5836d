/**
 * Noise-level embeddings (iCT Sec. 3.1 ablates them): Gaussian Fourier features of NCSN++ with a
 * fixed frequency scale s (CM: 16, iCT: 0.02), and ADM's sinusoidal positional embedding.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../util/rng';

export type NoiseEmbeddingSpec =
  { kind: 'fourier'; /** std of the fixed random frequencies W ~ N(0, s^2) */ scale: number; dim: number } | { kind: 'positional'; dim: number };

/** RNG stream tag for the Fourier frequencies, so they depend on the seed alone. */
const FOURIER_STREAM = 0x0f0f;

/**
 * c_noise(σ), the scalar the embedding sees.
 * Fourier: ¼·ln σ (OAI-C10 `cond_t = 0.25*log(t)`); positional: 1000·¼·ln(σ + 1e-44) = 250·ln σ
 * (OAI-CM `denoise`, ADM timestep embedding).
 */
export function cNoise(sigma: number, kind: NoiseEmbeddingSpec['kind']): number {
  return kind === 'fourier' ? 0.25 * Math.log(sigma) : 250 * Math.log(sigma + 1e-44);
}

/**
 * The per-feature angular frequencies ω_j, so that the embedding is [sin(ω c), cos(ω c)]
 * (Fourier) or [cos(ω c), sin(ω c)] (positional), each half of length dim/2.
 * Fourier: ω_j = 2π·W_j, W_j ~ N(0, s²) fixed at init (NCSN++ GaussianFourierProjection).
 * Positional: ω_j = exp(−ln(10000)·j/(dim/2)) (ADM `timestep_embedding`, max_period 10000).
 */
export function embeddingFrequencies(spec: NoiseEmbeddingSpec, seed: number): Float32Array {
  if (!Number.isInteger(spec.dim) || spec.dim < 2 || spec.dim % 2 !== 0) {
    throw new RangeError(`noise embedding dim must be an even integer >= 2, got ${spec.dim}`);
  }
  const half = spec.dim / 2;
  const w = new Float32Array(half);
  if (spec.kind === 'fourier') {
    if (!(spec.scale > 0)) throw new RangeError(`Fourier embedding scale must be > 0, got ${spec.scale}`);
    const rng = new Rng(seed, FOURIER_STREAM);
    for (let j = 0; j < half; j++) w[j] = 2 * Math.PI * spec.scale * rng.normal();
  } else {
    for (let j = 0; j < half; j++) w[j] = Math.exp((-Math.log(10000) * j) / half);
  }
  return w;
}

/** Plain-number embedding of one σ (for plots and tests): length dim. */
export function embedNoiseLevel(sigma: number, spec: NoiseEmbeddingSpec, freqs: Float32Array): Float64Array {
  const c = cNoise(sigma, spec.kind);
  const half = freqs.length;
  const out = new Float64Array(2 * half);
  for (let j = 0; j < half; j++) {
    const a = c * (freqs[j] as number);
    if (spec.kind === 'fourier') {
      out[j] = Math.sin(a);
      out[half + j] = Math.cos(a);
    } else {
      out[j] = Math.cos(a);
      out[half + j] = Math.sin(a);
    }
  }
  return out;
}

/** Tensor embedding: sigma [B] -> [B, dim]. Not trainable; call inside a tidy. */
export function embedNoise(sigma: tf.Tensor1D, spec: NoiseEmbeddingSpec, freqs: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const c = spec.kind === 'fourier' ? tf.mul(tf.log(sigma), 0.25) : tf.mul(tf.log(tf.add(sigma, 1e-44)), 250); // [B]
    const args = tf.mul<tf.Tensor2D>(tf.expandDims(c, 1), tf.expandDims(freqs, 0)); // [B, dim/2]
    return spec.kind === 'fourier' ? tf.concat([tf.sin(args), tf.cos(args)], 1) : tf.concat([tf.cos(args), tf.sin(args)], 1);
  });
}
