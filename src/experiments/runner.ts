/**
 * Runs ablation arms × seeds as normal run directories, in parallel worker processes (each one a
 * `ctlab train`), resumable: completed runs are skipped, interrupted ones resumed.
 * Layout: <runs>/<data>/<arm label>-<config hash>/seed<k>/ — identical configs (every ablation's
 * baseline arm) share one directory.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildConfig } from '../config/presets';
import { mergeConfig } from '../config/merge';
import type { TrainConfig } from '../config/schema';
import { validateConfig } from '../config/schema';
import { runPaths, writeJson } from '../training/run-dir';
import { configHash } from '../training/trainer';
import { createProgress } from '../util/progress';
import { BASELINE_PRESET, type Ablation, type Arm } from './ablations';

export interface AblationScale {
  data: string;
  steps: number;
  seeds: number;
  /** Extra override applied to every arm (e.g. a smaller model for CI). */
  common?: Record<string, unknown>;
}

export interface Job {
  ablation: string;
  arm: string;
  seed: number;
  config: TrainConfig;
  dir: string;
}

/** The config of one arm at one seed. */
export function armConfig(arm: Arm, scale: AblationScale, seed: number): TrainConfig {
  const base = buildConfig(arm.preset ?? BASELINE_PRESET, {
    steps: scale.steps,
    seed,
    data: { kind: 'toy2d', name: scale.data, trainSize: 20000, testSize: 2000 },
    evalEvery: Math.max(1, Math.floor(scale.steps / 8)),
    ...(scale.common ?? {}),
  });
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

/** All (arm, seed) jobs of some ablations; image-only arms are left out on 2D data. */
export function planJobs(ablations: readonly Ablation[], scale: AblationScale, runsRoot: string): { jobs: Job[]; skipped: string[] } {
  const jobs: Job[] = [];
  const skipped: string[] = [];
  for (const ab of ablations) {
    for (const arm of ab.arms) {
      const imageOnly = ab.imageOnly?.find((x) => x.arm === arm.name);
      if (imageOnly) {
        skipped.push(`${ab.name}/${arm.name}: ${imageOnly.why}`);
        continue;
      }
      for (let seed = 0; seed < scale.seeds; seed++) {
        const config = armConfig(arm, scale, seed);
        const isBaseline = configHash({ ...config, name: 'arm' }) === configHash({ ...armConfig({ name: 'baseline', override: {} }, scale, seed), name: 'arm' });
        const label = isBaseline ? 'baseline' : `${ab.name}-${arm.name}`.replace(/[^A-Za-z0-9._-]/g, '_');
        jobs.push({ ablation: ab.name, arm: arm.name, seed, config, dir: runDirFor(runsRoot, config, label) });
      }
    }
  }
  return { jobs, skipped };
}

export function runStatus(dir: string): string | null {
  const file = runPaths(dir).run;
  if (!fs.existsSync(file)) return null;
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { status?: string }).status ?? null;
}

/** Run one job in a child process (`ctlab train`), logging to <dir>/train.log. */
function runJob(cli: string, job: Job, threads: number): Promise<void> {
  fs.mkdirSync(job.dir, { recursive: true });
  const cfgFile = path.join(job.dir, 'requested-config.json');
  writeJson(cfgFile, job.config);
  const resume = fs.existsSync(runPaths(job.dir).checkpoints) && fs.readdirSync(runPaths(job.dir).checkpoints).some((f) => f.endsWith('.bin'));
  const args = [cli, 'train', '--config', cfgFile, '--out', job.dir, '--no-progress', ...(resume ? ['--resume'] : [])];
  const log = fs.openSync(path.join(job.dir, 'train.log'), 'a');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', log, log], env: { ...process.env, CTLAB_WASM_THREADS: String(threads) } });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      fs.closeSync(log);
      if (code === 0) resolve();
      else reject(new Error(`${job.ablation}/${job.arm} seed ${job.seed} failed (${signal ?? `exit ${code}`}); see ${path.join(job.dir, 'train.log')}`));
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

/** Run every job not yet completed, `workers` at a time. Failures are collected, not fatal. */
export async function runJobs(jobs: Job[], opts: RunAblationsOptions): Promise<{ ran: number; skipped: number; failures: string[] }> {
  // one job per distinct run directory (shared baselines)
  const unique = [...new Map(jobs.map((j) => [j.dir, j])).values()];
  const todo = unique.filter((j) => runStatus(j.dir) !== 'completed');
  const threads = opts.workers > 1 ? 1 : 2;
  const bar = createProgress({ label: 'ablate', total: unique.length, start: unique.length - todo.length, fields: ['running'], enabled: opts.progress !== false });
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
