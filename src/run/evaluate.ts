/**
 * Evaluation of a run directory after training, as a library call: `ctlab eval` and the ablation
 * workers both call {@link evaluateRunDir}. Points: SWD and MMD² of 1-step and multistep samples
 * against the held-out set. Images: FID/KID per feature net (with floor and ceiling) and sample
 * grids in <run>/samples/. Either way the result is written to <run>/eval.json (validated).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, type BackendRequest } from '../backend';
import { isImageData } from '../config/data-kind';
import { loadDataset } from '../data/source';
import { upscaleFor, writeImageGrid } from '../data/images';
import { EVAL_SAMPLE_SEED, sampleDistances } from '../metrics/evaluate';
import { DEFAULT_EVAL_NETS, evaluateImageRun, type ImageRunEval } from '../metrics/image-run-eval';
import { sampleConsistencyAsync } from '../sampling/multistep';
import { edmEvalLists, sampleEdmFor } from '../metrics/evaluate';
import { edmNfe } from '../training/edm-step';
import { EDM_HEUN_STEPS } from '../constants';
import { loadRunWeights } from '../training/trainer';
import { acquireRunLock } from './lock';
import type { TrainConfig } from './records';
import { gitInfo, readRunConfig, runPaths, writeEval, type EvalFile, type ImageEval } from './run-dir';

export interface EvaluateRunOptions {
  /** Samples (default: the held-out set size for points, 2000 capped at the data's sizes for images). */
  n?: number;
  /** Sampling seed (default 777, the in-training evaluation's). */
  seed?: number;
  /** σ list of the multistep sampler (default: σ_max, config.twoStepSigma). */
  sigmas?: number[];
  /** Images: feature nets (shipped names or TF.js graph model paths; default both shipped ones). */
  nets?: string[];
  backend?: BackendRequest;
  /** The command line recorded in an image eval.json (default: this process's arguments). */
  command?: string;
}

export interface EvaluateRunResult {
  /** What was written to eval.json. */
  record: EvalFile;
  config: TrainConfig;
  step: number;
  /** Images: the full evaluation (floor, ceiling, samples) and the grids written. */
  image?: { eval: ImageRunEval; grids: { oneStep: string; twoStep: string } };
}

/** Evaluate the newest checkpoint of the run in `dir` and write its eval.json. */
export async function evaluateRunDir(dir: string, opts: EvaluateRunOptions = {}): Promise<EvaluateRunResult> {
  if (!fs.existsSync(dir)) throw new Error(`eval: ${dir} does not exist`);
  const lock = acquireRunLock(dir, { purpose: 'eval', ...(opts.command ? { command: opts.command } : {}) });
  try {
    return await evaluateOwned(dir, opts);
  } finally {
    lock.release();
  }
}

