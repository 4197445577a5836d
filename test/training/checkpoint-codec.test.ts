import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '@noble/hashes/sha2';
import { createHash } from 'node:crypto';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint } from '../../src/training/checkpoint-codec';

const CKPT = {
  step: 7,
  meta: { configHash: 'abc', iterations: 7 },
  tensors: [
    { name: 'w', shape: [2, 2], data: new Float32Array([1, -2.5, 3e-8, 4]) },
    { name: 'b', shape: [3], data: new Float32Array([0, 1, 2]) },
  ],
};

test('encode/decode on bytes alone: round trip, layout and SHA-256 as node:crypto computes it', () => {
  const bytes = encodeCheckpoint(CKPT);
  assert.ok(bytes instanceof Uint8Array);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), 'CTLABCK1');
  const headerLen = new DataView(bytes.buffer).getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLen))) as unknown;
  assert.deepEqual(header, {
    step: 7,
    meta: CKPT.meta,
    tensors: [
      { name: 'w', shape: [2, 2], offset: 0, length: 4 },
      { name: 'b', shape: [3], offset: 4, length: 3 },
    ],
  });
  assert.equal(bytes.length, 12 + headerLen + 7 * 4 + 32);
  const body = bytes.subarray(0, bytes.length - 32);
  assert.deepEqual(Buffer.from(bytes.subarray(bytes.length - 32)), createHash('sha256').update(body).digest());
  assert.deepEqual(sha256(body), bytes.subarray(bytes.length - 32));
  const back = decodeCheckpoint(bytes);
  assert.equal(back.step, 7);
  assert.deepEqual(back.meta, CKPT.meta);
  assert.deepEqual(back.tensors, CKPT.tensors);
  // a payload at an odd byte offset (the header's length is arbitrary) still decodes
  const odd = encodeCheckpoint({ ...CKPT, meta: { x: 'y' } });
  assert.deepEqual(decodeCheckpoint(odd).tensors, CKPT.tensors);
});

test('decode refuses bad bytes with a reason naming the source', () => {
  const bytes = encodeCheckpoint(CKPT);
  assert.throws(
    () => decodeCheckpoint(bytes.subarray(0, 20), 'a.bin'),
    (e: unknown) => e instanceof CheckpointError && e.message.includes('checkpoint a.bin: not a ctlab checkpoint'),
  );
  const flipped = bytes.slice();
  flipped[20] = (flipped[20] as number) ^ 1;
  assert.throws(() => decodeCheckpoint(flipped, 'b.bin'), /checkpoint b\.bin: checksum mismatch/);
  assert.throws(
    () => encodeCheckpoint({ step: 1, meta: {}, tensors: [{ name: 'w', shape: [3], data: new Float32Array(2) }] }, 'c.bin'),
    /checkpoint c\.bin: tensor w: shape \[3\] needs 3 values, got 2/,
  );
});

test('decode refuses a header whose fields are wrong, naming the field (even with a valid checksum)', () => {
  const enc = new TextEncoder();
  const forge = (header: unknown): Uint8Array => {
    const h = enc.encode(JSON.stringify(header));
    const body = new Uint8Array(12 + h.length + 4);
    body.set(enc.encode('CTLABCK1'));
    new DataView(body.buffer).setUint32(8, h.length, true);
    body.set(h, 12);
    const out = new Uint8Array(body.length + 32);
    out.set(body);
    out.set(sha256(body), body.length);
    return out;
  };
  assert.throws(() => decodeCheckpoint(forge({ step: -1, meta: {}, tensors: [] }), 'd.bin'), /checkpoint d\.bin: header field header\.step/);
  assert.throws(
    () => decodeCheckpoint(forge({ step: 1, meta: {}, tensors: [{ name: 'w', shape: [2], offset: 0, length: 2 }] }), 'e.bin'),
    /checkpoint e\.bin: tensor w: \[2\] at 0 \(\+2\) does not fit the payload of 1 values/,
  );
});
