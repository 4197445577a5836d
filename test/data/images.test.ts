import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { fromModelRange, gatherImages, gridSize, resizeImages, shuffleIndices, toModelRange, writeImageGrid } from '../../src/data/images';
import { tempDir } from '../helpers';

function close(actual: number, expected: number, tol: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);
}

test('area resize 28 -> 14 is the exact 2x2 block mean (float), rounded for u8', () => {
  const n = 2;
  const src = new Float32Array(n * 28 * 28);
  for (let i = 0; i < src.length; i++) src[i] = ((i * 37) % 101) / 7;
  const out = resizeImages(src, n, 28, 28, 1, 14, 14);
  assert.ok(out instanceof Float32Array);
  assert.equal(out.length, n * 14 * 14);
  for (let k = 0; k < n; k++) {
    for (let y = 0; y < 14; y++) {
      for (let x = 0; x < 14; x++) {
        const at = (yy: number, xx: number): number => src[(k * 28 + yy) * 28 + xx] as number;
        const mean = (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1)) / 4;
        close(out[(k * 14 + y) * 14 + x] as number, mean, 1e-5, `(${k}, ${y}, ${x})`);
      }
    }
  }
  const u8 = new Uint8Array([0, 1, 255, 255, 2, 2, 254, 255]); // 2x4 -> 1x2: means 1.25 and 254.75
  const r = resizeImages(u8, 1, 2, 4, 1, 1, 2);
  assert.ok(r instanceof Uint8Array);
  assert.deepEqual(Array.from(r), [1, 255]);
});

test('area resize with a fractional factor: hand-computed weights (4 -> 3, 28 -> 16), mean preserved', () => {
  // 4 -> 3: each output covers 4/3 input cells: [0.75a + 0.25b, 0.5b + 0.5c, 0.25c + 0.75d].
  const row = new Float32Array([4, 8, 16, 32]);
  const r = resizeImages(row, 1, 1, 4, 1, 1, 3);
  close(r[0] as number, 5, 1e-6);
  close(r[1] as number, 12, 1e-6);
  close(r[2] as number, 28, 1e-6);
  // 28 -> 16 (factor 1.75): output 0 = (1·p0 + 0.75·p1)/1.75, output 1 = (0.25·p1 + 1·p2 + 0.5·p3)/1.75.
  const line = new Float32Array(28);
  for (let i = 0; i < 28; i++) line[i] = i * i;
  const r16 = resizeImages(line, 1, 1, 28, 1, 1, 16);
  close(r16[0] as number, (0 + 0.75 * 1) / 1.75, 1e-5);
  close(r16[1] as number, (0.25 * 1 + 4 + 0.5 * 9) / 1.75, 1e-5);
  // 2D, 3 channels: the image mean is preserved, a constant image stays constant.
  const img = new Float32Array(28 * 28 * 3);
  for (let i = 0; i < img.length; i++) img[i] = (i % 3) * 100 + ((i * 13) % 17);
  const small = resizeImages(img, 1, 28, 28, 3, 16, 16);
  for (let ch = 0; ch < 3; ch++) {
    let a = 0;
    let b = 0;
    for (let p = 0; p < 28 * 28; p++) a += img[3 * p + ch] as number;
    for (let p = 0; p < 16 * 16; p++) b += small[3 * p + ch] as number;
    close(b / 256, a / 784, 1e-4, `channel ${ch} mean`);
  }
  const flat = resizeImages(new Uint8Array(28 * 28).fill(77), 1, 28, 28, 1, 16, 16);
  assert.ok(flat.every((v) => v === 77));
});

test('nearest resize picks the pixel under each output centre; batches and channels stay apart', () => {
  const row = new Uint8Array([10, 20, 30, 40]);
  assert.deepEqual(Array.from(resizeImages(row, 1, 1, 4, 1, 1, 2, 'nearest')), [20, 40]);
  assert.deepEqual(Array.from(resizeImages(new Uint8Array([1, 2]), 1, 1, 2, 1, 1, 4, 'nearest')), [1, 1, 2, 2]);
  // Two 2x2 RGB images -> 1x1 by area: per image, per channel means.
  const two = new Uint8Array([
    0,
    100,
    200,
    2,
    100,
    200,
    4,
    100,
    200,
    6,
    100,
    204, // image 0
    10,
    0,
    1,
    10,
    0,
    1,
    10,
    0,
    1,
    10,
    0,
    1, // image 1
  ]);
  assert.deepEqual(Array.from(resizeImages(two, 2, 2, 2, 3, 1, 1)), [3, 100, 201, 10, 0, 1]);
  // Same size: an equal copy.
  const same = resizeImages(two, 2, 2, 2, 3, 2, 2);
  assert.deepEqual(same, two);
  assert.notEqual(same, two);
  assert.throws(() => resizeImages(two, 2, 2, 2, 2, 1, 1), /length 24, expected n·h·w·c = 2·2·2·2 = 16/);
  assert.throws(() => resizeImages(two, 2, 2, 2, 3, 0, 1), /output size/);
});

