/**
 * The consistency-training loop: every axis of the config, atomic checkpoints, resume, metrics as
 * JSONL, evaluation of the sampling EMA, and a clean stop on non-finite loss or SIGINT/SIGTERM.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo, type BackendRequest } from '../backend';
import type { TrainConfig } from '../config/schema';
import { validateConfig } from '../config/schema';
import { loadDataset, type Dataset } from '../data/source';
import { evaluateRunAsync, type EvalResult } from '../metrics/evaluate';
import { buildNetwork } from '../models/build';
import type { Network } from '../models/types';
import { createProgress } from '../util/progress';
import type { PerceptualDistance } from '../losses/lpips';
import { loadDefaultLpips, loadLpips } from '../losses/lpips-weights';
import { checkpointFileName, listCheckpoints, loadLatestCheckpoint, pruneCheckpoints, saveCheckpoint, type CheckpointTensor } from './checkpoint';
import { stepContext, trainStep } from './ct-step';
import { acquireRunLock } from '../run/lock';
import { loadTeacher, type TeacherProvenance } from './teacher';
import type { DistillTeacher } from './edm-step';
import { createModelState, type ModelState } from './model-state';
import {
  appendMetric,
  configHash,
  gitInfo,
  readRunConfig,
  readRunJson,
  runPaths,
  truncateMetrics,
  writeJson,
  writeRunJson,
  type MetricRecord,
} from '../run/run-dir';

/** Moved to src/run/run-dir.ts (run directories are keyed by it); re-exported for old imports. */
export { configHash } from '../run/run-dir';

export interface TrainOptions {
  /** Run directory (created). */
  outDir: string;
  /** Continue from the newest valid checkpoint in outDir. */
  resume?: boolean;
  backend?: BackendRequest;
  /** Show progress on stderr (default true). */
  progress?: boolean;
  /** The command line that started the run, for provenance. */
  command?: string;
  /** Checkpoints kept on disk (default 2). */
  keepCheckpoints?: number;
  /** Called with each metric record as it is written. */
  onMetric?: (record: MetricRecord) => void;
  /** Stop (with a checkpoint) after this many steps in total; for tests and time-boxed runs. */
  stopAfter?: number;
}

export interface TrainResult {
  outDir: string;
  steps: number;
  completed: boolean;
  finalLoss: number;
  eval: EvalResult | null;
  wallSec: number;
  /**
   * Seconds in the step loop of this call: the steps with their logging and checkpoints, without the
   * setup (backend, data, model) and the final evaluation. What `npm run bench` divides by the steps.
   */
  loopSec: number;
  backend: BackendInfo;
}

export class NonFiniteLossError extends Error {
  constructor(
    readonly step: number,
    readonly value: number,
    readonly lastCheckpoint: string | null,
  ) {
    super(
      `non-finite loss (${value}) at step ${step}; training stopped. ` +
        (lastCheckpoint ? `Last good checkpoint: ${lastCheckpoint}` : 'No checkpoint was written before it.'),
    );
    this.name = 'NonFiniteLossError';
  }
}

/** A checkpoint, metrics or run.json write failed (disk full, permissions): the run stopped, resumable from the last good checkpoint. */
export class WriteFailedError extends Error {
  constructor(
    readonly file: string,
    readonly step: number,
    reason: string,
    readonly lastCheckpoint: string | null,
    readonly outDir: string,
    what: string,
  ) {
    super(
      `${file}: ${what} failed at step ${step} (${reason}); training stopped. ` +
        (lastCheckpoint ? `Last good checkpoint: ${lastCheckpoint}. ` : 'No checkpoint was written before it. ') +
        `Fix the cause (disk space, permissions), then continue with: ctlab train --resume --out ${outDir}`,
    );
    this.name = 'WriteFailedError';
  }
}

export { createModelState, type ModelState } from './model-state';

