/**
 * Parity of the native kernels (src/backend/native: oneDNN convolutions, OpenBLAS / dnnl_sgemm
 * GEMM) against the wasm kernels and a float64 reference, over the wasm kernel tests' cases,
 * with 1 and 2 native threads and both convolution engines (oneDNN, im2col + OpenBLAS).
 *
 * The addon must be built: where it is not, these tests fail (naming how to build it), unless
 * CTLAB_NATIVE=0 says native kernels are intentionally off; then they check that the wasm path is
 * used and still matches the float64 reference.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo } from '../../src/backend/index';
import {
  NATIVE_HINT,
  loadNativeAddon,
  nativeKernelsRegistered,
  nativeLoadError,
  nativeRequestFromEnv,
  setConvEngine,
  setGemmEngine,
  setNativeThreads,
  gemmEngineFor,
  binaryGeometry,
  nearestSourceIndices,
  type ConvEngine,
  type GemmEngine,
} from '../../src/backend/native/index';
import { Rng } from '../../src/util/rng';
import { createOptimizer } from '../../src/optim/index';
import {
  caseName,
  closeMsg,
  tidyValues,
  convBackpropFilterRef,
  convBackpropInputRef,
  convCases,
  convGeometry,
  convRef,
  matMulRef,
  randn,
  type ConvCase,
} from './conv-cases';

const OFF = nativeRequestFromEnv() === 'off';
const THREADS = [1, 2];
const CONV_ENGINES: ConvEngine[] = ['onednn', 'onednn-blocked', 'openblas'];
const GEMM_ENGINES: GemmEngine[] = ['auto', 'openblas', 'onednn'];

function check(got: ArrayLike<number>, want: ArrayLike<number> & Iterable<number>, what: string, tol = 1e-4): void {
  const msg = closeMsg(got, want, tol);
  assert.equal(msg, null, `${what}: ${msg}`);
}

async function wasm(native: boolean): Promise<BackendInfo> {
  const info = await initBackend({ backend: 'wasm', log: false, native });
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(info.native.active, native, `native kernels ${native ? 'not active' : 'active'}: ${info.native.reason}`);
  assert.equal(nativeKernelsRegistered(), native);
  return info;
}

/** Each native configuration (threads x engine) in turn, or none when native is intentionally off. */
async function forEachNative(engines: readonly string[], setEngine: (e: string) => void, f: (label: string) => void): Promise<void> {
  if (OFF) return;
  await wasm(true);
  for (const threads of THREADS) {
    setNativeThreads(threads);
    for (const e of engines) {
      setEngine(e);
      f(`native ${e} t=${threads}`);
    }
  }
  setNativeThreads(1);
  setEngine(engines[0] as string);
}

test(OFF ? 'native kernels are off (CTLAB_NATIVE=0): the wasm kernels run' : 'the native addon is built and its kernels register on wasm', async () => {
  if (OFF) {
    const info = await initBackend({ backend: 'wasm', log: false });
    assert.equal(info.native.active, false);
    assert.match(info.native.reason, /switched off \(env:CTLAB_NATIVE\)/);
    return;
  }
  const addon = loadNativeAddon();
  assert.ok(addon, `native addon unavailable: ${nativeLoadError()}. Build it (${NATIVE_HINT}) or set CTLAB_NATIVE=0 to test without it`);
  const info = await wasm(true);
  assert.match(info.native.onednn ?? '', /^\d+\.\d+/);
  assert.match(info.native.openblas ?? '', /OpenBLAS/);
  // the vectorised loops' build: capped by CTLAB_NATIVE_SIMD (npm test runs these tests with each build the CPU has)
  const cap = process.env.CTLAB_NATIVE_SIMD;
  if (cap === 'baseline') assert.equal(info.native.simd, 'baseline');
  else if (cap === 'avx2') assert.match(info.native.simd ?? '', /^(avx2\+fma|baseline)$/);
  else assert.match(info.native.simd ?? '', /^(avx512|avx2\+fma|baseline)$/);
  assert.equal(info.native.threads, info.threads, "BackendInfo.threads is the native kernels' count");
  for (const threads of THREADS) {
    setNativeThreads(threads);
    const t = addon.getThreads();
    assert.equal(t.requested, threads);
    assert.equal(t.openmp, threads);
    assert.equal(t.openblas, threads);
  }
  setNativeThreads(1);
});

