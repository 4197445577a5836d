/**
 * Parity of the wasm training kernels (src/backend/wasm/kernels.ts) against the cpu backend, with
 * the native kernels switched off (test/backend/native-kernels.test.ts covers those):
 * conv gradients over strides 1-2, same/valid padding, kernel sizes 1-5, odd sizes, batch > 1;
 * matmul with transposes, 2-D transpose, sums/means over outer axes, identity sharing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index';
import { registeredTrainingKernels } from '../../src/backend/wasm/index';
import { Rng } from '../../src/util/rng';
import { convCases, tidyValues, type ConvCase } from './conv-cases';

function randn(rng: Rng, shape: number[]): Float32Array {
  return rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)));
}

function close(got: ArrayLike<number>, want: ArrayLike<number> & Iterable<number>, what: string, tol = 1e-4): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs((got[i] as number) - (want[i] as number)));
  assert.ok(worst <= tol * Math.max(1, scale), `${what}: max abs err ${worst} (scale ${scale})`);
}

/** Run f on cpu and on wasm with the same inputs; returns [cpu, wasm] flat outputs. */
async function both(inputs: { data: Float32Array; shape: number[] }[], f: (...xs: tf.Tensor[]) => tf.Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  const out: Float32Array[][] = [];
  for (const backend of ['cpu', 'wasm'] as const) {
    await initBackend({ backend, log: false, native: false });
    out.push(tidyValues(() => f(...inputs.map((i) => tf.tensor(i.data, i.shape)))));
  }
  return [out[0] as Float32Array[], out[1] as Float32Array[]];
}

test('wasm backend has the training kernels registered', async () => {
  await initBackend({ backend: 'wasm', log: false, native: false });
  assert.equal(tf.getBackend(), 'wasm');
  for (const k of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'BatchMatMul', 'Sum', 'Identity']) {
    assert.ok(registeredTrainingKernels().includes(k as never), k);
    assert.ok(tf.getKernel(k, 'wasm'), k);
  }
});

const cases: ConvCase[] = convCases();

for (const c of cases) {
  const name = `conv2d grads n${c.n} ${c.h}x${c.w} ci${c.ci} co${c.co} k${c.k.join('x')} s${c.s.join('x')} ${c.pad}`;
  test(name, async () => {
    const rng = new Rng(c.h * 131 + c.w * 17 + c.k[0] * 5 + c.s[0]);
    const xShape: [number, number, number, number] = [c.n, c.h, c.w, c.ci];
    const wShape: [number, number, number, number] = [c.k[0], c.k[1], c.ci, c.co];
    const x = randn(rng, xShape);
    const wt = randn(rng, wShape);
    // dy drawn for the output shape (computed on cpu first)
    await initBackend({ backend: 'cpu', log: false, native: false });
    const yShape = tf.tidy(() => tf.conv2d(tf.zeros<tf.Rank.R4>(xShape), tf.zeros<tf.Rank.R4>(wShape), c.s, c.pad).shape);
    const dy = randn(rng, yShape);
    const [ref, got] = await both(
      [
        { data: x, shape: xShape },
        { data: wt, shape: wShape },
        { data: dy, shape: yShape },
      ],
      (xt, wtt, dyt) => {
        const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), dyt)))([xt, wtt]);
        const y = tf.conv2d(xt as tf.Tensor4D, wtt as tf.Tensor4D, c.s, c.pad);
        return [gx as tf.Tensor, gw as tf.Tensor, y];
      },
    );
    close(got[0] as Float32Array, ref[0] as Float32Array, 'dx');
    close(got[1] as Float32Array, ref[1] as Float32Array, 'dw');
    close(got[2] as Float32Array, ref[2] as Float32Array, 'y');
  });
}

test('conv2d grads with explicit padding and dimRoundingMode-free shapes', async () => {
  const rng = new Rng(3);
  const xShape: [number, number, number, number] = [2, 7, 6, 3];
  const wShape: [number, number, number, number] = [3, 3, 3, 2];
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [2, 1],
    [0, 2],
    [0, 0],
  ];
  await initBackend({ backend: 'cpu', log: false, native: false });
  const yShape = tf.tidy(() => tf.conv2d(tf.zeros<tf.Rank.R4>(xShape), tf.zeros<tf.Rank.R4>(wShape), 2, pad).shape);
  const [ref, got] = await both(
    [
      { data: randn(rng, xShape), shape: xShape },
      { data: randn(rng, wShape), shape: wShape },
      { data: randn(rng, yShape), shape: yShape },
    ],
    (xt, wtt, dyt) => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, pad), dyt)))([xt, wtt]),
  );
  close(got[0] as Float32Array, ref[0] as Float32Array, 'dx');
  close(got[1] as Float32Array, ref[1] as Float32Array, 'dw');
});

