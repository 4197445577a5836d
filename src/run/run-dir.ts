/**
 * The one module that reads and writes run directories (schemas: src/run/records.ts):
 *   config.json     the resolved, validated config
 *   run.json        provenance: commit, backend, seed, node and tfjs versions, command, times
 *   metrics.jsonl   one JSON object per line (training logs and evaluations)
 *   eval.json       the evaluation after training (`ctlab eval`, or the ablation worker)
 *   job.json        the ablation job a worker ran here (ablation runs only)
 *   checkpoints/    atomic checksummed checkpoints (src/training/checkpoint.ts)
 *   samples/        samples written by `ctlab sample` and `ctlab eval`
 * and the runs root of the ablations: <runs>/<data>/ablation-plan.json beside <data>/<arm>-<hash>/seed<k>/.
 * Every reader validates what it reads and throws a {@link RecordError} naming the file and field.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { z } from 'zod';
import { isImageData } from '../config/data-kind';
import { ConfigError, hashForm, migrateStoredConfig } from '../config/schema';
import {
  ablationPlanSchema,
  ablationSummarySchema,
  evalFileSchema,
  jobSchema,
  metricRecordSchema,
  quickstartRecordSchema,
  type QuickstartRecord,
  parseRecord,
  RecordError,
  runJsonSchema,
  validateConfig,
  type AblationPlan,
  type AblationSummary,
  type EvalFile,
  type EvalMetric,
  type ImageEval,
  type Job,
  type MetricRecord,
  type PlanEntry,
  type RunJson,
  type TrainConfig,
} from './records';

export type { MetricRecord, RunJson, EvalFile, ImageEval, AblationPlan, PlanEntry, Job };

export interface GitInfo {
  commit: string;
  dirty: boolean;
}

/** The commit of the repository that holds `cwd` (or 'unknown' outside git). */
export function gitInfo(cwd = process.cwd()): GitInfo {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

/**
 * A stable hash of the config, stored in checkpoints so a resume refuses a changed config; run
 * directories are keyed by it. Hashed in {@link hashForm} (θ⁻'s old spelling), so run directories
 * made before `teacher` became `target` keep their hashes.
 */
export function configHash(cfg: TrainConfig): string {
  return createHash('sha256')
    .update(JSON.stringify(hashForm(cfg)))
    .digest('hex')
    .slice(0, 16);
}

export interface RunPaths {
  dir: string;
  config: string;
  run: string;
  metrics: string;
  eval: string;
  job: string;
  checkpoints: string;
  samples: string;
}

export function runPaths(dir: string): RunPaths {
  return {
    dir,
    config: path.join(dir, 'config.json'),
    run: path.join(dir, 'run.json'),
    metrics: path.join(dir, 'metrics.jsonl'),
    eval: path.join(dir, 'eval.json'),
    job: path.join(dir, 'job.json'),
    checkpoints: path.join(dir, 'checkpoints'),
    samples: path.join(dir, 'samples'),
  };
}

/** The record files of a run, the ones `ctlab records export` copies (never checkpoints or samples). */
export const RECORD_FILES = ['config.json', 'run.json', 'metrics.jsonl', 'eval.json'] as const;

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

/** Read a file as UTF-8, naming it when it cannot be read (Node's EISDIR/EACCES messages do not). */
function readTextFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new RecordError(file, [code === 'ENOENT' ? 'no such file' : `cannot be read (${e instanceof Error ? e.message : String(e)})`]);
  }
}

/** Parse a JSON file, naming it when it is not JSON. */
function readJsonFile(file: string): unknown {
  const text = readTextFile(file);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new RecordError(file, [`not valid JSON (${e instanceof Error ? e.message : String(e)})`]);
  }
}

/** Read and validate a JSON record file. */
export function readRecordFile<S extends z.ZodType>(schema: S, file: string): z.output<S> {
  return parseRecord(schema, readJsonFile(file), file);
}

// ---------------------------------------------------------------- config.json, run.json