type Fwd = (x: tf.Tensor4D, w: tf.Tensor4D, bias: tf.Tensor1D, dy: tf.Tensor4D) => tf.Tensor[];

function convOutputs(c: ConvCase): Fwd {
  return (x, w, bias, dy) => {
    const y = tf.conv2d(x, w, c.s, c.pad);
    const yb = tf.fused.conv2d({ x, filter: w, bias, strides: c.s, pad: c.pad });
    const [gx, gw, gb] = tf.grads((a: tf.Tensor, b: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.mul(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: b as tf.Tensor4D, bias: bb, strides: c.s, pad: c.pad }), dy)),
    )([x, w, bias]);
    return [y, yb, gx as tf.Tensor, gw as tf.Tensor, gb as tf.Tensor];
  };
}

function runOn(
  data: { x: Float32Array; w: Float32Array; b: Float32Array; dy: Float32Array },
  shapes: { x: number[]; w: number[]; y: number[] },
  f: Fwd,
): Float32Array[] {
  return tidyValues(() =>
    f(
      tf.tensor4d(data.x, shapes.x as [number, number, number, number]),
      tf.tensor4d(data.w, shapes.w as [number, number, number, number]),
      tf.tensor1d(data.b),
      tf.tensor4d(data.dy, shapes.y as [number, number, number, number]),
    ),
  );
}

for (const c of convCases()) {
  test(`conv2d forward (+bias) and grads, native vs wasm vs float64: ${caseName(c)}`, async () => {
    const rng = new Rng(c.h * 131 + c.w * 17 + c.k[0] * 5 + c.s[0] + 1000);
    const xShape = [c.n, c.h, c.w, c.ci];
    const wShape = [c.k[0], c.k[1], c.ci, c.co];
    const g = convGeometry(xShape, wShape, c.s, c.pad);
    const yShape = [c.n, g.outHeight, g.outWidth, c.co];
    const data = { x: randn(rng, xShape), w: randn(rng, wShape), b: randn(rng, [c.co]), dy: randn(rng, yShape) };
    const shapes = { x: xShape, w: wShape, y: yShape };
    const y = convRef(g, data.x, data.w);
    const yb = convRef(g, data.x, data.w, data.b);
    const dx = convBackpropInputRef(g, data.dy, data.w);
    const dw = convBackpropFilterRef(g, data.x, data.dy);
    const db = new Float64Array(c.co);
    data.dy.forEach((v, i) => (db[i % c.co] = (db[i % c.co] as number) + v));
    const want = [y, yb, dx, dw, db];
    const names = ['y', 'y+bias', 'dx', 'dw', 'dbias'];
    await wasm(false);
    const wasmOut = runOn(data, shapes, convOutputs(c));
    wasmOut.forEach((o, i) => check(o, want[i] as Float64Array, `wasm ${names[i]}`));
    await forEachNative(
      CONV_ENGINES,
      (e) => setConvEngine(e as ConvEngine),
      (label) => {
        const got = runOn(data, shapes, convOutputs(c));
        got.forEach((o, i) => {
          check(o, want[i] as Float64Array, `${label} ${names[i]} vs float64`);
          check(o, wasmOut[i] as Float32Array, `${label} ${names[i]} vs wasm`);
        });
      },
    );
  });
}

test('conv2d with explicit padding, and dilation 2 in the forward pass, native vs float64', async () => {
  const rng = new Rng(3);
  const xShape = [2, 7, 6, 3];
  const wShape = [3, 3, 3, 2];
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [2, 1],
    [0, 2],
    [0, 0],
  ];
  const g = convGeometry(xShape, wShape, [2, 2], pad);
  const yShape = [2, g.outHeight, g.outWidth, 2];
  const x = randn(rng, xShape);
  const w = randn(rng, wShape);
  const dy = randn(rng, yShape);
  const gd = convGeometry([2, 9, 9, 3], wShape, [1, 1], 'same', [2, 2]);
  const xd = randn(rng, [2, 9, 9, 3]);
  const body = (label: string): void => {
    const [gx, gw, yd] = tf.tidy<Float32Array[]>(() => {
      const xt = tf.tensor4d(x, xShape as [number, number, number, number]);
      const wt = tf.tensor4d(w, wShape as [number, number, number, number]);
      const dyt = tf.tensor(dy, yShape);
      const [a, b] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(p as tf.Tensor4D, q as tf.Tensor4D, 2, pad), dyt)))([xt, wt]);
      const d = tf.conv2d(tf.tensor4d(xd, [2, 9, 9, 3]), wt, 1, 'same', 'NHWC', 2);
      return [a as tf.Tensor, b as tf.Tensor, d].map((t) => t.dataSync() as Float32Array);
    });
    check(gx as Float32Array, convBackpropInputRef(g, dy, w), `${label} dx`);
    check(gw as Float32Array, convBackpropFilterRef(g, x, dy), `${label} dw`);
    check(yd as Float32Array, convRef(gd, xd, w), `${label} dilated y`);
  };
  await wasm(false);
  body('wasm');
  await forEachNative(CONV_ENGINES, (e) => setConvEngine(e as ConvEngine), body);
});

