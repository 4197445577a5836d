/**
 * The Slurm commands the sweep executor runs (sbatch, scontrol, sacct, squeue) and the parsing of
 * what they print. Job states come from `scontrol -o show job`, which knows every task until the
 * controller purges it (MinJobAge after it ends), then from `sacct` where the cluster keeps
 * accounting (slurmdbd); without either, a task's state is unknown and callers fall back on what
 * the task wrote itself. Client commands read SLURM_CONF like any Slurm command.
 */
import { spawnSync } from 'node:child_process';
import type { LockOwner } from '../run/lock';

/** A Slurm command that could not run or failed: names the command and what it printed. */
export class SlurmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SlurmError';
  }
}

/** States in which a task is queued, running or about to run again: never resubmitted. */
export const ACTIVE_STATES: ReadonlySet<string> = new Set([
  'PENDING',
  'CONFIGURING',
  'RUNNING',
  'COMPLETING',
  'SUSPENDED',
  'STOPPED',
  'REQUEUED',
  'REQUEUE_FED',
  'REQUEUE_HOLD',
  'RESIZING',
  'SIGNALING',
  'STAGE_OUT',
  'RESV_DEL_HOLD',
]);

export interface TaskState {
  /** Slurm's word: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, PREEMPTED, NODE_FAIL, ... */
  state: string;
  /** "exit:signal" as Slurm reports it (ExitCode=143:0; 0:15 for a task killed by SIGTERM). */
  exitCode: string | null;
  reason: string | null;
  /** Where Slurm's answer came from. */
  source: 'scontrol' | 'sacct';
}

function runSlurm(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) {
    const why = (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? `${cmd} not found: is Slurm installed and on PATH?` : r.error.message;
    throw new SlurmError(`${cmd}: ${why}`);
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `sbatch --parsable ...`: the job id it prints (an array job's id for --array). */
export function sbatch(args: string[]): string {
  const r = runSlurm('sbatch', ['--parsable', ...args]);
  const id = r.stdout.trim().split(';')[0] ?? '';
  if (r.status !== 0 || !/^\d+$/.test(id)) throw new SlurmError(`sbatch ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  return id;
}

/** "0-3,5,7%2": indices as sbatch's --array ranges, with at most `maxParallel` running at once. */
export function arraySpec(indices: readonly number[], maxParallel?: number): string {
  const xs = [...new Set(indices)].sort((a, b) => a - b);
  if (xs.length === 0) throw new Error('arraySpec: no indices');
  const parts: string[] = [];
  for (let i = 0; i < xs.length;) {
    let j = i;
    while (j + 1 < xs.length && (xs[j + 1] as number) === (xs[j] as number) + 1) j++;
    parts.push(i === j ? `${xs[i]}` : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return parts.join(',') + (maxParallel !== undefined ? `%${maxParallel}` : '');
}

/** The indices of an --array value or of scontrol's ArrayTaskId ("2-5%2", "1,3-7:2", "4"). */
export function parseArrayIndices(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.replace(/%\d+$/, '').split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) throw new SlurmError(`cannot read the array index list '${spec}'`);
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    const step = m[3] !== undefined ? Number(m[3]) : 1;
    for (let k = a; k <= b; k += step) out.push(k);
  }
  return out;
}

/** The key=value fields of one `scontrol -o` line (values without spaces: the ones read here). */
function fields(line: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of line.matchAll(/(?:^|\s)([A-Za-z/:]+)=(\S*)/g)) out.set(m[1] as string, m[2] as string);
  return out;
}

/** Parse `scontrol -o show job <array job>`: per array index, its state (a pending range gives every index in it). */
export function parseScontrolJobs(text: string): Map<number, TaskState> {
  const out = new Map<number, TaskState>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = fields(line);
    const tasks = f.get('ArrayTaskId');
    const state = f.get('JobState');
    if (tasks === undefined || state === undefined) continue;
    const st: TaskState = { state, exitCode: f.get('ExitCode') ?? null, reason: f.get('Reason') ?? null, source: 'scontrol' };
    for (const i of parseArrayIndices(tasks)) out.set(i, st);
  }
  return out;
}

/** Parse `sacct -n -P -X -o JobID,State,ExitCode`: rows of concrete tasks (123_4) only. */
export function parseSacct(text: string): Map<number, TaskState> {
  const out = new Map<number, TaskState>();
  for (const line of text.split('\n')) {
    const [id, state, exit] = line.trim().split('|');
    const m = /^\d+_(\d+)$/.exec(id ?? '');
    if (!m || !state) continue;
    out.set(Number(m[1]), { state: state.split(' ')[0] as string, exitCode: exit ?? null, reason: null, source: 'sacct' });
  }
  return out;
}

/**
 * The state of every task of an array job Slurm still knows, by index. A job the controller has
 * purged is looked up in sacct; where neither knows it the map is empty. Throws when Slurm cannot be
 * asked (no controller), so that callers never mistake "cannot tell" for "gone".
 */
export function arrayTaskStates(jobId: string): Map<number, TaskState> {
  const r = runSlurm('scontrol', ['-o', 'show', 'job', jobId]);
  if (r.status === 0) return parseScontrolJobs(r.stdout);
  if (!/Invalid job id/i.test(r.stderr)) throw new SlurmError(`scontrol show job ${jobId} failed (exit ${r.status}): ${r.stderr.trim()}`);
  const acct = runSlurm('sacct', ['-n', '-P', '-X', '-j', jobId, '-o', 'JobID,State,ExitCode']);
  return acct.status === 0 ? parseSacct(acct.stdout) : new Map<number, TaskState>(); // no accounting (no slurmdbd): unknown
}

/** This process's Slurm job as run.lock records it: "<array job>_<task>" for an array task, else SLURM_JOB_ID. */
export function currentSlurmJob(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!env.SLURM_JOB_ID) return undefined;
  return env.SLURM_ARRAY_JOB_ID && env.SLURM_ARRAY_TASK_ID ? `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID}` : env.SLURM_JOB_ID;
}

/**
 * For acquireRunLock's `isGone`: a run directory's owner on another host is certainly gone when it
 * ran as a Slurm job that is no longer running (ended, requeued and waiting, or purged), or when it
 * is an earlier attempt of this very task (a requeued task keeps its job id, and Slurm runs one
 * attempt at a time). Owners without a Slurm job, or a Slurm that cannot be asked, count as alive.
 */
export function slurmOwnerGone(owner: LockOwner, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!owner.slurmJobId) return false;
  if (owner.slurmJobId === currentSlurmJob(env)) return true;
  let r: ReturnType<typeof runSlurm>;
  try {
    r = runSlurm('scontrol', ['-o', 'show', 'job', owner.slurmJobId]);
  } catch {
    return false;
  }
  if (r.status !== 0) return /Invalid job id/i.test(r.stderr); // purged: it ended long ago
  const state = fields(r.stdout.split('\n')[0] ?? '').get('JobState');
  return state !== undefined && !['RUNNING', 'COMPLETING', 'CONFIGURING', 'SUSPENDED', 'STOPPED', 'SIGNALING', 'RESIZING'].includes(state);
}
