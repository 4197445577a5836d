import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index';
import { createUNet, DropoutMasks, groupNorm, groupNormReference, UNetConfig, UNetNetwork } from '../../src/models/unet';
import { BENCH_UNET_CONFIG, benchStep } from '../../bench/ct-step';
import { buildNetwork } from '../../src/models/build';
import { buildConfig } from '../../src/config/presets';
import { Rng } from '../../src/util/rng';

// one thread in this file: the tests are dominated by tiny ops (threads are tested in test/backend)
process.env.CTLAB_THREADS ??= '1';

const TINY: UNetConfig = { imageChannels: 1, channels: [8, 16], embedding: { kind: 'fourier', scale: 0.02, dim: 8 }, embDim: 16, groups: 4, dropout: 0.2 };

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

test('parameters are a pure function of the seed; the bench U-Net has 364,545', async () => {
  await initBackend({ backend: 'cpu', log: false });
  const a = new UNetNetwork({ ...TINY, height: 8, width: 8 }, 1);
  const i1 = a.init(5);
  const i2 = a.init(5);
  const i3 = a.init(6);
  assert.equal(i1.length, a.params.length);
  i1.forEach((w, k) => assert.deepEqual(w, i2[k]));
  assert.ok(i1.some((w, k) => maxAbsDiff(w, i3[k] as Float32Array) > 0));
  const bench = buildNetwork(BENCH_UNET_CONFIG, [16, 16, 1]); // the bench's net, from its ctlab config
  assert.equal(
    bench.params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0),
    364545,
  );
  assert.equal(bench.dropoutShapes(32).length, 5); // one mask per ResBlock
  assert.deepEqual(bench.dropoutShapes(32)[0], [32, 16, 16, 32]);
  assert.deepEqual(bench.dropoutShapes(32)[2], [32, 8, 8, 64]);
  a.dispose();
  bench.dispose();
  assert.throws(() => new UNetNetwork({ ...TINY, height: 7, width: 8 }, 0), /divisible/);
  assert.throws(() => new UNetNetwork({ ...TINY, groups: 3, height: 8, width: 8 }, 0), /groups/);
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`f(x, σ_min) = x and dropout masks are shared between passes (${backend})`, async () => {
    await initBackend({ backend, log: false });
    const net = createUNet({ ...TINY, height: 8, width: 8 }, 3);
    const rng = new Rng(9);
    const x = tf.tensor4d(rng.fillNormal(new Float32Array(2 * 64)), [2, 8, 8, 1]);
    const atMin = net.apply(x, tf.tensor1d([0.002, 0.002]), { training: false });
    assert.ok(maxAbsDiff(atMin.dataSync(), x.dataSync()) < 1e-6, 'boundary condition');
    const sigma = tf.tensor1d([0.5, 3]);
    const m1 = new DropoutMasks(7, 1);
    const m2 = new DropoutMasks(7, 1); // same seed and stream: same masks
    const m3 = new DropoutMasks(7, 2);
    const y1 = net.apply(x, sigma, { training: true, dropout: m1 });
    const y1b = net.apply(x, sigma, { training: true, dropout: m1 });
    const y2 = net.apply(x, sigma, { training: true, dropout: m2 });
    const y3 = net.apply(x, sigma, { training: true, dropout: m3 });
    const yEval = net.apply(x, sigma, { training: false });
    assert.equal(maxAbsDiff(y1.dataSync(), y1b.dataSync()), 0);
    assert.equal(maxAbsDiff(y1.dataSync(), y2.dataSync()), 0);
    assert.ok(maxAbsDiff(y1.dataSync(), y3.dataSync()) > 1e-4, 'other masks change the output');
    assert.ok(maxAbsDiff(y1.dataSync(), yEval.dataSync()) > 1e-4, 'dropout is active in training');
    assert.throws(() => net.apply(x, sigma, { training: true }), /dropout/);
    // another weight list (a teacher copy) gives the same output when equal
    const copy = net.cloneParams();
    const yCopy = net.apply(x, sigma, { training: false, params: copy });
    assert.equal(maxAbsDiff(yEval.dataSync(), yCopy.dataSync()), 0);
    tf.dispose([x, atMin, sigma, y1, y1b, y2, y3, yEval, yCopy, ...copy]);
    m1.dispose();
    m2.dispose();
    m3.dispose();
    net.dispose();
  });

  test(`fast GroupNorm equals the textbook form, values and gradients (${backend})`, async () => {
    await initBackend({ backend, log: false });
    const rng = new Rng(21);
    for (const [G, C] of [
      [4, 8],
      [8, 8],
      [2, 6],
      [1, 5],
    ] as const) {
      const x = tf.tensor4d(rng.fillNormal(new Float32Array(3 * 5 * 4 * C), 0.4, 2), [3, 5, 4, C]);
      const g = tf.tensor1d(rng.fillNormal(new Float32Array(C), 1, 0.3));
      const b = tf.tensor1d(rng.fillNormal(new Float32Array(C)));
      const dy = tf.tensor4d(rng.fillNormal(new Float32Array(3 * 5 * 4 * C)), [3, 5, 4, C]);
      const grads = (f: typeof groupNorm): tf.Tensor[] =>
        tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) => tf.sum(tf.mul(f(p as tf.Tensor4D, q as tf.Tensor1D, r as tf.Tensor1D, G), dy)))([x, g, b]);
      const fast = [groupNorm(x, g, b, G), ...grads(groupNorm)];
      const ref = [groupNormReference(x, g, b, G), ...grads(groupNormReference)];
      fast.forEach((t, i) => assert.ok(maxAbsDiff(t.dataSync(), (ref[i] as tf.Tensor).dataSync()) < 2e-5, `G=${G} C=${C} output ${i}`));
      tf.dispose([x, g, b, dy, ...fast, ...ref]);
    }
  });
}

