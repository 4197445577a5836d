/**
 * Atomic, checksummed checkpoints. File layout:
 *   "CTLABCK1" | u32 LE header length | header JSON (utf-8) | float32 payload | SHA-256 of all before
 * Written to `<file>.tmp`, fsynced, then renamed, so a killed process leaves either the old file or
 * the new one, never half of one. `loadCheckpoint` verifies the checksum before trusting anything.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const MAGIC = Buffer.from('CTLABCK1', 'ascii');

export interface CheckpointTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface CheckpointHeader {
  step: number;
  /** Free-form JSON the trainer wants back (e.g. optimizer iteration count, config hash). */
  meta: Record<string, unknown>;
  tensors: { name: string; shape: number[]; offset: number; length: number }[];
}

export interface Checkpoint {
  step: number;
  meta: Record<string, unknown>;
  tensors: CheckpointTensor[];
}

export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`checkpoint ${file}: ${reason}`);
    this.name = 'CheckpointError';
  }
}

export function checkpointFileName(step: number): string {
  return `ckpt-${String(step).padStart(8, '0')}.bin`;
}

/** Write a checkpoint atomically (tmp file, fsync, rename, fsync of the folder). */
export function saveCheckpoint(file: string, ckpt: Checkpoint): void {
  let offset = 0;
  const entries = ckpt.tensors.map((t) => {
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (expected !== t.data.length) {
      throw new CheckpointError(file, `tensor ${t.name}: shape [${t.shape}] needs ${expected} values, got ${t.data.length}`);
    }
    const e = { name: t.name, shape: t.shape, offset, length: t.data.length };
    offset += t.data.length;
    return e;
  });
  const header: CheckpointHeader = { step: ckpt.step, meta: ckpt.meta, tensors: entries };
  const headerBuf = Buffer.from(JSON.stringify(header), 'utf8');
  const lenBuf = Buffer.alloc(4);
  lenBuf.writeUInt32LE(headerBuf.length, 0);
  const payload = Buffer.alloc(offset * 4);
  for (const [i, t] of ckpt.tensors.entries()) {
    const e = entries[i] as (typeof entries)[number];
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(payload, e.offset * 4);
  }
  const hash = createHash('sha256').update(MAGIC).update(lenBuf).update(headerBuf).update(payload).digest();

  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const part of [MAGIC, lenBuf, headerBuf, payload, hash]) fs.writeSync(fd, part);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  try {
    const dfd = fs.openSync(path.dirname(file), 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch {
    // fsync of a directory is not supported everywhere; the rename is still atomic
  }
}

/** Read and verify a checkpoint; throws CheckpointError when it is truncated or corrupt. */
export function loadCheckpoint(file: string): Checkpoint {
  const buf = fs.readFileSync(file);
  if (buf.length < MAGIC.length + 4 + 32 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new CheckpointError(file, 'not a ctlab checkpoint (bad magic or too short)');
  }
  const body = buf.subarray(0, buf.length - 32);
  const stored = buf.subarray(buf.length - 32);
  const actual = createHash('sha256').update(body).digest();
  if (!actual.equals(stored)) throw new CheckpointError(file, 'checksum mismatch (file truncated or corrupt)');
  const headerLen = buf.readUInt32LE(MAGIC.length);
  const headerStart = MAGIC.length + 4;
  const header = JSON.parse(buf.subarray(headerStart, headerStart + headerLen).toString('utf8')) as CheckpointHeader;
  const payloadStart = headerStart + headerLen;
  const payloadBytes = body.length - payloadStart;
  // copy into an aligned buffer: the payload may start at any byte
  const payload = new Float32Array(payloadBytes / 4);
  new Uint8Array(payload.buffer).set(body.subarray(payloadStart));
  const tensors = header.tensors.map((e) => ({
    name: e.name,
    shape: e.shape,
    data: payload.slice(e.offset, e.offset + e.length),
  }));
  return { step: header.step, meta: header.meta, tensors };
}

/** Checkpoint files in a folder, newest step first. */
export function listCheckpoints(dir: string): { step: number; file: string }[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((f) => /^ckpt-(\d+)\.bin$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[1]), file: path.join(dir, m[0]) }))
    .sort((a, b) => b.step - a.step);
}

/**
 * The newest checkpoint that verifies; corrupt ones are reported through `onSkip` and passed over.
 */
export function loadLatestCheckpoint(dir: string, onSkip: (e: Error) => void = () => {}): Checkpoint | null {
  for (const { file } of listCheckpoints(dir)) {
    try {
      return loadCheckpoint(file);
    } catch (e) {
      onSkip(e instanceof Error ? e : new Error(String(e)));
    }
  }
  return null;
}

/** Keep the newest `keep` checkpoints, delete older ones and stray tmp files. */
export function pruneCheckpoints(dir: string, keep: number): void {
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`pruneCheckpoints: keep must be an integer >= 1, got ${keep}`);
  for (const { file } of listCheckpoints(dir).slice(keep)) fs.rmSync(file, { force: true });
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (f.endsWith('.tmp')) fs.rmSync(path.join(dir, f), { force: true });
  }
}
