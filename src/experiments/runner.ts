/**
 * Runs ablation arms × seeds as normal run directories, in parallel worker processes (each one a
 * `ctlab job <run>/job.json`: train, then for images evaluate in the same process through
 * {@link evaluateRunDir}), resumable: completed runs are skipped, interrupted ones resumed, and an
 * image evaluation is redone only when eval.json is missing or of another step or n.
 * Layout: <runs>/<data>/<arm label>-<config hash>/seed<k>/ — identical configs (every ablation's
 * baseline arm) share one directory.
 */
import { acquireRunLock, type AcquireOptions } from '../run/lock';
import { threadsFromEnv } from '../backend/index';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isImageData } from '../config/data-kind';
import { buildConfig, SCALES, scaleFor } from '../config/presets';
import { mergeConfig } from '../config/merge';
import type { ConfigOverride, TrainConfig } from '../config/schema';
import { dataConfigFromArg } from '../data/source';
import { validateConfig } from '../config/schema';
import { evaluateRunDir } from '../run/evaluate';
import { RENAMED_ABLATIONS, type Job } from '../run/records';
import { configHash, finalEval, runPaths, runStatus, writeJob } from '../run/run-dir';
import { train } from '../training/trainer';
import { createProgress } from '../util/progress';
import { BASELINE_PRESET, type Ablation, type Arm } from './ablations';

export type { Job };
export { finalEval, readImageEval, runStatus } from '../run/run-dir';

export interface AblationScale {
  data: string;
  steps: number;
  seeds: number;
  /** Extra override applied to every arm (e.g. a smaller model for CI). */
  common?: ConfigOverride;
  /** Images: samples drawn for the FID/KID evaluation after training (default {@link IMAGE_ABLATION}.evalN). */
  evalN?: number;
}

/**
 * Defaults of the image ablations, sized for 2 CPU cores: 12 distinct arms, two at a time. The
 * U-Net is half the width of the image preset ([16, 32] channels: about a quarter of its
 * convolution FLOPs) and runs 1,000 steps instead of 6,000, so the sampling EMA gets a shorter
 * horizon (0.995: the initial weights keep 0.7% of the average after 1,000 steps; 0.999 would keep 37%).
 */
export const IMAGE_ABLATION = { steps: 1000, seeds: 1, evalN: 2000, common: { emaRate: 0.995, model: { channels: [16, 32] } } } as const;

/** Defaults of the 2D ablations. */
export const POINTS_ABLATION = { steps: 2000, seeds: 3 } as const;

/** The config of one arm at one seed. */
export function armConfig(arm: Arm, scale: AblationScale, seed: number): TrainConfig {
  const scaleName = scaleFor(scale.data);
  const image = scaleName !== 'toy2d';
  const base = buildConfig(
    arm.preset ?? BASELINE_PRESET,
    {
      steps: scale.steps,
      seed,
      data: dataConfigFromArg(scale.data, SCALES[scaleName]().data),
      evalEvery: Math.max(1, Math.floor(scale.steps / 8)),
      ...(image ? { ...IMAGE_ABLATION.common, checkpointEvery: Math.max(1, Math.min(200, Math.floor(scale.steps / 5))) } : {}),
      ...(scale.common ?? {}),
    },
    scaleName,
  );
  return validateConfig(mergeConfig(base, { ...arm.override, name: `${arm.name.replace(/[^A-Za-z0-9._-]/g, '_')}` }));
}

/**
 * Directory of a run, keyed by its config without name and seed, so equal arms share it; `label`
 * makes it readable ("baseline" for the iCT preset itself, else "<ablation>-<arm>").
 */
export function runDirFor(runsRoot: string, cfg: TrainConfig, label: string): string {
  const key = configHash({ ...cfg, name: 'arm', seed: 0 });
  return path.join(runsRoot, data(cfg), `${label}-${key.slice(0, 8)}`, `seed${cfg.seed}`);
}