test('toModelRange / fromModelRange: 0 -> -1, 255 -> 1, exact round trip, clamping', () => {
  const all = new Uint8Array(256);
  for (let i = 0; i < 256; i++) all[i] = i;
  const x = toModelRange(all);
  assert.equal(x[0], -1);
  assert.equal(x[255], 1);
  close(x[128] as number, 1 / 255, 1e-7);
  assert.ok(x.every((v) => v >= -1 && v <= 1));
  assert.deepEqual(fromModelRange(x), all);
  assert.deepEqual(Array.from(fromModelRange(new Float32Array([-3, 2, 0, Number.NaN, -1, 1]))), [0, 255, 128, 0, 0, 255]);
});

test('shuffleIndices: a seeded permutation; gatherImages picks rows', () => {
  const p = shuffleIndices(50, 7);
  assert.deepEqual(
    Array.from(p).sort((a, b) => a - b),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.deepEqual(shuffleIndices(50, 7), p);
  assert.notDeepEqual(shuffleIndices(50, 8), p);
  assert.notDeepEqual(
    Array.from(p),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.equal(shuffleIndices(0, 1).length, 0);
  const imgs = new Uint8Array([1, 1, 2, 2, 3, 3]);
  assert.deepEqual(Array.from(gatherImages(imgs, 2, [2, 0])), [3, 3, 1, 1]);
  assert.throws(() => gatherImages(imgs, 2, [3]), /index 3 out of range/);
});

test('writeImageGrid: grey and RGB grids with a 1-px gap read back pixel for pixel', () => {
  const dir = tempDir();
  // 5 grey 3x2 images (h = 3, w = 2) in 2 columns -> 3 rows: 5 x 11 pixels.
  const n = 5;
  const u8 = new Uint8Array(n * 6);
  for (let i = 0; i < u8.length; i++) u8[i] = i * 8;
  const file = path.join(dir, 'sub', 'grid.png');
  writeImageGrid(file, toModelRange(u8), n, 3, 2, 1, 2);
  assert.deepEqual(gridSize(n, 3, 2, 2), { width: 5, height: 11, rows: 3, cols: 2 });
  const png = PNG.sync.read(fs.readFileSync(file));
  assert.deepEqual([png.width, png.height, png.color, png.alpha], [5, 11, false, false]);
  const at = (x: number, y: number): number => png.data[4 * (y * png.width + x)] as number;
  for (let k = 0; k < n; k++) {
    const x0 = (k % 2) * 3;
    const y0 = Math.floor(k / 2) * 4;
    for (let y = 0; y < 3; y++) for (let x = 0; x < 2; x++) assert.equal(at(x0 + x, y0 + y), u8[k * 6 + y * 2 + x], `tile ${k} (${y}, ${x})`);
  }
  for (let y = 0; y < 11; y++) assert.equal(at(2, y), 255, `vertical gap at row ${y}`);
  for (let x = 0; x < 5; x++) assert.equal(at(x, 3), 255, `horizontal gap at column ${x}`);
  assert.equal(at(4, 9), 255, 'the empty last cell is background');

  // RGB: 2 images of 1x1 in 4 columns -> 3 x 1 pixels (the grid is only as wide as n).
  const rgb = new Float32Array([-1, 0, 1, 1, -1, -1]);
  const f2 = path.join(dir, 'rgb.png');
  writeImageGrid(f2, rgb, 2, 1, 1, 3, 4, { gapValue: 0 });
  const p2 = PNG.sync.read(fs.readFileSync(f2));
  assert.deepEqual([p2.width, p2.height, p2.color], [3, 1, true]);
  assert.deepEqual(Array.from(p2.data), [0, 128, 255, 255, 0, 0, 0, 255, 255, 0, 0, 255]);
  assert.throws(() => writeImageGrid(f2, rgb, 1, 1, 1, 6, 1), /c must be 1 \(grey\) or 3/);
});