test('matMul with every transpose combination, 2-D and batched', async () => {
  const rng = new Rng(11);
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    for (const batch of [[], [3]]) {
      const [m, k, n] = [7, 5, 9];
      const aShape = [...batch, ...(ta ? [k, m] : [m, k])];
      const bShape = [...batch, ...(tb ? [n, k] : [k, n])];
      const [ref, got] = await both(
        [
          { data: randn(rng, aShape), shape: aShape },
          { data: randn(rng, bShape), shape: bShape },
        ],
        (a, b) => [tf.matMul(a, b, ta, tb)],
      );
      close(got[0] as Float32Array, ref[0] as Float32Array, `matMul ta=${ta} tb=${tb} batch=${batch}`);
    }
  }
});

test('fused matMul (bias, activations) with transposes and batches (the shipped kernel adds the bias per row there)', async () => {
  const rng = new Rng(17);
  const [m, k, n] = [6, 4, 5];
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    for (const batch of [[], [3]]) {
      for (const activation of ['linear', 'relu', 'leakyrelu', 'prelu', 'sigmoid'] as const) {
        const aShape = [...batch, ...(ta ? [k, m] : [m, k])];
        const bShape = [...batch, ...(tb ? [n, k] : [k, n])];
        const [ref, got] = await both(
          [
            { data: randn(rng, aShape), shape: aShape },
            { data: randn(rng, bShape), shape: bShape },
            { data: randn(rng, [n]), shape: [n] },
            { data: randn(rng, [n]), shape: [n] },
          ],
          (a, b, bias, alpha) => [
            tf.fused.matMul({ a: a, b: b, transposeA: ta, transposeB: tb, bias, activation, preluActivationWeights: alpha, leakyreluAlpha: 0.3 }),
          ],
        );
        close(got[0] as Float32Array, ref[0] as Float32Array, `fused matMul ta=${ta} tb=${tb} batch=${batch} ${activation}`);
      }
    }
  }
});

test('transpose of tall and wide matrices and higher ranks', async () => {
  const rng = new Rng(12);
  for (const [shape, perm] of [
    [
      [300, 7],
      [1, 0],
    ],
    [
      [97, 13],
      [1, 0],
    ],
    [
      [5, 400],
      [1, 0],
    ],
    [
      [1, 128, 3],
      [2, 0, 1],
    ],
    [
      [2, 3, 4, 5],
      [3, 1, 2, 0],
    ],
  ] as [number[], number[]][]) {
    const [ref, got] = await both([{ data: randn(rng, shape), shape }], (x) => [tf.transpose(x, perm)]);
    close(got[0] as Float32Array, ref[0] as Float32Array, `transpose ${shape} ${perm}`, 0);
  }
});

test('sum and mean over outer, middle and inner axes (keepDims both ways)', async () => {
  const rng = new Rng(13);
  const shape = [4, 6, 5, 3];
  const data = randn(rng, shape);
  for (const axis of [[0], [0, 1], [0, 1, 2], [1, 2], [1], [3], [2, 3], [0, 2], undefined]) {
    for (const keepDims of [false, true]) {
      const [ref, got] = await both([{ data, shape }], (x) => [tf.sum(x, axis, keepDims), tf.mean(x, axis, keepDims)]);
      close(got[0] as Float32Array, ref[0] as Float32Array, `sum ${axis}`, 1e-5);
      close(got[1] as Float32Array, ref[1] as Float32Array, `mean ${axis}`, 1e-5);
      await initBackend({ backend: 'wasm', log: false, native: false });
      const s = tf.tidy(() => tf.sum(tf.zeros(shape), axis, keepDims).shape);
      await initBackend({ backend: 'cpu', log: false, native: false });
      const sr = tf.tidy(() => tf.sum(tf.zeros(shape), axis, keepDims).shape);
      assert.deepEqual(s, sr);
    }
  }
  // a long reduction (bias gradient of a 32x16x16 batch)
  const big = [32, 16, 16, 8];
  const [ref, got] = await both([{ data: randn(rng, big), shape: big }], (x) => [tf.sum(x, [0, 1, 2])]);
  close(got[0] as Float32Array, ref[0] as Float32Array, 'sum of 8192 rows', 1e-4);
});

test('identity shares the buffer and disposal stays correct', async () => {
  await initBackend({ backend: 'wasm', log: false, native: false });
  const before = tf.memory().numTensors;
  const a = tf.tensor([1, 2, 3]);
  const b = tf.clone(a); // runs Identity
  a.dispose();
  assert.deepEqual(Array.from(b.dataSync()), [1, 2, 3]);
  const init = tf.tensor([4, 5]);
  const v = tf.variable(init);
  init.dispose();
  const snap = tf.clone(v);
  const next = tf.tensor([6, 7]);
  v.assign(next);
  next.dispose();
  assert.deepEqual(Array.from(snap.dataSync()), [4, 5], 'a clone is not changed by assign');
  tf.dispose([b, v, snap]);
  assert.equal(tf.memory().numTensors, before);
});