function data(cfg: TrainConfig): string {
  return cfg.data.kind === 'toy2d' ? cfg.data.name : cfg.data.kind === 'csv' ? path.basename(cfg.data.path, '.csv') : cfg.data.kind;
}

/** The directory an arm's run got under the ablation's former name (RENAMED_ABLATIONS), when it exists: reused, not rerun. */
function formerDir(runsRoot: string, cfg: TrainConfig, ablation: string, arm: string): string | null {
  for (const [former, now] of Object.entries(RENAMED_ABLATIONS)) {
    if (now.name !== ablation) continue;
    const formerArm = Object.entries(now.arms).find(([, a]) => a === arm)?.[0] ?? arm;
    const dir = runDirFor(runsRoot, cfg, `${former}-${formerArm}`.replace(/[^A-Za-z0-9._-]/g, '_'));
    if (fs.existsSync(path.dirname(dir))) return dir; // the arm's directory: its other seeds join it
  }
  return null;
}

/** All (arm, seed) jobs of some ablations; image-only arms are left out on 2D data. */
export function planJobs(ablations: readonly Ablation[], scale: AblationScale, runsRoot: string): { jobs: Job[]; skipped: string[] } {
  const jobs: Job[] = [];
  const skipped: string[] = [];
  for (const ab of ablations) {
    for (const arm of ab.arms) {
      const imageOnly = scaleFor(scale.data) === 'toy2d' ? ab.imageOnly?.find((x) => x.arm === arm.name) : undefined;
      if (imageOnly) {
        skipped.push(`${ab.name}/${arm.name}: ${imageOnly.why}`);
        continue;
      }
      for (let seed = 0; seed < scale.seeds; seed++) {
        const config = armConfig(arm, scale, seed);
        const isBaseline =
          configHash({ ...config, name: 'arm' }) === configHash({ ...armConfig({ name: 'baseline', override: {} }, scale, seed), name: 'arm' });
        const label = isBaseline ? 'baseline' : `${ab.name}-${arm.name}`.replace(/[^A-Za-z0-9._-]/g, '_');
        jobs.push({
          ablation: ab.name,
          arm: arm.name,
          seed,
          config,
          dir: isBaseline ? runDirFor(runsRoot, config, label) : (formerDir(runsRoot, config, ab.name, arm.name) ?? runDirFor(runsRoot, config, label)),
          ...(isImageData(config.data) ? { evalN: scale.evalN ?? IMAGE_ABLATION.evalN } : {}),
        });
      }
    }
  }
  return { jobs, skipped };
}

/** A job is done when its run completed and, for images, its final evaluation is written. */
export function jobDone(job: Job): boolean {
  if (runStatus(job.dir) !== 'completed') return false;
  return job.evalN === undefined || finalEval(job.dir, job.config.steps, job.evalN) !== null;
}

export interface RunJobOptions {
  command?: string;
  progress?: boolean;
  /** Judges a run.lock left by an owner on another host (Slurm tasks: slurmOwnerGone in ./slurm.ts). */
  isGone?: AcquireOptions['isGone'];
}

/**
 * One job in this process: train (or resume) unless the run completed, then, for images, evaluate
 * the final step unless eval.json already holds it with the same n. What `ctlab job` and `ctlab
 * run-job` run. A run stopped by a signal is left for a later resume and not evaluated.
 */
export async function runJobHere(job: Job, opts: RunJobOptions = {}): Promise<void> {
  // one owner for train + eval (the lock is re-entrant, so both calls below take it again freely)
  const lock = acquireRunLock(job.dir, {
    purpose: 'job',
    command: opts.command ?? `ctlab job ${runPaths(job.dir).job}`,
    ...(opts.isGone ? { isGone: opts.isGone } : {}),
  });
  try {
    await runJobOwned(job, opts);
  } finally {
    lock.release();
  }
}

