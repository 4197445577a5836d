/**
 * The main job (`npm start`): original CT and iCT trained on the default toy set, then a table of
 * 1-step and 2-step sliced Wasserstein (and MMD²) and scatter plots of samples against data, in
 * results/quickstart/. Runs resume: a killed quickstart continues where it stopped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, type BackendRequest } from './backend';
import { TWO_STEP_SIGMA } from './constants';
import { buildConfig, type PresetName } from './config/presets';
import { loadDataset } from './data/source';
import { isToy2dName, toy2d } from './data/toy2d';
import { EVAL_SAMPLE_SEED, evalSigmaLists, sampleDistances } from './metrics/evaluate';
import { exportFigures, exportSkippedMessage } from './report/export';
import { ensurePlotlyBundle, lineFigure, plotlyBundleDir, scatterFigure, writeFigureHtml, type Figure } from './report/plot';
import { writeTable, type Row } from './report/table';
import type { QuickstartRecord, TrainConfig } from './run/records';
import {
  exportRecords,
  gitInfo,
  quickstartRecordFile,
  readEvalMetrics,
  readQuickstartRecord,
  readRunConfig,
  readRunJson,
  runPaths,
  tryReadRunJson,
  writeJson,
  writeQuickstartRecord,
} from './run/run-dir';
import { listCheckpoints } from './training/checkpoint';
import { loadRunWeights, train } from './training/trainer';
import { sampleConsistency } from './sampling/multistep';
import { Rng } from './util/rng';

export const QUICKSTART_PRESETS: readonly PresetName[] = ['ct', 'ict'];

export interface QuickstartOptions {
  steps?: number;
  data?: string;
  out?: string;
  runs?: string;
  /** Where the runs' small records go (config, run, metrics, eval; no checkpoints): default results/runs/quickstart beside `out`. */
  records?: string;
  backend?: BackendRequest;
  progress?: boolean;
  command?: string;
  seed?: number;
}

/** Quickstart default: steps per run sized so that both runs finish in under 3 minutes here. */
export const QUICKSTART_STEPS = 2000;

function toXY(points: Float32Array): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < points.length; i += 2) {
    x.push(Math.round((points[i] as number) * 1e4) / 1e4); // 4 decimals keep the committed specs small
    y.push(Math.round((points[i + 1] as number) * 1e4) / 1e4);
  }
  return { x, y };
}

