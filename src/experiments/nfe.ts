/**
 * `ctlab nfe`: the compute-quality trade of multistep sampling. For each arm (a trained run and its
 * sampler): a consistency model (CT, iCT or a CD student) has its intermediate σ chosen by the CM
 * paper's greedy search (src/sampling/sigma-search.ts) on one half of the held-out data, then every
 * k-step list (k in --steps, NFE = k) is scored on held-out data the search did not see, with other
 * sampler noise; beside it the fixed 2-step list (σ_max, config.twoStepSigma). An EDM run is solved
 * along the Karras grid of N steps (N in --edm-steps) with Heun (NFE 2N − 1) or Euler (NFE N) and
 * scored on the same held-out data with the same noise seed; no search. Points: sliced Wasserstein-2
 * to held-out points; images: FID in the independent feature net (fmnist-strided). Writes
 * record.json (lists, scores, the search trace, provenance), table.{md,csv} and the curve
 * nfe.{html,png,svg} (metric against NFE, so all arms share the x axis).
 */
import * as path from 'node:path';
import { initBackend, type BackendRequest } from '../backend';
import type { TrainConfig } from '../config/schema';
import { isImageData } from '../config/data-kind';
import { loadDataset } from '../data/source';
import { featureFidKid, imageFeatures } from '../metrics/image-eval';
import { loadFeatureNet } from '../metrics/feature-net';
import { slicedWasserstein } from '../metrics/sliced-wasserstein';
import { exportFigures, exportSkippedMessage } from '../report/export';
import { ensurePlotlyBundle, lineFigure, plotlyBundleDir, writeFigureHtml } from '../report/plot';
import { writeTable, type Row } from '../report/table';
import { gitInfo, readRunConfig, writeJson } from '../run/run-dir';
import { greedySigmaSearch, type SigmaSearchResult } from '../sampling/sigma-search';
import { sampleConsistencyAsync } from '../sampling/multistep';
import { edmNfe, edmSigmas, sampleEdm } from '../training/edm-step';
import { loadRunWeights } from '../training/trainer';

/** How an arm samples: the consistency sampler (CT, iCT, CD runs) or an EDM run's PF-ODE solver. */
export type NfeSampler = 'consistency' | 'edm-heun' | 'edm-euler';
export const NFE_SAMPLERS: readonly NfeSampler[] = ['consistency', 'edm-heun', 'edm-euler'];
/** EDM arms: steps N on the Karras grid (Heun NFE 1, 3, 5, 7, 11, 17, 35; Euler NFE = N). */
export const NFE_EDM_STEPS: readonly number[] = [1, 2, 3, 4, 6, 9, 18];

/**
 * An arm of the experiment: a run and the sampler it is scored with. Samplers are data, so further
 * kinds join without changing the experiment's loop.
 */
export interface NfeArm {
  name: string;
  run: string;
  sampler: NfeSampler;
}

export interface NfeOptions {
  /** '[name]=run' or 'name:sampler=run' strings, or arms. */
  arm: (string | NfeArm)[];
  /** Consistency arms: the step counts k (NFE k). */
  steps?: number[];
  /** EDM arms: the Karras-grid step counts N (NFE 2N − 1 Heun, N Euler). */
  edmSteps?: number[];
  iterations?: number;
  searchN?: number;
  n?: number;
  seed?: number;
  out: string;
  backend?: BackendRequest;
  command?: string;
}

export interface NfeArmResult {
  arm: NfeArm;
  data: string;
  /** Short name of the data set (for titles). */
  dataName: string;
  step: number;
  metric: string;
  /**
   * Per reported step count: the σ list, its score on the search data (consistency arms; null for
   * EDM arms, which have no search) and on the held-out report data.
   */
  rows: { steps: number; nfe: number; sigmas: number[]; searchScore: number | null; score: number }[];
  /** Consistency arms: the fixed 2-step list; null for EDM arms. */
  fixedTwoStep: { sigmas: number[]; score: number } | null;
  /** Training examples scored the same way: what a perfect sampler would get at this n. */
  floor: number;
  /** Consistency arms: the greedy σ search; null for EDM arms. */
  search: SigmaSearchResult | null;
  wallSec: number;
}

const ARM_FORM = "expected <name>=<run directory> (sampler from the run's config.method) or <name>:<sampler>=<run directory>";

/** The sampler a run is scored with when the arm names none: EDM runs Heun, every other a consistency sampler. */
export function defaultSampler(cfg: TrainConfig): NfeSampler {
  return cfg.method?.kind === 'edm' ? 'edm-heun' : 'consistency';
}

