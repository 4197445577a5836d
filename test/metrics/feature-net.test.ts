import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index';
import { loadFashionMnist } from '../../src/data/idx';
import { toModelRange } from '../../src/data/images';
import { ClassifierFeatureNet, bilinearMatrix, loadFeatureNet, resizeBilinear } from '../../src/metrics/feature-net';
import { classifierLayerShapes } from '../../src/metrics/classifiers';
import { Rng } from '../../src/util/rng';
import { tempDir } from '../helpers';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const dims = (shape: number[]): { dim: { size: string }[] } => ({ dim: shape.map((s) => ({ size: String(s) })) });
const constNode = (name: string, shape: number[], dtype: 'DT_FLOAT' | 'DT_INT32' = 'DT_FLOAT'): object => ({
  name,
  op: 'Const',
  attr: { dtype: { type: dtype }, value: { tensor: { dtype, tensorShape: dims(shape) } } },
});

/**
 * A tiny TF.js graph model written by hand: x [-1,4,4,1] → Conv2D 3x3 SAME (1→2) → Relu (node
 * 'conv_relu') → Reshape [-1, 32] → MatMul [32, 5] → BiasAdd → Relu ('features') → Identity.
 */
function writeGraphModel(dir: string, convW: Float32Array, fcW: Float32Array, fcB: Float32Array): void {
  const nodes = [
    { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dims([-1, 4, 4, 1]) } } },
    constNode('conv_w', [3, 3, 1, 2]),
    {
      name: 'conv',
      op: 'Conv2D',
      input: ['x', 'conv_w'],
      attr: {
        T: { type: 'DT_FLOAT' },
        strides: { list: { i: ['1', '1', '1', '1'] } },
        dilations: { list: { i: ['1', '1', '1', '1'] } },
        padding: { s: b64('SAME') },
        data_format: { s: b64('NHWC') },
      },
    },
    { name: 'conv_relu', op: 'Relu', input: ['conv'], attr: { T: { type: 'DT_FLOAT' } } },
    constNode('flat_shape', [2], 'DT_INT32'),
    { name: 'flat', op: 'Reshape', input: ['conv_relu', 'flat_shape'], attr: { T: { type: 'DT_FLOAT' } } },
    constNode('fc_w', [32, 5]),
    { name: 'fc', op: 'MatMul', input: ['flat', 'fc_w'], attr: { T: { type: 'DT_FLOAT' }, transpose_a: { b: false }, transpose_b: { b: false } } },
    constNode('fc_b', [5]),
    { name: 'fc_bias', op: 'BiasAdd', input: ['fc', 'fc_b'], attr: { T: { type: 'DT_FLOAT' }, data_format: { s: b64('NHWC') } } },
    { name: 'features', op: 'Relu', input: ['fc_bias'], attr: { T: { type: 'DT_FLOAT' } } },
    { name: 'Identity', op: 'Identity', input: ['features'], attr: { T: { type: 'DT_FLOAT' } } },
  ];
  const shapeBytes = Buffer.from(new Int32Array([-1, 32]).buffer);
  const f32 = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  // two shards, to exercise the concatenation
  fs.writeFileSync(path.join(dir, 'group1-shard1of2.bin'), Buffer.concat([f32(convW), shapeBytes]));
  fs.writeFileSync(path.join(dir, 'group1-shard2of2.bin'), Buffer.concat([f32(fcW), f32(fcB)]));
  const modelJson = {
    format: 'graph-model',
    generatedBy: 'ctlab test',
    convertedBy: 'hand-written',
    modelTopology: { node: nodes, library: {}, versions: { producer: 1 } },
    weightsManifest: [
      {
        paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'],
        weights: [
          { name: 'conv_w', shape: [3, 3, 1, 2], dtype: 'float32' },
          { name: 'flat_shape', shape: [2], dtype: 'int32' },
          { name: 'fc_w', shape: [32, 5], dtype: 'float32' },
          { name: 'fc_b', shape: [5], dtype: 'float32' },
        ],
      },
    ],
  };
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJson));
}