test('one output channel: the direct kernel (explicit padding, stride, dilation 2, bias) equals float64, and reports itself', async () => {
  const rng = new Rng(31);
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [2, 1],
    [0, 2],
    [0, 0],
  ];
  const cases = [
    { xShape: [2, 9, 8, 11], wShape: [3, 3, 11, 1], strides: 2, pad, dil: 1 },
    { xShape: [2, 9, 9, 16], wShape: [3, 3, 16, 1], strides: 1, pad: 'same' as const, dil: 2 },
    { xShape: [1, 6, 7, 9], wShape: [2, 3, 9, 1], strides: 1, pad: 'valid' as const, dil: 1 },
  ].map((c) => ({
    ...c,
    x: randn(rng, c.xShape),
    w: randn(rng, c.wShape),
    b: randn(rng, [1]),
    g: convGeometry(c.xShape, c.wShape, [c.strides, c.strides], c.pad, [c.dil, c.dil]),
  }));
  const body = (label: string): void => {
    const outs = tidyValues(() =>
      cases.flatMap((c) => {
        const x = tf.tensor4d(c.x, c.xShape as [number, number, number, number]);
        const w = tf.tensor4d(c.w, c.wShape as [number, number, number, number]);
        const d: [number, number] = [c.dil, c.dil];
        return [
          tf.conv2d(x, w, c.strides, c.pad, 'NHWC', d),
          tf.fused.conv2d({ x, filter: w, bias: tf.tensor1d(c.b), strides: c.strides, pad: c.pad, dilations: d }),
        ];
      }),
    );
    cases.forEach((c, i) => {
      check(outs[2 * i] as Float32Array, convRef(c.g, c.x, c.w), `${label} case ${i} y`);
      check(outs[2 * i + 1] as Float32Array, convRef(c.g, c.x, c.w, c.b), `${label} case ${i} y+bias`);
    });
  };
  await wasm(false);
  body('wasm');
  await forEachNative(['onednn'], (e) => setConvEngine(e as ConvEngine), body);
  if (OFF) return;
  const addon = loadNativeAddon();
  assert.ok(addon);
  // [N,H,W,Ci,Co,KH,KW,sh,sw,dh,dw,pt,pl,pb,pr,Ho,Wo]: the U-Net's output layer, then 2 channels
  assert.equal(addon.convImpl(0, [4, 16, 16, 32, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 16, 16], 0), 'ctlab:direct_co1');
  assert.notEqual(addon.convImpl(0, [4, 16, 16, 32, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 16, 16], 0), 'ctlab:direct_co1');
  assert.notEqual(addon.convImpl(1, [4, 16, 16, 32, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 16, 16], 0), 'ctlab:direct_co1');
  // engine 3 reorders a U-Net layer's activations to oneDNN's layout, engine 0 keeps NHWC
  const unetLayer = [4, 8, 8, 64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8, 8];
  for (const kind of [0, 1, 2]) {
    assert.match(addon.convImpl(kind, unetLayer, 3), /\(blocked activations\)$/);
    assert.doesNotMatch(addon.convImpl(kind, unetLayer, 0), /blocked/);
  }
  assert.throws(() => addon.convImpl(0, unetLayer, 1), /engine: expected 0 or 3/);
});