test('concat along every axis and its gradient (SplitV), cast to the same dtype', async () => {
  const rng = new Rng(14);
  const a = [2, 3, 4, 5];
  for (let axis = 0; axis < 4; axis++) {
    const b = a.slice();
    b[axis] = 2;
    const dyShape = a.slice();
    dyShape[axis] = (a[axis] as number) + 2;
    const [ref, got] = await both(
      [
        { data: randn(rng, a), shape: a },
        { data: randn(rng, b), shape: b },
        { data: randn(rng, dyShape), shape: dyShape },
      ],
      (x, y, dy) => {
        const c = tf.concat([x, y], axis);
        const g = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.concat([p, q], axis), dy)))([x, y]);
        return [c, ...g, tf.cast(x, 'float32')];
      },
    );
    ref.forEach((r, i) => close(got[i] as Float32Array, r, `concat axis ${axis} output ${i}`, 0));
  }
  const parts = await both([{ data: randn(rng, [4, 9]), shape: [4, 9] }], (x) => tf.split(x, [2, 3, 4], 1));
  parts[0].forEach((r, i) => close(parts[1][i] as Float32Array, r, `split part ${i}`, 0));
});

test('avgPool gradient: non-overlapping windows (fast path) and overlapping ones (shipped)', async () => {
  const rng = new Rng(15);
  for (const [shape, k, s, pad] of [
    [[3, 8, 6, 5], 2, 2, 'valid'],
    [[2, 9, 9, 3], 3, 3, 'valid'],
    [[2, 7, 7, 3], 3, 2, 'same'],
  ] as [[number, number, number, number], number, number, 'valid' | 'same'][]) {
    await initBackend({ backend: 'cpu', log: false, native: false });
    const yShape = tf.tidy(() => tf.avgPool(tf.zeros<tf.Rank.R4>(shape), k, s, pad).shape);
    const [ref, got] = await both(
      [
        { data: randn(rng, shape), shape },
        { data: randn(rng, yShape), shape: yShape },
      ],
      (x, dy) => [tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(p as tf.Tensor4D, k, s, pad), dy)))(x)],
    );
    close(got[0] as Float32Array, ref[0] as Float32Array, `avgPool grad ${shape} k${k} s${s} ${pad}`, 1e-5);
  }
});

/** float64 reference of nearest-neighbour resize's gradient (tfjs conventions), batch > 1. */
function resizeNearestGradRef(dy: Float32Array, n: number, h: number, w: number, c: number, H: number, W: number, halfPixel: boolean): Float64Array {
  const out = new Float64Array(n * h * w * c);
  const sy = h / H;
  const sx = w / W;
  for (let b = 0; b < n; b++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const iy = Math.min(h - 1, halfPixel ? Math.floor((y + 0.5) * sy) : Math.floor(y * sy));
        const ix = Math.min(w - 1, halfPixel ? Math.floor((x + 0.5) * sx) : Math.floor(x * sx));
        for (let ch = 0; ch < c; ch++) {
          const o = ((b * h + iy) * w + ix) * c + ch;
          out[o] = (out[o] as number) + (dy[((b * H + y) * W + x) * c + ch] as number);
        }
      }
  return out;
}

test('resizeNearestNeighbor gradient equals a float64 reference for batch > 1 (the cpu backend is wrong there)', async () => {
  await initBackend({ backend: 'wasm', log: false, native: false });
  const rng = new Rng(16);
  for (const [n, h, w, c, H, W, half] of [
    [3, 4, 5, 6, 8, 10, false],
    [2, 3, 3, 4, 6, 6, true],
    [2, 4, 4, 3, 12, 8, false],
    [2, 3, 5, 2, 7, 9, false], // non-integer factor: the shipped kernel
  ] as [number, number, number, number, number, number, boolean][]) {
    const x = tf.tensor<tf.Rank.R4>(randn(rng, [n, h, w, c]), [n, h, w, c]);
    const dyData = randn(rng, [n, H, W, c]);
    const dy = tf.tensor(dyData, [n, H, W, c]);
    const g = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(p as tf.Tensor4D, [H, W], false, half), dy)))(x);
    close(g.dataSync(), resizeNearestGradRef(dyData, n, h, w, c, H, W, half), `resize grad ${n}x${h}x${w}x${c} -> ${H}x${W} half=${half}`, 1e-5);
    tf.dispose([x, dy, g]);
  }
});
