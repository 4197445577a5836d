/**
 * The consistency function f_θ(x, σ) = c_skip(σ)·x + c_out(σ)·F_θ(c_in(σ)·x, σ) around any network
 * (CM Eq. 3 with the boundary-shifted scalings, so f_θ(x, σ_min) = x).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DropoutMasks, Network } from '../models/types';
import { consistencyScalings, consistencyScalingsTensor, type ScalingOptions } from './scalings';

/** c_skip, c_out, c_in per example, shaped [B, 1, ...] to broadcast over x. */
export interface ScalingTensors {
  cSkip: tf.Tensor;
  cOut: tf.Tensor;
  cIn: tf.Tensor;
}

/**
 * The scalings of noise levels known in JS (a training step draws them there), computed in float64
 * and uploaded once: three tensors instead of the ~10 element-wise kernels of the tensor form.
 */
export function scalingTensorsOf(sigmas: ArrayLike<number>, rank: number, opts: ScalingOptions = {}): ScalingTensors {
  const b = sigmas.length;
  const cSkip = new Float32Array(b);
  const cOut = new Float32Array(b);
  const cIn = new Float32Array(b);
  for (let i = 0; i < b; i++) {
    const s = consistencyScalings(sigmas[i] as number, opts);
    cSkip[i] = s.cSkip;
    cOut[i] = s.cOut;
    cIn[i] = s.cIn;
  }
  const shape = [b, ...new Array<number>(rank - 1).fill(1)];
  return { cSkip: tf.tensor(cSkip, shape), cOut: tf.tensor(cOut, shape), cIn: tf.tensor(cIn, shape) };
}

/**
 * x [B, ...], sigma [B] -> f_θ(x, σ) [B, ...]. `scalings`: the same σ's scalings already as tensors
 * (scalingTensorsOf), else they are computed from `sigma` here.
 */
export function consistencyFunction(
  net: Network,
  weights: readonly tf.Tensor[],
  x: tf.Tensor,
  sigma: tf.Tensor1D,
  masks: DropoutMasks | null,
  opts: ScalingOptions = {},
  scalings: ScalingTensors | null = null,
): tf.Tensor {
  return tf.tidy(() => {
    const bshape = [x.shape[0], ...x.shape.slice(1).map(() => 1)]; // [B, 1, ...] for broadcasting
    const shaped = (t: tf.Tensor): tf.Tensor => (t.shape.length === bshape.length ? t : tf.reshape(t, bshape));
    const sc = scalings ?? consistencyScalingsTensor(sigma, opts);
    const [cSkip, cOut, cIn] = [shaped(sc.cSkip), shaped(sc.cOut), shaped(sc.cIn)];
    const out = net.apply(weights, tf.mul(x, cIn), sigma, masks);
    return tf.add(tf.mul(x, cSkip), tf.mul(out, cOut));
  });
}
