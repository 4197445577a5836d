import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CheckpointError,
  checkpointFileName,
  listCheckpoints,
  loadCheckpoint,
  loadLatestCheckpoint,
  pruneCheckpoints,
  saveCheckpoint,
} from '../../src/training/checkpoint';
import type { Checkpoint } from '../../src/training/checkpoint';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ctlab-'));
}

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

function sample(step: number): Checkpoint {
  const big = new Float32Array(4 * 3 * 5);
  for (let i = 0; i < big.length; i++) big[i] = Math.sin(i * 1.37 + step) * 10 ** ((i % 7) - 3);
  // a view that does not start at byte 0 of its buffer
  const backing = new Float32Array(10).map((_, i) => i + 0.25);
  const view = backing.subarray(3, 9);
  return {
    step,
    meta: { optimizerIteration: step * 2, config: { name: 'ict', lr: 1e-3 }, tags: ['a', 'b'], note: 'ünï' },
    tensors: [
      { name: 'dense/kernel', shape: [4, 3, 5], data: big },
      { name: 'dense/bias', shape: [6], data: view },
      {
        name: 'specials',
        shape: [2, 4],
        data: new Float32Array([Number.NaN, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-45, 3.4028234663852886e38, -1.5, 0]),
      },
      { name: 'scalar', shape: [], data: new Float32Array([42]) },
      { name: 'empty', shape: [0, 3], data: new Float32Array(0) },
    ],
  };
}

function expectCheckpointError(file: string, re: RegExp): void {
  assert.throws(
    () => loadCheckpoint(file),
    (e: unknown) => e instanceof CheckpointError && re.test(e.message) && e.file === file,
    `expected CheckpointError ${re} for ${file}`,
  );
}

test('checkpointFileName pads the step to 8 digits', () => {
  assert.equal(checkpointFileName(0), 'ckpt-00000000.bin');
  assert.equal(checkpointFileName(1234), 'ckpt-00001234.bin');
  assert.equal(checkpointFileName(123456789), 'ckpt-123456789.bin');
});