test('fused conv2d with an activation falls back to the wasm kernel (same result with and without native)', async () => {
  const rng = new Rng(5);
  const x = randn(rng, [2, 6, 6, 3]);
  const w = randn(rng, [3, 3, 3, 4]);
  const b = randn(rng, [4]);
  const f = (): Float32Array =>
    tf.tidy(
      () =>
        tf.fused
          .conv2d({ x: tf.tensor4d(x, [2, 6, 6, 3]), filter: tf.tensor4d(w, [3, 3, 3, 4]), bias: tf.tensor1d(b), strides: 1, pad: 'same', activation: 'relu' })
          .dataSync() as Float32Array,
    );
  await wasm(false);
  const ref = f();
  assert.ok(ref.some((v) => v === 0) && ref.some((v) => v > 0), 'relu applied');
  await forEachNative(
    ['onednn'],
    (e) => setConvEngine(e as ConvEngine),
    (label) => check(f(), ref, label, 1e-5),
  );
});

test('matMul and fused matMul (bias) with every transpose combination, 2-D, batched and broadcast, native vs wasm vs float64', async () => {
  const rng = new Rng(11);
  const [m, k, n] = [7, 5, 9];
  const combos: { ta: boolean; tb: boolean; ba: number[]; bb: number[] }[] = [];
  for (const ta of [false, true])
    for (const tb of [false, true])
      for (const [ba, bb] of [
        [[], []],
        [[3], [3]],
        [[3], [1]],
        [[1], [4]],
        [
          [2, 3],
          [2, 3],
        ],
      ] as [number[], number[]][])
        combos.push({ ta, tb, ba, bb });
  const inputs = combos.map(({ ta, tb, ba, bb }) => {
    const aShape = [...ba, ...(ta ? [k, m] : [m, k])];
    const bShape = [...bb, ...(tb ? [n, k] : [k, n])];
    return { aShape, bShape, a: randn(rng, aShape), b: randn(rng, bShape), bias: randn(rng, [n]) };
  });
  const wants = combos.map(({ ta, tb, ba, bb }, i) => {
    const inp = inputs[i] as (typeof inputs)[number];
    const na = ba.reduce((p, q) => p * q, 1);
    const nb = bb.reduce((p, q) => p * q, 1);
    const c = matMulRef(inp.a, inp.b, na, nb, m, k, n, ta, tb);
    const cb = c.map((v, j) => v + (inp.bias[j % n] as number));
    return [c, cb];
  });
  const body = (label: string): Float32Array[][] =>
    combos.map(({ ta, tb }, i) => {
      const inp = inputs[i] as (typeof inputs)[number];
      const out = tf.tidy(() => {
        const a = tf.tensor(inp.a, inp.aShape);
        const b = tf.tensor(inp.b, inp.bShape);
        return [tf.matMul(a, b, ta, tb), tf.fused.matMul({ a, b, transposeA: ta, transposeB: tb, bias: tf.tensor1d(inp.bias) })].map(
          (t) => t.dataSync() as Float32Array,
        );
      });
      out.forEach((o, j) => {
        check(o, (wants[i] as Float64Array[])[j] as Float64Array, `${label} matMul ta=${ta} tb=${tb} a${inp.aShape} b${inp.bShape} ${j ? '+bias' : ''}`);
      });
      return out;
    });
  await wasm(false);
  const ref = body('wasm');
  await forEachNative(
    GEMM_ENGINES,
    (e) => setGemmEngine(e as GemmEngine),
    (label) => {
      const got = body(label);
      got.forEach((o, i) => o.forEach((v, j) => check(v, (ref[i] as Float32Array[])[j] as Float32Array, `${label} vs wasm, combo ${i} output ${j}`)));
    },
  );
});

test('native kernels do not leak tensors or change the engine state', async () => {
  await forEachNative(
    ['onednn'],
    () => undefined,
    () => {
      const before = tf.memory().numTensors;
      const out = tf.tidy(() => {
        const x = tf.randomNormal<tf.Rank.R4>([2, 8, 8, 4]);
        const w = tf.randomNormal<tf.Rank.R4>([3, 3, 4, 6]);
        const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')))([x, w]);
        return tf.add(tf.sum(gx as tf.Tensor), tf.sum(gw as tf.Tensor));
      });
      assert.ok(Number.isFinite(out.dataSync()[0]));
      out.dispose();
      assert.equal(tf.memory().numTensors, before);
    },
  );
});