/**
 * An arm from `name=run` (the sampler inferred from the run's config.method: EDM → edm-heun, CT, iCT
 * and CD → consistency) or `name:sampler=run` (sampler one of {@link NFE_SAMPLERS}). Refuses bad
 * forms, unknown samplers, runs without a config and samplers the run's method cannot use, each with
 * a message naming --arm.
 */
export function parseArm(spec: string | NfeArm): NfeArm {
  let arm: NfeArm;
  let cfg: TrainConfig;
  const where = typeof spec === 'string' ? `--arm '${spec}'` : `--arm ${spec.name}`;
  if (typeof spec === 'string') {
    const eq = spec.indexOf('=');
    if (eq <= 0 || eq === spec.length - 1) throw new RangeError(`${where}: ${ARM_FORM}`);
    const head = spec.slice(0, eq);
    const run = spec.slice(eq + 1);
    const colon = head.indexOf(':');
    const name = colon < 0 ? head : head.slice(0, colon);
    if (name === '') throw new RangeError(`${where}: ${ARM_FORM}`);
    const sampler = colon < 0 ? null : head.slice(colon + 1);
    if (sampler !== null && !(NFE_SAMPLERS as readonly string[]).includes(sampler))
      throw new RangeError(`${where}: unknown sampler '${sampler}' (expected ${NFE_SAMPLERS.join(', ')})`);
    cfg = armConfig(where, run);
    arm = { name, run, sampler: (sampler as NfeSampler | null) ?? defaultSampler(cfg) };
  } else {
    if (!(NFE_SAMPLERS as readonly string[]).includes(spec.sampler))
      throw new RangeError(`${where}: unknown sampler '${String(spec.sampler)}' (expected ${NFE_SAMPLERS.join(', ')})`);
    cfg = armConfig(where, spec.run);
    arm = spec;
  }
  const edm = cfg.method?.kind === 'edm';
  if (edm && arm.sampler === 'consistency')
    throw new RangeError(`${where}: ${arm.run} is an EDM run (a denoiser, not a consistency model); score it with sampler edm-heun or edm-euler`);
  if (!edm && arm.sampler !== 'consistency')
    throw new RangeError(
      `${where}: sampler ${arm.sampler} solves an EDM run's PF-ODE, but ${arm.run} is a ${cfg.method?.kind ?? 'consistency'} run; use sampler consistency`,
    );
  return arm;
}

function armConfig(where: string, run: string): TrainConfig {
  try {
    return readRunConfig(run);
  } catch (e) {
    throw new RangeError(`${where}: cannot read the run's config (${(e as Error).message})`);
  }
}

