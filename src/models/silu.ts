/**
 * SiLU, x·σ(x), times an optional dropout mask: the MLP's hidden activation. Where the backend
 * registers the kit's fused kernels (`CtlabSilu` + `CtlabSiluGrad`: the native kernels on wasm) it is
 * one kernel forward and one backward; elsewhere the composite form that TF.js differentiates
 * itself (sigmoid, multiply, mask multiply). Both compute the same function; the fused one's σ is a
 * polynomial exp (relative error ~1e-7, native/ctlab_native.cc).
 */
import * as tf from '@tensorflow/tfjs-core';
import { SILU_GRAD_KERNEL, SILU_KERNEL } from '../kernels';

export { SILU_GRAD_KERNEL, SILU_KERNEL } from '../kernels';

/** Whether the active backend has the fused SiLU kernels. */
export function hasFusedSilu(): boolean {
  const b = tf.getBackend();
  return tf.getKernel(SILU_KERNEL, b) !== undefined && tf.getKernel(SILU_GRAD_KERNEL, b) !== undefined;
}

/** The composite form, on any backend. */
export function siluComposite<T extends tf.Tensor>(x: T, mask: tf.Tensor | null = null): T {
  const y = tf.mul<T>(x, tf.sigmoid(x));
  return mask ? tf.mul<T>(y, mask) : y;
}

const fusedUnmasked = tf.customGrad((...args: (tf.Tensor | ((ts: tf.Tensor[]) => void))[]) => {
  const x = args[0] as tf.Tensor;
  const save = args[1] as (ts: tf.Tensor[]) => void;
  const y = tf.engine().runKernel<tf.Tensor>(SILU_KERNEL, { x });
  save([x]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.engine().runKernel<tf.Tensor>(SILU_GRAD_KERNEL, { dy, x: saved[0] as tf.Tensor })],
  };
});

const fusedMasked = tf.customGrad((...args: (tf.Tensor | ((ts: tf.Tensor[]) => void))[]) => {
  const x = args[0] as tf.Tensor;
  const mask = args[1] as tf.Tensor;
  const save = args[2] as (ts: tf.Tensor[]) => void;
  const y = tf.engine().runKernel<tf.Tensor>(SILU_KERNEL, { x, mask });
  save([x, mask]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, m] = saved as [tf.Tensor, tf.Tensor];
      // the mask is a constant of the step (drawn in JS): its gradient is never used, zeros stand in
      return [tf.engine().runKernel<tf.Tensor>(SILU_GRAD_KERNEL, { dy, x: xs, mask: m }), tf.zerosLike(m)];
    },
  };
});

/** silu(x)·mask (mask null: no dropout), fused where the backend can. */
export function silu<T extends tf.Tensor>(x: T, mask: tf.Tensor | null = null): T {
  if (mask && mask.shape.join() !== x.shape.join()) throw new Error(`silu: the mask must have x's shape [${x.shape}], got [${mask.shape}]`);
  if (!hasFusedSilu()) return siluComposite(x, mask);
  return (mask ? fusedMasked(x, mask) : fusedUnmasked(x)) as T;
}