test('concat along every axis, its gradient (SplitV) and split, small and large (copies split over threads): native row copies equal wasm exactly', async () => {
  const rng = new Rng(14);
  const a = [2, 3, 4, 5];
  const cases = [0, 1, 2, 3].map((axis) => {
    const b = a.slice();
    b[axis] = 2;
    const c = a.slice();
    c[axis] = 1;
    const dyShape = a.slice();
    dyShape[axis] = (a[axis] as number) + 3;
    return { axis, b, c, dyShape, x: randn(rng, a), y: randn(rng, b), z: randn(rng, c), dy: randn(rng, dyShape) };
  });
  // large enough (>= 2^18 elements per copy) for the copies split over the threads
  const big = [3, 1].map((axis) => {
    const shape = [8, 32, 32, 48];
    const other = shape.slice();
    other[axis] = 16;
    const dyShape = shape.slice();
    dyShape[axis] = 2 * (shape[axis] as number) + 16;
    return { axis, a: shape, b: other, c: shape, dyShape, x: randn(rng, shape), y: randn(rng, other), z: randn(rng, shape), dy: randn(rng, dyShape) };
  });
  const s = randn(rng, [4, 9]);
  const body = (): Float32Array[] =>
    tidyValues(() => {
      const outs: tf.Tensor[] = [];
      for (const k of cases) {
        const x = tf.tensor(k.x, a);
        const y = tf.tensor(k.y, k.b);
        const z = tf.tensor(k.z, k.c);
        outs.push(tf.concat([x, y, z], k.axis));
        outs.push(
          ...tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) => tf.sum(tf.mul(tf.concat([p, q, r], k.axis), tf.tensor(k.dy, k.dyShape))))([x, y, z]),
        );
      }
      for (const k of big) {
        const x = tf.tensor(k.x, k.a);
        const y = tf.tensor(k.y, k.b);
        const z = tf.tensor(k.z, k.c);
        outs.push(tf.concat([x, y, z], k.axis));
        outs.push(
          ...tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) => tf.sum(tf.mul(tf.concat([p, q, r], k.axis), tf.tensor(k.dy, k.dyShape))))([x, y, z]),
        );
      }
      outs.push(tf.concat([tf.tensor(big[0]?.x as Float32Array, [8, 32, 32, 48]), tf.tensor(big[0]?.z as Float32Array, [8, 32, 32, 48])], 0));
      outs.push(...tf.split(tf.tensor(s, [4, 9]), [2, 3, 4], 1), ...tf.split(tf.tensor(s, [4, 9]), 2, 0));
      return outs;
    });
  await wasm(false);
  const ref = body();
  await forEachNative(
    ['copy'],
    () => undefined,
    (label) => body().forEach((o, i) => check(o, ref[i] as Float32Array, `${label} output ${i}`, 0)),
  );
});

/** Nearest-neighbour resize in plain JS, written from TF's definition (independent of the kernels). */
function resizeNearestRef(x: Float32Array, [B, H, W, C]: number[], OH: number, OW: number, alignCorners: boolean, halfPixel: boolean): Float32Array {
  const src = (i: number, n: number, m: number): number => {
    const ratio = alignCorners && m > 1 ? (n - 1) / (m - 1) : n / m;
    const f = halfPixel ? (i + 0.5) * ratio : i * ratio;
    return Math.max(0, Math.min(n - 1, alignCorners ? Math.round(f) : Math.floor(f)));
  };
  const y = new Float32Array((B as number) * OH * OW * (C as number));
  let k = 0;
  for (let b = 0; b < (B as number); b++)
    for (let i = 0; i < OH; i++)
      for (let j = 0; j < OW; j++)
        for (let c = 0; c < (C as number); c++)
          y[k++] = x[((b * (H as number) + src(i, H as number, OH)) * (W as number) + src(j, W as number, OW)) * (C as number) + c] as number;
  return y;
}

test('nearest source indices follow TF: integer factors, fractions, alignCorners, halfPixelCenters', () => {
  assert.deepEqual(nearestSourceIndices(4, 8, false, false), [0, 0, 1, 1, 2, 2, 3, 3]);
  assert.deepEqual(nearestSourceIndices(4, 8, false, true), [0, 0, 1, 1, 2, 2, 3, 3]);
  assert.deepEqual(nearestSourceIndices(3, 5, true, false), [0, 1, 1, 2, 2]); // ratio 1/2, rounded half up
  assert.deepEqual(nearestSourceIndices(7, 3, false, false), [0, 2, 4]);
  assert.deepEqual(nearestSourceIndices(7, 3, false, true), [1, 3, 5]);
  assert.deepEqual(nearestSourceIndices(5, 1, true, false), [0]);
});

