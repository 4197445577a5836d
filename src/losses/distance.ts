/**
 * Distances d(x, y) between the student's and the teacher's outputs, one value per example
 * (CM Sec. 5 and iCT Sec. 3.3). Each reduces over all non-batch dimensions.
 */
import { PSEUDO_HUBER_C_PER_SQRT_DIM } from '../constants';
import * as tf from '@tensorflow/tfjs-core';
import { WEIGHTED_DISTANCE_GRAD_KERNEL, WEIGHTED_DISTANCE_KERNEL, type WeightedDistanceAttrs } from '../kernels';

export type DistanceKind = 'l2' | 'l1' | 'pseudo-huber' | 'lpips';

/**
 * Pseudo-Huber constant c = 0.00054·√d, d the data dimension (iCT Sec. 3.3; CIFAR-10 d = 3072
 * gives c ≈ 0.03).
 */
export function pseudoHuberC(dim: number): number {
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`pseudoHuberC: dim must be a positive integer, got ${dim}`);
  return PSEUDO_HUBER_C_PER_SQRT_DIM * Math.sqrt(dim);
}

/** Per-example distance: x, y [B, ...] -> [B]. Call inside a tidy or gradient function. */
export function distance(kind: DistanceKind, x: tf.Tensor, y: tf.Tensor, opts: { c?: number } = {}): tf.Tensor1D {
  const b = x.shape[0];
  if (b === undefined) throw new RangeError('distance: inputs need a batch dimension');
  const diff = tf.reshape(tf.sub(x, y), [b, -1]); // [B, D]
  switch (kind) {
    case 'l2':
      // squared ℓ2, averaged over dimensions (OAI-CM loss_norm 'l2': mean_flat((x − y)²))
      return tf.mean<tf.Tensor1D>(tf.square(diff), 1);
    case 'l1':
      return tf.mean<tf.Tensor1D>(tf.abs(diff), 1);
    case 'pseudo-huber': {
      // √(‖x − y‖₂² + c²) − c over the whole example, not per element (iCT Eq. 9; see ict-facts §8)
      const c = opts.c ?? pseudoHuberC(diff.shape[1] as number);
      return tf.sub<tf.Tensor1D>(tf.sqrt(tf.add(tf.sum(tf.square(diff), 1), c * c)), c);
    }
    case 'lpips':
      throw new Error("distance 'lpips' needs a feature network; it comes with the image models (not available for 2D data)");
  }
}

/** Whether the active backend runs `weightedDistance` as one kernel each way (the native kernels on wasm). */
export function hasFusedDistance(): boolean {
  const b = tf.getBackend();
  return tf.getKernel(WEIGHTED_DISTANCE_KERNEL, b) !== undefined && tf.getKernel(WEIGHTED_DISTANCE_GRAD_KERNEL, b) !== undefined;
}

/**
 * The CT loss's last stage, mean_b w_b·d(x_b, y_b) (a scalar), for the distances defined above. One
 * kernel each way where the backend has them, else `distance` and two TF.js ops; the gradient flows
 * to x, y and w either way.
 */
export function weightedDistance(kind: Exclude<DistanceKind, 'lpips'>, x: tf.Tensor, y: tf.Tensor, weight: tf.Tensor1D, opts: { c?: number } = {}): tf.Scalar {
  const b = x.shape[0];
  if (b === undefined || x.shape.length < 2) throw new RangeError(`weightedDistance: inputs need a batch dimension, got [${x.shape}]`);
  if (!hasFusedDistance()) return tf.tidy(() => tf.mean<tf.Scalar>(tf.mul(distance(kind, x, y, opts), weight)));
  const attrs: WeightedDistanceAttrs = { kind, c: kind === 'pseudo-huber' ? (opts.c ?? pseudoHuberC(x.size / b)) : 0 };
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, ys, ws] = args as [tf.Tensor, tf.Tensor, tf.Tensor];
    const save = args[3] as tf.GradSaveFunc;
    save([xs, ys, ws]);
    return {
      value: tf.engine().runKernel<tf.Scalar>(WEIGHTED_DISTANCE_KERNEL, { x: xs, y: ys, weight: ws }, attrs),
      gradFunc: (g: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, sy, sw] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        return tf.engine().runKernel(WEIGHTED_DISTANCE_GRAD_KERNEL, { g: g as tf.Tensor, x: sx, y: sy, weight: sw }, attrs);
      },
    };
  });
  return run(x, y, weight);
}
