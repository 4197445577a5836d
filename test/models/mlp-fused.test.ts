/**
 * The whole-MLP kernels (CtlabMlp / CtlabMlpGrad, src/models/mlp.ts `hasFusedMlp`): the fused
 * network's output and its gradients with respect to every weight, the input x and the noise level σ
 * (through the embedding), at 1 and 2 native threads, against the composite form that TF.js
 * differentiates on the cpu backend. Both embeddings, with and without dropout masks, at the 2D
 * job's shape (batch 512, width 256: above the threading threshold) and at a ragged small one.
 * Then: no tensors left behind, and the kernels' refusals name the input. With CTLAB_NATIVE=0 the
 * kernels must be absent and the MLP runs its composite form.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index';
import { nativeRequestFromEnv, setNativeThreads } from '../../src/backend/native/index';
import { MLP_GRAD_KERNEL, MLP_KERNEL } from '../../src/kernels';
import { Mlp, hasFusedMlp, type MlpSpec } from '../../src/models/mlp';
import { Rng } from '../../src/util/rng';

const OFF = nativeRequestFromEnv() === 'off';

interface Case {
  what: string;
  spec: MlpSpec;
  batch: number;
}

const CASES: Case[] = [
  {
    what: '2D job: fourier s=0.02, 3x256, batch 512',
    spec: { dataDim: 2, hidden: 256, depth: 3, dropout: 0, embedding: { kind: 'fourier', scale: 0.02, dim: 32 }, embeddingSeed: 1 },
    batch: 512,
  },
  {
    what: 'fourier s=16 (large arguments), dropout 0.3, ragged',
    spec: { dataDim: 3, hidden: 24, depth: 2, dropout: 0.3, embedding: { kind: 'fourier', scale: 16, dim: 10 }, embeddingSeed: 2 },
    batch: 37,
  },
  {
    what: 'positional, dropout 0.1, one hidden layer',
    spec: { dataDim: 2, hidden: 40, depth: 1, dropout: 0.1, embedding: { kind: 'positional', dim: 16 }, embeddingSeed: 3 },
    batch: 65,
  },
];

interface Result {
  y: Float32Array;
  dx: Float32Array;
  dsigma: Float32Array;
  dw: Float32Array[];
  /** With `affine`: the gradients for skip and cOut. */
  dskip?: Float32Array;
  dcOut?: Float32Array;
}

/**
 * Output and gradients of Σ w·net(x, σ) (w a fixed cotangent), computed on the active backend.
 * `affine`: of Σ w·(skip + cOut·net(x, σ)) through `applyAffine` (cOut [B, 1] with a zero, as at σ_min).
 */
function evaluate(c: Case, seed: number, fused: boolean | null, affine = false): Result {
  const net = new Mlp(c.spec);
  const r = new Rng(seed, 11);
  const B = c.batch;
  // non-zero biases so their gradients and the bias path are exercised
  const init = net.init(seed).map((w) => (w.every((v) => v === 0) ? r.fillNormal(new Float32Array(w.length)).map((v) => 0.1 * v) : w));
  const weights = init.map((w, i) => tf.tidy(() => tf.variable(tf.tensor(w, net.params[i]?.shape), true, `mlp${seed}_${fused}_${i}`)));
  const x = tf.tensor2d(r.fillNormal(new Float32Array(B * c.spec.dataDim)), [B, c.spec.dataDim]);
  // σ over the EDM range, both ends included
  const s = r.fillUniform(new Float32Array(B)).map((u) => Math.exp(Math.log(0.002) + u * (Math.log(80) - Math.log(0.002))));
  s[0] = 0.002;
  s[1] = 80;
  const sigma = tf.tensor1d(s);
  const masks = net
    .dropoutShapes(B)
    .map((sh) => tf.tensor(r.fillDropoutMask(new Float32Array(sh.reduce((a, b) => a * b, 1)), c.spec.dropout, 1 / (1 - c.spec.dropout)), sh));
  const w = tf.tensor(r.fillNormal(new Float32Array(B * c.spec.dataDim)), [B, c.spec.dataDim]);
  const skip0 = tf.tensor(r.fillNormal(new Float32Array(B * c.spec.dataDim)), [B, c.spec.dataDim]);
  const cOut0 = tf.tensor(
    r.fillUniform(new Float32Array(B)).map((u, i) => (i === 2 ? 0 : u)),
    [B, 1],
  );
  const plain = (xs: tf.Tensor, ss: tf.Tensor): tf.Tensor =>
    fused === false ? net.applyComposite(weights, xs, ss as tf.Tensor1D, masks) : net.apply(weights, xs, ss as tf.Tensor1D, masks);
  const apply = (xs: tf.Tensor, ss: tf.Tensor, skip: tf.Tensor, cOut: tf.Tensor): tf.Tensor => {
    if (!affine) return plain(xs, ss);
    if (fused === false) return tf.add(skip, tf.mul(plain(xs, ss), cOut));
    return net.applyAffine(weights, xs, ss as tf.Tensor1D, masks, skip, cOut);
  };
  const loss = (xs: tf.Tensor, ss: tf.Tensor, skip: tf.Tensor, cOut: tf.Tensor): tf.Scalar => tf.sum<tf.Scalar>(tf.mul(apply(xs, ss, skip, cOut), w));
  const y = tf.tidy(() => apply(x, sigma, skip0, cOut0).dataSync() as Float32Array);
  const [dx, dsigma, dskip, dcOut] = tf.tidy(() =>
    tf
      .grads((a: tf.Tensor, b: tf.Tensor, k?: tf.Tensor, o?: tf.Tensor) => loss(a, b, k ?? skip0, o ?? cOut0))(affine ? [x, sigma, skip0, cOut0] : [x, sigma])
      .map((g) => g.dataSync() as Float32Array),
  );
  const { value, grads } = tf.variableGrads(() => loss(x, sigma, skip0, cOut0), weights);
  const dw = weights.map((v) => grads[v.name]?.dataSync() as Float32Array);
  tf.dispose([value, ...Object.values(grads), ...weights, x, sigma, w, skip0, cOut0, ...masks]);
  net.dispose();
  const out: Result = { y, dx: dx as Float32Array, dsigma: dsigma as Float32Array, dw };
  if (affine) Object.assign(out, { dskip, dcOut });
  return out;
}