test('ResizeNearestNeighbor (the U-Net upsampling, fractions, alignCorners, halfPixelCenters, a large batch over threads): native copies equal wasm and a plain-JS reference exactly', async () => {
  const rng = new Rng(21);
  const cases = [
    { shape: [2, 4, 4, 8], size: [8, 8], ac: false, hp: false },
    { shape: [3, 5, 3, 2], size: [7, 8], ac: false, hp: false },
    { shape: [1, 7, 6, 3], size: [3, 4], ac: false, hp: true },
    { shape: [2, 3, 5, 4], size: [5, 9], ac: true, hp: false },
    { shape: [2, 6, 6, 5], size: [1, 4], ac: true, hp: false },
    { shape: [1, 4, 4, 1], size: [8, 8], ac: false, hp: false },
    // 2^19 output elements: the copies are split over the threads
    { shape: [8, 16, 16, 64], size: [32, 32], ac: false, hp: false },
  ].map((c) => ({ ...c, x: randn(rng, c.shape) }));
  const body = (): Float32Array[] =>
    tidyValues(() =>
      cases.map((c) => tf.image.resizeNearestNeighbor(tf.tensor4d(c.x, c.shape as [number, number, number, number]), c.size as [number, number], c.ac, c.hp)),
    );
  const ref = cases.map((c) => resizeNearestRef(c.x, c.shape, c.size[0] as number, c.size[1] as number, c.ac, c.hp));
  await wasm(false);
  body().forEach((o, i) => check(o, ref[i] as Float32Array, `wasm case ${i}`, 0));
  await forEachNative(
    ['copy'],
    () => undefined,
    (label) => body().forEach((o, i) => check(o, ref[i] as Float32Array, `${label} case ${i}`, 0)),
  );
  if (OFF) return;
  const addon = loadNativeAddon();
  assert.ok(addon);
  const h = new Float32Array(64);
  assert.throws(() => addon.resizeNearest(h, 0, 16, [1, 2, 2, 1, 4, 4], [0, 0, 1, 2], [0, 0, 1, 1]), /resizeNearest rows: expected source rows in \[0, H\)/);
  assert.throws(() => addon.resizeNearest(h, 0, 16, [1, 2, 2, 1, 4, 4], [0, 0, 1], [0, 0, 1, 1]), /resizeNearest rows: expected 4 integers, got 3/);
  assert.throws(() => addon.resizeNearest(h, 0, 60, [1, 2, 2, 1, 4, 4], [0, 0, 1, 1], [0, 0, 1, 1]), /y/);
});

test('dropout masks: the native fill (while the kernels are registered) draws exactly the uniform() < p loop and leaves the same state', async () => {
  // the generator's state afterwards, seen through its next eight outputs (they depend on all four words)
  const after = (r: Rng): number[] => Array.from({ length: 8 }, () => r.nextU32());
  const draw = (n: number, p: number, stream: number): { mask: Float32Array; next: number[] } => {
    const r = new Rng(23, stream);
    const mask = r.fillDropoutMask(new Float32Array(n), p, 1 / (1 - p));
    return { mask, next: after(r) };
  };
  const cases = [
    [4095, 0.1], // below the native minimum: the JS loop
    [4096, 0.1],
    [100_003, 0.3],
    [50_000, 0],
    [20_000, 0.999],
  ] as const;
  // the reference: the plain loop of Rng.uniform(), independent of either fill
  const want = cases.map(([n, p], i) => {
    const r = new Rng(23, i);
    const keep = 1 / (1 - p);
    const mask = new Float32Array(n);
    for (let k = 0; k < n; k++) mask[k] = r.uniform() < p ? 0 : keep;
    return { mask, next: after(r) };
  });
  await wasm(false);
  cases.forEach(([n, p], i) => assert.deepEqual(draw(n, p, i), want[i], `JS fill n=${n} p=${p}`));
  if (OFF) return;
  await wasm(true);
  cases.forEach(([n, p], i) => assert.deepEqual(draw(n, p, i), want[i], `native fill n=${n} p=${p}`));
  const addon = loadNativeAddon();
  assert.ok(addon);
  assert.throws(() => addon.dropoutMask(new Float32Array(8), new Int32Array(3), 0.1, 1), /state: expected an Int32Array of 4 words/);
  assert.throws(() => addon.dropoutMask(new Float32Array(8), new Int32Array(4), 1, 1), /p: expected a dropout probability in \[0, 1\)/);
});