/** Read a run's config back (validated), with an error that names the run when it is missing. */
export function readRunConfig(dir: string): TrainConfig {
  const file = runPaths(dir).config;
  if (!fs.existsSync(file)) throw new Error(`${dir} is not a ctlab run directory (no config.json)`);
  const json = readJsonFile(file);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new RecordError(file, [`expected a JSON object (the run's config), got ${Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json}`]);
  }
  try {
    return validateConfig(migrateStoredConfig(json));
  } catch (e) {
    if (e instanceof ConfigError) throw new RecordError(file, e.problems);
    throw e;
  }
}

/** A run's run.json, validated; throws when it is missing. */
export function readRunJson(dir: string): RunJson {
  const file = runPaths(dir).run;
  if (!fs.existsSync(file)) throw new Error(`${dir}: no run.json (has the run started?)`);
  return readRecordFile(runJsonSchema, file);
}

/** A run's run.json, or null when the run has not started. */
export function tryReadRunJson(dir: string): RunJson | null {
  return fs.existsSync(runPaths(dir).run) ? readRunJson(dir) : null;
}

/** Write run.json (validated first; written as given, key order included). */
export function writeRunJson(dir: string, info: Record<string, unknown>): void {
  parseRecord(runJsonSchema, info, runPaths(dir).run);
  writeJson(runPaths(dir).run, info);
}

/** The run's status ('completed', 'running', ...), or null when it has not started. */
export function runStatus(dir: string): string | null {
  return tryReadRunJson(dir)?.status ?? null;
}

// ---------------------------------------------------------------- metrics.jsonl

export function appendMetric(file: string, record: MetricRecord): void {
  fs.appendFileSync(file, JSON.stringify(record) + '\n');
}

/** Where a reader reports what it skips (a torn last line of metrics.jsonl); default: a warning on stderr. */
export type WarnFn = (message: string) => void;
const warnStderr: WarnFn = (m) => process.stderr.write(`warning: ${m}\n`);

/**
 * Lines of metrics.jsonl with their parsed records. The last line, when it does not end in a newline
 * and is not JSON, was cut by a kill mid-write: it is skipped with a warning. Any other line that is
 * not a valid record is an error naming file:line.
 */
function metricLines(file: string, warn: WarnFn = warnStderr): { line: string; record: MetricRecord }[] {
  if (!fs.existsSync(file)) return [];
  const text = readTextFile(file);
  const lines = text.split('\n');
  const out: { line: string; record: MetricRecord }[] = [];
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    const torn = i === lines.length - 1; // no newline after it: the write was cut
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      if (torn) {
        warn(`${file}:${i + 1}: skipping a torn last line (${line.length} bytes, no newline; a run killed mid-write)`);
        continue;
      }
      throw new RecordError(`${file}:${i + 1}`, [`not valid JSON (${e instanceof Error ? e.message : String(e)})`]);
    }
    out.push({ line, record: parseRecord(metricRecordSchema, value, `${file}:${i + 1}`) });
  }
  return out;
}

/** Every record of a metrics.jsonl file (validated), in order; [] when it does not exist. */
export function readMetrics(file: string, warn?: WarnFn): MetricRecord[] {
  return metricLines(file, warn).map((l) => l.record);
}

/** The evaluation records of a run (in-training and final), in order. */
export function readEvalMetrics(dir: string): EvalMetric[] {
  return readMetrics(runPaths(dir).metrics).filter((m): m is EvalMetric => m.kind === 'eval');
}

/** On resume: drop records past the checkpoint's step, so replayed steps are not logged twice (kept lines stay byte for byte). */
export function truncateMetrics(file: string, lastStep: number, warn?: WarnFn): void {
  if (!fs.existsSync(file)) return;
  const kept = metricLines(file, warn).filter((l) => l.record.step <= lastStep);
  writeFileAtomic(file, kept.map((l) => l.line).join('\n') + (kept.length ? '\n' : ''));
}

// ---------------------------------------------------------------- eval.json

/** A run's eval.json (points or images, `kind` filled in for files written before it existed), or null. */
export function readEval(dir: string): EvalFile | null {
  const file = runPaths(dir).eval;
  return fs.existsSync(file) ? readRecordFile(evalFileSchema, file) : null;
}

