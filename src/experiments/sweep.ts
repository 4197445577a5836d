/**
 * Ablation sweeps as one Slurm job array (`ctlab ablate --executor slurm`): the planned runs go into
 * a sweep directory on a filesystem the nodes share, array task i runs line i of jobs.jsonl with
 * `ctlab run-job <sweep> --index i`, which writes the same run directory `ctlab ablate` writes
 * locally (so `ctlab report` reads both alike), and `ctlab sweep status | resubmit` follow it up.
 *
 *   <sweep>/sweep.json            what was planned, how tasks run, every submission's job id (records.ts: sweepSchema)
 *   <sweep>/jobs.jsonl            one job (records.ts: jobSchema) per line, one line per distinct run directory
 *   <sweep>/configs/<i>.json      the resolved config of line i, to read (jobs.jsonl is what runs)
 *   <sweep>/sweep.sbatch          the array task's script (sbatch options as #SBATCH lines)
 *   <sweep>/report.sbatch         the report job run after the array (--dependency=afterany), when asked
 *   <sweep>/logs/<job>_<i>.out    each task's output (appended when Slurm requeues it)
 *   <sweep>/tasks/<i>.jsonl       each attempt's start and end as the task saw them (taskEventSchema)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { jobSchema, parseRecord, sweepSchema, taskEventSchema, type Job, type Sweep, type SweepSubmission, type TaskEvent } from '../run/records';
import { readRecordFile, tryReadRunJson, writeJob, writeJson } from '../run/run-dir';
import { jobDone, jobExitCode, runJobHere } from './runner';
import { ACTIVE_STATES, arraySpec, arrayTaskStates, currentSlurmJob, sbatch, slurmOwnerGone, type TaskState } from './slurm';

export type { Sweep, SweepSubmission, TaskEvent };

/** The sbatch options of a sweep's tasks, as `ctlab ablate --executor slurm` takes them. */
export interface SlurmTaskOptions {
  partition?: string;
  time?: string;
  cpusPerTask?: number;
  mem?: string;
  maxParallel?: number;
  /** --signal value; default {@link DEFAULT_SIGNAL}; null for none. */
  signal?: string | null;
  /** Further sbatch options, one each ("--account=abc", "--qos=long"), written as #SBATCH lines. */
  sbatchArgs?: string[];
}

/**
 * SIGTERM 60 s before the time limit, sent to the batch shell (B:), which is the `ctlab run-job`
 * process itself (the script execs it): the trainer then writes a checkpoint and exits with 143.
 * Without B:, Slurm would signal only job steps started by srun, which a sweep task has none of.
 */
export const DEFAULT_SIGNAL = 'B:TERM@60';

export interface CreateSweepOptions extends SlurmTaskOptions {
  dir: string;
  name: string;
  command: string;
  runsRoot: string;
  data: string;
  /** Path of the compiled CLI (dist/src/cli.js); made absolute. */
  cli: string;
  /** Node binary the tasks run (default: this one, process.execPath). */
  node?: string;
  /** Rebuild the tables after the array: `ctlab report --runs <runs> --out <out>` as a dependent job. */
  report?: { runs: string; out: string; summary?: string } | null;
  cwd?: string;
  /** Environment whose CTLAB_* variables the tasks get (default process.env). */
  env?: NodeJS.ProcessEnv;
}

const SWEEP_FILE = 'sweep.json';

export function sweepPaths(dir: string): {
  sweep: string;
  jobs: string;
  configs: string;
  script: string;
  reportScript: string;
  logs: string;
  tasks: string;
} {
  return {
    sweep: path.join(dir, SWEEP_FILE),
    jobs: path.join(dir, 'jobs.jsonl'),
    configs: path.join(dir, 'configs'),
    script: path.join(dir, 'sweep.sbatch'),
    reportScript: path.join(dir, 'report.sbatch'),
    logs: path.join(dir, 'logs'),
    tasks: path.join(dir, 'tasks'),
  };
}