test('binary op geometry: broadcasts merged into at most three groups of dimensions', () => {
  assert.deepEqual(binaryGeometry([2, 3, 4, 5], [2, 3, 4, 5]), [1, 1, 120, 0, 0, 1, 0, 0, 1]);
  // per-(image, channel): B | H·W | C
  assert.deepEqual(binaryGeometry([2, 3, 4, 5], [2, 1, 1, 5]), [2, 12, 5, 60, 5, 1, 5, 0, 1]);
  // per-channel, from the left operand
  assert.deepEqual(binaryGeometry([5], [2, 3, 4, 5]), [1, 24, 5, 0, 0, 1, 0, 5, 1]);
  // per-image scalar
  assert.deepEqual(binaryGeometry([2, 3, 4, 1], [2, 1, 1, 1]), [1, 2, 12, 0, 12, 1, 0, 1, 0]);
  // four alternating groups do not fit; incompatible shapes are refused
  assert.equal(binaryGeometry([2, 3, 4, 5], [2, 1, 4, 1]), null);
  assert.equal(binaryGeometry([2, 3], [2, 4]), null);
});

test('Add, Sub, Multiply of large float32 tensors with the U-Net broadcasts: native equals float32 arithmetic exactly; small or other broadcasts stay on wasm', async () => {
  const rng = new Rng(31);
  const cases: [number[], number[]][] = [
    [
      [8, 16, 16, 32],
      [8, 16, 16, 32],
    ],
    [
      [8, 16, 16, 32],
      [8, 1, 1, 32],
    ],
    [[32], [8, 16, 16, 32]],
    [
      [8, 16, 16, 32],
      [8, 1, 1, 1],
    ],
    [
      [8, 16, 16, 32],
      [8, 16, 1, 32],
    ],
    [
      [8, 16, 16, 32],
      [8, 1, 16, 1],
    ], // four groups: wasm
    [
      [4, 4, 4, 4],
      [4, 1, 1, 4],
    ], // small: wasm
  ];
  const ops = { add: (x: number, y: number) => x + y, sub: (x: number, y: number) => x - y, mul: (x: number, y: number) => x * y };
  const data = cases.map(([sa, sb]) => ({ sa, sb, a: randn(rng, sa), b: randn(rng, sb) }));
  const want = data.map(({ sa, sb, a, b }) => {
    const out = tf.backend_util.assertAndGetBroadcastShape(sa, sb);
    const n = out.reduce((p, q) => p * q, 1);
    const idx = (shape: number[], flat: number): number => {
      // index into a broadcast operand from the output's flat index
      let rem = flat;
      let k = 0;
      let stride = 1;
      const padded = [...new Array<number>(out.length - shape.length).fill(1), ...shape];
      for (let d = out.length - 1; d >= 0; d--) {
        const i = rem % (out[d] as number);
        rem = Math.floor(rem / (out[d] as number));
        if (padded[d] !== 1) k += i * stride;
        stride *= padded[d] as number;
      }
      return k;
    };
    return Object.fromEntries(
      Object.entries(ops).map(([name, f]) => [
        name,
        Float32Array.from({ length: n }, (_, i) => Math.fround(f(a[idx(sa, i)] as number, b[idx(sb, i)] as number))),
      ]),
    ) as Record<keyof typeof ops, Float32Array>;
  });
  const body = (label: string): void =>
    data.forEach(({ sa, sb, a, b }, k) => {
      const got = tf.tidy(() => {
        const x = tf.tensor(a, sa);
        const y = tf.tensor(b, sb);
        return { add: tf.add(x, y).dataSync().slice(), sub: tf.sub(x, y).dataSync().slice(), mul: tf.mul(x, y).dataSync().slice() };
      });
      for (const name of Object.keys(ops) as (keyof typeof ops)[])
        check(got[name], (want[k] as Record<string, Float32Array>)[name] as Float32Array, `${label} ${name} [${sa}] with [${sb}]`, 0);
    });
  await wasm(false);
  body('wasm');
  await forEachNative(
    ['binary'],
    () => undefined,
    (label) => body(label),
  );
});