async function toCheckpointTensors(state: ModelState): Promise<CheckpointTensor[]> {
  const out: CheckpointTensor[] = [];
  const groups: [string, readonly tf.Tensor[]][] = [
    ['student', state.student],
    ['ema', state.ema],
  ];
  if (state.target) groups.push(['target', state.target]);
  for (const [role, vars] of groups) {
    for (const [i, v] of vars.entries()) {
      out.push({ name: `${role}/${state.net.params[i]?.name}`, shape: v.shape, data: (await v.data()) as Float32Array });
    }
  }
  const opt = state.optimizer.state();
  for (const { name, tensor } of opt) out.push({ name: `opt/${name}`, shape: tensor.shape, data: (await tensor.data()) as Float32Array });
  tf.dispose(opt.map((o) => o.tensor));
  return out;
}

export function restoreState(state: ModelState, tensors: readonly CheckpointTensor[], file: string): void {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const take = (name: string, shape: number[]): tf.Tensor => {
    const t = byName.get(name);
    if (!t) throw new Error(`checkpoint ${file}: missing tensor ${name}`);
    if (t.shape.join(',') !== shape.join(',')) throw new Error(`checkpoint ${file}: ${name} has shape [${t.shape}], expected [${shape}]`);
    return tf.tensor(t.data, t.shape);
  };
  const assign = (role: string, vars: tf.Variable[] | null, legacyRole?: string): void => {
    vars?.forEach((v, i) => {
      const name = `${role}/${state.net.params[i]?.name}`;
      const legacy = legacyRole === undefined ? undefined : `${legacyRole}/${state.net.params[i]?.name}`;
      const t = take(legacy !== undefined && !byName.has(name) && byName.has(legacy) ? legacy : name, v.shape);
      v.assign(t);
      t.dispose();
    });
  };
  assign('student', state.student);
  assign('ema', state.ema);
  assign('target', state.target, 'teacher'); // checkpoints written before the rename call θ⁻ 'teacher'
  const opt = tensors.filter((t) => t.name.startsWith('opt/')).map((t) => ({ name: t.name.slice(4), tensor: tf.tensor(t.data, t.shape) }));
  state.optimizer.load(opt);
  tf.dispose(opt.map((o) => o.tensor));
}

/** Load a run's sampling-EMA (or student) weights from its newest checkpoint. */
export function loadRunWeights(
  dir: string,
  cfg: TrainConfig,
  shape: readonly number[],
  which: 'ema' | 'student' = 'ema',
): { net: Network & { dispose(): void }; weights: tf.Tensor[]; step: number } {
  const ckpt = loadLatestCheckpoint(runPaths(dir).checkpoints, (e) => process.stderr.write(`warning: ${e.message}\n`));
  if (!ckpt) throw new Error(`${dir}: no valid checkpoint to load (has the run started?)`);
  const net = buildNetwork(cfg, shape);
  const byName = new Map(ckpt.tensors.map((t) => [t.name, t]));
  const weights = net.params.map((p) => {
    const t = byName.get(`${which}/${p.name}`);
    if (!t) throw new Error(`${dir}: checkpoint lacks ${which}/${p.name}`);
    return tf.tensor(t.data, p.shape);
  });
  return { net, weights, step: ckpt.step };
}

/**
 * Train (or resume) one run into `opts.outDir`, owning the directory for the whole run (src/run/lock.ts):
 * a second writer is refused with a message naming this one.
 */
export async function train(config: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  const cfg = validateConfig(config);
  const lock = acquireRunLock(opts.outDir, { purpose: opts.resume ? 'resume' : 'train', ...(opts.command ? { command: opts.command } : {}) });
  try {
    return await trainOwned(cfg, opts);
  } finally {
    lock.release();
  }
}

