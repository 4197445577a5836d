/**
 * A self-describing run directory:
 *   config.json     the resolved, validated config
 *   run.json        provenance: commit, backend, seed, node and tfjs versions, command, times
 *   metrics.jsonl   one JSON object per line (training logs and evaluations)
 *   checkpoints/    atomic checksummed checkpoints (src/training/checkpoint.ts)
 *   samples/        samples written by `ctlab sample` and at the end of training
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TrainConfig } from '../config/schema';
import { validateConfig } from '../config/schema';

export interface GitInfo {
  commit: string;
  dirty: boolean;
}

/** The commit of the repository that holds `cwd` (or 'unknown' outside git). */
export function gitInfo(cwd = process.cwd()): GitInfo {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

export interface RunPaths {
  dir: string;
  config: string;
  run: string;
  metrics: string;
  checkpoints: string;
  samples: string;
}

export function runPaths(dir: string): RunPaths {
  return {
    dir,
    config: path.join(dir, 'config.json'),
    run: path.join(dir, 'run.json'),
    metrics: path.join(dir, 'metrics.jsonl'),
    checkpoints: path.join(dir, 'checkpoints'),
    samples: path.join(dir, 'samples'),
  };
}

/** Write a file atomically (tmp + rename). */
export function writeFileAtomic(file: string, content: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

export function writeJson(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** Read a run's config back (validated), with an error that names the run when it is missing. */
export function readRunConfig(dir: string): TrainConfig {
  const file = runPaths(dir).config;
  if (!fs.existsSync(file)) throw new Error(`${dir} is not a ctlab run directory (no config.json)`);
  return validateConfig(JSON.parse(fs.readFileSync(file, 'utf8')));
}

export type MetricRecord = { step: number; kind: string } & Record<string, unknown>;

export function appendMetric(file: string, record: MetricRecord): void {
  fs.appendFileSync(file, JSON.stringify(record) + '\n');
}

export function readMetrics(file: string): MetricRecord[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as MetricRecord];
      } catch {
        return []; // a line cut by a kill mid-write
      }
    });
}

/** On resume: drop records past the checkpoint's step, so replayed steps are not logged twice. */
export function truncateMetrics(file: string, lastStep: number): void {
  if (!fs.existsSync(file)) return;
  const kept = readMetrics(file).filter((r) => r.step <= lastStep);
  writeFileAtomic(file, kept.map((r) => JSON.stringify(r)).join('\n') + (kept.length ? '\n' : ''));
}
