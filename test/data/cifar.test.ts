import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CifarError, loadCifar10, parseCifarBatch, readCifarBatch } from '../../src/data/cifar';
import { tempDir } from '../helpers';

/** Pixel value of image k, channel ch, row y, column x in the fixtures. */
function pix(k: number, ch: number, y: number, x: number): number {
  return (k * 31 + ch * 101 + y * 7 + x * 3) % 256;
}

/** A CIFAR-10 binary batch of the given labels, pixels from `pix` (offset by `k0`). */
function batch(labels: number[], k0 = 0): Buffer {
  const buf = Buffer.alloc(labels.length * 3073);
  labels.forEach((label, i) => {
    const rec = i * 3073;
    buf[rec] = label;
    for (let ch = 0; ch < 3; ch++) {
      for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) buf[rec + 1 + ch * 1024 + y * 32 + x] = pix(k0 + i, ch, y, x);
    }
  });
  return buf;
}

test('readCifarBatch: labels, and planar R,G,B records interleaved to NHWC', () => {
  const dir = tempDir();
  const file = path.join(dir, 'data_batch_1.bin');
  fs.writeFileSync(file, batch([3, 0, 9]));
  const b = readCifarBatch(file);
  assert.deepEqual([b.n, b.h, b.w, b.c], [3, 32, 32, 3]);
  assert.deepEqual(Array.from(b.labels), [3, 0, 9]);
  assert.equal(b.images.length, 3 * 32 * 32 * 3);
  for (const [k, y, x] of [
    [0, 0, 0],
    [1, 5, 17],
    [2, 31, 31],
    [2, 0, 31],
  ] as const) {
    for (let ch = 0; ch < 3; ch++) {
      assert.equal(b.images[((k * 32 + y) * 32 + x) * 3 + ch], pix(k, ch, y, x), `image ${k} (${y}, ${x}) channel ${ch}`);
    }
  }
  // A single hand-made record: R plane all 10, G all 20, B all 30 -> every pixel (10, 20, 30).
  const one = new Uint8Array(3073);
  one[0] = 7;
  one.fill(10, 1, 1025);
  one.fill(20, 1025, 2049);
  one.fill(30, 2049);
  const p = parseCifarBatch(one);
  assert.deepEqual(Array.from(p.images.subarray(0, 6)), [10, 20, 30, 10, 20, 30]);
  assert.deepEqual(Array.from(p.images.subarray(3069)), [10, 20, 30]);
  assert.equal(p.labels[0], 7);
});

test('readCifarBatch errors name the file: bad size, CIFAR-100 hint, bad label, empty, missing', () => {
  const dir = tempDir();
  const odd = path.join(dir, 'odd.bin');
  fs.writeFileSync(odd, Buffer.alloc(3073 * 2 + 5));
  assert.throws(
    () => readCifarBatch(odd),
    (e: unknown) => {
      assert.ok(e instanceof CifarError);
      assert.ok(e.message.startsWith(`${odd}: size 6151 bytes is not a multiple of 3073`), e.message);
      return true;
    },
  );
  const c100 = path.join(dir, 'train.bin');
  fs.writeFileSync(c100, Buffer.alloc(3074 * 3));
  assert.throws(() => readCifarBatch(c100), /multiple of 3074: a CIFAR-100 batch/);
  const badLabel = path.join(dir, 'label.bin');
  fs.writeFileSync(badLabel, batch([1, 12]));
  assert.throws(
    () => readCifarBatch(badLabel),
    (e: unknown) => {
      assert.ok(e instanceof Error && e.message.includes(badLabel) && e.message.includes('record 1 (byte offset 3073) has label 12'), String(e));
      return true;
    },
  );
  const empty = path.join(dir, 'empty.bin');
  fs.writeFileSync(empty, '');
  assert.throws(() => readCifarBatch(empty), /empty\.bin: empty file/);
  assert.throws(() => readCifarBatch(path.join(dir, 'nope.bin')), /nope\.bin: no such file/);
});

test('loadCifar10: concatenates the five training batches in order; test_batch.bin; missing files', () => {
  const dir = tempDir();
  for (let k = 1; k <= 5; k++) fs.writeFileSync(path.join(dir, `data_batch_${k}.bin`), batch([k, k - 1], 2 * (k - 1)));
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), batch([9]));
  const tr = loadCifar10({ dataDir: dir, split: 'train' });
  assert.equal(tr.n, 10);
  assert.deepEqual(Array.from(tr.labels), [1, 0, 2, 1, 3, 2, 4, 3, 5, 4]);
  for (let k = 0; k < 10; k++) assert.equal(tr.images[k * 3072 + 3 * 40 + 1], pix(k, 1, 1, 8), `image ${k}`);
  assert.deepEqual(Array.from(loadCifar10({ dataDir: dir, split: 'test' }).labels), [9]);
  fs.rmSync(path.join(dir, 'data_batch_4.bin'));
  assert.throws(() => loadCifar10({ dataDir: dir, split: 'train' }), /data_batch_4\.bin: no such file; expected the CIFAR-10 binary version/);
});
