import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../src/backend/index';
import { loadFeatureNet } from '../../src/metrics/feature-net';
import { frechetDistance } from '../../src/metrics/frechet';
import { kidStats } from '../../src/metrics/kid';
import { dataFloorCeiling, fashionMnistSubset, gaussianNoiseImages, imageFeatures, imageFidKid } from '../../src/metrics/image-eval';
import { Rng } from '../../src/util/rng';

const SHAPE: [number, number, number] = [28, 28, 1];
const KID = { subsets: 4, subsetSize: 150 };

test('image FID/KID: ≈ 0 for the test split against itself, grows with added noise', async () => {
  await initBackend({ backend: 'wasm', log: false });
  const net = await loadFeatureNet('fmnist-cnn');
  const n = 300;
  const ref = fashionMnistSubset('test', n, 0);
  const self = imageFidKid(ref, ref, n, SHAPE, net, { kid: KID });
  assert.equal(self.featureDim, 128);
  assert.equal(self.nRef, n);
  assert.ok(Math.abs(self.fid) < 1e-6, `FID(x, x) = ${self.fid}`);

  const noise = gaussianNoiseImages(n, SHAPE, 1);
  const fids = [0.1, 0.4].map((s) => {
    const noisy = ref.map((v, i) => Math.max(-1, Math.min(1, v + s * (noise[i] as number))));
    return imageFidKid(noisy, ref, n, SHAPE, net, { kid: KID });
  });
  for (let i = 1; i < fids.length; i++) {
    assert.ok((fids[i]?.fid as number) > (fids[i - 1]?.fid as number), `FID grows with noise: ${fids.map((f) => f.fid).join(', ')}`);
    assert.ok((fids[i]?.kid as number) > (fids[i - 1]?.kid as number), `KID grows with noise: ${fids.map((f) => f.kid).join(', ')}`);
  }
  assert.ok((fids[0]?.fid as number) > 0);
  // The unbiased MMD² assumes independent sets: on identical (or paired) sets it is biased low
  // (the k(x_i, x_i) terms sit only in the cross term), so KID(x, x) is slightly negative, not 0.
  assert.ok(self.kid < (fids[0]?.kid as number), `KID(x, x) = ${self.kid}`);

  // batching does not change the features; float64 FID of the features matches
  const a = imageFeatures(ref.subarray(0, 50 * 784), 50, SHAPE, net, { batchSize: 7 });
  const b = imageFeatures(ref.subarray(0, 50 * 784), 50, SHAPE, net, { batchSize: 50 });
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs((a[i] as number) - (b[i] as number)) < 1e-4);
  assert.ok(Number.isFinite(frechetDistance(a, b, 128)));
  assert.throws(() => imageFidKid(ref, ref, n + 1, SHAPE, net), /expected n·H·W·C/);
  net.dispose();
});

test('floor (test vs train) < model-like (noisy) < ceiling (Gaussian noise), for both shipped nets', async () => {
  await initBackend({ backend: 'wasm', log: false });
  // a degraded "model": noisy copies of the floor's training images (not of the reference test
  // images: noisy copies of the reference itself are paired with it and score deceptively low)
  const rng = new Rng(4);
  const noisyTrain = fashionMnistSubset('train', 300, 1).map((v) => Math.max(-1, Math.min(1, v + 0.3 * rng.normal())));
  const ref = fashionMnistSubset('test', 300, 0);
  for (const name of ['fmnist-cnn', 'fmnist-strided']) {
    const net = await loadFeatureNet(name);
    const r = dataFloorCeiling(net, { n: 300, kid: KID });
    assert.equal(r.net, name);
    assert.ok(r.floor.fid > 0, 'different images: FID > 0');
    assert.ok(r.floor.fid < r.ceiling.fid / 10, `${name}: floor ${r.floor.fid} vs ceiling ${r.ceiling.fid}`);
    assert.ok(r.floor.kid < r.ceiling.kid);
    const mid = imageFidKid(noisyTrain, ref, 300, SHAPE, net, { kid: KID });
    assert.ok(mid.fid > r.floor.fid && mid.fid < r.ceiling.fid, `${name}: ${r.floor.fid} < ${mid.fid} < ${r.ceiling.fid}`);
    net.dispose();
  }
});

test('KID with precomputed kernel matrices gives the same bits as with kernels evaluated per subset', () => {
  const rng = new Rng(8);
  const d = 6;
  const a = rng.fillNormal(new Float64Array(40 * d));
  const b = rng.fillNormal(new Float64Array(33 * d), 0.3, 1.2);
  for (const opts of [{}, { subsets: 7, subsetSize: 10, seed: 3 }, { subsets: 2, subsetSize: 1000 }]) {
    const fast = kidStats(a, b, d, opts);
    const slow = kidStats(a, b, d, { ...opts, maxGramEntries: 0 });
    assert.equal(fast.subsetSize, slow.subsetSize);
    assert.equal(fast.mean, slow.mean);
    assert.equal(fast.std, slow.std);
    assert.deepEqual(fast.values, slow.values);
  }
});