/** max |a − b| over max(1, max |b|). */
function relErr(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let s = 1;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
    s = Math.max(s, Math.abs(b[i] as number));
  }
  return d / s;
}

function compare(got: Result, want: Result, what: string): void {
  // float32 GEMMs in another order and the kernel's polynomial exp/sin/cos against TF.js's: ~1e-6
  assert.ok(relErr(got.y, want.y) < 2e-5, `${what}: output off by ${relErr(got.y, want.y)}`);
  assert.ok(relErr(got.dx, want.dx) < 2e-5, `${what}: dx off by ${relErr(got.dx, want.dx)}`);
  assert.ok(relErr(got.dsigma, want.dsigma) < 1e-4, `${what}: dσ off by ${relErr(got.dsigma, want.dsigma)}`);
  got.dw.forEach((g, i) =>
    assert.ok(relErr(g, want.dw[i] as Float32Array) < 2e-5, `${what}: weight ${i} gradient off by ${relErr(g, want.dw[i] as Float32Array)}`),
  );
  assert.equal(got.dskip === undefined, want.dskip === undefined, `${what}: affine on one side only`);
  if (got.dskip && want.dskip) assert.ok(relErr(got.dskip, want.dskip) < 1e-7, `${what}: dskip off by ${relErr(got.dskip, want.dskip)}`);
  if (got.dcOut && want.dcOut) assert.ok(relErr(got.dcOut, want.dcOut) < 2e-5, `${what}: dcOut off by ${relErr(got.dcOut, want.dcOut)}`);
}

test('the fused MLP (native kernels, 1 and 2 threads) gives the cpu composite form’s output and gradients for weights, x and σ', async () => {
  const wants: Result[] = [];
  await initBackend({ backend: 'cpu', log: false, native: false });
  assert.equal(hasFusedMlp(), false, 'cpu has no fused MLP');
  // each case plain and affine (the consistency function skip + cOut·F in the same call)
  const runs = CASES.flatMap((c, i) => [false, true].map((affine) => ({ c, seed: i + 1, affine, what: `${c.what}${affine ? ', affine' : ''}` })));
  for (const u of runs) wants.push(evaluate(u.c, u.seed, null, u.affine));
  const info = await initBackend({ backend: 'wasm', log: false });
  if (OFF) {
    assert.equal(info.native.active, false);
    assert.equal(hasFusedMlp(), false, 'CTLAB_NATIVE=0: the fused MLP kernels must be absent');
    runs.forEach((u, i) => compare(evaluate(u.c, u.seed, null, u.affine), wants[i] as Result, `wasm composite, ${u.what}`));
    return;
  }
  assert.ok(info.native.active, `native kernels not active: ${info.native.reason}`);
  assert.ok(hasFusedMlp(), `${MLP_KERNEL}/${MLP_GRAD_KERNEL} not registered on wasm`);
  for (const threads of [1, 2]) {
    setNativeThreads(threads);
    runs.forEach((u, i) => compare(evaluate(u.c, u.seed, true, u.affine), wants[i] as Result, `fused, ${threads} thread(s), ${u.what}`));
  }
  setNativeThreads(1);
  // and the composite form on the same backend agrees too (so the comparison above is of two paths)
  compare(evaluate(CASES[1] as Case, 2, false), wants[2] as Result, 'wasm composite');
});

test('the fused MLP leaves no tensors behind, with and without a gradient tape', async () => {
  await initBackend({ backend: 'wasm', log: false });
  const c = CASES[1] as Case;
  evaluate(c, 5, true);
  evaluate(c, 5, true, true);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    evaluate(c, 5, true);
    evaluate(c, 5, true, true);
  }
  assert.equal(tf.memory().numTensors, before);
});