/** The log file of one task attempt (sbatch --output=<sweep>/logs/%A_%a.out). */
export function taskLogFile(dir: string, jobId: string, index: number): string {
  return path.join(sweepPaths(dir).logs, `${jobId}_${index}.out`);
}

/** A shell word: single-quoted. */
function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A path placed on an #SBATCH line, which sbatch splits at whitespace: refused when it has any. */
function sbatchPath(what: string, p: string): string {
  if (/\s/.test(p)) throw new Error(`${what} '${p}' contains whitespace, which #SBATCH lines cannot hold; choose a path without spaces`);
  return p;
}

function sbatchLines(sweep: Sweep, opts: { cpus: number; extra: boolean }): string[] {
  const s = sweep.slurm;
  const lines = [`#SBATCH --chdir=${sbatchPath('the working directory', sweep.cwd)}`, `#SBATCH --cpus-per-task=${opts.cpus}`];
  if (s.partition) lines.push(`#SBATCH --partition=${s.partition}`);
  if (s.time) lines.push(`#SBATCH --time=${s.time}`);
  if (s.mem) lines.push(`#SBATCH --mem=${s.mem}`);
  if (opts.extra) for (const a of s.extra) lines.push(`#SBATCH ${a}`);
  return lines;
}

function envLines(sweep: Sweep): string[] {
  return Object.entries(sweep.env).map(([k, v]) => `export ${k}=${shq(v)}`);
}

function taskScript(sweep: Sweep, dir: string): string {
  const s = sweep.slurm;
  return [
    '#!/bin/bash',
    `# ctlab sweep ${sweep.name}: array task i trains and evaluates line i of jobs.jsonl (written by ${sweep.command}).`,
    '# Resubmit the unfinished tasks with `ctlab sweep resubmit <this directory>`; a rerun task resumes from its checkpoint.',
    `#SBATCH --job-name=ctlab-${sweep.name}`,
    `#SBATCH --output=${sbatchPath('the sweep directory', dir)}/logs/%A_%a.out`,
    '#SBATCH --open-mode=append',
    '#SBATCH --requeue',
    ...(s.signal ? [`#SBATCH --signal=${s.signal}`] : []),
    ...sbatchLines(sweep, { cpus: s.cpusPerTask, extra: true }),
    ...envLines(sweep),
    '# exec: the task process is the batch shell, so --signal=B:... and scancel reach the trainer directly',
    `exec ${shq(sweep.node)} ${shq(sweep.cli)} run-job ${shq(dir)} --index "$SLURM_ARRAY_TASK_ID"`,
    '',
  ].join('\n');
}

function reportScript(sweep: Sweep, dir: string): string {
  const r = sweep.report;
  if (!r) throw new Error('no report job in this sweep');
  const args = ['report', '--runs', r.runs, '--out', r.out, ...(r.summary ? ['--summary', r.summary] : [])].map(shq).join(' ');
  return [
    '#!/bin/bash',
    `# ctlab sweep ${sweep.name}: rebuild the tables once every array task has ended (submitted with --dependency=afterany).`,
    `#SBATCH --job-name=ctlab-${sweep.name}-report`,
    `#SBATCH --output=${sbatchPath('the sweep directory', dir)}/logs/report-%j.out`,
    ...sbatchLines(sweep, { cpus: 1, extra: true }),
    ...envLines(sweep),
    `exec ${shq(sweep.node)} ${shq(sweep.cli)} ${args}`,
    '',
  ].join('\n');
}

function validSbatchArg(a: string): string {
  if (!a.startsWith('-') || /[\n\r]/.test(a)) throw new Error(`--sbatch-arg: expected one sbatch option such as --account=abc, got '${a}'`);
  if (/^--?(array|a|output|o|chdir|D|job-name|J|dependency|d)(=|$)/.test(a))
    throw new Error(`--sbatch-arg ${a}: ctlab sets this sbatch option itself (array, output, chdir, job name, dependency)`);
  return a;
}

