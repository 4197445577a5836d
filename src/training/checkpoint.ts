/**
 * Checkpoint files: atomic writes and checked reads of the bytes src/training/checkpoint-codec.ts
 * encodes (magic, header JSON, float32 payload, SHA-256). Written to `<file>.tmp`, fsynced, then
 * renamed, so a killed process leaves either the old file or the new one, never half of one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, type Checkpoint } from './checkpoint-codec';

export { CheckpointError, decodeCheckpoint, encodeCheckpoint, type Checkpoint, type CheckpointHeader, type CheckpointTensor } from './checkpoint-codec';

export function checkpointFileName(step: number): string {
  return `ckpt-${String(step).padStart(8, '0')}.bin`;
}

/** Write a checkpoint atomically (tmp file, fsync, rename, fsync of the folder). */
export function saveCheckpoint(file: string, ckpt: Checkpoint): void {
  const bytes = encodeCheckpoint(ckpt, file);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      for (let done = 0; done < bytes.length;) done += fs.writeSync(fd, bytes, done);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // the folder itself is gone or not a folder
    }
    // (above) a half-written tmp file (disk full) is never mistaken for a checkpoint, but takes space
    throw e;
  }
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
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new CheckpointError(file, `cannot be read (${e instanceof Error ? e.message : String(e)})`);
  }
  return decodeCheckpoint(bytes, file);
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
export function loadLatestCheckpoint(dir: string, onSkip: (e: Error) => void = () => undefined): Checkpoint | null {
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
