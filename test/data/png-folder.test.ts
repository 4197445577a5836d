import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { listPngFiles, PngFolderError, readPngFolder } from '../../src/data/png-folder';
import { tempDir } from '../helpers';

/** Write a PNG: c = 1 grey, 3 RGB, 4 RGBA (data row-major, channels last). */
function writePng(file: string, w: number, h: number, c: 1 | 3 | 4, data: ArrayLike<number>): void {
  const png = new PNG({ width: w, height: h });
  png.data = Buffer.from(Array.from(data));
  const colorType = c === 1 ? 0 : c === 3 ? 2 : 6;
  fs.writeFileSync(file, PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: c === 4 }));
}

function ramp(len: number, start: number, step: number): number[] {
  return Array.from({ length: len }, (_, i) => (start + i * step) % 256);
}

test('grey PNGs: sorted by name, other files and sub-folders ignored, pixels exact', () => {
  const dir = tempDir();
  writePng(path.join(dir, 'b.png'), 3, 2, 1, ramp(6, 100, 1));
  writePng(path.join(dir, 'a.png'), 3, 2, 1, ramp(6, 0, 40));
  writePng(path.join(dir, 'c.PNG'), 3, 2, 1, ramp(6, 200, 5));
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'x');
  fs.mkdirSync(path.join(dir, 'd.png'));
  const r = readPngFolder(dir);
  assert.deepEqual(
    r.files.map((f) => path.basename(f)),
    ['a.png', 'b.png', 'c.PNG'],
  );
  assert.deepEqual([r.n, r.h, r.w, r.c], [3, 2, 3, 1]);
  assert.deepEqual(Array.from(r.images), [...ramp(6, 0, 40), ...ramp(6, 100, 1), ...ramp(6, 200, 5)]);
  assert.deepEqual(listPngFiles(dir), r.files);
});

test('RGB and mixed folders: 3 channels (grey repeated), alpha dropped; channels: 1 gives BT.601 luma', () => {
  const dir = tempDir();
  const rgb = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30];
  writePng(path.join(dir, '0.png'), 2, 2, 3, rgb);
  writePng(path.join(dir, '1.png'), 2, 2, 1, [0, 50, 100, 255]);
  writePng(path.join(dir, '2.png'), 2, 2, 4, [1, 2, 3, 0, 4, 5, 6, 128, 7, 8, 9, 255, 200, 100, 50, 10]);
  const r = readPngFolder(dir);
  assert.equal(r.c, 3);
  assert.deepEqual(Array.from(r.images.subarray(0, 12)), rgb);
  assert.deepEqual(Array.from(r.images.subarray(12, 24)), [0, 0, 0, 50, 50, 50, 100, 100, 100, 255, 255, 255]);
  assert.deepEqual(Array.from(r.images.subarray(24)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 200, 100, 50]);
  const g = readPngFolder(dir, { channels: 1 });
  assert.equal(g.c, 1);
  const luma = (R: number, G: number, B: number): number => Math.round(0.299 * R + 0.587 * G + 0.114 * B);
  assert.deepEqual(Array.from(g.images.subarray(0, 4)), [luma(255, 0, 0), luma(0, 255, 0), luma(0, 0, 255), luma(10, 20, 30)]);
  assert.deepEqual(Array.from(g.images.subarray(4, 8)), [0, 50, 100, 255]);
});

test('different sizes: an error naming the file, or resized to `size` (area or nearest)', () => {
  const dir = tempDir();
  writePng(path.join(dir, 'a.png'), 4, 4, 1, ramp(16, 0, 10));
  writePng(path.join(dir, 'b.png'), 2, 2, 1, [0, 100, 200, 40]);
  assert.throws(
    () => readPngFolder(dir),
    (e: unknown) => {
      assert.ok(e instanceof PngFolderError);
      assert.ok(e.message.startsWith(`${path.join(dir, 'b.png')}: is 2x2 (w x h), but a.png is 4x4`), e.message);
      assert.ok(e.message.includes('pass a size'), e.message);
      return true;
    },
  );
  const r = readPngFolder(dir, { size: { h: 2, w: 2 } });
  assert.deepEqual([r.n, r.h, r.w, r.c], [2, 2, 2, 1]);
  // a.png rows: 0..30, 40..70, 80..110, 120..150 -> 2x2 block means 25, 45, 105, 125.
  assert.deepEqual(Array.from(r.images), [25, 45, 105, 125, 0, 100, 200, 40]);
  const nn = readPngFolder(dir, { size: { h: 4, w: 4 }, resize: 'nearest' });
  assert.deepEqual(Array.from(nn.images.subarray(0, 16)), ramp(16, 0, 10));
  assert.deepEqual(Array.from(nn.images.subarray(16, 20)), [0, 0, 100, 100]);
  assert.throws(() => readPngFolder(dir, { size: { h: 0, w: 2 } }), /size must be positive integers/);
});

test('errors: corrupt PNG (names the file), empty folder, missing folder, a file instead of a folder', () => {
  const dir = tempDir();
  writePng(path.join(dir, 'a.png'), 1, 1, 1, [5]);
  const bad = path.join(dir, 'b.png');
  fs.writeFileSync(bad, 'not a png');
  assert.throws(
    () => readPngFolder(dir),
    (e: unknown) => {
      assert.ok(e instanceof PngFolderError && e.message.startsWith(`${bad}: not a readable PNG`), String(e));
      return true;
    },
  );
  const empty = tempDir();
  fs.writeFileSync(path.join(empty, 'x.jpg'), '');
  assert.throws(() => readPngFolder(empty), new RegExp(`${empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no \\.png files`));
  assert.throws(() => readPngFolder(path.join(empty, 'nope')), /nope: no such folder/);
  assert.throws(() => readPngFolder(path.join(dir, 'a.png')), /a\.png: is not a folder/);
});
