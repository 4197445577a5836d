/**
 * The cpu backend's corrected kernels (src/backend/cpu/kernels.ts): ResizeNearestNeighborGrad at
 * batch > 1 against a plain-JS reference (the adjoint of the forward resize, checked through
 * <dy, resize(x)> = <grad, x>) and against the wasm backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index';
import { Rng } from '../../src/util/rng';

const CASES: { shape: [number, number, number, number]; size: [number, number]; alignCorners: boolean }[] = [
  { shape: [3, 4, 4, 2], size: [8, 8], alignCorners: false }, // the U-Net's 2x upsampling
  { shape: [2, 3, 5, 3], size: [5, 7], alignCorners: false },
  { shape: [2, 3, 5, 1], size: [7, 4], alignCorners: true },
];

function gradOn(c: (typeof CASES)[number], x: Float32Array, dy: Float32Array): { grad: Float32Array; y: Float32Array } {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, c.shape);
    const dyt = tf.tensor4d(dy, [c.shape[0], c.size[0], c.size[1], c.shape[3]]);
    const f = (t: tf.Tensor): tf.Tensor => tf.image.resizeNearestNeighbor(t as tf.Tensor4D, c.size, c.alignCorners);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), dyt)))(xt);
    return { grad: g.dataSync().slice() as Float32Array, y: f(xt).dataSync().slice() as Float32Array };
  });
}

test('cpu ResizeNearestNeighborGrad is the adjoint of the forward resize at batch > 1, and equals wasm', async () => {
  const rng = new Rng(77);
  for (const c of CASES) {
    const n = c.shape.reduce((a, b) => a * b, 1);
    const m = c.shape[0] * c.size[0] * c.size[1] * c.shape[3];
    const x = rng.fillNormal(new Float32Array(n));
    const dy = rng.fillNormal(new Float32Array(m));
    await initBackend({ backend: 'cpu', log: false });
    const cpu = gradOn(c, x, dy);
    // adjoint check: the resize copies entries, so grad[i] = Σ dy over the outputs that copy x[i];
    // with distinct x values, find each output's source and sum
    const want = new Float64Array(n);
    const index = new Map<number, number>();
    x.forEach((v, i) => index.set(v, i));
    assert.equal(index.size, n, 'distinct inputs');
    cpu.y.forEach((v, j) => {
      const i = index.get(v);
      assert.ok(i !== undefined, 'each output copies an input');
      // outputs copy within their own image
      assert.equal(Math.floor(i / (n / c.shape[0])), Math.floor(j / (m / c.shape[0])));
      want[i] = (want[i] as number) + (dy[j] as number);
    });
    cpu.grad.forEach((g, i) =>
      assert.ok(Math.abs(g - (want[i] as number)) < 1e-5, `[${c.shape}] -> [${c.size}] alignCorners=${c.alignCorners}: grad ${i} = ${g}, want ${want[i]}`),
    );
    await initBackend({ backend: 'wasm', log: false });
    const wasm = gradOn(c, x, dy);
    wasm.grad.forEach((g, i) => assert.ok(Math.abs(g - (cpu.grad[i] as number)) < 1e-5, `wasm vs cpu, grad ${i}`));
  }
});