export function writeEval(dir: string, ev: EvalFile): void {
  parseRecord(evalFileSchema, ev, runPaths(dir).eval);
  writeJson(runPaths(dir).eval, ev);
}

/** A run's image evaluation (FID/KID), or null when there is none (or it is a points evaluation). */
export function readImageEval(dir: string): ImageEval | null {
  const ev = readEval(dir);
  return ev?.kind === 'images' ? ev : null;
}

/** The run's evaluation when it evaluates step `steps` with `n` samples requested, else null (redo it). */
export function finalEval(dir: string, steps: number, n: number): EvalFile | null {
  const ev = readEval(dir);
  return ev?.step === steps && (ev.requestedN ?? ev.n) === n ? ev : null;
}

/** Where a grid named in eval.json is now: as written if it exists, else <run>/samples/<its name> (moved runs). */
export function gridPath(dir: string, written: string | undefined): string | null {
  if (!written) return null;
  if (fs.existsSync(written)) return written;
  const moved = path.join(runPaths(dir).samples, path.basename(written));
  return fs.existsSync(moved) ? moved : null;
}

// ---------------------------------------------------------------- job.json

export function writeJob(job: Job): void {
  parseRecord(jobSchema, job, runPaths(job.dir).job);
  writeJson(runPaths(job.dir).job, job);
}

export function readJob(file: string): Job {
  return readRecordFile(jobSchema, file);
}

// ---------------------------------------------------------------- ablation plans

export function planFile(runsRoot: string, data: string): string {
  return path.join(runsRoot, data, 'ablation-plan.json');
}

/** Read one plan file (validated). */
export function readPlan(file: string): AblationPlan {
  return readRecordFile(ablationPlanSchema, file);
}

/** Every plan under a runs root (one per data set), in directory order. */
export function readPlans(runsRoot: string): AblationPlan[] {
  if (!fs.existsSync(runsRoot)) return [];
  return fs
    .readdirSync(runsRoot)
    .sort()
    .map((d) => planFile(runsRoot, d))
    .filter((f) => fs.existsSync(f))
    .map(readPlan);
}

/** Merge new entries into the data set's plan file (ablations may be run one at a time). */
export function savePlan(runsRoot: string, plan: AblationPlan): void {
  const file = planFile(runsRoot, plan.data);
  let entries = plan.entries;
  let skipped = plan.skipped;
  if (fs.existsSync(file)) {
    const old = readPlan(file);
    if (old.steps === plan.steps) {
      const key = (e: PlanEntry): string => `${e.ablation}/${e.arm}/${e.seed}`;
      const merged = new Map(old.entries.map((e) => [key(e), e]));
      for (const e of entries) merged.set(key(e), e);
      entries = [...merged.values()];
      skipped = [...new Set([...old.skipped, ...skipped])];
    }
  }
  const merged = { ...plan, entries, skipped };
  parseRecord(ablationPlanSchema, merged, file);
  writeJson(file, merged);
}

/** A plan entry's path relative to its runs root: the last three parts of its dir, <data>/<arm>-<hash>/seed<k>. */
export function planEntryRelDir(entry: PlanEntry): string {
  return entry.dir
    .split(/[\\/]+/)
    .filter(Boolean)
    .slice(-3)
    .join('/');
}

/** Where a plan entry's run is under `runsRoot` (so a runs root can be moved or exported: results/runs/...). */
export function planEntryDir(runsRoot: string, entry: PlanEntry): string {
  return path.join(runsRoot, ...planEntryRelDir(entry).split('/'));
}

// ---------------------------------------------------------------- summaries

export function readAblationSummary(file: string): AblationSummary {
  return readRecordFile(ablationSummarySchema, file);
}

// ---------------------------------------------------------------- quickstart

/** <runs>/quickstart.json: how the quickstart ran (the table's provenance line comes from it). */
export function quickstartRecordFile(runsDir: string): string {
  return path.join(runsDir, 'quickstart.json');
}

