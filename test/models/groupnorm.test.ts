/**
 * GroupNorm and GroupNorm + SiLU (src/models/groupnorm.ts) against a float64 reference (forward,
 * and gradients by central differences of the float64 forward): the composite form on the cpu and
 * wasm backends, and the fused native kernels (CtlabGroupNorm / CtlabGroupNormGrad) at 1 and 2
 * native threads where the addon is built. With CTLAB_NATIVE=0 the fused kernels must be absent and
 * the composite form runs on wasm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index';
import { nativeRequestFromEnv, setNativeThreads } from '../../src/backend/native/index';
import { GN_EPS, GROUP_NORM_KERNEL, groupNorm, groupNormComposite, groupNormSilu, hasFusedGroupNorm } from '../../src/models/groupnorm';
import { Rng } from '../../src/util/rng';

const OFF = nativeRequestFromEnv() === 'off';

interface Case {
  shape: [number, number, number, number];
  groups: number;
  /** Mean and spread of x. */
  mean: number;
  std: number;
}

const CASES: Case[] = [
  { shape: [2, 3, 3, 8], groups: 4, mean: 0.3, std: 1.5 },
  { shape: [3, 2, 5, 6], groups: 3, mean: -1, std: 0.7 },
  { shape: [1, 4, 4, 5], groups: 1, mean: 0, std: 2 },
  { shape: [2, 3, 2, 4], groups: 4, mean: 0.5, std: 1 }, // one channel per group
  { shape: [5, 1, 2, 12], groups: 6, mean: 0, std: 1 }, // 4 values per group
];

/** Float64 GroupNorm (+ SiLU) of x [B, H, W, C]. */
function reference(x: Float64Array, shape: number[], gamma: Float64Array, beta: Float64Array, G: number, silu: boolean): Float64Array {
  const [B, H, W, C] = shape as [number, number, number, number];
  const Cg = C / G;
  const y = new Float64Array(x.length);
  for (let b = 0; b < B; b++) {
    for (let g = 0; g < G; g++) {
      const idx: number[] = [];
      for (let p = 0; p < H * W; p++) for (let c = g * Cg; c < (g + 1) * Cg; c++) idx.push((b * H * W + p) * C + c);
      const mean = idx.reduce((a, i) => a + (x[i] as number), 0) / idx.length;
      const v = idx.reduce((a, i) => a + ((x[i] as number) - mean) ** 2, 0) / idx.length;
      for (const i of idx) {
        const c = i % C;
        const z = (((x[i] as number) - mean) / Math.sqrt(v + GN_EPS)) * (gamma[c] as number) + (beta[c] as number);
        y[i] = silu ? z / (1 + Math.exp(-z)) : z;
      }
    }
  }
  return y;
}

/** Gradients of L = Σ y·w with respect to x, γ, β, by central differences of the float64 forward. */
function referenceGrads(x: Float64Array, shape: number[], gamma: Float64Array, beta: Float64Array, G: number, silu: boolean, w: Float64Array): Float64Array[] {
  const loss = (): number => reference(x, shape, gamma, beta, G, silu).reduce((a, v, i) => a + v * (w[i] as number), 0);
  return [x, gamma, beta].map((arr) => {
    const out = new Float64Array(arr.length);
    for (let i = 0; i < arr.length; i++) {
      const keep = arr[i] as number;
      const h = 1e-6 * Math.max(1, Math.abs(keep));
      arr[i] = keep + h;
      const up = loss();
      arr[i] = keep - h;
      const down = loss();
      arr[i] = keep;
      out[i] = (up - down) / (2 * h);
    }
    return out;
  });
}

function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number> & Iterable<number>): number {
  let scale = 1e-3;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs((got[i] as number) - (want[i] as number)));
  return m / scale;
}

type GnFn = (x: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D, groups: number) => tf.Tensor4D;

/** Check one implementation against the float64 reference on every case, with and without SiLU. */
function checkAll(label: string, plain: GnFn, withSilu: GnFn, tol = 2e-5): void {
  CASES.forEach((c, k) => {
    const rng = new Rng(400 + k);
    const n = c.shape.reduce((a, b) => a * b, 1);
    const C = c.shape[3];
    const x = rng.fillNormal(new Float64Array(n), c.mean, c.std).map((v) => Math.fround(v));
    const gamma = rng.fillNormal(new Float64Array(C), 1, 0.3).map((v) => Math.fround(v));
    const beta = rng.fillNormal(new Float64Array(C), 0, 0.5).map((v) => Math.fround(v));
    const w = rng.fillNormal(new Float64Array(n)).map((v) => Math.fround(v));
    for (const silu of [false, true]) {
      const f = silu ? withSilu : plain;
      const want = [reference(x, c.shape, gamma, beta, c.groups, silu), ...referenceGrads(x, c.shape, gamma, beta, c.groups, silu, w)];
      const got = tf.tidy(() => {
        const xt = tf.tensor4d(Float32Array.from(x), c.shape);
        const gt = tf.tensor1d(Float32Array.from(gamma));
        const bt = tf.tensor1d(Float32Array.from(beta));
        const wt = tf.tensor4d(Float32Array.from(w), c.shape);
        const y = f(xt, gt, bt, c.groups);
        const grads = tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) =>
          tf.sum(tf.mul(f(p as tf.Tensor4D, q as tf.Tensor1D, r as tf.Tensor1D, c.groups), wt)),
        )([xt, gt, bt]);
        return [y, ...grads].map((t) => t.dataSync().slice());
      });
      ['y', 'dx', 'dgamma', 'dbeta'].forEach((name, i) => {
        const err = maxRelErr(got[i] as Float32Array, want[i] as Float64Array);
        assert.ok(
          err < tol,
          `${label}, [${c.shape}] G=${c.groups}${silu ? ' +SiLU' : ''}: ${name} off by ${err.toExponential(2)} (relative to its largest value)`,
        );
      });
    }
  });
}