/**
 * Write a sweep directory for `jobs` (one array index per distinct run directory, and job.json in
 * each run directory, as the local runner writes it). Refuses a directory that holds a sweep already.
 */
export function createSweep(jobs: readonly Job[], opts: CreateSweepOptions): { dir: string; sweep: Sweep; jobs: Job[] } {
  const dir = path.resolve(opts.dir);
  const p = sweepPaths(dir);
  if (fs.existsSync(p.sweep)) throw new Error(`${dir} holds a sweep already (see ctlab sweep status ${dir}); choose another --sweep directory`);
  const unique = [...new Map(jobs.map((j) => [path.resolve(j.dir), { ...j, dir: path.resolve(j.dir) }])).values()];
  if (unique.length === 0) throw new Error('createSweep: no jobs');
  const env = opts.env ?? process.env;
  const cpus = opts.cpusPerTask ?? 1;
  const taskEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) if (k.startsWith('CTLAB_') && v !== undefined) taskEnv[k] = v;
  // the local runner gives its workers one thread each; a task gets its CPUs unless CTLAB_THREADS says otherwise
  taskEnv.CTLAB_THREADS ??= String(cpus);
  const sweep: Sweep = parseRecord(
    sweepSchema,
    {
      name: opts.name.replace(/[^A-Za-z0-9._-]/g, '_'),
      command: opts.command,
      createdAt: new Date().toISOString(),
      cwd: path.resolve(opts.cwd ?? process.cwd()),
      runsRoot: path.resolve(opts.runsRoot),
      data: opts.data,
      jobs: unique.length,
      node: path.resolve(opts.node ?? process.execPath),
      cli: path.resolve(opts.cli),
      env: taskEnv,
      slurm: {
        ...(opts.partition ? { partition: opts.partition } : {}),
        ...(opts.time ? { time: opts.time } : {}),
        cpusPerTask: cpus,
        ...(opts.mem ? { mem: opts.mem } : {}),
        ...(opts.maxParallel !== undefined ? { maxParallel: opts.maxParallel } : {}),
        signal: opts.signal === undefined ? DEFAULT_SIGNAL : opts.signal,
        extra: (opts.sbatchArgs ?? []).map(validSbatchArg),
      },
      report: opts.report ?? null,
      submissions: [],
    },
    p.sweep,
  );
  const script = taskScript(sweep, dir); // refuses unusable paths before anything is written
  for (const d of [dir, p.configs, p.logs, p.tasks]) fs.mkdirSync(d, { recursive: true });
  unique.forEach((job, i) => {
    parseRecord(jobSchema, job, `${p.jobs}:${i + 1}`);
    fs.mkdirSync(job.dir, { recursive: true });
    writeJob(job);
    writeJson(path.join(p.configs, `${i}.json`), job.config);
  });
  fs.writeFileSync(p.jobs, unique.map((j) => JSON.stringify(j)).join('\n') + '\n');
  fs.writeFileSync(p.script, script, { mode: 0o755 });
  if (sweep.report) fs.writeFileSync(p.reportScript, reportScript(sweep, dir), { mode: 0o755 });
  writeJson(p.sweep, sweep);
  return { dir, sweep, jobs: unique };
}

export function readSweep(dir: string): Sweep {
  const file = sweepPaths(dir).sweep;
  if (!fs.existsSync(file)) throw new Error(`${dir} is not a ctlab sweep directory (no ${SWEEP_FILE})`);
  return readRecordFile(sweepSchema, file);
}

/** The jobs of a sweep, by array index (validated line by line). */
export function readSweepJobs(dir: string): Job[] {
  const file = sweepPaths(dir).jobs;
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => parseRecord(jobSchema, JSON.parse(l), `${file}:${i + 1}`));
}

