/**
 * The consistency function f_θ(x, σ) = c_skip(σ)·x + c_out(σ)·F_θ(c_in(σ)·x, σ) around any network
 * (CM Eq. 3 with the boundary-shifted scalings, so f_θ(x, σ_min) = x).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DropoutMasks, Network } from '../models/types';
import { consistencyScalingsTensor, type ScalingOptions } from './scalings';

/** x [B, ...], sigma [B] -> f_θ(x, σ) [B, ...]. */
export function consistencyFunction(
  net: Network,
  weights: readonly tf.Tensor[],
  x: tf.Tensor,
  sigma: tf.Tensor1D,
  masks: DropoutMasks | null,
  opts: ScalingOptions = {},
): tf.Tensor {
  return tf.tidy(() => {
    const { cSkip, cOut, cIn } = consistencyScalingsTensor(sigma, opts);
    const bshape = [x.shape[0], ...x.shape.slice(1).map(() => 1)]; // [B, 1, ...] for broadcasting
    const out = net.apply(weights, tf.mul(x, tf.reshape(cIn, bshape)), sigma, masks);
    return tf.add(tf.mul(x, tf.reshape(cSkip, bshape)), tf.mul(out, tf.reshape(cOut, bshape)));
  });
}
