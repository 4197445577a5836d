/**
 * GroupNorm (Wu & He 2018) over NHWC activations, as the U-Net uses it: x [B, H, W, C] in G groups
 * of C/G channels, statistics per (image, group) over H, W and the group's channels,
 * y = (x − μ)/√(σ² + eps)·γ + β, eps = 1e-5 (PyTorch's default, as in openai/consistency_models).
 *
 * Three forms, equal up to float rounding (tested):
 * - `groupNormReference`: the textbook 5-D moments, autodiff gradient: the oracle;
 * - the composite form (`groupNormComposite`): per-channel means of x and x² over H, W first, then
 *   averaged within groups on tiny [B, C] tensors, so every full-size op is a 4-D broadcast over
 *   the channel axis, with a gradient written by hand from per-channel sums (5 full-size ops instead
 *   of the autodiff's ~15): what runs on backends without the fused kernel;
 * - the fused kernel `CtlabGroupNorm` (+ `CtlabGroupNormGrad`), optionally followed by SiLU in the
 *   same pass: one forward pass and two backward passes over the activations instead of ~12 and ~20
 *   TF.js ops. Registered by the native kernels (src/backend/native) on the wasm backend;
 *   `groupNorm` and `groupNormSilu` use it wherever the active backend has it.
 */
import * as tf from '@tensorflow/tfjs-core';

export const GN_EPS = 1e-5;

import { GROUP_NORM_GRAD_KERNEL, GROUP_NORM_KERNEL, type GroupNormAttrs } from '../kernels';

export { GROUP_NORM_GRAD_KERNEL, GROUP_NORM_KERNEL, type GroupNormAttrs } from '../kernels';

/** Whether the active backend has the fused kernels. */
export function hasFusedGroupNorm(): boolean {
  return tf.getKernel(GROUP_NORM_KERNEL, tf.getBackend()) !== undefined && tf.getKernel(GROUP_NORM_GRAD_KERNEL, tf.getBackend()) !== undefined;
}

function checkGroups(x: tf.Tensor4D, groups: number, what: string): void {
  const C = x.shape[3];
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0) throw new RangeError(`${what}: ${groups} groups do not divide ${C} channels`);
}

/** The composite GroupNorm: hand-written gradient over per-channel statistics (see the file comment). */
function groupNormOp(groups: number): (x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => tf.Tensor4D {
  return tf.customGrad((...args: (tf.Tensor | ((ts: tf.Tensor[]) => void))[]) => {
    const x = args[0] as tf.Tensor4D;
    const gamma = args[1] as tf.Tensor1D;
    const beta = args[2] as tf.Tensor1D;
    const save = args[3] as (ts: tf.Tensor[]) => void;
    const [B, H, W, C] = x.shape;
    const G = groups;
    const Cg = C / G;
    // group statistics from per-channel sums: [B, C] -> [B, G] -> back to [B, C]
    const toGroups = (t: tf.Tensor2D): tf.Tensor2D => (Cg === 1 ? t : tf.mean<tf.Tensor2D>(tf.reshape(t, [B, G, Cg]), 2));
    const toChannels = (t: tf.Tensor2D): tf.Tensor2D => (Cg === 1 ? t : tf.reshape<tf.Rank.R2>(tf.mul(tf.reshape(t, [B, G, 1]), tf.ones([1, 1, Cg])), [B, C]));
    const mean = toChannels(toGroups(tf.mean<tf.Tensor2D>(x, [1, 2]))); // [B, C]
    const meanSq = toChannels(toGroups(tf.mean<tf.Tensor2D>(tf.square(x), [1, 2])));
    const rstd = tf.rsqrt(tf.add(tf.relu(tf.sub(meanSq, tf.square(mean))), GN_EPS)) as tf.Tensor2D; // [B, C]
    const scale = tf.mul(rstd, gamma); // [B, C]
    const shift = tf.sub(beta, tf.mul(mean, scale));
    const value = tf.add<tf.Tensor4D>(tf.mul(x, tf.reshape(scale, [B, 1, 1, C])), tf.reshape(shift, [B, 1, 1, C]));
    save([x, gamma, mean, rstd]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [xs, g, mu, rs] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor2D, tf.Tensor2D];
      const M = H * W * Cg;
      const s1 = tf.sum<tf.Tensor2D>(dy, [1, 2]); // [B, C] Σ dy
      const s2 = tf.sum<tf.Tensor2D>(tf.mul(dy, xs), [1, 2]); // [B, C] Σ dy·x
      const dyXhat = tf.mul(tf.sub(s2, tf.mul(mu, s1)), rs); // [B, C] Σ dy·x̂
      const dgamma = tf.sum(dyXhat, 0);
      const dbeta = tf.sum(s1, 0);
      const sumG = (t: tf.Tensor2D): tf.Tensor2D => toChannels(Cg === 1 ? t : tf.sum<tf.Tensor2D>(tf.reshape(t, [B, G, Cg]), 2));
      const a = tf.div(sumG(tf.mul<tf.Tensor2D>(s1, g)), M); // mean over the group of γ·dy
      const bb = tf.div(sumG(tf.mul<tf.Tensor2D>(dyXhat, g)), M); // mean over the group of γ·dy·x̂
      // dx = rstd·γ·dy − rstd·a − rstd·x̂·b = dy·P + x·Q + R
      const P = tf.mul(rs, g);
      const Q = tf.neg(tf.mul(tf.square(rs), bb));
      const R = tf.sub(tf.mul(tf.mul(tf.square(rs), mu), bb), tf.mul(rs, a));
      const r4 = (t: tf.Tensor): tf.Tensor => tf.reshape(t, [B, 1, 1, C]);
      const dx = tf.add(tf.mul(dy, r4(P)), tf.add(tf.mul(xs, r4(Q)), r4(R)));
      return [dx, dgamma, dbeta];
    };
    return { value, gradFunc };
  });
}

