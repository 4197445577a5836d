/**
 * The checkpoint format, encoded to and decoded from bytes (`Uint8Array`), with no file system:
 *   "CTLABCK1" | u32 LE header length | header JSON (utf-8) | float32 payload (LE) | SHA-256 of all before
 * src/training/checkpoint.ts writes these bytes atomically to files; a browser can keep them anywhere.
 * `decodeCheckpoint` verifies the checksum and the header's shape before trusting anything.
 */
import { sha256 } from '@noble/hashes/sha2';
import { z } from 'zod';

const MAGIC = new TextEncoder().encode('CTLABCK1');
/** The payload is little-endian float32: on such hosts (all common ones) it is copied as bytes. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HASH_BYTES = 32;

export interface CheckpointTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

const headerSchema = z.object({
  step: z.number().int().min(0),
  /** Free-form JSON the trainer wants back (e.g. optimizer iteration count, config hash). */
  meta: z.record(z.string(), z.unknown()),
  tensors: z.array(z.object({ name: z.string(), shape: z.array(z.number().int().min(0)), offset: z.number().int().min(0), length: z.number().int().min(0) })),
});
export type CheckpointHeader = z.infer<typeof headerSchema>;

export interface Checkpoint {
  step: number;
  meta: Record<string, unknown>;
  tensors: CheckpointTensor[];
}

/** A checkpoint that cannot be written or trusted; `file` names where it came from. */
export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`checkpoint ${file}: ${reason}`);
    this.name = 'CheckpointError';
  }
}

/** The bytes of a checkpoint; `label` names it in errors (a file name, say). */
export function encodeCheckpoint(ckpt: Checkpoint, label = 'checkpoint'): Uint8Array {
  let offset = 0;
  const entries = ckpt.tensors.map((t) => {
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (expected !== t.data.length) {
      throw new CheckpointError(label, `tensor ${t.name}: shape [${t.shape.join(',')}] needs ${expected} values, got ${t.data.length}`);
    }
    const e = { name: t.name, shape: t.shape, offset, length: t.data.length };
    offset += t.data.length;
    return e;
  });
  const header: CheckpointHeader = { step: ckpt.step, meta: ckpt.meta, tensors: entries };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const bodyLength = MAGIC.length + 4 + headerBytes.length + offset * 4;
  const out = new Uint8Array(bodyLength + HASH_BYTES);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(MAGIC.length, headerBytes.length, true);
  out.set(headerBytes, MAGIC.length + 4);
  const payloadStart = MAGIC.length + 4 + headerBytes.length;
  const view = new DataView(out.buffer);
  for (const [i, t] of ckpt.tensors.entries()) {
    const at = payloadStart + (entries[i] as (typeof entries)[number]).offset * 4;
    if (LITTLE_ENDIAN) out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    else for (let j = 0; j < t.data.length; j++) view.setFloat32(at + 4 * j, t.data[j] as number, true);
  }
  out.set(sha256(out.subarray(0, bodyLength)), bodyLength);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Verify and decode checkpoint bytes; throws CheckpointError (naming `label`) when they are truncated or corrupt. */
export function decodeCheckpoint(bytes: Uint8Array, label = 'checkpoint'): Checkpoint {
  if (bytes.length < MAGIC.length + 4 + HASH_BYTES || !sameBytes(bytes.subarray(0, MAGIC.length), MAGIC)) {
    throw new CheckpointError(label, 'not a ctlab checkpoint (bad magic or too short)');
  }
  const body = bytes.subarray(0, bytes.length - HASH_BYTES);
  if (!sameBytes(sha256(body), bytes.subarray(bytes.length - HASH_BYTES))) throw new CheckpointError(label, 'checksum mismatch (file truncated or corrupt)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getUint32(MAGIC.length, true);
  const headerStart = MAGIC.length + 4;
  const payloadStart = headerStart + headerLen;
  if (payloadStart > body.length) throw new CheckpointError(label, `header length ${headerLen} runs past the end of the file`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body.subarray(headerStart, payloadStart)));
  } catch (e) {
    throw new CheckpointError(label, `header is not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const parsed = headerSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CheckpointError(label, `header field ${issue ? ['header', ...issue.path.map(String)].join('.') : 'header'}: ${issue?.message ?? 'invalid'}`);
  }
  const header = parsed.data;
  const payloadBytes = body.length - payloadStart;
  if (payloadBytes % 4 !== 0) throw new CheckpointError(label, `payload of ${payloadBytes} bytes is not whole float32 values`);
  // copy into an aligned buffer: the payload may start at any byte
  const payload = new Float32Array(payloadBytes / 4);
  if (LITTLE_ENDIAN) new Uint8Array(payload.buffer).set(body.subarray(payloadStart));
  else {
    const pv = new DataView(body.buffer, body.byteOffset + payloadStart, payloadBytes);
    for (let j = 0; j < payload.length; j++) payload[j] = pv.getFloat32(4 * j, true);
  }
  const tensors = header.tensors.map((e) => {
    const expected = e.shape.reduce((a, b) => a * b, 1);
    if (expected !== e.length || e.offset + e.length > payload.length) {
      throw new CheckpointError(
        label,
        `tensor ${e.name}: [${e.shape.join(',')}] at ${e.offset} (+${e.length}) does not fit the payload of ${payload.length} values`,
      );
    }
    return { name: e.name, shape: e.shape, data: payload.slice(e.offset, e.offset + e.length) };
  });
  return { step: header.step, meta: header.meta, tensors };
}