/** Float64 reference of the hand-written graph: conv relu [B,4,4,2] and features [B,5]. */
function reference(x: Float32Array, b: number, convW: Float32Array, fcW: Float32Array, fcB: Float32Array): { conv: Float64Array; feats: Float64Array } {
  const conv = new Float64Array(b * 32);
  for (let n = 0; n < b; n++) {
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        for (let o = 0; o < 2; o++) {
          let s = 0;
          for (let di = -1; di <= 1; di++) {
            for (let dj = -1; dj <= 1; dj++) {
              const ii = i + di;
              const jj = j + dj;
              if (ii < 0 || ii >= 4 || jj < 0 || jj >= 4) continue;
              s += (x[n * 16 + ii * 4 + jj] as number) * (convW[((di + 1) * 3 + (dj + 1)) * 2 + o] as number);
            }
          }
          conv[n * 32 + (i * 4 + j) * 2 + o] = Math.max(0, s);
        }
      }
    }
  }
  const feats = new Float64Array(b * 5);
  for (let n = 0; n < b; n++) {
    for (let o = 0; o < 5; o++) {
      let s = fcB[o] as number;
      for (let k = 0; k < 32; k++) s += (conv[n * 32 + k] as number) * (fcW[k * 5 + o] as number);
      feats[n * 5 + o] = Math.max(0, s);
    }
  }
  return { conv, feats };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

