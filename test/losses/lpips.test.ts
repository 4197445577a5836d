import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index';
import { loadFashionMnist } from '../../src/data/idx';
import { toModelRange } from '../../src/data/images';
import { LPIPS_CHANNELS, lpipsFromLayers, lpipsWeightSpecs, PerceptualDistance } from '../../src/losses/lpips';
import { loadDefaultLpips, loadLpips } from '../../src/losses/lpips-weights';
import { loadCheckpoint, saveCheckpoint } from '../../src/training/checkpoint';
import { Rng } from '../../src/util/rng';
import { tempDir } from '../helpers';

/** Float64 LPIPS head exactly as the LPIPS package writes it: f/(‖f‖ + eps), (Δ)², lin, mean, sum. */
function headReference(fx: Float32Array[], fy: Float32Array[], shapes: number[][], weights: (Float32Array | null)[], eps = 1e-10): Float64Array {
  const b = shapes[0]?.[0] as number;
  const out = new Float64Array(b);
  shapes.forEach(([, h, w, c], l) => {
    const hw = (h as number) * (w as number);
    const C = c as number;
    const a = fx[l] as Float32Array;
    const z = fy[l] as Float32Array;
    for (let n = 0; n < b; n++) {
      let acc = 0;
      for (let p = 0; p < hw; p++) {
        const base = (n * hw + p) * C;
        let na = 0;
        let nz = 0;
        for (let k = 0; k < C; k++) {
          na += (a[base + k] as number) ** 2;
          nz += (z[base + k] as number) ** 2;
        }
        na = Math.sqrt(na) + eps;
        nz = Math.sqrt(nz) + eps;
        for (let k = 0; k < C; k++) {
          const d = (a[base + k] as number) / na - (z[base + k] as number) / nz;
          acc += (weights[l]?.[k] ?? 1) * d * d;
        }
      }
      out[n] = (out[n] as number) + acc / hw;
    }
  });
  return out;
}

test('LPIPS head (normalise, square, weight, average, sum) matches a float64 recomputation', async () => {
  await initBackend({ backend: 'wasm', log: false });
  const rng = new Rng(5);
  const shapes = [
    [2, 3, 3, 4],
    [2, 2, 1, 6],
  ];
  const fx = shapes.map((s) => rng.fillNormal(new Float32Array(s.reduce((a, b) => a * b, 1))).map((v) => Math.max(0, v)));
  const fy = shapes.map((s) => rng.fillNormal(new Float32Array(s.reduce((a, b) => a * b, 1))).map((v) => Math.max(0, v)));
  (fx[0] as Float32Array).fill(0, 0, 4); // an all-zero position (ReLU features)
  (fx[0] as Float32Array).fill(0, 8, 12);
  (fy[0] as Float32Array).fill(0, 8, 12);
  const weights = [rng.fillUniform(new Float32Array(4)), rng.fillUniform(new Float32Array(6))];
  for (const w of [weights, [null, null]]) {
    const ref = headReference(fx, fy, shapes, w);
    const got = tf.tidy(() => {
      const tx = fx.map((a, l) => tf.tensor4d(a, shapes[l] as [number, number, number, number]));
      const ty = fy.map((a, l) => tf.tensor4d(a, shapes[l] as [number, number, number, number]));
      return lpipsFromLayers(
        tx,
        ty,
        w.map((v) => (v === null ? null : tf.tensor1d(v))),
      );
    });
    const g = got.dataSync();
    got.dispose();
    for (let n = 0; n < 2; n++) assert.ok(Math.abs((g[n] as number) - (ref[n] as number)) < 1e-5 * Math.max(1, ref[n] as number), `${g[n]} vs ${ref[n]}`);
  }
});

function alexnetFolder(seed: number, resize: number): string {
  const dir = tempDir('ctlab-lpips-');
  const rng = new Rng(seed);
  const specs = lpipsWeightSpecs('alexnet');
  saveCheckpoint(path.join(dir, 'lpips.bin'), {
    step: 0,
    meta: { note: 'random AlexNet-shaped weights made by the test' },
    tensors: specs.map((s) => {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      if (s.name.startsWith('lin')) rng.fillUniform(data);
      else if (s.name.endsWith('.w')) rng.fillNormal(data, 0, Math.sqrt(2 / (n / (s.shape[3] as number))));
      else rng.fillNormal(data, 0, 0.01);
      return { name: s.name, shape: s.shape, data };
    }),
  });
  fs.writeFileSync(path.join(dir, 'lpips.json'), JSON.stringify({ net: 'alexnet', resize }));
  return dir;
}

