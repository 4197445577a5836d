import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { distance, hasFusedDistance, pseudoHuberC, weightedDistance } from '../../src/losses/distance';
import { initBackend } from '../../src/backend/index';
import { Rng } from '../../src/util/rng';
import type { DistanceKind } from '../../src/losses/distance';

function close(actual: number, expected: number, relTol: number, what = ''): void {
  const tol = relTol * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);
}

function run(kind: DistanceKind, x: number[][], y: number[][], opts: { c?: number } = {}): number[] {
  return tf.tidy(() => {
    const d = distance(kind, tf.tensor2d(x), tf.tensor2d(y), opts);
    assert.deepEqual(d.shape, [x.length]);
    return Array.from(d.dataSync());
  });
}

test('pseudoHuberC = 0.00054 sqrt(d): CIFAR-10 d = 3072 gives 0.0299, d = 2, d = 12288', () => {
  close(pseudoHuberC(3072), 0.0299298379547902, 1e-15); // python3: 0.00054*sqrt(3072)
  assert.ok(Math.abs(pseudoHuberC(3072) - 0.0299) < 1e-4);
  close(pseudoHuberC(2), 0.0007636753236814714, 1e-15); // python3: 0.00054*sqrt(2)
  close(pseudoHuberC(12288), 2 * 0.0299298379547902, 1e-15); // ImageNet-64: twice CIFAR-10's
  close(pseudoHuberC(1), 0.00054, 1e-15);
});

test('pseudoHuberC errors', () => {
  assert.throws(() => pseudoHuberC(0), /dim must be a positive integer/);
  assert.throws(() => pseudoHuberC(-3), /dim must be a positive integer/);
  assert.throws(() => pseudoHuberC(2.5), /dim must be a positive integer/);
  assert.throws(() => pseudoHuberC(Number.NaN), /dim must be a positive integer/);
});

test('l2 = mean of squared differences per example; l1 = mean absolute difference', async () => {
  await tf.setBackend('cpu');
  const x = [
    [3, 4],
    [1, -2],
    [0.5, 0.5],
  ];
  const y = [
    [0, 0],
    [1, 1],
    [0.5, -0.5],
  ];
  const l2 = run('l2', x, y);
  close(l2[0] as number, (9 + 16) / 2, 1e-6);
  close(l2[1] as number, (0 + 9) / 2, 1e-6);
  close(l2[2] as number, (0 + 1) / 2, 1e-6);
  const l1 = run('l1', x, y);
  close(l1[0] as number, 3.5, 1e-6);
  close(l1[1] as number, 1.5, 1e-6);
  close(l1[2] as number, 0.5, 1e-6);
});

test('pseudo-huber is sqrt(||x - y||^2 + c^2) - c over the whole example, not per element', async () => {
  await tf.setBackend('cpu');
  // x − y = (3, 4), c = 1: whole example sqrt(25 + 1) − 1 = 4.0990;
  // per element it would be (sqrt(10) − 1) + (sqrt(17) − 1) = 5.2854 summed, 2.6427 averaged.
  const whole = Math.sqrt(26) - 1;
  const perElementSum = Math.sqrt(10) - 1 + (Math.sqrt(17) - 1);
  const perElementMean = perElementSum / 2;
  const [ph] = run('pseudo-huber', [[3, 4]], [[0, 0]], { c: 1 });
  close(ph as number, whole, 1e-6, 'whole-example pseudo-Huber');
  assert.ok(Math.abs((ph as number) - perElementSum) > 1, 'must not be the per-element sum');
  assert.ok(Math.abs((ph as number) - perElementMean) > 1, 'must not be the per-element mean');
  // the default c is 0.00054·sqrt(D) with D the per-example dimension (2 here)
  const c2 = 0.00054 * Math.sqrt(2);
  const [def] = run('pseudo-huber', [[3, 4]], [[0, 0]]);
  close(def as number, Math.sqrt(25 + c2 * c2) - c2, 1e-6, 'default c');
  // small errors: ≈ ||Δ||²/(2c); large: ≈ ||Δ|| − c
  const [small] = run('pseudo-huber', [[1e-3, 0]], [[0, 0]], { c: 1 });
  close(small as number, 1e-6 / 2, 1e-3, 'quadratic regime');
  // batch of two with different c behaviour per row
  const both = run(
    'pseudo-huber',
    [
      [3, 4],
      [0, 1],
    ],
    [
      [0, 0],
      [0, 0],
    ],
    { c: 0.5 },
  );
  close(both[0] as number, Math.sqrt(25.25) - 0.5, 1e-6);
  close(both[1] as number, Math.sqrt(1.25) - 0.5, 1e-6);
});

test('every distance is zero for identical inputs', async () => {
  await tf.setBackend('cpu');
  const x = [
    [0.3, -1.2, 5],
    [2, 2, 2],
  ];
  for (const kind of ['l2', 'l1', 'pseudo-huber'] as const) {
    for (const v of run(kind, x, x)) assert.equal(v, 0, kind);
  }
});

