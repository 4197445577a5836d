import * as assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { initBackend } from '../../src/backend';
import {
  applyMapArray,
  blockDetailMask,
  blockMap,
  chromaMask,
  colorMap,
  editProblem,
  editProjection,
  identityMap,
  interpolationNoise,
  keptPart,
  LUMINANCE,
  makeMask,
  orthogonalBasis,
  slerp,
  validateMask,
  type EditSpec,
} from '../../src/sampling/edit';
import { sampleConsistency } from '../../src/sampling/multistep';
import { greedySigmaSearch } from '../../src/sampling/sigma-search';
import { psnr, ssim } from '../../src/metrics/image-quality';
import { createModelState } from '../../src/training/model-state';
import { stepContext, trainStep } from '../../src/training/ct-step';
import { editSpecFromOptions, parseMask } from '../../src/experiments/edit';
import { readPngImage, readPngMask } from '../../src/data/images';
import type { Network } from '../../src/models/types';
import { Rng } from '../../src/util/rng';
import { tempDir, tinyConfig } from '../helpers';

before(async () => {
  await initBackend({ backend: 'wasm', log: false });
});

const rand = (n: number, seed: number): Float32Array => new Rng(seed, 7).fillNormal(new Float32Array(n));

test('orthogonalBasis: orthonormal rows (float64), the first the normalised given vector', () => {
  for (const first of [[...LUMINANCE], new Array<number>(16).fill(1), [3, -1]]) {
    const q = orthogonalBasis(first);
    assert.equal(q.length, first.length);
    const norm = Math.hypot(...first);
    q[0]?.forEach((v, i) => assert.ok(Math.abs(v - (first[i] as number) / norm) < 1e-15));
    for (let i = 0; i < q.length; i++)
      for (let j = 0; j < q.length; j++) {
        const dot = (q[i] as number[]).reduce((a, v, k) => a + v * ((q[j] as number[])[k] as number), 0);
        assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12, `row ${i}·row ${j} = ${dot}`);
      }
  }
});

test('A⁻¹A = I to float precision for the block (×2, ×4) and colour maps; block coefficient 0 is k × the block mean', () => {
  const shape = [8, 8, 3];
  const x = rand(2 * 192, 1);
  for (const map of [blockMap(shape, 2), blockMap(shape, 4), colorMap(shape), identityMap(shape)]) {
    const back = applyMapArray(map, applyMapArray(map, x), true);
    const err = Math.max(...back.map((v, i) => Math.abs(v - (x[i] as number))));
    assert.ok(err < 1e-5, `${map.name}: max |A⁻¹Ax − x| = ${err}`);
  }
  const map = blockMap([4, 4, 1], 2);
  const img = Float32Array.from({ length: 16 }, (_, i) => i);
  const coef = applyMapArray(map, img);
  // block (0,0) holds pixels 0, 1, 4, 5: mean 2.5, coefficient 0 (at pixel 0) = 2 · 2.5
  assert.ok(Math.abs((coef[0] as number) - 5) < 1e-5);
  // colour: coefficient 0 is the luminance direction's projection
  const rgb = Float32Array.from([0.3, -0.2, 0.9]);
  const c = applyMapArray(colorMap([1, 1, 3]), rgb);
  const l = Math.hypot(...LUMINANCE);
  assert.ok(Math.abs((c[0] as number) - (0.2989 * 0.3 - 0.587 * 0.2 + 0.114 * 0.9) / l) < 1e-6);
});