async function runArm(arm: NfeArm, opts: Required<Pick<NfeOptions, 'steps' | 'edmSteps' | 'iterations' | 'seed'>> & NfeOptions): Promise<NfeArmResult> {
  const t0 = Date.now();
  const cfg: TrainConfig = readRunConfig(arm.run);
  const data = loadDataset(cfg.data, cfg.seed);
  const { net, weights, step } = loadRunWeights(arm.run, cfg, data.shape, 'ema');
  const image = isImageData(cfg.data);
  const d = data.dim;
  const nTest = data.test.length / d;
  const searchN = Math.min(opts.searchN ?? (image ? 500 : 1000), Math.floor(nTest / 2));
  const n = Math.min(opts.n ?? (image ? 1000 : 1000), Math.floor(nTest / 2));
  const searchRef = data.test.subarray(0, searchN * d);
  const reportRef = data.test.subarray((nTest - n) * d, nTest * d); // the other end of the held-out set
  const noise = { sigmaMin: cfg.noise.sigmaMin, sigmaMax: cfg.noise.sigmaMax, sigmaData: cfg.noise.sigmaData, shape: data.shape };
  const fnet = image ? await loadFeatureNet('fmnist-strided') : null;
  const shape3 = data.shape as [number, number, number];
  try {
    const refFeatures = new Map<Float32Array, Float64Array>();
    const scoreSet = (x: Float32Array, count: number, ref: Float32Array): number => {
      if (!fnet) return slicedWasserstein(x, ref, { dim: d });
      let fr = refFeatures.get(ref);
      if (!fr) {
        fr = imageFeatures(ref, count, shape3, fnet);
        refFeatures.set(ref, fr);
      }
      return featureFidKid(imageFeatures(x, count, shape3, fnet), fr, fnet.featureDim).fid;
    };
    const base = {
      arm,
      data: data.description,
      dataName: cfg.data.kind === 'toy2d' ? cfg.data.name : cfg.data.kind === 'fashion-mnist' ? `fashion-mnist${cfg.data.color ? '-color' : ''}` : 'csv',
      step,
      metric: image ? `FID (fmnist-strided), ${n} samples` : `SWD, ${n} samples`,
    };
    // training examples scored like samples: what a perfect sampler would get at this n
    const floor = scoreSet(data.train.subarray(0, n * d), n, reportRef);
    if (arm.sampler !== 'consistency') {
      const solver = arm.sampler === 'edm-heun' ? 'heun' : 'euler';
      const rows: NfeArmResult['rows'] = [];
      for (const N of opts.edmSteps) {
        const sigmas = edmSigmas(N, cfg.noise);
        const x = await sampleEdm(net, weights, { sigmas, solver, n, seed: opts.seed + 1, shape: data.shape, sigmaData: cfg.noise.sigmaData });
        const row = { steps: N, nfe: edmNfe(sigmas, solver), sigmas, searchScore: null, score: scoreSet(x, n, reportRef) };
        process.stderr.write(`nfe ${arm.name}: ${solver} N = ${N} (NFE ${row.nfe}) -> ${row.score.toPrecision(4)}\n`);
        rows.push(row);
      }
      return {
        ...base,
        rows,
        fixedTwoStep: null,
        floor,
        search: null,
        wallSec: Math.round((Date.now() - t0) / 100) / 10,
      };
    }
    const score = async (sigmas: readonly number[], count: number, ref: Float32Array, seed: number): Promise<number> =>
      scoreSet(await sampleConsistencyAsync(net, weights, { ...noise, sigmas, n: count, seed }), count, ref);
    const maxSteps = Math.max(...opts.steps);
    const search = await greedySigmaSearch((s) => score(s, searchN, searchRef, opts.seed), {
      steps: maxSteps,
      sigmaMax: cfg.noise.sigmaMax,
      sigmaMin: cfg.noise.sigmaMin,
      iterations: opts.iterations,
      candidates: { 1: [cfg.twoStepSigma] },
      onScore: (s, v) => process.stderr.write(`nfe ${arm.name}: [${s.map((x) => x.toPrecision(4)).join(', ')}] -> ${v.toPrecision(4)}\n`),
    });
    const rows: NfeArmResult['rows'] = [];
    for (const k of opts.steps) {
      const sigmas = search.lists[k - 1] as number[];
      rows.push({ steps: k, nfe: k, sigmas, searchScore: search.scores[k - 1] as number, score: await score(sigmas, n, reportRef, opts.seed + 1) });
    }
    const fixed = [cfg.noise.sigmaMax, cfg.twoStepSigma];
    return {
      ...base,
      rows,
      fixedTwoStep: { sigmas: fixed, score: await score(fixed, n, reportRef, opts.seed + 1) },
      floor,
      search,
      wallSec: Math.round((Date.now() - t0) / 100) / 10,
    };
  } finally {
    fnet?.dispose();
    net.dispose();
  }
}