/** Mean distance between a batch and noisy copies at each level; and finite input gradients. */
function checkDistance(lp: PerceptualDistance, x: Float32Array, shape: [number, number, number, number], levels: number[]): number[] {
  const rng = new Rng(9);
  const noise = rng.fillNormal(new Float32Array(x.length));
  const same = tf.tidy(() => lp.distance(tf.tensor4d(x, shape), tf.tensor4d(x, shape)));
  assert.deepEqual(same.shape, [shape[0]]);
  for (const v of same.dataSync()) assert.ok(Math.abs(v) < 1e-6, `d(x, x) = ${v}`);
  same.dispose();
  const means = levels.map((s) => {
    const d = tf.tidy(() => {
      const t = tf.tensor4d(x, shape);
      const y = tf.clipByValue(tf.add(t, tf.mul(tf.tensor4d(noise, shape), s)), -1, 1) as tf.Tensor4D;
      return tf.mean(lp.distance(t, y));
    });
    const v = d.dataSync()[0] as number;
    d.dispose();
    return v;
  });
  for (let i = 1; i < means.length; i++) assert.ok((means[i] as number) > (means[i - 1] as number), `distance grows with noise: ${means.join(', ')}`);
  const g = tf.tidy(() => {
    const y = tf.clipByValue(tf.add(tf.mul(tf.tensor4d(noise, shape), 0.3), tf.tensor4d(x, shape)), -1, 1) as tf.Tensor4D;
    return tf.grad((t: tf.Tensor) => tf.sum(lp.distance(t as tf.Tensor4D, y)))(tf.tensor4d(x, shape));
  });
  const gd = g.dataSync();
  g.dispose();
  let norm = 0;
  for (const v of gd) {
    assert.ok(Number.isFinite(v));
    norm += v * v;
  }
  assert.ok(norm > 0, 'the gradient reaches the input');
  return means;
}

test('real-LPIPS path: AlexNet-shaped weights from a lpips folder; 0 on equal images, grows with noise, finite gradients', async () => {
  await initBackend({ backend: 'wasm', log: false });
  const dir = alexnetFolder(1, 64);
  const lp = loadLpips(dir);
  assert.match(lp.name, /alexnet/);
  const layers = tf.tidy(() => lp.net.layers(tf.zeros([1, 28, 28, 1])));
  assert.deepEqual(
    layers.map((l) => l.shape[3]),
    [...LPIPS_CHANNELS.alexnet],
  );
  assert.deepEqual(layers[0]?.shape, [1, 15, 15, 64]); // 64x64: (64 + 4 − 11)/4 + 1
  tf.dispose(layers);
  const rng = new Rng(2);
  const x = rng.fillUniform(new Float32Array(3 * 28 * 28)).map((v) => 2 * v - 1);
  checkDistance(lp, x, [3, 28, 28, 1], [0.05, 0.2, 0.6]);
  lp.dispose();

  // bad folders
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'lpips.json'), 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(path.join(dir, 'lpips.json'), JSON.stringify({ ...cfg, net: 'resnet' }));
  assert.throws(() => loadLpips(dir), /"net" must be/);
  fs.writeFileSync(path.join(dir, 'lpips.json'), JSON.stringify({ ...cfg, net: 'vgg16' }));
  assert.throws(() => loadLpips(dir), /tensor 'conv1.w' has shape|no tensor/);
  fs.rmSync(dir, { recursive: true, force: true });
  assert.equal(lpipsWeightSpecs('vgg16').filter((s) => s.name.startsWith('conv')).length, 26);

  const neg = alexnetFolder(3, 64);
  const ck = path.join(neg, 'lpips.bin');
  const c = loadCheckpoint(ck);
  const lin = c.tensors.find((t) => t.name === 'lin2.w');
  if (lin) lin.data[0] = -0.5;
  saveCheckpoint(ck, c);
  assert.throws(() => loadLpips(neg), /expected ≥ 0/);
  fs.rmSync(neg, { recursive: true, force: true });
});

test('default LPIPS-like distance on the shipped classifier (uniform weights)', async () => {
  await initBackend({ backend: 'wasm', log: false });
  const lp = await loadDefaultLpips();
  assert.match(lp.name, /fmnist-cnn, uniform weights/);
  const ds = loadFashionMnist({ split: 'test' });
  const x = toModelRange(ds.images.subarray(0, 8 * 784));
  const means = checkDistance(lp, x, [8, 28, 28, 1], [0.02, 0.1, 0.4]);
  assert.ok((means[0] as number) > 0);
  // 16x16 inputs (the U-Net's size) are resized to 28x28 inside; gradients still reach them
  const g = tf.tidy(() => {
    const t = tf.image.resizeBilinear(tf.tensor4d(x, [8, 28, 28, 1]), [16, 16]);
    const y = tf.reverse<tf.Tensor4D>(t, 2);
    return tf.grad((a: tf.Tensor) => tf.sum(lp.distance(a as tf.Tensor4D, y)))(t);
  });
  assert.deepEqual(g.shape, [8, 16, 16, 1]);
  assert.ok((g.abs().sum().dataSync()[0] as number) > 0);
  g.dispose();
  lp.dispose();
});