test('works on 4-D [B, H, W, C] inputs, reducing over H, W, C', async () => {
  await tf.setBackend('cpu');
  const B = 2;
  const H = 2;
  const W = 3;
  const C = 3;
  const D = H * W * C;
  const xs = new Float32Array(B * D).map((_, i) => Math.sin(i * 0.7) * 2);
  const ys = new Float32Array(B * D).map((_, i) => Math.cos(i * 0.3));
  const expect = { l2: [0, 0], l1: [0, 0], ph: [0, 0] };
  for (let b = 0; b < B; b++) {
    let sq = 0;
    let ab = 0;
    for (let j = 0; j < D; j++) {
      const d = (xs[b * D + j] as number) - (ys[b * D + j] as number);
      sq += d * d;
      ab += Math.abs(d);
    }
    const c = 0.00054 * Math.sqrt(D);
    expect.l2[b] = sq / D;
    expect.l1[b] = ab / D;
    expect.ph[b] = Math.sqrt(sq + c * c) - c;
  }
  const got = tf.tidy(() => {
    const x = tf.tensor4d(xs, [B, H, W, C]);
    const y = tf.tensor4d(ys, [B, H, W, C]);
    return {
      l2: Array.from(distance('l2', x, y).dataSync()),
      l1: Array.from(distance('l1', x, y).dataSync()),
      ph: Array.from(distance('pseudo-huber', x, y).dataSync()),
      shape: distance('l2', x, y).shape,
    };
  });
  assert.deepEqual(got.shape, [B]);
  for (let b = 0; b < B; b++) {
    close(got.l2[b] as number, expect.l2[b] as number, 1e-5, `l2[${b}]`);
    close(got.l1[b] as number, expect.l1[b] as number, 1e-5, `l1[${b}]`);
    close(got.ph[b] as number, expect.ph[b] as number, 1e-5, `pseudo-huber[${b}]`);
  }
});

test("'lpips' throws with a message about the feature network", async () => {
  await tf.setBackend('cpu');
  assert.throws(() => tf.tidy(() => distance('lpips', tf.zeros([2, 4]), tf.zeros([2, 4]))), /feature network/);
});

/** mean_b w_b·d_b and its gradients for x, y, w on the active backend. */
function weighted(kind: 'l2' | 'l1' | 'pseudo-huber', shape: number[], seed: number): { value: number; grads: Float32Array[] } {
  const r = new Rng(seed, 3);
  const n = shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor(r.fillNormal(new Float32Array(n)), shape);
  const yv = r.fillNormal(new Float32Array(n));
  yv[0] = x.dataSync()[0] as number; // one exact tie: TF.js's |·| has gradient −1 there, the kernel too
  const y = tf.tensor(yv, shape);
  const w = tf.tensor1d(r.fillUniform(new Float32Array(shape[0] as number)).map((u) => 0.1 + u));
  const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor): tf.Scalar => weightedDistance(kind, a, b, c as tf.Tensor1D, kind === 'pseudo-huber' ? { c: 0.03 } : {});
  const value = tf.tidy(() => f(x, y, w).dataSync()[0] as number);
  const grads = tf.tidy(() =>
    tf
      .grads(f)([x, y, w])
      .map((g) => g.dataSync() as Float32Array),
  );
  tf.dispose([x, y, w]);
  return { value, grads };
}

test('weightedDistance: the native kernels give the cpu composite form’s value and gradients for x, y and the weights', async () => {
  const shapes = [
    [512, 2],
    [7, 4, 4, 3],
  ];
  const want: { value: number; grads: Float32Array[] }[] = [];
  await initBackend({ backend: 'cpu', log: false, native: false });
  assert.equal(hasFusedDistance(), false);
  for (const kind of ['l2', 'l1', 'pseudo-huber'] as const) for (const s of shapes) want.push(weighted(kind, s, s.length));
  const info = await initBackend({ backend: 'wasm', log: false });
  assert.equal(hasFusedDistance(), info.native.active, 'the fused kernels are there exactly when the native ones are');
  let i = 0;
  for (const kind of ['l2', 'l1', 'pseudo-huber'] as const)
    for (const s of shapes) {
      const got = weighted(kind, s, s.length);
      const ref = want[i++] as { value: number; grads: Float32Array[] };
      assert.ok(Math.abs(got.value - ref.value) <= 1e-6 * Math.abs(ref.value), `${kind} [${s}]: value ${got.value} vs ${ref.value}`);
      got.grads.forEach((g, k) => {
        const r = ref.grads[k] as Float32Array;
        let d = 0;
        let m = 0;
        for (let j = 0; j < g.length; j++) {
          d = Math.max(d, Math.abs((g[j] as number) - (r[j] as number)));
          m = Math.max(m, Math.abs(r[j] as number));
        }
        assert.ok(d <= 1e-5 * m, `${kind} [${s}]: gradient ${['x', 'y', 'w'][k]} off by ${d} (scale ${m})`);
      });
    }
  if (info.native.active) {
    const x = tf.ones([3, 2]);
    assert.throws(
      () => weightedDistance('l2', x, tf.ones([3, 3]), tf.ones<tf.Rank.R1>([3])),
      /CtlabWeightedDistance: y must have x's shape \[3,2\], got \[3,3\]/,
    );
    assert.throws(() => weightedDistance('l2', x, x, tf.ones<tf.Rank.R1>([4])), /CtlabWeightedDistance: weight must be \[3\], got \[4\]/);
  }
});