/**
 * Submit array tasks of a sweep (default: every job not done yet) and, when the sweep has one, its
 * report job after them; records the job ids in sweep.json. Returns null when nothing is left to run.
 */
export function submitSweep(dirIn: string, opts: { indices?: number[]; kind?: SweepSubmission['kind'] } = {}): SweepSubmission | null {
  const dir = path.resolve(dirIn);
  const sweep = readSweep(dir);
  const jobs = readSweepJobs(dir);
  const indices = opts.indices ?? jobs.flatMap((j, i) => (jobDone(j) ? [] : [i]));
  if (indices.length === 0) return null;
  for (const i of indices) if (!jobs[i]) throw new Error(`${dir}: no job at index ${i} (jobs.jsonl has ${jobs.length})`);
  const array = arraySpec(indices, sweep.slurm.maxParallel);
  const jobId = sbatch([`--array=${array}`, sweepPaths(dir).script]);
  const reportJobId = sweep.report ? sbatch([`--dependency=afterany:${jobId}`, sweepPaths(dir).reportScript]) : undefined;
  const sub: SweepSubmission = {
    jobId,
    indices: [...indices].sort((a, b) => a - b),
    array,
    submittedAt: new Date().toISOString(),
    kind: opts.kind ?? 'submit',
    ...(reportJobId ? { reportJobId } : {}),
  };
  writeJson(sweepPaths(dir).sweep, parseRecord(sweepSchema, { ...sweep, submissions: [...sweep.submissions, sub] }, sweepPaths(dir).sweep));
  return sub;
}

// ---------------------------------------------------------------- status

export interface SweepTaskStatus {
  index: number;
  /** "target/ema seed 0" */
  label: string;
  dir: string;
  /** The newest submission that ran this index ("12_3"), or null when it was never submitted. */
  slurmTask: string | null;
  /** Slurm's view of that task; null when Slurm no longer knows it (purged, and no accounting). */
  slurm: TaskState | null;
  /** The run directory's view (run.json). */
  run: { status: string | null; step: number | null; totalSteps: number; lastCheckpoint: string | null };
  /** The last attempt as the task recorded it. */
  lastEvent: TaskEvent | null;
  /** The failure's message: the task's own record, else run.json's error. */
  error: string | null;
  log: string | null;
  done: boolean;
  /** Not done and not queued or running: what `ctlab sweep resubmit` submits again. */
  resubmit: boolean;
}

function readTaskEvents(dir: string, index: number): TaskEvent[] {
  const file = path.join(sweepPaths(dir).tasks, `${index}.jsonl`);
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((l, i) => {
      if (!l.trim()) return [];
      try {
        return [parseRecord(taskEventSchema, JSON.parse(l), `${file}:${i + 1}`)];
      } catch {
        return []; // a line cut by a kill mid-write
      }
    });
}

/** Every task of a sweep: Slurm's state and exit code beside the run directory's step, checkpoint and error. */
export function sweepStatus(dirIn: string): { sweep: Sweep; tasks: SweepTaskStatus[] } {
  const dir = path.resolve(dirIn);
  const sweep = readSweep(dir);
  const jobs = readSweepJobs(dir);
  const states = new Map<string, Map<number, TaskState>>();
  const statesOf = (jobId: string): Map<number, TaskState> => {
    let m = states.get(jobId);
    if (!m) states.set(jobId, (m = arrayTaskStates(jobId)));
    return m;
  };
  const tasks = jobs.map((job, index): SweepTaskStatus => {
    const sub = [...sweep.submissions].reverse().find((s) => s.indices.includes(index)) ?? null;
    const slurm = sub ? (statesOf(sub.jobId).get(index) ?? null) : null;
    const rj = tryReadRunJson(job.dir);
    const events = readTaskEvents(dir, index);
    const last = events[events.length - 1] ?? null;
    const end = last?.event === 'end' ? last : null;
    const runError = rj?.status === 'failed' && typeof rj.error === 'string' ? rj.error : null;
    const done = jobDone(job);
    const active = slurm !== null && ACTIVE_STATES.has(slurm.state);
    return {
      index,
      label: `${job.ablation}/${job.arm} seed ${job.seed}`,
      dir: job.dir,
      slurmTask: sub ? `${sub.jobId}_${index}` : null,
      slurm,
      run: {
        status: rj?.status ?? null,
        step: rj?.step ?? null,
        totalSteps: job.config.steps,
        lastCheckpoint: typeof rj?.lastCheckpoint === 'string' ? rj.lastCheckpoint : null,
      },
      lastEvent: last,
      error: done ? null : ((end?.outcome === 'failed' ? (end.error ?? null) : null) ?? runError),
      log: sub ? taskLogFile(dir, sub.jobId, index) : null,
      done,
      resubmit: !done && !active,
    };
  });
  return { sweep, tasks };
}