async function runJobOwned(job: Job, opts: RunJobOptions): Promise<void> {
  if (runStatus(job.dir) !== 'completed') {
    const ckpts = runPaths(job.dir).checkpoints;
    const resume = fs.existsSync(ckpts) && fs.readdirSync(ckpts).some((f) => f.endsWith('.bin'));
    const r = await train(job.config, {
      outDir: job.dir,
      resume,
      progress: opts.progress ?? false,
      command: opts.command ?? `ctlab job ${runPaths(job.dir).job}`,
    });
    if (!r.completed) return; // stopped (SIGTERM/SIGINT): a checkpoint is written, the evaluation waits for the end
  }
  if (job.evalN !== undefined && !finalEval(job.dir, job.config.steps, job.evalN)) {
    const r = await evaluateRunDir(job.dir, { n: job.evalN });
    process.stderr.write(`ctlab: evaluated ${job.dir} at step ${r.step} (n = ${r.record.n}) -> ${runPaths(job.dir).eval}\n`);
  }
}

/**
 * The exit status of a worker after {@link runJobHere}: 0 when the job is done, 128 + the signal's
 * number when a signal stopped the run (143 for SIGTERM, 130 for SIGINT: what a shell reports, and
 * a state Slurm does not count as completed), else 1.
 */
export function jobExitCode(job: Job): number {
  if (jobDone(job)) return 0;
  const status = runStatus(job.dir) ?? '';
  if (status === 'stopped (SIGTERM)') return 143;
  if (status === 'stopped (SIGINT)') return 130;
  return 1;
}

/** Run one job in a worker process (`ctlab job <run>/job.json`), logging to <dir>/train.log. */
function runJob(cli: string, job: Job, threads: number): Promise<void> {
  const what = `${job.ablation}/${job.arm} seed ${job.seed}`;
  const logFile = path.join(job.dir, 'train.log');
  fs.mkdirSync(job.dir, { recursive: true });
  writeJob(job);
  const log = fs.openSync(logFile, 'a');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'job', runPaths(job.dir).job, '--no-progress'], {
      stdio: ['ignore', log, log],
      env: { ...process.env, CTLAB_THREADS: String(threads) },
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      fs.closeSync(log);
      if (code === 0) resolve();
      else reject(new Error(`${what} failed (${signal ?? `exit ${code}`}); see ${logFile}`));
    });
  });
}

export interface RunAblationsOptions {
  runsRoot: string;
  workers: number;
  /** Path of the compiled CLI (dist/src/cli.js). */
  cli: string;
  progress?: boolean;
}

/**
 * Threads per worker process: CTLAB_THREADS when it is set (by the user, or by `--threads`), else 1
 * each when several workers share the machine and 2 for a single worker. Before, the runner always
 * replaced CTLAB_THREADS, so `CTLAB_THREADS=1 ctlab ablate ... --workers 1` ran on 2 threads.
 */
export function workerThreads(workers: number, env: NodeJS.ProcessEnv = process.env): number {
  return threadsFromEnv(env) ?? (workers > 1 ? 1 : 2);
}

/** Run every job not yet completed, `workers` at a time. Failures are collected, not fatal. */
export async function runJobs(jobs: Job[], opts: RunAblationsOptions): Promise<{ ran: number; skipped: number; failures: string[] }> {
  // one job per distinct run directory (shared baselines)
  const unique = [...new Map(jobs.map((j) => [j.dir, j])).values()];
  const todo = unique.filter((j) => !jobDone(j));
  const threads = workerThreads(opts.workers);
  const bar = createProgress({
    label: 'ablate',
    total: unique.length,
    start: unique.length - todo.length,
    fields: ['running'],
    enabled: opts.progress !== false,
  });
  let done = unique.length - todo.length;
  const failures: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < todo.length) {
      const job = todo[next++] as Job;
      try {
        await runJob(opts.cli, job, threads);
      } catch (e) {
        failures.push(e instanceof Error ? e.message : String(e));
      }
      done++;
      bar.update(done, { running: `${job.ablation}/${job.arm}/seed${job.seed}` });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.workers) }, worker));
  bar.stop();
  return { ran: todo.length, skipped: unique.length - todo.length, failures };
}