test("U-Net forward and gradients agree on wasm and cpu (batch 2; the cpu backend with ctlab's corrected ResizeNearestNeighborGrad)", async () => {
  const out: Float32Array[][] = [];
  for (const backend of ['cpu', 'wasm'] as const) {
    await initBackend({ backend, log: false });
    const net = createUNet({ ...TINY, height: 8, width: 8 }, 4);
    const rng = new Rng(10);
    const x = tf.tensor4d(rng.fillNormal(new Float32Array(128)), [2, 8, 8, 1]);
    const sigma = tf.tensor1d([1.3, 0.2]);
    const masks = new DropoutMasks(1);
    const { value, grads } = tf.variableGrads(() => tf.sum<tf.Scalar>(tf.square(net.apply(x, sigma, { training: true, dropout: masks }))), net.params);
    out.push([value.dataSync() as Float32Array, ...net.params.map((p) => grads[p.name]?.dataSync() as Float32Array)]);
    tf.dispose([x, sigma, value, ...Object.values(grads)]);
    masks.dispose();
    net.dispose();
  }
  const [cpu, wasm] = out as [Float32Array[], Float32Array[]];
  cpu.forEach((r, i) => {
    let scale = 1e-3;
    for (const v of r) scale = Math.max(scale, Math.abs(v));
    assert.ok(maxAbsDiff(wasm[i] as Float32Array, r) <= 2e-4 * scale, `output ${i}: ${maxAbsDiff(wasm[i] as Float32Array, r)} (scale ${scale})`);
  });
});

test("tensor count stays flat over 1,000 U-Net training steps of the trainer's step (tiny size, wasm)", async () => {
  await initBackend({ backend: 'wasm', log: false });
  const cfg = buildConfig(
    'ict',
    {
      steps: 1000,
      batchSize: 2,
      data: { kind: 'fashion-mnist', size: 4 },
      model: { kind: 'unet', channels: [4], groups: 2, numResBlocks: 1, embedding: { kind: 'fourier', scale: 0.02, dim: 8 }, dropout: 0.2 },
    },
    'fashion-mnist',
  );
  const runner = benchStep(cfg, { examples: 16 });
  await runner.step();
  const tensors = tf.memory().numTensors;
  const bytes = tf.memory().numBytes;
  let loss = NaN;
  for (let i = 0; i < 1000; i++) loss = await runner.step();
  assert.ok(Number.isFinite(loss), `loss ${loss}`);
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(tf.memory().numBytes, bytes);
  runner.dispose();
});