test('save/load round trip: names, shapes, bit-exact values, step, meta; no .tmp left', () => {
  const dir = tmpDir();
  try {
    const ck = sample(1500);
    const file = path.join(dir, 'nested', 'deeper', checkpointFileName(1500));
    saveCheckpoint(file, ck);
    assert.ok(fs.existsSync(file));
    assert.ok(!fs.existsSync(`${file}.tmp`), 'the tmp file must be renamed away');
    assert.deepEqual(fs.readdirSync(path.dirname(file)), [path.basename(file)]);
    assert.equal(fs.readFileSync(file).subarray(0, 8).toString('ascii'), 'CTLABCK1');
    const back = loadCheckpoint(file);
    assert.equal(back.step, 1500);
    assert.deepEqual(back.meta, ck.meta);
    assert.equal(back.tensors.length, ck.tensors.length);
    ck.tensors.forEach((t, i) => {
      const b = back.tensors[i];
      assert.ok(b !== undefined);
      assert.equal(b.name, t.name);
      assert.deepEqual(b.shape, t.shape);
      assert.ok(b.data instanceof Float32Array);
      assert.equal(b.data.length, t.data.length, t.name);
      assert.deepEqual(bits(b.data), bits(t.data), `${t.name} bit-exact`);
    });
    // NaN and −0 survive bit-exactly
    const spec = back.tensors[2]?.data as Float32Array;
    assert.ok(Number.isNaN(spec[0]));
    assert.ok(Object.is(spec[1], -0));
    // the subarray view was saved from its own offset
    assert.deepEqual(Array.from(back.tensors[1]?.data ?? []), [3.25, 4.25, 5.25, 6.25, 7.25, 8.25]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('saving over an existing checkpoint replaces it', () => {
  const dir = tmpDir();
  try {
    const file = path.join(dir, checkpointFileName(10));
    saveCheckpoint(file, sample(10));
    const next = sample(11);
    saveCheckpoint(file, next);
    assert.equal(loadCheckpoint(file).step, 11);
    assert.deepEqual(fs.readdirSync(dir), [checkpointFileName(10)]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('truncated files, flipped payload/header bytes are refused mentioning the checksum', () => {
  const dir = tmpDir();
  try {
    const file = path.join(dir, checkpointFileName(5));
    saveCheckpoint(file, sample(5));
    const good = fs.readFileSync(file);

    // truncated mid-payload
    fs.writeFileSync(file, good.subarray(0, Math.floor(good.length * 0.7)));
    expectCheckpointError(file, /checksum/);
    // only the last byte of the hash missing
    fs.writeFileSync(file, good.subarray(0, good.length - 1));
    expectCheckpointError(file, /checksum/);

    // one payload byte flipped (payload sits just before the 32-byte hash)
    const flipped = Buffer.from(good);
    const idx = good.length - 32 - 17;
    flipped[idx] = (flipped[idx] as number) ^ 0x01;
    fs.writeFileSync(file, flipped);
    expectCheckpointError(file, /checksum/);

    // one header byte flipped (the step digit in the JSON)
    const header = Buffer.from(good);
    const pos = header.indexOf('"step":5');
    assert.ok(pos > 0);
    header[pos + 7] = '6'.charCodeAt(0);
    fs.writeFileSync(file, header);
    expectCheckpointError(file, /checksum/);

    // a flipped bit in the stored hash itself
    const hashFlip = Buffer.from(good);
    hashFlip[good.length - 1] = (hashFlip[good.length - 1] as number) ^ 0x80;
    fs.writeFileSync(file, hashFlip);
    expectCheckpointError(file, /checksum/);

    // restoring the original bytes makes it load again
    fs.writeFileSync(file, good);
    assert.equal(loadCheckpoint(file).step, 5);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bad magic, too-short and empty files are refused', () => {
  const dir = tmpDir();
  try {
    const file = path.join(dir, checkpointFileName(1));
    saveCheckpoint(file, sample(1));
    const good = fs.readFileSync(file);
    const magic = Buffer.from(good);
    magic.write('NOTCKPT1', 0, 'ascii');
    fs.writeFileSync(file, magic);
    expectCheckpointError(file, /bad magic/);
    fs.writeFileSync(file, good.subarray(0, 20));
    expectCheckpointError(file, /too short/);
    fs.writeFileSync(file, Buffer.alloc(0));
    expectCheckpointError(file, /not a ctlab checkpoint/);
    assert.throws(() => loadCheckpoint(path.join(dir, 'missing.bin')), /ENOENT/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('listCheckpoints: newest step first, other files ignored', () => {
  const dir = tmpDir();
  try {
    for (const s of [5, 1000, 40, 999]) saveCheckpoint(path.join(dir, checkpointFileName(s)), sample(s));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'x');
    fs.writeFileSync(path.join(dir, 'ckpt-00000007.bin.tmp'), 'x');
    assert.deepEqual(
      listCheckpoints(dir).map((c) => c.step),
      [1000, 999, 40, 5],
    );
    assert.equal(listCheckpoints(dir)[0]?.file, path.join(dir, checkpointFileName(1000)));
    assert.deepEqual(listCheckpoints(path.join(dir, 'nope')), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('loadLatestCheckpoint skips a corrupt newest file, reports it, returns the previous one', () => {
  const dir = tmpDir();
  try {
    for (const s of [100, 200, 300]) saveCheckpoint(path.join(dir, checkpointFileName(s)), sample(s));
    assert.equal(loadLatestCheckpoint(dir)?.step, 300);
    const newest = path.join(dir, checkpointFileName(300));
    const buf = fs.readFileSync(newest);
    fs.writeFileSync(newest, buf.subarray(0, buf.length - 100)); // truncated by a killed writer
    const skipped: Error[] = [];
    const got = loadLatestCheckpoint(dir, (e) => skipped.push(e));
    assert.equal(got?.step, 200);
    assert.deepEqual(got?.meta, sample(200).meta);
    assert.equal(skipped.length, 1);
    assert.ok(skipped[0] instanceof CheckpointError);
    assert.match(skipped[0]?.message ?? '', /ckpt-00000300\.bin/);
    assert.match(skipped[0]?.message ?? '', /checksum/);
    // without a callback it still skips
    assert.equal(loadLatestCheckpoint(dir)?.step, 200);
    // all corrupt: null, each reported
    for (const s of [100, 200]) fs.writeFileSync(path.join(dir, checkpointFileName(s)), 'garbage');
    const all: Error[] = [];
    assert.equal(
      loadLatestCheckpoint(dir, (e) => all.push(e)),
      null,
    );
    assert.equal(all.length, 3);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('loadLatestCheckpoint on an empty or missing folder gives null', () => {
  const dir = tmpDir();
  try {
    assert.equal(loadLatestCheckpoint(dir), null);
    assert.equal(loadLatestCheckpoint(path.join(dir, 'missing')), null);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('pruneCheckpoints keeps the newest k and removes stray tmp files', () => {
  const dir = tmpDir();
  try {
    for (const s of [10, 20, 30, 40, 50]) saveCheckpoint(path.join(dir, checkpointFileName(s)), sample(s));
    fs.writeFileSync(path.join(dir, `${checkpointFileName(60)}.tmp`), 'half');
    fs.writeFileSync(path.join(dir, 'config.json'), '{}');
    pruneCheckpoints(dir, 2);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['ckpt-00000040.bin', 'ckpt-00000050.bin', 'config.json']);
    pruneCheckpoints(dir, 5); // keep more than there are: nothing removed
    assert.deepEqual(
      listCheckpoints(dir).map((c) => c.step),
      [50, 40],
    );
    pruneCheckpoints(dir, 1);
    assert.deepEqual(
      listCheckpoints(dir).map((c) => c.step),
      [50],
    );
    assert.equal(loadCheckpoint(path.join(dir, checkpointFileName(50))).step, 50);
    pruneCheckpoints(path.join(dir, 'missing'), 1); // no folder: no error
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a shape/length mismatch on save throws CheckpointError and writes nothing', () => {
  const dir = tmpDir();
  try {
    const file = path.join(dir, checkpointFileName(1));
    assert.throws(
      () => saveCheckpoint(file, { step: 1, meta: {}, tensors: [{ name: 'w', shape: [2, 3], data: new Float32Array(5) }] }),
      (e: unknown) => e instanceof CheckpointError && e.message.includes('tensor w: shape [2,3] needs 6 values, got 5'),
    );
    assert.throws(() => saveCheckpoint(file, { step: 1, meta: {}, tensors: [{ name: 'b', shape: [4], data: new Float32Array(8) }] }), CheckpointError);
    assert.deepEqual(fs.readdirSync(dir), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a checkpoint with no tensors round-trips', () => {
  const dir = tmpDir();
  try {
    const file = path.join(dir, checkpointFileName(0));
    saveCheckpoint(file, { step: 0, meta: {}, tensors: [] });
    assert.deepEqual(loadCheckpoint(file), { step: 0, meta: {}, tensors: [] });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