test('the projection re-inserts the known part exactly and keeps the regenerated part of x', () => {
  const shape = [4, 4, 1];
  const y = rand(2 * 16, 2);
  const x = rand(2 * 16, 3);
  const mask = makeMask({ kind: 'half' }, shape);
  const hook = editProjection(identityMap(shape), y, mask);
  const out = hook(tf.tensor(x, [2, 4, 4, 1]), 0, 2).dataSync();
  for (let i = 0; i < 32; i++) assert.equal(out[i], mask[i % 16] === 1 ? x[i] : y[i], `pixel ${i}`);
  // super-resolution: the projected image has y's block means and x's detail
  const map = blockMap(shape, 2);
  const omega = blockDetailMask(map);
  const proj = editProjection(map, y, omega)(tf.tensor(x, [2, 4, 4, 1]), 0, 2).dataSync() as Float32Array;
  const cp = applyMapArray(map, proj);
  const cy = applyMapArray(map, y);
  const cx = applyMapArray(map, x);
  for (let i = 0; i < 32; i++) assert.ok(Math.abs((cp[i] as number) - ((omega[i % 16] === 1 ? cx : cy)[i] as number)) < 1e-5, `coefficient ${i}`);
  // colour: luminance from y, chroma from x
  const rgbShape = [2, 2, 3];
  const yc = rand(12, 4);
  const xc = rand(12, 5);
  const pc = editProjection(colorMap(rgbShape), yc, chromaMask(rgbShape))(tf.tensor(xc, [1, 2, 2, 3]), 0, 1).dataSync() as Float32Array;
  const lum = (a: Float32Array, p: number): number =>
    LUMINANCE[0] * (a[p] as number) + LUMINANCE[1] * (a[p + 1] as number) + LUMINANCE[2] * (a[p + 2] as number);
  for (let p = 0; p < 12; p += 3) assert.ok(Math.abs(lum(pc, p) - lum(yc, p)) < 1e-5);
  // the kept part is the projection of 0
  const kept = keptPart(identityMap(shape), y, mask);
  for (let i = 0; i < 32; i++) assert.equal((kept[i] as number) + 0, mask[i % 16] === 1 ? 0 : y[i]);
});

test('masks: box, half and random; bad masks refused naming the field', () => {
  const box = makeMask({ kind: 'box' }, [8, 8, 1]);
  assert.equal(
    box.reduce((a, b) => a + b, 0),
    16,
  );
  assert.equal(box[2 * 8 + 2], 1);
  assert.equal(box[0], 0);
  assert.equal(
    makeMask({ kind: 'half' }, [4, 4, 3]).reduce((a, b) => a + b, 0),
    24,
  );
  const r = makeMask({ kind: 'random', rate: 0.5, seed: 1 }, [16, 16, 1]).reduce((a, b) => a + b, 0);
  assert.ok(r > 90 && r < 166, `random mask of rate 0.5 covers ${r} of 256`);
  assert.throws(() => validateMask(new Float32Array(15), 1, [4, 4, 1]), /mask: expected 16 values \(one \[4,4,1\] mask\) or 16 \(one per image\), got 15/);
  assert.throws(
    () =>
      validateMask(
        Float32Array.from({ length: 16 }, () => 0.5),
        1,
        [4, 4, 1],
      ),
    /mask: expected values 0 \(keep\) or 1 \(regenerate\), got 0\.5 at index 0/,
  );
  assert.throws(() => makeMask({ kind: 'random', rate: 1.5 }, [4, 4, 1]), /mask rate: expected a value in \[0, 1\], got 1\.5/);
  assert.throws(() => makeMask({ kind: 'box', x: 3, y: 0, width: 4, height: 2 }, [4, 4, 1]), /mask box: .* inside the 4×4 image/);
  assert.throws(() => parseMask('circle', [4, 4, 1]), /--mask: expected box, box:x,y,width,height, half, random:<rate> or a PNG file, got 'circle'/);
  assert.throws(() => editProblem({ task: 'inpaint', mask: new Float32Array(10) }, rand(16, 1), [4, 4, 1]), /mask: expected 16 values/);
});

function writePng(file: string, w: number, h: number, rgba: number[]): void {
  const png = new PNG({ width: w, height: h });
  png.data = Buffer.from(rgba);
  fs.writeFileSync(file, PNG.sync.write(png));
}