async function evaluateOwned(dir: string, opts: EvaluateRunOptions): Promise<EvaluateRunResult> {
  const t0 = Date.now();
  const cfg = readRunConfig(dir);
  await initBackend(opts.backend ? { backend: opts.backend } : {});
  const data = loadDataset(cfg.data, cfg.seed);
  const { net, weights, step } = loadRunWeights(dir, cfg, data.shape);
  const seed = opts.seed ?? EVAL_SAMPLE_SEED;
  const multi = opts.sigmas ?? [cfg.noise.sigmaMax, cfg.twoStepSigma];
  const edm = cfg.method?.kind === 'edm';
  // EDM runs: Euler through the same σ levels as a consistency model's 1- and 2-step samples (then to 0), and Heun-18
  const lists = edmEvalLists(cfg);
  if (edm && opts.sigmas) lists.euler2 = [...opts.sigmas, 0];
  const heunName = `heun${EDM_HEUN_STEPS}`;
  const nfe = { oneStep: 1, twoStep: lists.euler2.length - 1, [heunName]: edmNfe(lists.heun, 'heun') };
  try {
    if (isImageData(cfg.data)) {
      const ev = await evaluateImageRun(cfg, net, weights, data, {
        ...(opts.n !== undefined ? { n: opts.n } : {}),
        nets: opts.nets ?? DEFAULT_EVAL_NETS,
        twoStep: edm ? lists.euler2 : multi,
        seed,
        ...(edm
          ? {
              sampler: async (n: number) => ({
                oneStep: await sampleEdmFor(cfg, net, weights, lists.euler1, 'euler', n, data.shape, seed),
                twoStep: await sampleEdmFor(cfg, net, weights, lists.euler2, 'euler', n, data.shape, seed),
                extra: { [heunName]: await sampleEdmFor(cfg, net, weights, lists.heun, 'heun', n, data.shape, seed) },
              }),
            }
          : {}),
      });
      const [h, w, c] = ev.shape;
      const samples = runPaths(dir).samples;
      const grids = { oneStep: path.join(samples, `grid-1step-step${step}.png`), twoStep: path.join(samples, `grid-2step-step${step}.png`) };
      fs.mkdirSync(samples, { recursive: true });
      writeImageGrid(grids.oneStep, ev.samples.oneStep.subarray(0, 100 * h * w * c), Math.min(100, ev.n), h, w, c, 10, { scale: upscaleFor(h) });
      writeImageGrid(grids.twoStep, ev.samples.twoStep.subarray(0, 100 * h * w * c), Math.min(100, ev.n), h, w, c, 10, { scale: upscaleFor(h) });
      const record: ImageEval = {
        kind: 'images',
        run: dir,
        step,
        n: ev.n,
        ...(opts.n !== undefined ? { requestedN: opts.n } : {}),
        seed,
        sigmas: ev.sigmas,
        scores: ev.scores,
        ...(edm ? { nfe } : {}),
        grids,
        shape: [...ev.shape],
        evaluation: { command: opts.command ?? `ctlab ${process.argv.slice(2).join(' ')}`, ...gitInfo(), wallSec: (Date.now() - t0) / 1000 },
      };
      writeEval(dir, record);
      return { record, config: cfg, step, image: { eval: ev, grids } };
    }
    const n = opts.n ?? data.test.length / data.dim;
    const common = { n, seed, shape: data.shape, sigmaMin: cfg.noise.sigmaMin, sigmaMax: cfg.noise.sigmaMax, sigmaData: cfg.noise.sigmaData };
    const test = data.test.subarray(0, n * data.dim);
    /** The fields every points record starts with. */
    const head = { kind: 'points' as const, run: dir, step, n, ...(opts.n !== undefined ? { requestedN: opts.n } : {}), seed };
    if (edm) {
      const e1 = sampleDistances(await sampleEdmFor(cfg, net, weights, lists.euler1, 'euler', n, data.shape, seed), test, data.dim);
      const e2 = sampleDistances(await sampleEdmFor(cfg, net, weights, lists.euler2, 'euler', n, data.shape, seed), test, data.dim);
      const h = sampleDistances(await sampleEdmFor(cfg, net, weights, lists.heun, 'heun', n, data.shape, seed), test, data.dim);
      const record: EvalFile = {
        ...head,
        oneStep: { sigmas: lists.euler1, ...e1, nfe: 1, solver: 'euler' },
        multiStep: { sigmas: lists.euler2, ...e2, nfe: lists.euler2.length - 1, solver: 'euler' },
        heun: { steps: EDM_HEUN_STEPS, nfe: nfe[heunName], ...h },
      };
      writeEval(dir, record);
      return { record, config: cfg, step };
    }
    const one = sampleDistances(await sampleConsistencyAsync(net, weights, { ...common, sigmas: [cfg.noise.sigmaMax] }), test, data.dim);
    const many = sampleDistances(await sampleConsistencyAsync(net, weights, { ...common, sigmas: multi }), test, data.dim);
    const record: EvalFile = {
      ...head,
      oneStep: { sigmas: [cfg.noise.sigmaMax], ...one, nfe: 1 },
      multiStep: { sigmas: multi, ...many, nfe: multi.length },
    };
    writeEval(dir, record);
    return { record, config: cfg, step };
  } finally {
    weights.forEach((t) => t.dispose());
    net.dispose();
  }
}
