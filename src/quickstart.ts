/**
 * The main job (`npm start`): original CT and iCT trained on the default toy set, then a table of
 * 1-step and 2-step sliced Wasserstein (and MMD²) and scatter plots of samples against data, in
 * results/quickstart/. Runs resume: a killed quickstart continues where it stopped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, type BackendRequest } from './backend';
import { buildConfig, type PresetName } from './config/presets';
import type { TrainConfig } from './config/schema';
import { loadDataset } from './data/source';
import { toy2d } from './data/toy2d';
import { EVAL_SAMPLE_SEED, evalSigmaLists, sampleDistances } from './metrics/evaluate';
import { exportFigures, exportSkippedMessage } from './report/export';
import { ensurePlotlyBundle, lineFigure, scatterFigure, writeFigureHtml, type Figure } from './report/plot';
import { writeTable, type Row } from './report/table';
import { readMetrics, runPaths, gitInfo, writeJson } from './training/run-dir';
import { loadRunWeights, train } from './training/trainer';
import { sampleConsistency } from './sampling/multistep';
import { Rng } from './util/rng';

export interface QuickstartOptions {
  steps?: number;
  data?: string;
  out?: string;
  runs?: string;
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

export async function runQuickstart(opts: QuickstartOptions = {}): Promise<Row[]> {
  const t0 = Date.now();
  const out = opts.out ?? 'results/quickstart';
  const runsDir = opts.runs ?? 'runs/quickstart';
  const steps = opts.steps ?? QUICKSTART_STEPS;
  const dataName = opts.data ?? 'eight-gaussians';
  const seed = opts.seed ?? 0;
  const backend = await initBackend(opts.backend ? { backend: opts.backend } : {});
  fs.mkdirSync(out, { recursive: true });

  const rows: Row[] = [];
  const figs: { fig: Figure; outBase: string }[] = [];
  const curves: { name: string; x: number[]; y: number[] }[] = [];
  const notes: string[] = [];
  let test: Float32Array | null = null;
  let cfgForFloor: TrainConfig | null = null;

  for (const preset of ['ct', 'ict'] as PresetName[]) {
    const cfg = buildConfig(preset, { steps, seed, data: { kind: 'toy2d', name: dataName, trainSize: 20000, testSize: 2000 }, evalEvery: Math.max(1, Math.floor(steps / 8)) });
    cfgForFloor = cfg;
    const dir = path.join(runsDir, preset);
    const status = fs.existsSync(runPaths(dir).run) ? (JSON.parse(fs.readFileSync(runPaths(dir).run, 'utf8')) as { status?: string; configHash?: string }) : null;
    if (status?.status !== 'completed') {
      process.stderr.write(`quickstart: training ${preset} (${steps} steps) into ${dir}\n`);
      await train(cfg, { outDir: dir, resume: status !== null, progress: opts.progress !== false, command: opts.command ?? 'ctlab quickstart' });
    } else {
      process.stderr.write(`quickstart: ${dir} already completed; reusing it\n`);
    }
    const runInfo = JSON.parse(fs.readFileSync(runPaths(dir).run, 'utf8')) as { wallSec: number; commit: string };
    const data = loadDataset(cfg.data, cfg.seed);
    test = data.test;
    const { net, weights, step } = loadRunWeights(dir, cfg, data.shape);
    const n = data.test.length / 2;
    const lists = evalSigmaLists(cfg);
    const common = { n, seed: EVAL_SAMPLE_SEED, sigmaMin: cfg.noise.sigmaMin, sigmaMax: cfg.noise.sigmaMax, sigmaData: cfg.noise.sigmaData };
    const s1 = sampleConsistency(net, weights, { ...common, sigmas: lists.oneStep });
    const s2 = sampleConsistency(net, weights, { ...common, sigmas: lists.twoStep });
    weights.forEach((w) => w.dispose());
    net.dispose();
    const d1 = sampleDistances(s1, data.test, 2);
    const d2 = sampleDistances(s2, data.test, 2);
    rows.push({
      method: preset === 'ct' ? 'original CT (CM)' : 'iCT',
      preset,
      steps: step,
      'SWD 1-step': d1.swd,
      'SWD 2-step': d2.swd,
      'MMD² 1-step': d1.mmd,
      'MMD² 2-step': d2.mmd,
      'train wall s': Math.round(runInfo.wallSec * 10) / 10,
    });
    if (status?.status === 'completed') notes.push(`${preset}: reused a completed run from ${dir} (trained earlier; its wall time is from that run)`);
    const pts1 = toXY(s1);
    const pts2 = toXY(s2);
    const ref = toXY(data.test);
    figs.push({
      fig: scatterFigure(
        [
          { ...ref, name: 'held-out data', color: '#999999', size: 3, opacity: 0.5 },
          { ...pts1, name: '1-step samples', size: 3 },
          { ...pts2, name: `2-step samples (σ = ${cfg.noise.sigmaMax}, ${cfg.twoStepSigma})`, size: 3 },
        ],
        { title: `${preset === 'ct' ? 'Original CT' : 'iCT'} on ${dataName}, ${step} steps`, equalAxes: true, width: 560, height: 520 },
      ),
      outBase: path.join(out, `samples-${preset}`),
    });
    const evals = readMetrics(runPaths(dir).metrics).filter((r) => r.kind === 'eval');
    curves.push({ name: `${preset} 1-step`, x: evals.map((r) => r.step), y: evals.map((r) => Number(r.swd1)) });
    curves.push({ name: `${preset} 2-step`, x: evals.map((r) => r.step), y: evals.map((r) => Number(r.swd2)) });
  }

  // Reference rows: how far a fresh sample of the data itself is (the floor), and pure Gaussian noise.
  if (test && cfgForFloor) {
    const n = test.length / 2;
    const fresh = toy2d(dataName as Parameters<typeof toy2d>[0], n, 424242);
    const floor = sampleDistances(fresh, test, 2);
    const noise = new Rng(31337).fillNormal(new Float32Array(2 * n), 0, cfgForFloor.noise.sigmaData);
    const ceil = sampleDistances(noise, test, 2);
    rows.push({ method: 'floor: fresh data sample', preset: '-', steps: null, 'SWD 1-step': floor.swd, 'SWD 2-step': floor.swd, 'MMD² 1-step': floor.mmd, 'MMD² 2-step': floor.mmd, 'train wall s': null });
    rows.push({ method: 'ceiling: N(0, σ_data² I) noise', preset: '-', steps: null, 'SWD 1-step': ceil.swd, 'SWD 2-step': ceil.swd, 'MMD² 1-step': ceil.mmd, 'MMD² 2-step': ceil.mmd, 'train wall s': null });
  }

  const git = gitInfo();
  const wallSec = (Date.now() - t0) / 1000;
  const provenance = {
    command: opts.command ?? 'ctlab quickstart',
    commit: git.commit,
    dirty: git.dirty,
    backend: `${backend.name} (${backend.threads} thread(s))`,
    seed,
    data: dataName,
    stepsPerRun: steps,
    evalSamples: test ? test.length / 2 : 0,
    wallSec: Math.round(wallSec * 10) / 10,
    date: new Date().toISOString(),
  };
  writeTable(rows, path.join(out, 'table'), {
    title: `Quickstart: original CT vs iCT on ${dataName} (${steps} steps each, seed ${seed})`,
    notes: [
      'SWD: sliced Wasserstein-2 (256 directions) between 2000 samples of the sampling EMA and 2000 held-out points; MMD²: unbiased, Gaussian kernels h ∈ {0.1, 0.2, 0.5, 1, 2}. Lower is better.',
      `2-step sampling uses σ = (80, ${cfgForFloor?.twoStepSigma}); 0.821 is iCT's CIFAR-10 value, not tuned for this data.`,
      'One seed, a toy scale and a short run: these numbers are not the paper\'s FID and say little about ranking at scale.',
      ...notes,
      `Provenance: \`${provenance.command}\`, commit ${provenance.commit}${git.dirty ? ' (dirty tree)' : ''}, backend ${provenance.backend}, seed ${seed}, total wall ${provenance.wallSec} s.`,
    ],
  });
  writeJson(path.join(out, 'provenance.json'), provenance);

  figs.push({
    fig: lineFigure(curves, { title: `Sliced Wasserstein-2 to held-out data during training (${dataName})`, xTitle: 'training step', yTitle: 'SWD (lower is better)', width: 640, height: 420 }),
    outBase: path.join(out, 'swd-vs-step'),
  });
  const bundle = ensurePlotlyBundle(path.dirname(out) === '.' ? out : path.dirname(out));
  for (const { fig, outBase } of figs) writeFigureHtml(fig, `${outBase}.html`, { bundlePath: bundle });
  // Scatter plots of 6000 points make 1 MB SVGs: PNG for those, PNG + SVG for the curves.
  const scatters = figs.filter((f) => path.basename(f.outBase).startsWith('samples-'));
  const others = figs.filter((f) => !scatters.includes(f));
  for (const [batch, formats] of [[scatters, ['png']], [others, ['png', 'svg']]] as const) {
    const exported = await exportFigures(batch, { formats: [...formats] });
    if (!exported.ok) {
      process.stderr.write(exportSkippedMessage(exported.reason) + '\n');
      break;
    }
  }

  process.stdout.write(fs.readFileSync(path.join(out, 'table.md'), 'utf8'));
  process.stdout.write(`\nquickstart: wrote ${out}/ in ${wallSec.toFixed(1)} s\n`);
  return rows;
}