/** Textbook GroupNorm (5-D moments); the reference the fast form is tested against. */
export function groupNormReference(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, H, W, C] = x.shape;
    const x5 = tf.reshape(x, [B, H, W, groups, C / groups]);
    const { mean, variance } = tf.moments(x5, [1, 2, 4], true);
    const y = tf.reshape(tf.div(tf.sub(x5, mean), tf.sqrt(tf.add(variance, GN_EPS))), [B, H, W, C]);
    return tf.add<tf.Tensor4D>(tf.mul(y, gamma), beta);
  });
}

/** The composite form (see the file comment), on any backend. */
export function groupNormComposite(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number): tf.Tensor4D {
  checkGroups(x, groups, 'groupNorm');
  return groupNormOp(groups)(x, gamma, beta);
}

/** The fused kernel as an op with its gradient kernel; only where `hasFusedGroupNorm()`. */
function fusedOp(groups: number, silu: boolean): (x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => tf.Tensor4D {
  const attrs: GroupNormAttrs = { groups, eps: GN_EPS, silu };
  return tf.customGrad((...args: (tf.Tensor | ((ts: tf.Tensor[]) => void))[]) => {
    const [x, gamma, beta] = args as tf.Tensor[];
    const save = args[3] as (ts: tf.Tensor[]) => void;
    const [y, mean, rstd] = tf
      .engine()
      .runKernel(GROUP_NORM_KERNEL, { x: x as tf.Tensor, gamma: gamma as tf.Tensor, beta: beta as tf.Tensor }, attrs) as unknown as tf.Tensor[];
    save([x as tf.Tensor, gamma as tf.Tensor, beta as tf.Tensor, mean as tf.Tensor, rstd as tf.Tensor]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [xs, g, b, mu, rs] = saved;
      return tf
        .engine()
        .runKernel(
          GROUP_NORM_GRAD_KERNEL,
          { dy, x: xs as tf.Tensor, gamma: g as tf.Tensor, beta: b as tf.Tensor, mean: mu as tf.Tensor, rstd: rs as tf.Tensor },
          attrs,
        ) as unknown as tf.Tensor[];
    };
    return { value: y as tf.Tensor4D, gradFunc };
  });
}

/** GroupNorm: the fused kernel where the backend has it, else the composite form. x [B,H,W,C]; gamma, beta [C]. */
export function groupNorm(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number): tf.Tensor4D {
  checkGroups(x, groups, 'groupNorm');
  return hasFusedGroupNorm() ? fusedOp(groups, false)(x, gamma, beta) : groupNormOp(groups)(x, gamma, beta);
}

/** SiLU(GroupNorm(x)), one fused kernel where the backend has it. */
export function groupNormSilu(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number): tf.Tensor4D {
  checkGroups(x, groups, 'groupNormSilu');
  if (hasFusedGroupNorm()) return fusedOp(groups, true)(x, gamma, beta);
  const h = groupNormOp(groups)(x, gamma, beta);
  return tf.mul(h, tf.sigmoid(h));
}
