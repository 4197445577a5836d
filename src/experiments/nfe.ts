/**
 * `ctlab nfe`: the compute-quality trade of multistep sampling. For each arm (a trained run and its
 * sampler), the intermediate σ are chosen by the CM paper's greedy search (src/sampling/sigma-search.ts)
 * on one half of the held-out data, then every k-step list (k in --steps) is scored on held-out data
 * the search did not see, with other sampler noise; beside it the fixed 2-step list (σ_max,
 * config.twoStepSigma). Points: sliced Wasserstein-2 to held-out points; images: FID in the
 * independent feature net (fmnist-strided). Writes record.json (lists, scores, the search trace,
 * provenance), table.{md,csv} and the curve nfe.{html,png,svg}.
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
import { ensurePlotlyBundle, lineFigure, writeFigureHtml } from '../report/plot';
import { writeTable, type Row } from '../report/table';
import { gitInfo, readRunConfig, writeJson } from '../run/run-dir';
import { greedySigmaSearch, type SigmaSearchResult } from '../sampling/sigma-search';
import { sampleConsistencyAsync } from '../sampling/multistep';
import { loadRunWeights } from '../training/trainer';

/**
 * An arm of the experiment: a run and the sampler it is scored with. Samplers are data so that
 * others (e.g. an EDM teacher's Heun sampler at its own NFE, or consistency distillation runs) can
 * be added as further kinds without changing the experiment's loop.
 */
export interface NfeArm {
  name: string;
  run: string;
  sampler: 'consistency';
}

export interface NfeOptions {
  /** 'name=run' strings, or arms. */
  arm: (string | NfeArm)[];
  steps?: number[];
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
  /** Per reported k: the σ list, its score on the search data and on the held-out report data. */
  rows: { steps: number; nfe: number; sigmas: number[]; searchScore: number; score: number }[];
  fixedTwoStep: { sigmas: number[]; score: number };
  /** Training examples scored the same way: what a perfect sampler would get at this n. */
  floor: number;
  search: SigmaSearchResult;
  wallSec: number;
}

export function parseArm(spec: string | NfeArm): NfeArm {
  if (typeof spec !== 'string') return spec;
  const eq = spec.indexOf('=');
  if (eq <= 0 || eq === spec.length - 1) throw new RangeError(`--arm: expected <name>=<run directory>, got '${spec}'`);
  return { name: spec.slice(0, eq), run: spec.slice(eq + 1), sampler: 'consistency' };
}

async function runArm(arm: NfeArm, opts: Required<Pick<NfeOptions, 'steps' | 'iterations' | 'seed'>> & NfeOptions): Promise<NfeArmResult> {
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
      arm,
      data: data.description,
      dataName: cfg.data.kind === 'toy2d' ? cfg.data.name : cfg.data.kind === 'fashion-mnist' ? `fashion-mnist${cfg.data.color ? '-color' : ''}` : 'csv',
      step,
      metric: image ? `FID (fmnist-strided), ${n} samples` : `SWD, ${n} samples`,
      rows,
      fixedTwoStep: { sigmas: fixed, score: await score(fixed, n, reportRef, opts.seed + 1) },
      floor: scoreSet(data.train.subarray(0, n * d), n, reportRef),
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
  const arms = opts.arm.map(parseArm);
  if (arms.length === 0) throw new RangeError('--arm: expected at least one arm');
  const backend = await initBackend(opts.backend ? { backend: opts.backend } : {});
  const results: NfeArmResult[] = [];
  for (const arm of arms) results.push(await runArm(arm, { ...opts, steps, iterations: opts.iterations ?? 6, seed: opts.seed ?? 0 }));
  const git = gitInfo();
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
      'σ list': row.sigmas.map((s) => Number(s.toPrecision(4))).join(', '),
      'search score': row.searchScore,
      score: row.score,
    })),
    {
      arm: r.arm.name,
      sampler: `${r.arm.sampler} (fixed 2-step)`,
      NFE: 2,
      'σ list': r.fixedTwoStep.sigmas.join(', '),
      'search score': null,
      score: r.fixedTwoStep.score,
    },
    { arm: r.arm.name, sampler: 'floor: training examples', NFE: null, 'σ list': '-', 'search score': null, score: r.floor },
  ]);
  const metric = results[0]?.metric ?? '';
  writeTable(table, path.join(opts.out, 'table'), {
    title: `Steps against quality: ${results[0]?.data ?? ''}`,
    notes: [
      `score: ${metric} against held-out data the σ search did not see (lower is better); search score: on the search's own held-out half.`,
      "σ lists: σ_max, then each next σ by the greedy ternary search of the CM paper on held-out data (the k-step list is a prefix of the (k+1)-step one); the fixed 2-step row uses the config's twoStepSigma (iCT's CIFAR-10 0.821).",
      ...results.map((r) => `${r.arm.name}: run ${r.arm.run} at step ${r.step}, ${r.search.trace.length} lists scored in the search, ${r.wallSec} s.`),
      `Provenance: \`${provenance.command}\`, commit ${provenance.commit}${provenance.dirty ? ' (dirty tree)' : ''}, backend ${provenance.backend}, seed ${provenance.seed}, wall ${provenance.wallSec} s.`,
    ],
  });
  const fig = lineFigure(
    results.map((r) => ({ x: r.rows.map((row) => row.nfe), y: r.rows.map((row) => row.score), name: `${r.arm.name} (${r.arm.sampler})`, markers: true })),
    {
      title: `Quality against NFE, ${results[0]?.dataName ?? ''} (lower is better)`,
      xTitle: 'NFE (network evaluations per sample)',
      yTitle: metric,
      width: 640,
      height: 420,
    },
  );
  const outBase = path.join(opts.out, 'nfe');
  writeFigureHtml(fig, `${outBase}.html`, { bundlePath: ensurePlotlyBundle(path.dirname(opts.out) === '.' ? opts.out : path.dirname(opts.out)) });
  const exported = await exportFigures([{ fig, outBase }], { formats: ['png', 'svg'] });
  if (!exported.ok) process.stderr.write(exportSkippedMessage(exported.reason) + '\n');
  return results;
}