test('MLP kernel refusals name the input', async () => {
  const info = await initBackend({ backend: 'wasm', log: false });
  const net = new Mlp({ dataDim: 2, hidden: 8, depth: 2, dropout: 0.5, embedding: { kind: 'fourier', scale: 1, dim: 4 }, embeddingSeed: 0 });
  const ws = net.init(0).map((w, i) => tf.tensor(w, net.params[i]?.shape));
  const x = tf.ones([3, 2]);
  const sigma = tf.ones([3]);
  assert.throws(() => net.apply(ws, x, sigma as tf.Tensor1D, [tf.ones([3, 8])]), /mlp: expected 2 dropout masks, got 1/);
  if (info.native.active) {
    const inputs = (over: Record<string, tf.Tensor>): tf.NamedTensorMap => {
      const m: tf.NamedTensorMap = { x, sigma, freqs: tf.ones([2]) };
      ws.forEach((w, i) => (m[`${i % 2 === 0 ? 'w' : 'b'}${i >> 1}`] = w));
      return { ...m, ...over };
    };
    const attrs = { layers: 3, embedding: 'fourier', masks: false, save: false };
    assert.throws(() => tf.engine().runKernel(MLP_KERNEL, inputs({ w1: tf.ones([7, 8]) }), attrs), /CtlabMlp: w1 must be \[8, H\], got \[7,8\]/);
    assert.throws(() => tf.engine().runKernel(MLP_KERNEL, inputs({ sigma: tf.ones([4]) }), attrs), /CtlabMlp: sigma must be \[3\], got \[4\]/);
    assert.throws(() => tf.engine().runKernel(MLP_KERNEL, inputs({}), { ...attrs, masks: true }), /CtlabMlp: missing input m0/);
    assert.throws(
      () => tf.engine().runKernel(MLP_KERNEL, inputs({}), { ...attrs, embedding: 'sinusoid' }),
      /CtlabMlp: embedding must be 'fourier' or 'positional', got 'sinusoid'/,
    );
    assert.throws(
      () => tf.engine().runKernel(MLP_GRAD_KERNEL, inputs({ dy: tf.ones([3, 2]) }), attrs),
      /CtlabMlpGrad: h0 must be float32 \[3, 8\], got nothing/,
    );
  }
  tf.dispose([...ws, x, sigma]);
  net.dispose();
});

test('a constant call (ApplyOptions: no gradient through it), plain or affine, gives the same output, keeps only y, and refuses a gradient', async () => {
  const info = await initBackend({ backend: 'wasm', log: false });
  for (const [i, c] of CASES.entries()) {
    const net = new Mlp(c.spec);
    const r = new Rng(i + 7, 3);
    const ws = net.init(i + 7).map((w, k) => tf.variable(tf.tensor(w, net.params[k]?.shape), true, `const${i}_${k}`));
    const x = tf.tensor2d(r.fillNormal(new Float32Array(c.batch * c.spec.dataDim)), [c.batch, c.spec.dataDim]);
    const sigma = tf.tensor1d(r.fillUniform(new Float32Array(c.batch)).map((u) => 0.002 + 80 * u));
    const masks = net
      .dropoutShapes(c.batch)
      .map((sh) => tf.tensor(r.fillDropoutMask(new Float32Array(sh[0]! * sh[1]!), c.spec.dropout, 1 / (1 - c.spec.dropout)), sh));
    const y = tf.tidy(() => net.apply(ws, x, sigma, masks).dataSync() as Float32Array);
    tf.tidy(() => {
      const before = tf.memory().numTensors;
      const yc = net.apply(ws, x, sigma, masks, { constant: true });
      assert.equal(tf.memory().numTensors, before + 1, `${c.what}: a constant call allocates its output only`);
      assert.deepEqual(yc.dataSync(), y, `${c.what}: the constant call's output differs`);
      const skip = tf.onesLike(x);
      const cOut = tf.fill([c.batch, 1], 0.5);
      const ya = net.applyAffine(ws, x, sigma, masks, skip, cOut).dataSync();
      const n = tf.memory().numTensors;
      const yac = net.applyAffine(ws, x, sigma, masks, skip, cOut, { constant: true });
      assert.equal(tf.memory().numTensors, n + 1, `${c.what}: a constant affine call allocates its output only`);
      assert.deepEqual(yac.dataSync(), ya, `${c.what}: the constant affine call's output differs`);
      if (info.native.active)
        assert.throws(
          () => net.applyAffine(ws, x, sigma, masks, skip, tf.ones([c.batch + 1])),
          new RegExp(`CtlabMlp: cOut must have B = ${c.batch} elements, got \\[${c.batch + 1}\\]`),
        );
    });
    if (info.native.active)
      assert.throws(
        () => tf.variableGrads(() => tf.sum<tf.Scalar>(net.apply(ws, x, sigma, masks, { constant: true })), ws),
        /gradient function not found for CtlabMlp/,
        `${c.what}: a gradient through a constant call must fail, not come back as zeros`,
      );
    tf.dispose([...ws, x, sigma, ...masks]);
    net.dispose();
  }
});