test('PNG inputs: wrong size, channel count and mask values refused with the expected ones', () => {
  const dir = tempDir();
  const rgb = path.join(dir, 'rgb.png');
  writePng(rgb, 2, 2, [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 10, 20, 30, 255]);
  const img = readPngImage(rgb, 2, 2, 3);
  assert.deepEqual(Array.from(img.subarray(0, 3)), [1, -1, -1]);
  assert.throws(() => readPngImage(rgb, 4, 4, 3), /rgb\.png: the PNG is 2×2, expected 4×4 \(the model's image size\)/);
  assert.throws(() => readPngImage(rgb, 2, 2, 1), /rgb\.png: the PNG has 3 channel\(s\) \(RGB\), expected 1 \(grey\)/);
  const grey = path.join(dir, 'grey.png');
  const png = new PNG({ width: 2, height: 2 });
  png.data = Buffer.from([0, 0, 0, 255, 255, 255, 255, 255, 0, 0, 0, 255, 128, 128, 128, 255]);
  fs.writeFileSync(grey, PNG.sync.write(png, { colorType: 0 }));
  assert.throws(() => readPngImage(grey, 2, 2, 3), /grey\.png: the PNG has 1 channel\(s\) \(grey\), expected 3 \(RGB\)/);
  assert.equal(readPngImage(grey, 2, 2, 3, { allowGrey: true }).length, 12);
  assert.throws(
    () => readPngMask(grey, 2, 2, 1),
    /--mask .*grey\.png: pixel 3 is \(128, 128, 128\); expected black \(0, keep\) or white \(255, regenerate\) only/,
  );
  assert.throws(() => readPngMask(grey, 3, 3, 1), /--mask .*: the PNG is 2×2, expected 3×3/);
});

test('bad task inputs: colorization on a grey model, σ and interpolation weights, super-resolution factor', () => {
  assert.throws(
    () => editSpecFromOptions('colorize', { run: 'runs/grey', task: 'colorize', out: '/tmp/x' }, [16, 16, 1]),
    /--task colorize: needs an RGB model \(3 channels\), but runs\/grey has 1 channel\(s\); train one with --data fashion-mnist-color/,
  );
  assert.throws(() => colorMap([4, 4, 1]), /colorization needs an RGB model \(3 channels\); this one has 1 channel/);
  assert.throws(() => editSpecFromOptions('superres', { run: 'r', task: 'superres', out: 'o', factor: 3 }, [16, 16, 1]), /--factor: expected 2 or 4, got 3/);
  assert.throws(() => slerp(rand(4, 1), rand(4, 2), 1.2), /alpha: expected interpolation weights in \[0, 1\], got 1\.2/);
  assert.throws(() => interpolationNoise(1, [0, -0.1], 4, 0), /alpha\[1\]: expected an interpolation weight in \[0, 1\], got -0\.1/);
  assert.throws(() => editProblem({ task: 'denoise', sigma: -1, seed: 0 }, rand(16, 1), [4, 4, 1]), /sigma: expected the noise level of the input/);
});

test('slerp: endpoints exact, halfway keeps the norm of equal-norm vectors', () => {
  const a = rand(64, 1);
  const b = rand(64, 2);
  assert.deepEqual(Array.from(slerp(a, b, 0)), Array.from(a));
  const one = slerp(a, b, 1);
  one.forEach((v, i) => assert.ok(Math.abs(v - (b[i] as number)) < 1e-5));
  const bn = b.map((v) => v * (Math.hypot(...a) / Math.hypot(...b)));
  const mid = slerp(a, bn, 0.5);
  assert.ok(Math.abs(Math.hypot(...mid) - Math.hypot(...a)) < 1e-3 * Math.hypot(...a));
});

test('PSNR and SSIM: identical images score 100 dB and 1; known MSE gives its PSNR', () => {
  const x = rand(2 * 64, 3).map((v) => Math.tanh(v));
  assert.equal(psnr(x, x, [8, 8, 1]), 100);
  assert.ok(Math.abs(ssim(x, x, [8, 8, 1]) - 1) < 1e-12);
  const y = x.map((v) => v + 0.2); // [0, 1] scale: error 0.1, MSE 0.01 → 20 dB
  assert.ok(Math.abs(psnr(y, x, [8, 8, 1]) - 20) < 1e-4);
  assert.ok(ssim(rand(64, 9), x.subarray(0, 64), [8, 8, 1]) < 0.5);
});

test('open sampler: given noise equal to the seeded draw reproduces the default; the hook runs after every step', () => {
  const cfg = tinyConfig('ict', { model: { hidden: 16, depth: 1, dropout: 0 } });
  const state = createModelState(cfg, [2]);
  const n = 5;
  const opts = { n, seed: 3, sigmas: [80, 2, 0.5] };
  const plain = sampleConsistency(state.net, state.ema, opts);
  const z = new Rng(3, 0x5a4d, 0).fillNormal(new Float32Array(n * 2));
  let calls = 0;
  const given = sampleConsistency(state.net, state.ema, {
    ...opts,
    init: { kind: 'noise', z },
    project: (x) => {
      calls++;
      return x.clone();
    },
  });
  given.forEach((v, i) => assert.ok(Math.abs(v - (plain[i] as number)) < 1e-5));
  assert.equal(calls, 3);
  assert.throws(
    () => sampleConsistency(state.net, state.ema, { ...opts, init: { kind: 'image', y: new Float32Array(3) } }),
    /init\.y: expected n·d = 5·2 = 10 values, got 3/,
  );
  state.dispose();
});

// ---------------------------------------------------------------- a tiny trained model

/** The MLP on flattened [4, 4, 3] images. */
function flat(net: Network): Network {
  return {
    params: net.params,
    dataDim: net.dataDim,
    init: (s) => net.init(s),
    dropoutShapes: (b) => net.dropoutShapes(b),
    apply: (w, x, s, m) => tf.tidy(() => tf.reshape(net.apply(w, tf.reshape(x, [x.shape[0], net.dataDim]), s, m), x.shape)),
  };
}

const SHAPE = [4, 4, 3] as const;
const D = 48;
/** Four fixed prototypes with distinct colours, luminance patterns and means; the data are them plus small noise. */
const PROTOS = [0, 1, 2, 3].map((k) => {
  const r = new Rng(100 + k, 1);
  const tint = [
    [0.8, -0.6, -0.6],
    [-0.6, 0.7, -0.5],
    [-0.5, -0.5, 0.8],
    [0.6, 0.6, -0.7],
  ][k] as number[];
  return Float32Array.from({ length: D }, (_, i) => {
    const p = Math.floor(i / 3);
    const on = (p + k) % 3 === 0 || r.uniform() < 0.25 ? 1 : -1;
    return Math.max(-1, Math.min(1, (tint[i % 3] as number) * on + 0.1 * (k - 1.5)));
  });
});

function protoData(n: number, seed: number): Float32Array {
  const rng = new Rng(seed, 2);
  const out = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    const p = PROTOS[rng.int(4)] as Float32Array;
    for (let j = 0; j < D; j++) out[i * D + j] = (p[j] as number) + 0.02 * rng.normal();
  }
  return out;
}

let trained: { net: Network; weights: tf.Tensor[] } | null = null;
async function tinyModel(): Promise<{ net: Network; weights: tf.Tensor[] }> {
  if (trained) return trained;
  const cfg = tinyConfig('ict', { steps: 1200, batchSize: 128, model: { hidden: 128, depth: 3, dropout: 0 }, emaRate: 0.98, optimizer: { lr: 2e-3 } });
  const state = createModelState(cfg, [D]);
  const ctx = stepContext(cfg, state.net, protoData(4000, 1), [D]);
  for (let k = 0; k < cfg.steps; k++) await trainStep(cfg, state, k, ctx);
  trained = { net: flat(state.net), weights: state.ema };
  return trained;
}

const TASKS: { name: string; spec: EditSpec; sigmas: number[] }[] = [
  { name: 'inpaint (right half)', spec: { task: 'inpaint', mask: makeMask({ kind: 'half' }, SHAPE) }, sigmas: [80, 2, 0.5] },
  { name: 'inpaint (random 50%)', spec: { task: 'inpaint', mask: makeMask({ kind: 'random', rate: 0.5, seed: 2 }, SHAPE) }, sigmas: [80, 2, 0.5] },
  { name: 'super-resolution ×2', spec: { task: 'superres', factor: 2 }, sigmas: [5, 2, 1, 0.5] },
  { name: 'super-resolution ×4', spec: { task: 'superres', factor: 4 }, sigmas: [5, 2, 1, 0.5] },
  { name: 'colorization', spec: { task: 'colorize' }, sigmas: [80, 2, 0.5] },
  { name: 'denoising (σ 0.5, one step)', spec: { task: 'denoise', sigma: 0.5, seed: 4 }, sigmas: [0.5] },
  { name: 'stroke-guided', spec: { task: 'stroke' }, sigmas: [1.5, 0.5] },
];

for (const t of TASKS) {
  test(`${t.name} on a tiny trained model improves PSNR over the degraded input`, async () => {
    const { net, weights } = await tinyModel();
    const ref = protoData(32, 9);
    const p = editProblem(t.spec, ref, SHAPE);
    const x = sampleConsistency(net, weights, { n: 32, seed: 5, shape: SHAPE, sigmas: t.sigmas, init: p.init, ...(p.project ? { project: p.project } : {}) });
    const before = psnr(p.degraded, ref, SHAPE);
    const after = psnr(x, ref, SHAPE);
    assert.ok(after > before + 1, `PSNR ${before.toFixed(2)} -> ${after.toFixed(2)} dB`);
  });
}

test('interpolation: α = 0 and 1 give the 1-step samples of the two noise vectors', async () => {
  const { net, weights } = await tinyModel();
  const z = interpolationNoise(2, [0, 0.5, 1], D, 3);
  const x = sampleConsistency(net, weights, { n: 6, seed: 0, shape: SHAPE, sigmas: [80], init: { kind: 'noise', z } });
  const ends = new Float32Array(4 * D);
  [0, 2, 3, 5].forEach((i, k) => ends.set(z.subarray(i * D, (i + 1) * D), k * D));
  const y = sampleConsistency(net, weights, { n: 4, seed: 0, shape: SHAPE, sigmas: [80], init: { kind: 'noise', z: ends } });
  [0, 2, 3, 5].forEach((i, k) => {
    for (let j = 0; j < D; j++) assert.ok(Math.abs((x[i * D + j] as number) - (y[k * D + j] as number)) < 1e-5);
  });
});

test('greedy σ search: descending lists, prefixes of each other, no worse than the fixed 2-step σ on its own held-out set', async () => {
  const { net, weights } = await tinyModel();
  const held = protoData(256, 11);
  // score: mean squared distance of each sample to its nearest held-out image
  const score = (sigmas: readonly number[]): number => {
    const x = sampleConsistency(net, weights, { n: 64, seed: 1, shape: SHAPE, sigmas });
    let total = 0;
    for (let i = 0; i < 64; i++) {
      let best = Infinity;
      for (let j = 0; j < 256; j++) {
        let s = 0;
        for (let k = 0; k < D; k++) s += ((x[i * D + k] as number) - (held[j * D + k] as number)) ** 2;
        best = Math.min(best, s);
      }
      total += best;
    }
    return total / 64;
  };
  const r = await greedySigmaSearch(score, { steps: 3, sigmaMax: 80, sigmaMin: 0.002, iterations: 4, candidates: { 1: [0.821] } });
  assert.equal(r.lists.length, 3);
  r.lists.forEach((l, k) => {
    assert.equal(l.length, k + 1);
    assert.equal(l[0], 80);
    for (let i = 1; i < l.length; i++) assert.ok((l[i] as number) < (l[i - 1] as number));
    if (k > 0) assert.deepEqual(l.slice(0, k), r.lists[k - 1]);
  });
  assert.ok((r.scores[1] as number) <= score([80, 0.821]), `searched 2-step ${r.scores[1]} vs fixed ${score([80, 0.821])}`);
  await assert.rejects(() => greedySigmaSearch(score, { steps: 0, sigmaMax: 80, sigmaMin: 0.002 }), /steps: expected a positive integer, got 0/);
});
