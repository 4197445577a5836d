/**
 * SiLU times a dropout mask (src/models/silu.ts), the MLP's hidden activation: the fused native
 * kernels (CtlabSilu / CtlabSiluGrad) at 1 and 2 native threads, and the composite form on cpu and
 * wasm, against a float64 reference of the value and of its exact derivative
 * σ(x)·(1 + x·(1 − σ(x)))·m; then the MLP's output and gradients with the fused kernels against the
 * composite form, and the refusals. With CTLAB_NATIVE=0 the fused kernels must be absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index';
import { nativeRequestFromEnv, setNativeThreads } from '../../src/backend/native/index';
import { SILU_GRAD_KERNEL, SILU_KERNEL, hasFusedSilu, silu, siluComposite } from '../../src/models/silu';
import { Mlp } from '../../src/models/mlp';
import { MLP_GRAD_KERNEL, MLP_KERNEL } from '../../src/kernels';
import { Rng } from '../../src/util/rng';

const OFF = nativeRequestFromEnv() === 'off';

/** x spread over [−12, 12] (both tails of σ), a mask of 0 and 1/0.7, and a cotangent w. */
function operands(n: number, seed: number): { x: Float32Array; m: Float32Array; w: Float32Array } {
  const r = new Rng(seed, 7);
  const x = r.fillNormal(new Float32Array(n)).map((v) => v * 4);
  x[0] = 12;
  x[1] = -12;
  x[2] = 0;
  const m = r.fillUniform(new Float32Array(n)).map((u) => (u < 0.3 ? 0 : 1 / 0.7));
  return { x, m, w: r.fillNormal(new Float32Array(n)) };
}

function reference(x: Float32Array, m: Float32Array | null, w: Float32Array): { y: Float64Array; dx: Float64Array } {
  const y = new Float64Array(x.length);
  const dx = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    const s = 1 / (1 + Math.exp(-v));
    const mi = m ? (m[i] as number) : 1;
    y[i] = v * s * mi;
    dx[i] = (w[i] as number) * mi * s * (1 + v * (1 - s));
  }
  return { y, dx };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
  return d;
}

function check(fn: typeof silu, shape: number[], withMask: boolean, what: string): void {
  const n = shape.reduce((a, b) => a * b, 1);
  const { x, m, w } = operands(n, n);
  const ref = reference(x, withMask ? m : null, w);
  const [y, dx] = tf.tidy(() => {
    const xt = tf.tensor(x, shape);
    const mt = withMask ? tf.tensor(m, shape) : null;
    const wt = tf.tensor(w, shape);
    const value = fn(xt, mt);
    const grad = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(fn(a, mt), wt)))(xt);
    return [value.dataSync(), grad.dataSync()];
  });
  // float32 evaluation of a function of magnitude ≤ 12 (and of a derivative ≤ 1.1·|w|·1/0.7)
  assert.ok(maxAbs(y, ref.y) < 2e-5, `${what}: value off by ${maxAbs(y, ref.y)}`);
  assert.ok(maxAbs(dx, ref.dx) < 2e-5, `${what}: gradient off by ${maxAbs(dx, ref.dx)}`);
}

const SHAPES = [
  [512, 256], // the 2D MLP's hidden layer at batch 512 (above the threading threshold)
  [3, 5], // a ragged tail of the vector loops
  [2, 7, 9],
];

test('composite SiLU·mask on cpu and wasm equals the float64 reference (value and gradient)', async () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    await initBackend({ backend, log: false, native: false });
    assert.equal(hasFusedSilu(), false, `${backend} without native kernels has no fused SiLU`);
    for (const shape of SHAPES) for (const masked of [false, true]) check(silu, shape, masked, `${backend} [${shape}] mask ${masked}`);
  }
});

test('fused SiLU·mask (native kernels) at 1 and 2 threads equals the float64 reference and the composite form', async () => {
  const info = await initBackend({ backend: 'wasm', log: false });
  if (OFF) {
    assert.equal(info.native.active, false);
    assert.equal(hasFusedSilu(), false, 'CTLAB_NATIVE=0: the fused kernels must be absent');
    return;
  }
  assert.ok(info.native.active, `native kernels not active: ${info.native.reason}`);
  assert.ok(hasFusedSilu(), `${SILU_KERNEL}/${SILU_GRAD_KERNEL} not registered on wasm`);
  for (const threads of [1, 2]) {
    setNativeThreads(threads);
    for (const shape of SHAPES)
      for (const masked of [false, true]) {
        check(silu, shape, masked, `fused, ${threads} thread(s), [${shape}] mask ${masked}`);
        check(siluComposite, shape, masked, `composite on the same backend, [${shape}] mask ${masked}`);
      }
  }
  setNativeThreads(1);
});