const compositeSilu: GnFn = (x, g, b, G) => {
  const h = groupNormComposite(x, g, b, G);
  return tf.mul(h, tf.sigmoid(h));
};

test('composite GroupNorm (+ SiLU) matches float64 on the cpu backend', async () => {
  await initBackend({ backend: 'cpu', log: false });
  assert.equal(hasFusedGroupNorm(), false, 'cpu has no fused kernel');
  checkAll('cpu composite', groupNorm, groupNormSilu);
});

test(
  OFF
    ? 'wasm without native kernels: no fused GroupNorm, the composite form matches float64'
    : 'fused native GroupNorm (+ SiLU) at 1 and 2 threads and the composite form on wasm match float64',
  async () => {
    const info = await initBackend({ backend: 'wasm', log: false });
    assert.equal(hasFusedGroupNorm(), info.native.active);
    assert.equal(hasFusedGroupNorm(), !OFF, `fused GroupNorm ${OFF ? 'present with CTLAB_NATIVE=0' : `absent: ${info.native.reason}`}`);
    checkAll('wasm composite', groupNormComposite, compositeSilu);
    if (OFF) {
      checkAll('wasm (composite path)', groupNorm, groupNormSilu);
      return;
    }
    for (const threads of [1, 2]) {
      setNativeThreads(threads);
      checkAll(`native t=${threads}`, groupNorm, groupNormSilu);
    }
    setNativeThreads(info.native.threads ?? 1);
  },
);

test('fused GroupNorm keeps its accuracy on activations far from zero mean (statistics in float64)', async (t) => {
  const info = await initBackend({ backend: 'wasm', log: false });
  if (!info.native.active) {
    assert.ok(OFF, `native kernels inactive: ${info.native.reason}`);
    t.diagnostic('native kernels off: the fused kernel is not tested');
    return;
  }
  const rng = new Rng(9);
  const shape: [number, number, number, number] = [2, 8, 8, 16];
  const x = rng.fillNormal(new Float64Array(2 * 8 * 8 * 16), 40, 0.5).map((v) => Math.fround(v));
  const gamma = new Float64Array(16).fill(1);
  const beta = new Float64Array(16);
  const want = reference(x, shape, gamma, beta, 4, true);
  const got = tf.tidy(() =>
    groupNormSilu(tf.tensor4d(Float32Array.from(x), shape), tf.ones<tf.Rank.R1>([16]), tf.zeros<tf.Rank.R1>([16]), 4)
      .dataSync()
      .slice(),
  );
  const err = maxRelErr(got, want);
  assert.ok(err < 1e-4, `mean-40 activations: off by ${err.toExponential(2)}`);
});

test('errors: groups that do not divide the channels; the fused kernel names what it expected', async () => {
  await initBackend({ backend: 'wasm', log: false });
  const x = tf.zeros<tf.Rank.R4>([1, 2, 2, 6]);
  const g = tf.ones<tf.Rank.R1>([6]);
  const b = tf.zeros<tf.Rank.R1>([6]);
  assert.throws(() => groupNorm(x, g, b, 4), /groupNorm: 4 groups do not divide 6 channels/);
  assert.throws(() => groupNormSilu(x, g, b, 0), /groupNormSilu: 0 groups do not divide 6 channels/);
  if (hasFusedGroupNorm()) {
    assert.throws(
      () => tf.engine().runKernel(GROUP_NORM_KERNEL, { x, gamma: tf.ones([5]), beta: b }, { groups: 3, eps: GN_EPS, silu: false }),
      /CtlabGroupNorm: gamma and beta must have 6 elements, got \[5\] and \[6\]/,
    );
    assert.throws(
      () => tf.engine().runKernel(GROUP_NORM_KERNEL, { x: tf.zeros([2, 6]), gamma: g, beta: b }, { groups: 3, eps: GN_EPS, silu: false }),
      /CtlabGroupNorm: x must be \[B, H, W, C\], got \[2,6\]/,
    );
  }
  tf.dispose([x, g, b]);
});