test('a TF.js graph model on disk loads through the file-system handler and matches float64', async () => {
  await initBackend({ backend: 'wasm', log: false });
  const rng = new Rng(11);
  const convW = rng.fillNormal(new Float32Array(18), 0, 0.5);
  const fcW = rng.fillNormal(new Float32Array(160), 0, 0.3);
  const fcB = rng.fillNormal(new Float32Array(5), 0.1, 0.1);
  const dir = tempDir();
  writeGraphModel(dir, convW, fcW, fcB);
  const b = 3;
  const x = rng.fillUniform(new Float32Array(b * 16)).map((v) => 2 * v - 1);
  const ref = reference(x, b, convW, fcW, fcB);

  const net = await loadFeatureNet(dir);
  assert.deepEqual(net.inputShape, [4, 4, 1]);
  assert.equal(net.featureDim, 5);
  const f = tf.tidy(() => net.features(tf.tensor4d(x, [b, 4, 4, 1])));
  assert.deepEqual(f.shape, [b, 5]);
  assert.ok(maxAbsDiff(f.dataSync(), ref.feats) < 1e-5, `features differ by ${maxAbsDiff(f.dataSync(), ref.feats)}`);
  f.dispose();
  assert.throws(() => tf.tidy(() => net.layers(tf.zeros([1, 4, 4, 1]))), /no layer nodes/);
  net.dispose();

  // '#node' picks another output (flattened); feature-net.json names the layer nodes
  fs.writeFileSync(path.join(dir, 'feature-net.json'), JSON.stringify({ name: 'tiny', layers: ['conv_relu'] }));
  const net2 = await loadFeatureNet(`${path.join(dir, 'model.json')}#conv_relu`);
  assert.equal(net2.name, 'tiny');
  assert.equal(net2.featureDim, 32);
  const [g, layers] = tf.tidy(() => {
    const t = tf.tensor4d(x, [b, 4, 4, 1]);
    const ls = net2.layers(t);
    assert.equal(ls.length, 1);
    return [net2.features(t), ls[0] as tf.Tensor4D];
  });
  assert.deepEqual(layers.shape, [b, 4, 4, 2]);
  assert.ok(maxAbsDiff(g.dataSync(), ref.conv) < 1e-5);
  assert.ok(maxAbsDiff(layers.dataSync(), ref.conv) < 1e-5);
  tf.dispose([g, layers]);
  // an 8x8 input is resized to the net's 4x4 first (2x2 block means for this factor)
  const big = tf.tidy(() => net2.features(tf.image.resizeNearestNeighbor(tf.tensor4d(x, [b, 4, 4, 1]), [8, 8])));
  assert.ok(maxAbsDiff(big.dataSync(), ref.conv) < 1e-5);
  big.dispose();
  net2.dispose();

  await assert.rejects(loadFeatureNet(path.join(dir, 'nope')), /neither a shipped net/);
  fs.rmSync(path.join(dir, 'group1-shard2of2.bin'));
  await assert.rejects(loadFeatureNet(dir), /weight shard group1-shard2of2\.bin/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('bilinear resize = half-pixel-centre bilinear (tf.image.resizeBilinear) and is differentiable', async () => {
  await initBackend({ backend: 'wasm', log: false });
  const rng = new Rng(3);
  const x = rng.fillNormal(new Float32Array(2 * 7 * 5 * 3));
  for (const [oh, ow] of [
    [14, 10],
    [3, 4],
    [7, 5],
  ] as const) {
    const [ours, theirs] = tf.tidy(() => {
      const t = tf.tensor4d(x, [2, 7, 5, 3]);
      return [resizeBilinear(t, oh, ow), tf.image.resizeBilinear(t, [oh, ow], false, true)];
    });
    assert.ok(maxAbsDiff(ours.dataSync(), theirs.dataSync()) < 1e-5, `${oh}x${ow}`);
    tf.dispose([ours, theirs]);
  }
  const m = bilinearMatrix(4, 9);
  for (let i = 0; i < 9; i++) {
    let s = 0;
    for (let j = 0; j < 4; j++) s += m[i * 4 + j] as number;
    assert.ok(Math.abs(s - 1) < 1e-6);
  }
  // gradient of sum(resize(x)) wrt x: each input pixel's total weight; totals sum to out size
  const g = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(resizeBilinear(t as tf.Tensor4D, 14, 10)))(tf.tensor4d(x, [2, 7, 5, 3])));
  const gs = g.sum().dataSync()[0] as number;
  assert.ok(Math.abs(gs - 2 * 14 * 10 * 3) < 1e-3);
  g.dispose();
});

test('shipped nets: both load, classify the test split, resize and convert channels', async () => {
  await initBackend({ backend: 'wasm', log: false });
  const ds = loadFashionMnist({ split: 'test' });
  const n = 500;
  const x = toModelRange(ds.images.subarray(0, n * 784));
  const dimsByName: Record<string, number> = { 'fmnist-cnn': 128, 'fmnist-strided': 96 };
  for (const name of ['fmnist-cnn', 'fmnist-strided']) {
    const net = await loadFeatureNet(name);
    assert.ok(net instanceof ClassifierFeatureNet);
    assert.equal(net.name, name);
    assert.deepEqual(net.inputShape, [28, 28, 1]);
    assert.equal(net.featureDim, dimsByName[name]);
    const pred = tf.tidy(() => tf.argMax(net.logits(tf.tensor4d(x, [n, 28, 28, 1])), 1));
    const p = pred.dataSync();
    pred.dispose();
    let correct = 0;
    for (let i = 0; i < n; i++) if (p[i] === ds.labels[i]) correct++;
    assert.ok(correct / n > 0.85, `${name}: accuracy ${correct / n} on ${n} test images`);
    const out = tf.tidy(() => {
      const t = tf.tensor4d(x.subarray(0, 4 * 784), [4, 28, 28, 1]);
      const f = net.features(t);
      const rgb = net.features(tf.tile(t, [1, 1, 1, 3]));
      const small = net.features(tf.image.resizeBilinear(t, [16, 16]));
      const layers = net.layers(t);
      return { f, diff: tf.max(tf.abs(tf.sub(f, rgb))), small, layers };
    });
    assert.deepEqual(out.f.shape, [4, net.featureDim]);
    assert.ok((out.diff.dataSync()[0] as number) < 1e-5, 'RGB copies of a grey image give its features');
    assert.deepEqual(out.small.shape, [4, net.featureDim]);
    const arch = name === 'fmnist-cnn' ? 'cnn' : 'strided';
    assert.deepEqual(
      out.layers.map((l) => l.shape),
      classifierLayerShapes(arch).map((s) => [4, ...s]),
    );
    tf.dispose([out.f, out.diff, out.small, ...out.layers]);
    net.dispose();
  }
  await assert.rejects(loadFeatureNet('fmnist-cnn#x'), /graph models only/);
});