test('the GEMM library per case: dnnl_sgemm, OpenBLAS for large products with a transposed A and for ≤ 4 output columns', () => {
  assert.equal(gemmEngineFor(false, 512, 256, 256), 'onednn');
  assert.equal(gemmEngineFor(true, 32, 128, 128), 'onednn');
  assert.equal(gemmEngineFor(true, 256, 256, 512), 'openblas');
  assert.equal(gemmEngineFor(false, 256, 256, 512), 'onednn');
  // a 2D MLP's output layer: ≤ 4 output columns go to OpenBLAS
  assert.equal(gemmEngineFor(false, 512, 2, 256), 'openblas');
  assert.equal(gemmEngineFor(false, 512, 16, 256), 'onednn');
});

test('im2col engine over several batch chunks (column buffer capped near 16 MB) and a strided 1x1 conv, native vs float64', async () => {
  const rng = new Rng(21);
  for (const c of [
    { n: 9, h: 64, w: 64, ci: 16, co: 4, k: [3, 3], s: [1, 1], pad: 'same' }, // 4096 x 144 columns per image: chunks of 7
    { n: 3, h: 9, w: 8, ci: 5, co: 6, k: [1, 1], s: [2, 2], pad: 'same' }, // oneDNN's jit_1x1 avoided
  ] as ConvCase[]) {
    const xShape = [c.n, c.h, c.w, c.ci];
    const wShape = [c.k[0], c.k[1], c.ci, c.co];
    const g = convGeometry(xShape, wShape, c.s, c.pad);
    const yShape = [c.n, g.outHeight, g.outWidth, c.co];
    const data = { x: randn(rng, xShape), w: randn(rng, wShape), b: randn(rng, [c.co]), dy: randn(rng, yShape) };
    const want = [
      convRef(g, data.x, data.w),
      convRef(g, data.x, data.w, data.b),
      convBackpropInputRef(g, data.dy, data.w),
      convBackpropFilterRef(g, data.x, data.dy),
    ];
    if (OFF) continue;
    await forEachNative(
      CONV_ENGINES,
      (e) => setConvEngine(e as ConvEngine),
      (label) => {
        const got = runOn(data, { x: xShape, w: wShape, y: yShape }, convOutputs(c));
        want.forEach((wv, i) => check(got[i] as Float32Array, wv, `${label} ${caseName(c)} output ${i}`));
      },
    );
  }
});

test('fused Adam, RAdam (with weight decay) and EMA updates: native C loops equal the wasm kernels', async () => {
  const rng = new Rng(31);
  const shapes = [[3, 3, 4, 8], [8], [17, 5], [1]];
  const init = shapes.map((s) => randn(rng, s));
  const grads = [0, 1, 2].map(() => shapes.map((s) => randn(rng, s)));
  const run = (): Float32Array[] => {
    const out: Float32Array[] = [];
    for (const [kind, weightDecay] of [
      ['adam', 0],
      ['radam', 0.01],
    ] as const) {
      const vars = shapes.map((s, i) => tf.variable(tf.tensor(init[i] as Float32Array, s)));
      const ema = shapes.map((s, i) => tf.variable(tf.tensor(init[i] as Float32Array, s)));
      const opt = createOptimizer({ kind, lr: 1e-2, weightDecay }, vars);
      assert.ok(opt.fusedActive, 'the fused kernel is used');
      for (const g of grads) {
        const gt = shapes.map((s, i) => tf.tensor(g[i] as Float32Array, s));
        opt.step(gt);
        opt.emaUpdate(ema, vars, 0.9);
        tf.dispose(gt);
      }
      out.push(...vars.map((v) => v.dataSync() as Float32Array), ...ema.map((v) => v.dataSync() as Float32Array));
      opt.dispose();
      tf.dispose([...vars, ...ema]);
    }
    return out;
  };
  await wasm(false);
  const ref = run();
  await forEachNative(
    ['c'],
    () => undefined,
    (label) => run().forEach((o, i) => check(o, ref[i] as Float32Array, `${label} output ${i}`, 0)),
  );
});