export function readQuickstartRecord(file: string): QuickstartRecord {
  return readRecordFile(quickstartRecordSchema, file);
}

export function writeQuickstartRecord(file: string, rec: QuickstartRecord): void {
  parseRecord(quickstartRecordSchema, rec, file);
  writeJson(file, rec);
}

// ---------------------------------------------------------------- committed records

/** Run directories under a root (folders holding config.json), sorted; checkpoints/ and samples/ are not searched. */
export function listRunDirs(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    if (fs.existsSync(path.join(dir, 'config.json'))) out.push(dir);
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      const isDir = e.isDirectory() || (e.isSymbolicLink() && fs.statSync(full, { throwIfNoEntry: false })?.isDirectory() === true); // runs linked in
      if (isDir && e.name !== 'checkpoints' && e.name !== 'samples') walk(full);
    }
  };
  if (fs.existsSync(root)) walk(root);
  return out.sort();
}

/** Extra record files a runs root may hold beside its runs (copied as they are). */
export const ROOT_RECORD_FILES = ['quickstart.json'] as const;

/**
 * Copy the records of every run under `runsRoot` into `outRoot` with the same relative layout:
 * config.json, run.json, metrics.jsonl, eval.json (each validated first), the ablation plans with
 * their run paths made relative (<data>/<arm>-<hash>/seed<k>), and quickstart.json. Never
 * checkpoints, samples or logs. With `completedOnly` (`ctlab records export --completed`), runs
 * still in flight or killed (and image runs without their final evaluation) are left out, and
 * their records from an earlier export are removed from `outRoot`, so no snapshot outlives its run.
 */
export function exportRecords(
  runsRoot: string,
  outRoot: string,
  opts: { completedOnly?: boolean } = {},
): { runs: number; plans: number; files: string[]; unfinished: string[]; removed: string[] } {
  if (!fs.existsSync(runsRoot)) throw new Error(`records export: ${runsRoot} does not exist`);
  const files: string[] = [];
  const unfinished: string[] = [];
  const removed: string[] = [];
  const runs: string[] = [];
  for (const dir of listRunDirs(runsRoot)) {
    const cfg = readRunConfig(dir);
    const run = readRunJson(dir);
    readMetrics(runPaths(dir).metrics);
    const ev = readEval(dir);
    const rel = path.relative(runsRoot, dir);
    // completed only: the run finished and, for images, its final evaluation is written (what the report counts)
    if (opts.completedOnly && (run.status !== 'completed' || (isImageData(cfg.data) && !ev))) {
      unfinished.push(rel);
      // a snapshot of this run exported earlier would outlive it: take its records out
      for (const f of RECORD_FILES) {
        const stale = path.join(outRoot, rel, f);
        if (fs.existsSync(stale)) {
          fs.rmSync(stale);
          removed.push(stale);
        }
      }
      const staleDir = path.join(outRoot, rel);
      if (fs.existsSync(staleDir) && fs.readdirSync(staleDir).length === 0) fs.rmdirSync(staleDir);
      continue;
    }
    runs.push(dir);
    for (const f of RECORD_FILES) {
      const from = path.join(dir, f);
      if (!fs.existsSync(from)) continue;
      const to = path.join(outRoot, rel, f);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(from, to);
      files.push(to);
    }
  }
  let plans = 0;
  for (const d of fs.readdirSync(runsRoot).sort()) {
    const file = planFile(runsRoot, d);
    if (!fs.existsSync(file)) continue;
    const plan = readPlan(file);
    const to = planFile(outRoot, d);
    writeJson(to, { ...plan, entries: plan.entries.map((e) => ({ ...e, dir: planEntryRelDir(e) })) });
    files.push(to);
    plans++;
  }
  for (const f of ROOT_RECORD_FILES) {
    const from = path.join(runsRoot, f);
    if (!fs.existsSync(from)) continue;
    const to = path.join(outRoot, f);
    fs.mkdirSync(outRoot, { recursive: true });
    fs.copyFileSync(from, to);
    files.push(to);
  }
  return { runs: runs.length, plans, files, unfinished, removed };
}
