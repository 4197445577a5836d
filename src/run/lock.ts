/**
 * One owner per run directory: `run.lock` (JSON: pid, host, start time, command, purpose, Slurm job)
 * created with O_EXCL, so of two writers started at once exactly one gets the directory. A lock whose
 * owner is gone (its process dead on this host) is taken over with a warning; one held by a live
 * process, or by a process on another host the caller cannot judge, is refused with a message naming
 * the owner. Readers (sample, report) take no lock. Locks are re-entrant within one process, so the
 * ablation worker can train and then evaluate a run under one ownership.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';

export const LOCK_FILE = 'run.lock';

export const LockOwnerSchema = z.object({
  pid: z.number().int(),
  host: z.string(),
  startedAt: z.string(),
  command: z.string(),
  /** What the owner is doing: train, resume, eval, job ... */
  purpose: z.string(),
  /** `SLURM_JOB_ID` (and array task) of the owner when it ran under Slurm. */
  slurmJobId: z.string().optional(),
});
export type LockOwner = z.infer<typeof LockOwnerSchema>;

export class RunLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly owner: LockOwner | null,
    detail: string,
  ) {
    super(`${dir} is in use: ${detail}`);
    this.name = 'RunLockedError';
  }
}

export interface AcquireOptions {
  /** What this process will do in the directory (shown to a second writer). */
  purpose: string;
  command?: string;
  /** Where a takeover warning goes (default: stderr). */
  warn?: (message: string) => void;
  /**
   * Judge an owner on another host (or any owner the pid test cannot judge): return true if it is
   * certainly gone (e.g. its Slurm job has ended), and the lock is taken over with a warning.
   */
  isGone?: (owner: LockOwner) => boolean;
}

export interface RunLock {
  readonly file: string;
  readonly owner: LockOwner;
  /** Give up ownership (idempotent; the last release of a re-entrant lock removes the file). */
  release(): void;
}

const held = new Map<string, { count: number; owner: LockOwner }>();

function describe(o: LockOwner): string {
  const slurm = o.slurmJobId ? `, Slurm job ${o.slurmJobId}` : '';
  return `${o.purpose} by pid ${o.pid} on ${o.host}${slurm} since ${o.startedAt} (${o.command})`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // a killed process its parent has not reaped yet (a zombie) still answers kill(0): on Linux its state says so
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc (not Linux): kill(0) is all there is
  }
}

function readOwner(file: string): LockOwner | null | 'missing' {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw e;
  }
  try {
    const parsed = LockOwnerSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null; // torn or foreign content
  }
}

function slurmJob(): string | undefined {
  const job = process.env.SLURM_JOB_ID;
  if (!job) return undefined;
  const arrayJob = process.env.SLURM_ARRAY_JOB_ID;
  const task = process.env.SLURM_ARRAY_TASK_ID;
  return arrayJob && task ? `${arrayJob}_${task}` : job;
}

/** Take ownership of `dir` (created when missing) or throw RunLockedError naming the owner. */
export function acquireRunLock(dir: string, opts: AcquireOptions): RunLock {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(path.resolve(dir), LOCK_FILE);
  const mine = held.get(file);
  if (mine) {
    mine.count++;
    return handle(file, mine.owner);
  }
  const owner: LockOwner = {
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    command: opts.command ?? process.argv.join(' '),
    purpose: opts.purpose,
    ...(slurmJob() ? { slurmJobId: slurmJob() } : {}),
  };
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      try {
        fs.writeSync(fd, JSON.stringify(owner) + '\n');
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      held.set(file, { count: 1, owner });
      return handle(file, owner);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const other = readOwner(file);
    if (other === 'missing') continue; // released between our attempts
    if (other === null) {
      // a lock file that is not a lock (torn write of a writer that died between open and write, or
      // a foreign file): judge it by age, so a writer in the middle of writing it is not robbed
      const ageMs = Date.now() - fs.statSync(file).mtimeMs;
      if (ageMs < 5000) throw new RunLockedError(dir, null, `${file} is being written by another process; try again`);
      warn(`${file} held no readable owner; taking the directory over`);
      takeOver(file);
      continue;
    }
    const sameHost = other.host === owner.host;
    const gone = sameHost ? !processAlive(other.pid) : (opts.isGone?.(other) ?? false);
    if (!gone) {
      const how = sameHost ? `stop that process first` : `if that process is certainly gone, delete ${file} (ctlab cannot see processes on ${other.host})`;
      throw new RunLockedError(dir, other, `${describe(other)}; ${how}`);
    }
    warn(`${dir}: the previous owner (${describe(other)}) is gone; taking the run directory over`);
    takeOver(file, other);
  }
  throw new RunLockedError(dir, null, `could not take ${file} after 5 attempts (another process keeps taking it)`);
}

/** Move a stale lock aside atomically; if another taker got there first, leave theirs alone. */
function takeOver(file: string, seen?: LockOwner): void {
  const aside = `${file}.stale-${process.pid}-${Date.now()}`;
  try {
    fs.renameSync(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  const moved = readOwner(aside);
  if (seen && moved !== 'missing' && moved !== null && (moved.pid !== seen.pid || moved.startedAt !== seen.startedAt)) {
    // we moved a fresh lock someone else had just taken: put it back if the place is still free
    try {
      fs.linkSync(aside, file);
    } catch {
      /* the place was taken again; that taker wins */
    }
  }
  fs.rmSync(aside, { force: true });
}

function handle(file: string, owner: LockOwner): RunLock {
  let released = false;
  return {
    file,
    owner,
    release(): void {
      if (released) return;
      released = true;
      const h = held.get(file);
      if (!h) return;
      if (--h.count > 0) return;
      held.delete(file);
      const now = readOwner(file);
      if (now !== 'missing' && now !== null && now.pid === owner.pid && now.startedAt === owner.startedAt) fs.rmSync(file, { force: true });
    },
  };
}

/** The current owner of `dir`, if any (for `sweep status` and doctor); never takes the lock. */
export function runLockOwner(dir: string): LockOwner | null {
  const o = readOwner(path.join(path.resolve(dir), LOCK_FILE));
  return o === 'missing' ? null : o;
}