function slurmText(t: SweepTaskStatus): string {
  if (!t.slurmTask) return t.done ? 'not submitted (done before)' : 'not submitted';
  if (!t.slurm) return `${t.slurmTask}: no longer known to Slurm${t.lastEvent?.exitCode !== undefined ? ` (task exit ${t.lastEvent.exitCode})` : ''}`;
  const exit = t.slurm.exitCode && !ACTIVE_STATES.has(t.slurm.state) ? `, exit ${t.slurm.exitCode}` : '';
  const reason = t.slurm.reason && t.slurm.reason !== 'None' ? ` [${t.slurm.reason}]` : '';
  return `${t.slurmTask}: ${t.slurm.state.toLowerCase()}${exit}${reason}`;
}

function runText(t: SweepTaskStatus): string {
  if (t.run.status === null) return 'not started';
  const ck = t.run.lastCheckpoint ? `, checkpoint ${t.run.lastCheckpoint}` : '';
  return `${t.run.status} at step ${t.run.step ?? '?'}/${t.run.totalSteps}${ck}`;
}

/** `ctlab sweep status` as text: one row per task, the error under a failed one, and what resubmit would do. */
export function formatSweepStatus(dir: string, s: { sweep: Sweep; tasks: SweepTaskStatus[] }): string {
  const subs = s.sweep.submissions.map((x) => `${x.jobId} (${x.kind} --array=${x.array}${x.reportJobId ? `, report job ${x.reportJobId}` : ''})`);
  const head = `sweep ${path.resolve(dir)}: ${s.tasks.length} run(s); Slurm job array(s): ${subs.length ? subs.join(', ') : 'none submitted'}`;
  const rows = s.tasks.map((t) => [String(t.index), t.label, slurmText(t), runText(t)]);
  const header = ['index', 'run', 'slurm', 'run directory'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
  const fmt = (r: string[]): string =>
    r
      .map((x, c) => x.padEnd(widths[c] as number))
      .join('  ')
      .trimEnd();
  const lines = [head, fmt(header)];
  s.tasks.forEach((t, i) => {
    lines.push(fmt(rows[i] as string[]));
    if (t.error) lines.push(`${' '.repeat((widths[0] as number) + 2)}error: ${t.error}${t.log ? ` (log: ${t.log})` : ''}`);
  });
  const count = new Map<string, number>();
  for (const t of s.tasks) {
    const k = t.done ? 'done' : t.slurm && ACTIVE_STATES.has(t.slurm.state) ? t.slurm.state.toLowerCase() : 'unfinished';
    count.set(k, (count.get(k) ?? 0) + 1);
  }
  const again = s.tasks.filter((t) => t.resubmit).map((t) => t.index);
  lines.push(
    `${[...count].map(([k, n]) => `${n} ${k}`).join(', ')}; ${again.length ? `ctlab sweep resubmit resubmits ${again.length} (index ${again.join(', ')})` : 'nothing to resubmit'}`,
  );
  return lines.join('\n') + '\n';
}

/** Submit again the tasks that are neither done nor queued/running (failed, cancelled, timed out, ...). */
export function resubmitSweep(dir: string, opts: { dryRun?: boolean } = {}): { indices: number[]; submission: SweepSubmission | null } {
  const indices = sweepStatus(dir)
    .tasks.filter((t) => t.resubmit)
    .map((t) => t.index);
  if (indices.length === 0 || opts.dryRun) return { indices, submission: null };
  return { indices, submission: submitSweep(dir, { indices, kind: 'resubmit' }) };
}

// ---------------------------------------------------------------- one task

function appendTaskEvent(dir: string, ev: Omit<TaskEvent, 'at' | 'host' | 'pid' | 'slurmJobId'>): void {
  const slurmJobId = currentSlurmJob();
  const full = parseRecord(
    taskEventSchema,
    { ...ev, at: new Date().toISOString(), host: os.hostname(), pid: process.pid, ...(slurmJobId ? { slurmJobId } : {}) },
    'task event',
  );
  fs.mkdirSync(sweepPaths(dir).tasks, { recursive: true });
  fs.appendFileSync(path.join(sweepPaths(dir).tasks, `${ev.index}.jsonl`), JSON.stringify(full) + '\n');
}

/**
 * `ctlab run-job <sweep> --index i`: run line i of jobs.jsonl here (skipped when done, resumed from
 * its checkpoint otherwise), recording the attempt in tasks/<i>.jsonl. Returns the exit status for
 * Slurm: 0 done, 143/130 stopped by SIGTERM/SIGINT (checkpoint written), 1 otherwise; throws (after
 * recording the message) when the run fails.
 */
export async function runSweepTask(dirIn: string, index: number, opts: { command?: string } = {}): Promise<number> {
  const dir = path.resolve(dirIn);
  readSweep(dir);
  const jobs = readSweepJobs(dir);
  const job = jobs[index];
  if (!job) throw new Error(`${dir}: no job at index ${index} (jobs.jsonl has ${jobs.length} line(s): indices 0-${jobs.length - 1})`);
  appendTaskEvent(dir, { index, event: 'start' });
  const stepNow = (): number | undefined => tryReadRunJson(job.dir)?.step;
  const stepField = (): { step?: number } => {
    const step = stepNow();
    return step === undefined ? {} : { step };
  };
  if (jobDone(job)) {
    appendTaskEvent(dir, { index, event: 'end', outcome: 'already complete', exitCode: 0, ...stepField() });
    process.stderr.write(`ctlab: ${job.dir} is complete already; nothing to do\n`);
    return 0;
  }
  try {
    await runJobHere(job, { command: opts.command ?? `ctlab run-job ${dir} --index ${index}`, progress: false, isGone: (o) => slurmOwnerGone(o) });
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    appendTaskEvent(dir, { index, event: 'end', outcome: 'failed', exitCode: 1, error, ...stepField() });
    throw e;
  }
  const code = jobExitCode(job);
  const status = tryReadRunJson(job.dir)?.status ?? 'not started';
  if (code === 0) {
    appendTaskEvent(dir, { index, event: 'end', outcome: 'completed', exitCode: 0, ...stepField() });
  } else if (code >= 128) {
    appendTaskEvent(dir, { index, event: 'end', outcome: 'stopped', exitCode: code, ...stepField() });
    process.stderr.write(`ctlab: ${job.dir} ${status} at step ${stepNow() ?? 0}; a requeue or ctlab sweep resubmit ${dir} continues it\n`);
  } else {
    const error = `the run ended ${status} at step ${stepNow() ?? 0} of ${job.config.steps} without completing`;
    appendTaskEvent(dir, { index, event: 'end', outcome: 'failed', exitCode: code, error, ...stepField() });
    process.stderr.write(`ctlab: ${job.dir}: ${error}\n`);
  }
  return code;
}