test('the MLP with the fused SiLU gives the composite form’s output and weight gradients', async () => {
  const info = await initBackend({ backend: 'wasm', log: false });
  // the per-layer path (TF.js MatMul, bias Add, the SiLU kernels): the whole-MLP kernels, tested in
  // mlp-fused.test.ts, are set aside for this test
  const whole = [MLP_KERNEL, MLP_GRAD_KERNEL].map((k) => tf.getKernel(k, 'wasm'));
  for (const k of whole) if (k) tf.unregisterKernel(k.kernelName, 'wasm');
  const net = new Mlp({ dataDim: 2, hidden: 64, depth: 3, dropout: 0.3, embedding: { kind: 'fourier', scale: 0.02, dim: 16 }, embeddingSeed: 0 });
  const weights = net.init(0).map((v, i) => tf.variable(tf.tensor(v, net.params[i]?.shape), true, `w${i}`));
  const B = 33;
  const r = new Rng(1, 2);
  const x = tf.tensor2d(r.fillNormal(new Float32Array(B * 2)), [B, 2]);
  const sigma = tf.tensor1d(r.fillUniform(new Float32Array(B)).map((u) => 0.01 + 5 * u));
  const masks = net.dropoutShapes(B).map((s) => tf.tensor(r.fillDropoutMask(new Float32Array(s.reduce((a, b) => a * b, 1)), 0.3, 1 / 0.7), s));
  const run = (): { out: Float32Array; grads: Float32Array[] } => {
    const { value, grads } = tf.variableGrads(() => tf.sum<tf.Scalar>(tf.square(net.apply(weights, x, sigma, masks))), weights);
    const out = tf.tidy(() => net.apply(weights, x, sigma, masks).dataSync() as Float32Array);
    const g = weights.map((w) => grads[w.name]?.dataSync() as Float32Array);
    tf.dispose([value, ...Object.values(grads)]);
    return { out, grads: g };
  };
  const first = run();
  if (!OFF) assert.ok(info.native.active && hasFusedSilu(), 'the fused path must be the one under test');
  const saved = [SILU_KERNEL, SILU_GRAD_KERNEL].map((k) => tf.getKernel(k, 'wasm'));
  for (const k of saved) if (k) tf.unregisterKernel(k.kernelName, 'wasm');
  try {
    assert.equal(hasFusedSilu(), false);
    const composite = run();
    assert.ok(maxAbs(first.out, composite.out) < 1e-5, `output off by ${maxAbs(first.out, composite.out)}`);
    first.grads.forEach((g, i) => {
      const d = maxAbs(g, composite.grads[i] as Float32Array);
      const scale = Math.max(1, ...Array.from(g, Math.abs));
      assert.ok(d / scale < 1e-4, `${net.params[i]?.name}: gradient off by ${d} (scale ${scale})`);
    });
  } finally {
    for (const k of [...saved, ...whole]) if (k) tf.registerKernel(k);
  }
  tf.dispose([...weights, x, sigma, ...masks]);
  net.dispose();
});

test('refusals: a mask of another shape, and the native kernel’s own checks', async () => {
  const info = await initBackend({ backend: 'wasm', log: false });
  const x = tf.ones([4, 3]);
  const bad = tf.ones([4, 2]);
  assert.throws(() => silu(x, bad), /silu: the mask must have x's shape \[4,3\], got \[4,2\]/);
  if (info.native.active) {
    assert.throws(() => tf.engine().runKernel(SILU_KERNEL, { x, mask: bad }), /CtlabSilu: mask must have the shape \[4,3\], got \[4,2\]/);
    const xi = tf.ones([4, 3], 'int32');
    assert.throws(() => tf.engine().runKernel(SILU_KERNEL, { x: xi }), /CtlabSilu: x must be float32, got int32/);
    xi.dispose();
  }
  tf.dispose([x, bad]);
});