async function trainOwned(cfg: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  const paths = runPaths(opts.outDir);
  const hash = configHash(cfg);
  const existing = listCheckpoints(paths.checkpoints);
  if (existing.length > 0 && !opts.resume) {
    throw new Error(`${opts.outDir} already holds a run (checkpoint at step ${existing[0]?.step}); pass --resume to continue it or choose another --out`);
  }
  if (opts.resume && fs.existsSync(paths.config)) {
    const saved = readRunConfig(opts.outDir);
    if (configHash(saved) !== hash) {
      throw new Error(
        `${opts.outDir}: --resume with a config that differs from the run's config.json; resume with the same settings (or none: ctlab train --resume --out ${opts.outDir})`,
      );
    }
  }

  const backend = await initBackend(opts.backend === undefined ? {} : { backend: opts.backend });
  // CD: the teacher is checked (and loaded) before anything is written: a bad one is refused up front
  let distill: (DistillTeacher & { dispose(): void }) | null = null;
  let teacherInfo: TeacherProvenance | null = null;
  if (cfg.method?.kind === 'cd') {
    const t = loadTeacher(cfg);
    distill = t.teacher;
    teacherInfo = t.provenance;
  }
  const data: Dataset = loadDataset(cfg.data, cfg.seed);
  fs.mkdirSync(paths.checkpoints, { recursive: true });
  fs.mkdirSync(paths.samples, { recursive: true });
  writeJson(paths.config, cfg);

  const state = createModelState(cfg, data.shape);
  let step = 0;
  let lastCheckpoint: string | null = null;
  if (opts.resume) {
    const skipped: string[] = [];
    const ckpt = loadLatestCheckpoint(paths.checkpoints, (e) => {
      skipped.push(e.message);
      process.stderr.write(`warning: skipping ${e.message}\n`);
    });
    if (!ckpt && existing.length > 0) {
      // starting over would throw away the run's metrics: refuse, and say how to start over on purpose
      throw new Error(
        `${opts.outDir}: --resume found no valid checkpoint (${skipped.join('; ')}); the run was left as it is. To start it over, remove ${paths.checkpoints}`,
      );
    }
    if (ckpt) {
      if (ckpt.meta.configHash !== hash) throw new Error(`${opts.outDir}: checkpoint was written by another config`);
      restoreState(state, ckpt.tensors, paths.checkpoints);
      step = ckpt.step;
      lastCheckpoint = path.join(paths.checkpoints, checkpointFileName(step));
      process.stderr.write(`ctlab: resuming ${opts.outDir} from step ${step}\n`);
    }
  }
  truncateMetrics(paths.metrics, step); // a torn last line (a kill mid-write) is dropped with a warning

  const git = gitInfo();
  const t0 = Date.now();
  const priorWall = step > 0 && fs.existsSync(paths.run) ? readRunJson(opts.outDir).wallSec : 0;
  const runInfo = (status: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    status,
    command: opts.command ?? process.argv.join(' '),
    commit: git.commit,
    dirty: git.dirty,
    seed: cfg.seed,
    configHash: hash,
    backend,
    node: process.version,
    tfjs: tf.version.tfjs,
    data: data.description,
    params: state.net.params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0),
    step,
    totalSteps: cfg.steps,
    wallSec: priorWall + (Date.now() - t0) / 1000,
    updatedAt: new Date().toISOString(),
    ...(teacherInfo ? { cdTeacher: teacherInfo } : {}),
    ...extra,
  });
  writeRunJson(opts.outDir, runInfo('running'));

  /** A write that failed stops the run: the message names the file, the step, the last good checkpoint and how to go on. */
  const writeFailed = (what: string, file: string, e: unknown): WriteFailedError =>
    new WriteFailedError(file, step, e instanceof Error ? e.message : String(e), lastCheckpoint, opts.outDir, what);
  const log = (rec: MetricRecord): void => {
    try {
      appendMetric(paths.metrics, rec);
    } catch (e) {
      throw writeFailed('writing the metrics record', paths.metrics, e);
    }
    opts.onMetric?.(rec);
  };
  const checkpoint = async (): Promise<void> => {
    const file = path.join(paths.checkpoints, checkpointFileName(step));
    const tensors = await toCheckpointTensors(state);
    try {
      saveCheckpoint(file, { step, meta: { configHash: hash, iterations: state.optimizer.iterations }, tensors });
      pruneCheckpoints(paths.checkpoints, opts.keepCheckpoints ?? 2);
    } catch (e) {
      throw writeFailed('writing the checkpoint', file, e);
    }
    lastCheckpoint = file;
    try {
      writeRunJson(opts.outDir, runInfo('running', { lastCheckpoint: path.basename(file) }));
    } catch (e) {
      throw writeFailed('writing run.json', paths.run, e);
    }
  };
  const evaluate = async (): Promise<EvalResult> => {
    const r = await evaluateRunAsync(cfg, state.net, state.ema, data.test, data.shape);
    log({ step, kind: 'eval', ...r });
    return r;
  };

  let stopRequested: string | null = null;
  const onSignal = (sig: string): void => {
    stopRequested = sig;
  };
  const sigint = (): void => onSignal('SIGINT');
  const sigterm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', sigint);
  process.on('SIGTERM', sigterm);

  let perceptual: PerceptualDistance | null = null;
  const stopAt = Math.min(cfg.steps, opts.stopAfter ?? cfg.steps);
  const progress = createProgress({ label: `train ${cfg.name}`, total: cfg.steps, start: step, fields: ['loss', 'N'], enabled: opts.progress !== false });
  let lossSum = 0;
  let lossCount = 0;
  let lastLoss = NaN;
  let lastEval: EvalResult | null = null;
  let windowStart = Date.now();
  let windowSteps = 0;

  try {
    if (cfg.distance.kind === 'lpips') {
      const net = cfg.distance.net ?? 'fmnist-cnn';
      perceptual = fs.existsSync(net) && fs.statSync(net).isDirectory() ? loadLpips(net) : await loadDefaultLpips(net);
      process.stderr.write(`ctlab: distance ${perceptual.name}\n`);
    }
    const ctx = stepContext(cfg, state.net, data.train, data.shape, perceptual, distill);
    const loopStart = performance.now();
    while (step < stopAt) {
      const { loss: value, n, mu, applied } = await trainStep(cfg, state, step, ctx);
      if (!applied) throw new NonFiniteLossError(step + 1, value, lastCheckpoint);
      step++;
      lastLoss = value;
      lossSum += value;
      lossCount++;
      windowSteps++;

      if (step % cfg.logEvery === 0 || step === cfg.steps) {
        const now = Date.now();
        log({
          step,
          kind: 'train',
          loss: lossSum / lossCount,
          N: n,
          mu,
          lr: cfg.optimizer.lr,
          stepsPerSec: windowSteps / Math.max(1e-3, (now - windowStart) / 1000),
          numTensors: tf.memory().numTensors,
        });
        lossSum = 0;
        lossCount = 0;
        windowStart = now;
        windowSteps = 0;
      }
      progress.update(step, { loss: value, N: n });
      if (cfg.evalEvery > 0 && step % cfg.evalEvery === 0 && step < cfg.steps) await evaluate();
      if (step % cfg.checkpointEvery === 0 || step === cfg.steps || step === stopAt) await checkpoint();
      if (stopRequested) break;
      if (step % 10 === 0) await new Promise((r) => setImmediate(r)); // let signals in
    }
    const loopSec = (performance.now() - loopStart) / 1000;
    progress.stop();
    const completed = step >= cfg.steps;
    if (stopRequested && step % cfg.checkpointEvery !== 0) await checkpoint();
    if (completed) {
      lastEval = await evaluate();
      // the final checkpoint exists already (step === cfg.steps)
    }
    writeRunJson(
      opts.outDir,
      runInfo(
        completed ? 'completed' : stopRequested ? `stopped (${stopRequested})` : 'stopped',
        lastCheckpoint ? { lastCheckpoint: path.basename(lastCheckpoint) } : {},
      ),
    );
    if (stopRequested) process.stderr.write(`ctlab: ${stopRequested} received; checkpoint written at step ${step}. Resume with --resume.\n`);
    return { outDir: opts.outDir, steps: step, completed, finalLoss: lastLoss, eval: lastEval, wallSec: (Date.now() - t0) / 1000, loopSec, backend };
  } catch (e) {
    progress.stop();
    try {
      writeRunJson(
        opts.outDir,
        runInfo('failed', { error: e instanceof Error ? e.message : String(e), lastCheckpoint: lastCheckpoint ? path.basename(lastCheckpoint) : null }),
      );
    } catch (e2) {
      // the disk that refused the write may refuse this one too: the original error is the one to report
      process.stderr.write(`warning: ${paths.run}: could not record the failure (${e2 instanceof Error ? e2.message : String(e2)})\n`);
    }
    throw e;
  } finally {
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
    perceptual?.dispose();
    distill?.dispose();
    state.dispose();
  }
}