/** Train original CT and iCT (resuming or reusing finished runs), record how, then write the table and plots. */
export async function runQuickstart(opts: QuickstartOptions = {}): Promise<Row[]> {
  const t0 = Date.now();
  const out = opts.out ?? 'results/quickstart';
  const runsDir = opts.runs ?? 'runs/quickstart';
  const steps = opts.steps ?? QUICKSTART_STEPS;
  const dataName = opts.data ?? 'eight-gaussians';
  const seed = opts.seed ?? 0;
  const backend = await initBackend(opts.backend ? { backend: opts.backend } : {});
  const reused: string[] = [];
  let evalSamples = 0;
  for (const preset of QUICKSTART_PRESETS) {
    const cfg = buildConfig(preset, {
      steps,
      seed,
      data: { kind: 'toy2d', name: dataName, trainSize: 20000, testSize: 2000 },
      evalEvery: Math.max(1, Math.floor(steps / 8)),
    });
    const dir = path.join(runsDir, preset);
    const status = tryReadRunJson(dir);
    if (status?.status !== 'completed') {
      process.stderr.write(`quickstart: training ${preset} (${steps} steps) into ${dir}\n`);
      await train(cfg, { outDir: dir, resume: status !== null, progress: opts.progress !== false, command: opts.command ?? 'ctlab quickstart' });
    } else {
      process.stderr.write(`quickstart: ${dir} already completed; reusing it\n`);
      reused.push(preset);
    }
    evalSamples = cfg.data.kind === 'toy2d' ? cfg.data.testSize : 0;
  }
  const git = gitInfo();
  const record: QuickstartRecord = {
    command: opts.command ?? 'ctlab quickstart',
    commit: git.commit,
    dirty: git.dirty,
    backend: `${backend.name} (${backend.threads} thread(s))`,
    seed,
    data: dataName,
    stepsPerRun: steps,
    evalSamples,
    wallSec: Math.round(((Date.now() - t0) / 1000) * 10) / 10,
    date: new Date().toISOString(),
    runs: runsDir,
    reused,
  };
  writeQuickstartRecord(quickstartRecordFile(runsDir), record);
  const rows = await buildQuickstartReport({ runs: runsDir, out });
  // the records behind the table, committed beside it so `ctlab report --quickstart` rebuilds it from a clone
  const recordsDir = opts.records ?? path.join(path.dirname(out), 'runs', 'quickstart');
  exportRecords(runsDir, recordsDir);
  process.stdout.write(fs.readFileSync(path.join(out, 'table.md'), 'utf8'));
  process.stdout.write(`quickstart: the runs' records are in ${recordsDir}/ (ctlab report --quickstart ${recordsDir} rebuilds the table)\n`);
  process.stdout.write(`\nquickstart: wrote ${out}/ in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  return rows;
}

/**
 * The quickstart's table (final 1- and 2-step SWD and MMD² of each run, from its metrics.jsonl;
 * floor and ceiling recomputed from the data) and its SWD-over-training curve, from the records of
 * `runs` alone (<runs>/quickstart.json, <runs>/{ct,ict}/): `ctlab report --quickstart results/runs/quickstart`.
 * The scatter plots of samples need the runs' checkpoints; without them they are left as they are.
 */
export async function buildQuickstartReport(opts: { runs: string; out: string }): Promise<Row[]> {
  const rec = readQuickstartRecord(quickstartRecordFile(opts.runs));
  fs.mkdirSync(opts.out, { recursive: true });
  const rows: Row[] = [];
  const figs: { fig: Figure; outBase: string }[] = [];
  const curves: { name: string; x: number[]; y: number[] }[] = [];
  const notes: string[] = [];
  let test: Float32Array | null = null;
  let lastCfg: TrainConfig | null = null;
  let scattersSkipped = false;
  for (const preset of QUICKSTART_PRESETS) {
    const dir = path.join(opts.runs, preset);
    const cfg = readRunConfig(dir);
    lastCfg = cfg;
    const info = readRunJson(dir);
    const evals = readEvalMetrics(dir);
    const last = evals[evals.length - 1];
    if (info.status !== 'completed' || !last) throw new Error(`quickstart report: ${dir} has not completed (status ${info.status})`);
    const data = loadDataset(cfg.data, cfg.seed);
    test = data.test;
    rows.push({
      method: preset === 'ct' ? 'original CT (CM)' : 'iCT',
      preset,
      steps: last.step,
      'SWD 1-step': last.swd1,
      'SWD 2-step': last.swd2,
      'MMD² 1-step': last.mmd1,
      'MMD² 2-step': last.mmd2,
      'train wall s': Math.round(info.wallSec * 10) / 10,
    });
    if (rec.reused?.includes(preset))
      notes.push(`${preset}: reused a completed run from ${path.join(rec.runs ?? opts.runs, preset)} (trained earlier; its wall time is from that run)`);
    curves.push({ name: `${preset} 1-step`, x: evals.map((r) => r.step), y: evals.map((r) => r.swd1) });
    curves.push({ name: `${preset} 2-step`, x: evals.map((r) => r.step), y: evals.map((r) => r.swd2) });
    if (listCheckpoints(runPaths(dir).checkpoints).length === 0) {
      scattersSkipped = true;
      continue;
    }
    // the samples themselves (scatter plots): the same draws as the final evaluation
    await initBackend({});
    const { net, weights, step } = loadRunWeights(dir, cfg, data.shape);
    const n = data.test.length / 2;
    const lists = evalSigmaLists(cfg);
    const common = { n, seed: EVAL_SAMPLE_SEED, sigmaMin: cfg.noise.sigmaMin, sigmaMax: cfg.noise.sigmaMax, sigmaData: cfg.noise.sigmaData };
    const s1 = sampleConsistency(net, weights, { ...common, sigmas: lists.oneStep });
    const s2 = sampleConsistency(net, weights, { ...common, sigmas: lists.twoStep });
    weights.forEach((w) => w.dispose());
    net.dispose();
    const pts1 = toXY(s1);
    const pts2 = toXY(s2);
    const ref = toXY(data.test);
    const dataName = cfg.data.kind === 'toy2d' ? cfg.data.name : rec.data;
    figs.push({
      fig: scatterFigure(
        [
          { ...ref, name: 'held-out data', color: '#999999', size: 3, opacity: 0.5 },
          { ...pts1, name: '1-step samples', size: 3 },
          { ...pts2, name: `2-step samples (σ = ${cfg.noise.sigmaMax}, ${cfg.twoStepSigma})`, size: 3 },
        ],
        { title: `${preset === 'ct' ? 'Original CT' : 'iCT'} on ${dataName}, ${step} steps`, equalAxes: true, width: 560, height: 520 },
      ),
      outBase: path.join(opts.out, `samples-${preset}`),
    });
  }
  if (scattersSkipped)
    process.stderr.write(`quickstart report: no checkpoints under ${opts.runs}; the sample scatter plots in ${opts.out} are left as they are\n`);

  // Reference rows: how far a fresh sample of the data itself is (the floor), and pure Gaussian noise.
  if (test && lastCfg) {
    const n = test.length / 2;
    if (!isToy2dName(rec.data)) throw new Error(`quickstart report: ${rec.data} is not a toy 2D set`);
    const fresh = toy2d(rec.data, n, 424242);
    const floor = sampleDistances(fresh, test, 2);
    const noise = new Rng(31337).fillNormal(new Float32Array(2 * n), 0, lastCfg.noise.sigmaData);
    const ceil = sampleDistances(noise, test, 2);
    rows.push({
      method: 'floor: fresh data sample',
      preset: '-',
      steps: null,
      'SWD 1-step': floor.swd,
      'SWD 2-step': floor.swd,
      'MMD² 1-step': floor.mmd,
      'MMD² 2-step': floor.mmd,
      'train wall s': null,
    });
    rows.push({
      method: 'ceiling: N(0, σ_data² I) noise',
      preset: '-',
      steps: null,
      'SWD 1-step': ceil.swd,
      'SWD 2-step': ceil.swd,
      'MMD² 1-step': ceil.mmd,
      'MMD² 2-step': ceil.mmd,
      'train wall s': null,
    });
  }

  const { runs: _runs, reused: _reused, ...provenance } = rec;
  writeTable(rows, path.join(opts.out, 'table'), {
    title: `Quickstart: original CT vs iCT on ${rec.data} (${rec.stepsPerRun} steps each, seed ${rec.seed})`,
    notes: [
      'SWD: sliced Wasserstein-2 (256 directions) between 2000 samples of the sampling EMA and 2000 held-out points; MMD²: unbiased, Gaussian kernels h ∈ {0.1, 0.2, 0.5, 1, 2}. Lower is better.',
      `2-step sampling uses σ = (${lastCfg?.noise.sigmaMax}, ${lastCfg?.twoStepSigma}); ${TWO_STEP_SIGMA} is iCT's CIFAR-10 value, not tuned for this data.`,
      "One seed, a toy scale and a short run: these numbers are not the paper's FID and say little about ranking at scale.",
      ...notes,
      `Provenance: \`${rec.command}\`, commit ${rec.commit}${rec.dirty ? ' (dirty tree)' : ''}, backend ${rec.backend}, seed ${rec.seed}, total wall ${rec.wallSec} s.`,
    ],
  });
  writeJson(path.join(opts.out, 'provenance.json'), provenance);

  figs.push({
    fig: lineFigure(curves, {
      title: `Sliced Wasserstein-2 to held-out data during training (${rec.data})`,
      xTitle: 'training step',
      yTitle: 'SWD (lower is better)',
      width: 640,
      height: 420,
    }),
    outBase: path.join(opts.out, 'swd-vs-step'),
  });
  const bundle = ensurePlotlyBundle(plotlyBundleDir(opts.out));
  for (const { fig, outBase } of figs) writeFigureHtml(fig, `${outBase}.html`, { bundlePath: bundle });
  // Scatter plots of 6000 points make 1 MB SVGs: PNG for those, PNG + SVG for the curves.
  const scatters = figs.filter((f) => path.basename(f.outBase).startsWith('samples-'));
  const others = figs.filter((f) => !scatters.includes(f));
  for (const [batch, formats] of [
    [scatters, ['png']],
    [others, ['png', 'svg']],
  ] as const) {
    if (batch.length === 0) continue;
    const exported = await exportFigures(batch, { formats: [...formats] });
    if (!exported.ok) {
      process.stderr.write(exportSkippedMessage(exported.reason) + '\n');
      break;
    }
  }
  return rows;
}
