/**
 * The consistency function f_θ(x, σ) = c_skip(σ)·x + c_out(σ)·F_θ(c_in(σ)·x, σ) around any network
 * (CM Eq. 3 with the boundary-shifted scalings, so f_θ(x, σ_min) = x).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ApplyOptions, DropoutMasks, Network } from '../models/types';
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
  const { cSkip, cOut, cIn } = scalingArrays(sigmas, opts);
  const shape = perExampleShape(sigmas.length, rank);
  return { cSkip: tf.tensor(cSkip, shape), cOut: tf.tensor(cOut, shape), cIn: tf.tensor(cIn, shape) };
}

/** [B, 1, ...] of the given rank: one number per example, broadcasting over the rest. */
function perExampleShape(b: number, rank: number): number[] {
  return [b, ...new Array<number>(rank - 1).fill(1)];
}

/** c_skip, c_out, c_in of each σ, in float64 rounded to float32. */
function scalingArrays(sigmas: ArrayLike<number>, opts: ScalingOptions): { cSkip: Float32Array; cOut: Float32Array; cIn: Float32Array } {
  const b = sigmas.length;
  const out = { cSkip: new Float32Array(b), cOut: new Float32Array(b), cIn: new Float32Array(b) };
  for (let i = 0; i < b; i++) {
    const s = consistencyScalings(sigmas[i] as number, opts);
    out.cSkip[i] = s.cSkip;
    out.cOut[i] = s.cOut;
    out.cIn[i] = s.cIn;
  }
  return out;
}

/** The parts of f_θ(x, σ) that do not depend on θ, for an x known in JS: c_in·x, c_skip·x and c_out. */
export interface PreparedInput {
  xIn: tf.Tensor;
  skipX: tf.Tensor;
  cOut: tf.Tensor;
}

/** PreparedInput of x [B, ...shape] (row-major) at noise levels σ [B], in float64 rounded once. */
export function preparedInputOf(x: Float32Array, sigmas: ArrayLike<number>, shape: readonly number[], opts: ScalingOptions = {}): PreparedInput {
  const b = sigmas.length;
  const d = x.length / b;
  if (shape[0] !== b || shape.reduce((p, q) => p * q, 1) !== x.length)
    throw new RangeError(`preparedInputOf: x has ${x.length} values, not [${shape}] with B = ${b}`);
  const { cSkip, cOut, cIn } = scalingArrays(sigmas, opts);
  const xIn = new Float32Array(x.length);
  const skipX = new Float32Array(x.length);
  for (let j = 0; j < b; j++) {
    for (let i = j * d; i < (j + 1) * d; i++) {
      xIn[i] = (cIn[j] as number) * (x[i] as number);
      skipX[i] = (cSkip[j] as number) * (x[i] as number);
    }
  }
  return { xIn: tf.tensor(xIn, [...shape]), skipX: tf.tensor(skipX, [...shape]), cOut: tf.tensor(cOut, perExampleShape(b, shape.length)) };
}

/**
 * f_θ(x, σ) = c_skip·x + c_out·F_θ(c_in·x, σ) from a PreparedInput: the network and two ops.
 * `apply`: passed to the network (`constant` where no gradient goes through the call). A network
 * with `applyAffine` (the MLP) runs the whole of it as one call.
 */
export function consistencyOfPrepared(
  net: Network,
  weights: readonly tf.Tensor[],
  p: PreparedInput,
  sigma: tf.Tensor1D,
  masks: DropoutMasks | null,
  apply: ApplyOptions = {},
): tf.Tensor {
  if (net.applyAffine) return net.applyAffine(weights, p.xIn, sigma, masks, p.skipX, p.cOut, apply);
  return tf.tidy(() => tf.add(p.skipX, tf.mul(net.apply(weights, p.xIn, sigma, masks, apply), p.cOut)));
}

/**
 * x [B, ...], sigma [B] -> f_θ(x, σ) [B, ...]. `scalings`: the same σ's scalings already as tensors
 * (scalingTensorsOf), else they are computed from `sigma` here. `apply`: passed to the network.
 */
export function consistencyFunction(
  net: Network,
  weights: readonly tf.Tensor[],
  x: tf.Tensor,
  sigma: tf.Tensor1D,
  masks: DropoutMasks | null,
  opts: ScalingOptions = {},
  scalings: ScalingTensors | null = null,
  apply: ApplyOptions = {},
): tf.Tensor {
  return tf.tidy(() => {
    const bshape = [x.shape[0], ...x.shape.slice(1).map(() => 1)]; // [B, 1, ...] for broadcasting
    const shaped = (t: tf.Tensor): tf.Tensor => (t.shape.length === bshape.length ? t : tf.reshape(t, bshape));
    const sc = scalings ?? consistencyScalingsTensor(sigma, opts);
    const [cSkip, cOut, cIn] = [shaped(sc.cSkip), shaped(sc.cOut), shaped(sc.cIn)];
    const out = net.apply(weights, tf.mul(x, cIn), sigma, masks, apply);
    return tf.add(tf.mul(x, cSkip), tf.mul(out, cOut));
  });
}