export async function runNfe(opts: NfeOptions): Promise<NfeArmResult[]> {
  const t0 = Date.now();
  const steps = opts.steps ?? [1, 2, 3, 4, 6, 8];
  steps.forEach((k, i) => {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`--steps[${i}]: expected a positive integer, got ${k}`);
  });
  const edmSteps = opts.edmSteps ?? [...NFE_EDM_STEPS];
  edmSteps.forEach((k, i) => {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`--edm-steps[${i}]: expected a positive integer, got ${k}`);
  });
  const arms = opts.arm.map(parseArm);
  if (arms.length === 0) throw new RangeError('--arm: expected at least one arm');
  const seen = new Set<string>();
  for (const a of arms) {
    if (seen.has(a.name)) throw new RangeError(`--arm ${a.name}: two arms have this name; give each arm its own`);
    seen.add(a.name);
  }
  // one curve compares arms on one data set: the same data config and split seed (the toy sets' held-out points depend on it)
  const split = (run: string): string => {
    const c = readRunConfig(run);
    return `${JSON.stringify(c.data)} seed ${c.seed}`;
  };
  const first = arms[0] as NfeArm;
  for (const a of arms.slice(1))
    if (split(a.run) !== split(first.run))
      throw new RangeError(
        `--arm ${a.name}: its data or seed (${split(a.run)}) differ from arm ${first.name}'s (${split(first.run)}); arms of one curve must share the held-out data`,
      );
  const backend = await initBackend(opts.backend ? { backend: opts.backend } : {});
  const git = gitInfo(); // the tree the arms run from, not the one they finish in
  const results: NfeArmResult[] = [];
  for (const arm of arms) results.push(await runArm(arm, { ...opts, steps, edmSteps, iterations: opts.iterations ?? 6, seed: opts.seed ?? 0 }));
  const provenance = {
    command: opts.command ?? `ctlab ${process.argv.slice(2).join(' ')}`,
    commit: git.commit,
    dirty: git.dirty,
    backend: backend.name,
    seed: opts.seed ?? 0,
    wallSec: Math.round((Date.now() - t0) / 100) / 10,
  };
  writeJson(path.join(opts.out, 'record.json'), { ...provenance, arms: results });
  const table: Row[] = results.flatMap((r) => [
    ...r.rows.map((row) => ({
      arm: r.arm.name,
      sampler: r.arm.sampler,
      NFE: row.nfe,
      'σ list': r.arm.sampler === 'consistency' ? row.sigmas.map((s) => Number(s.toPrecision(4))).join(', ') : `Karras grid, N = ${row.steps}, then 0`,
      'search score': row.searchScore,
      score: row.score,
    })),
    ...(r.fixedTwoStep
      ? [
          {
            arm: r.arm.name,
            sampler: `${r.arm.sampler} (fixed 2-step)`,
            NFE: 2,
            'σ list': r.fixedTwoStep.sigmas.join(', '),
            'search score': null,
            score: r.fixedTwoStep.score,
          },
        ]
      : []),
  ]);
  // every arm shares the held-out data (checked above), so one floor serves them all
  if (results[0]) table.push({ arm: 'all', sampler: 'floor: training examples', NFE: null, 'σ list': '-', 'search score': null, score: results[0].floor });
  const metric = results[0]?.metric ?? '';
  writeTable(table, path.join(opts.out, 'table'), {
    title: `Steps against quality: ${results[0]?.data ?? ''}`,
    notes: [
      `score: ${metric} against held-out data the σ search did not see (lower is better); search score: on the search's own held-out half.`,
      "consistency arms (CT, iCT, CD): NFE = steps; σ lists: σ_max, then each next σ by the greedy ternary search of the CM paper on held-out data (the k-step list is a prefix of the (k+1)-step one); the fixed 2-step row uses the config's twoStepSigma (iCT's CIFAR-10 0.821).",
      ...(results.some((r) => r.arm.sampler !== 'consistency')
        ? [
            'EDM arms: the PF-ODE solved along the Karras grid of N steps (ρ 7, σ_max to σ_min, then 0; EDM Alg. 1, deterministic), Heun NFE 2N − 1 (the last step, to 0, is Euler), Euler NFE N; no σ search, so no search score; same held-out data and noise seed as the consistency arms. Heun with N = 2 steps from σ_max straight to σ_min: the trapezoid average of the slopes at σ_max and σ_min leaves about half of the σ_max noise in x, so its score is far off the scale (a property of Heun with one huge step, not of the model).',
          ]
        : []),
      ...results.map(
        (r) =>
          `${r.arm.name}: run ${r.arm.run} at step ${r.step}, ${r.search ? `${r.search.trace.length} lists scored in the search` : `${r.rows.length} solves`}, ${r.wallSec} s.`,
      ),
      `Provenance: \`${provenance.command}\`, commit ${provenance.commit}${provenance.dirty ? ' (dirty tree)' : ''}, backend ${provenance.backend}, seed ${provenance.seed}, wall ${provenance.wallSec} s.`,
    ],
  });
  const fig = lineFigure(
    results.map((r) => ({ x: r.rows.map((row) => row.nfe), y: r.rows.map((row) => row.score), name: `${r.arm.name} (${r.arm.sampler})`, markers: true })),
    {
      title: `Quality against NFE, ${results[0]?.dataName ?? ''} (lower is better; log axes)`,
      xTitle: 'NFE (network evaluations per sample, log scale)',
      logX: true,
      logY: true,
      yTitle: `${metric} (log scale)`,
      width: 640,
      height: 420,
    },
  );
  const outBase = path.join(opts.out, 'nfe');
  writeFigureHtml(fig, `${outBase}.html`, { bundlePath: ensurePlotlyBundle(plotlyBundleDir(opts.out)) });
  const exported = await exportFigures([{ fig, outBase }], { formats: ['png', 'svg'] });
  if (!exported.ok) process.stderr.write(exportSkippedMessage(exported.reason) + '\n');
  return results;
}
