#!/usr/bin/env node
/**
 * ctlab command line: train | sample | eval | quickstart. `ctlab <command> --help` for each.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BACKEND_NAMES, initBackend, type BackendRequest } from './backend';
import { buildConfig, PRESETS, scaleFor, type PresetName } from './config/presets';
import { CT_CURRICULUM, CT_TARGET_EMA, EDM_HEUN_STEPS, FOURIER_SCALE, ICT_CURRICULUM, ICT_LOGNORMAL, SIGMA_MAX, TWO_STEP_SIGMA } from './constants';
import { ConfigError, migrateStoredConfig, validateConfig, type ConfigOverride, type ModelConfig, type TrainConfig } from './config/schema';
import { mergeConfig, mergeUntyped, type DeepPartial } from './config/merge';
import { dataConfigFromArg, exampleShape } from './data/source';
import { upscaleFor, writeImageGrid } from './data/images';
import { TOY2D_NAMES } from './data/toy2d';
import { isImageData } from './config/data-kind';
import { sampleConsistencyAsync } from './sampling/multistep';
import { edmNfe, edmSigmas, sampleEdm } from './training/edm-step';
import { evaluateRunDir } from './run/evaluate';
import { exportRecords, gitInfo, readJob, readRunConfig, runPaths } from './run/run-dir';
import { loadRunWeights, train } from './training/trainer';
import { createProgress } from './util/progress';
import { runQuickstart } from './quickstart';
import { writeImageReport } from './experiments/image-report';
import { ABLATIONS, BASELINE_PRESET, findAblation } from './experiments/ablations';
import { IMAGE_ABLATION, jobExitCode, planJobs, POINTS_ABLATION, runJobHere, runJobs } from './experiments/runner';
import { createSweep, DEFAULT_SIGNAL, formatSweepStatus, resubmitSweep, runSweepTask, submitSweep, sweepStatus } from './experiments/sweep';
import { buildReports } from './experiments/report';
import { writePowerReport } from './experiments/power';
import { parseSuite, writeVerdictReport } from './experiments/verdict-report';
import { savePlan } from './run/run-dir';
import { buildQuickstartReport } from './quickstart';
import { doctorOk, formatChecks, runDoctor } from './doctor';
import { runEdit, writeEditSummary, type EditOptions } from './experiments/edit';
import { EDIT_TASKS } from './sampling/edit';
import { NFE_EDM_STEPS, NFE_SAMPLERS, runNfe } from './experiments/nfe';
import { gridRecordPath, parseTile, runGridUpscale } from './experiments/grids';
import { DISTILL_EXPERIMENTS, findDistillExperiment, reportDistill, runDistill, type DistillData } from './experiments/distill';

function num(name: string, opts: { int?: boolean; min?: number } = {}) {
  return (value: string): number => {
    const v = Number(value);
    if (value.trim() === '' || !Number.isFinite(v) || (opts.int && !Number.isInteger(v)) || (opts.min !== undefined && v < opts.min)) {
      throw new InvalidArgumentError(
        `${name}: expected ${opts.int ? 'an integer' : 'a number'}${opts.min !== undefined ? ` >= ${opts.min}` : ''}, got '${value}'`,
      );
    }
    return v;
  };
}

function sigmaList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const out = parts.map(Number);
  if (parts.some((p) => p === '') || out.some((v) => !Number.isFinite(v))) {
    throw new InvalidArgumentError(`--sigmas: expected comma-separated numbers in descending order, e.g. ${SIGMA_MAX},${TWO_STEP_SIGMA}; got '${value}'`);
  }
  return out;
}

interface TrainFlags {
  preset: PresetName;
  config?: string;
  data?: string;
  steps?: number;
  batch?: number;
  lr?: number;
  seed?: number;
  optimizer?: 'adam' | 'radam';
  weighting?: 'uniform' | 'ict';
  embedding?: 'fourier' | 'positional';
  fourierScale?: number;
  dropout?: number;
  /** CD: the EDM teacher's run directory (never θ⁻: that is --target). */
  teacher?: string;
  target?: 'ema' | 'stopgrad';
  distance?: 'l2' | 'l1' | 'pseudo-huber' | 'lpips';
  curriculum?: 'ct' | 'ict';
  noiseSampler?: 'uniform' | 'lognormal';
  emaRate?: number;
  name?: string;
  out?: string;
  resume?: boolean;
  backend?: BackendRequest;
  dryRun?: boolean;
  progress: boolean;
}

/**
 * A JSON override file (`--config`): refused unless it is an object that, merged onto `base`, gives a
 * valid config (errors name the file and the field). Only then is it used as a typed override.
 */
function readOverrideFile(file: string, base: TrainConfig): ConfigOverride {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`--config ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  // a run's own config.json (run.json beside it) is a record ctlab wrote: read in either spelling of θ⁻
  const json = path.basename(file) === 'config.json' && fs.existsSync(path.join(path.dirname(file), 'run.json')) ? migrateStoredConfig(parsed) : parsed;
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error(`--config ${file}: expected a JSON object of config fields`);
  try {
    validateConfig(mergeUntyped(base, json));
  } catch (e) {
    throw new Error(`--config ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return json; // checked just above: every field it gives is a valid config field
}

/** Resolve preset + JSON file + flags into one validated config. */
export function configFromFlags(f: TrainFlags, base?: TrainConfig): TrainConfig {
  let cfg: TrainConfig = base ?? buildConfig(f.preset, {}, scaleFor(f.data ?? ''));
  if (f.config) cfg = validateConfig(mergeConfig(cfg, readOverrideFile(f.config, cfg)));
  const o: ConfigOverride = {};
  if (f.name) o.name = f.name;
  if (f.seed !== undefined) o.seed = f.seed;
  if (f.steps !== undefined) o.steps = f.steps;
  if (f.batch !== undefined) o.batchSize = f.batch;
  if (f.data) o.data = dataConfigFromArg(f.data, cfg.data);
  if (f.optimizer || f.lr !== undefined)
    o.optimizer = { ...cfg.optimizer, ...(f.optimizer ? { kind: f.optimizer } : {}), ...(f.lr !== undefined ? { lr: f.lr } : {}) };
  if (f.weighting) o.weighting = f.weighting;
  const model: DeepPartial<ModelConfig> = {};
  if (f.embedding === 'positional') model.embedding = { kind: 'positional', dim: cfg.model.embedding.dim };
  if (f.embedding === 'fourier' || f.fourierScale !== undefined) {
    const scale = f.fourierScale ?? (cfg.model.embedding.kind === 'fourier' ? cfg.model.embedding.scale : FOURIER_SCALE.ct);
    if (f.embedding === 'positional') throw new Error('--fourier-scale applies to --embedding fourier only');
    model.embedding = { kind: 'fourier', scale, dim: cfg.model.embedding.dim };
  }
  if (f.dropout !== undefined) model.dropout = f.dropout;
  if (Object.keys(model).length) o.model = model;
  if (f.teacher === 'ema' || f.teacher === 'none') {
    // the old flag named θ⁻ `teacher`; `teacher` now means only CD's pre-trained diffusion model
    throw new Error(
      `--teacher ${f.teacher}: the consistency target θ⁻ is now --target (--target ${f.teacher === 'none' ? 'stopgrad' : 'ema'}); --teacher <dir> names the EDM run a CD student distills from`,
    );
  }
  if (f.teacher !== undefined) {
    if (cfg.method?.kind !== 'cd') throw new Error(`--teacher ${f.teacher}: only consistency distillation has a teacher; use --preset cd`);
    o.method = { ...cfg.method, teacher: f.teacher };
  }
  if (f.target === 'stopgrad') o.target = { kind: 'stopgrad' };
  if (f.target === 'ema') o.target = cfg.target.kind === 'ema' ? cfg.target : { kind: 'ema', ...CT_TARGET_EMA, form: 'code' };
  if (f.distance) o.distance = { kind: f.distance };
  if (f.curriculum === 'ct') o.curriculum = cfg.curriculum.kind === 'ct' ? cfg.curriculum : { kind: 'ct', ...CT_CURRICULUM };
  if (f.curriculum === 'ict') o.curriculum = cfg.curriculum.kind === 'ict' ? cfg.curriculum : { kind: 'ict', ...ICT_CURRICULUM };
  if (f.noiseSampler === 'uniform') o.noiseSampler = { kind: 'uniform' };
  if (f.noiseSampler === 'lognormal') o.noiseSampler = cfg.noiseSampler.kind === 'lognormal' ? cfg.noiseSampler : { kind: 'lognormal', ...ICT_LOGNORMAL };
  if (f.emaRate !== undefined) o.emaRate = f.emaRate;
  return validateConfig(mergeConfig(cfg, o));
}

/** Leaf fields where two configs differ, as `field: run A, flag B`. */
function configDiff(run: unknown, flag: unknown, at = 'config'): string[] {
  if (run !== null && flag !== null && typeof run === 'object' && typeof flag === 'object' && !Array.isArray(run) && !Array.isArray(flag)) {
    const r = run as Record<string, unknown>;
    const g = flag as Record<string, unknown>;
    return [...new Set([...Object.keys(r), ...Object.keys(g)])].flatMap((k) => configDiff(r[k], g[k], `${at}.${k}`));
  }
  const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));
  return JSON.stringify(run) === JSON.stringify(flag) ? [] : [`${at}: the run has ${show(run)}, the flag gives ${show(flag)}`];
}

/** Options of `ctlab train` that do not touch the config (everything else does, and --resume refuses a change by it). */
const RUN_ONLY_OPTIONS = new Set(['out', 'resume', 'backend', 'threads', 'dryRun', 'progress']);

/**
 * `--resume` keeps the run's config.json: every config flag given on the command line is checked
 * against it, and one that would change it is refused, naming the flag and both values. A flag that
 * repeats the run's value is accepted. `--preset` is compared on the fields the presets differ in.
 */
function refuseResumeChanges(f: TrainFlags, saved: TrainConfig, cmd: Command, out: string): void {
  const problems: string[] = [];
  for (const opt of cmd.options) {
    const key = opt.attributeName();
    if (RUN_ONLY_OPTIONS.has(key) || cmd.getOptionValueSource(key) !== 'cli') continue;
    const value = (f as unknown as Record<string, unknown>)[key];
    let diffs: string[];
    if (key === 'preset') {
      const scale = scaleFor(saved.data);
      const presets = Object.keys(PRESETS).map((p) => buildConfig(p as PresetName, {}, scale));
      const varying = new Set(presets.flatMap((p) => configDiff(presets[0], p)).map((d) => d.slice(0, d.indexOf(':'))));
      diffs = configDiff(saved, buildConfig(f.preset, {}, scale)).filter((d) => varying.has(d.slice(0, d.indexOf(':'))));
    } else {
      const only = { preset: f.preset, progress: f.progress, [key]: value } as TrainFlags;
      diffs = configDiff(saved, configFromFlags(only, saved));
    }
    if (diffs.length)
      problems.push(`${opt.long ?? key} ${String(value)}: ${diffs.slice(0, 4).join('; ')}${diffs.length > 4 ? `; and ${diffs.length - 4} more` : ''}`);
  }
  if (problems.length) {
    throw new Error(
      `--resume continues ${out} with its own config (${runPaths(out).config}); these flags would change it:\n  ${problems.join('\n  ')}\n` +
        `Drop them (ctlab train --resume --out ${out}), or start a new run in another --out.`,
    );
  }
}

function writeCsv(file: string, points: Float32Array, dim: number): void {
  const header = dim === 2 ? 'x,y' : Array.from({ length: dim }, (_, i) => `x${i}`).join(',');
  const lines = [header];
  for (let i = 0; i < points.length / dim; i++) lines.push(Array.from(points.subarray(i * dim, (i + 1) * dim), (v) => v.toPrecision(7)).join(','));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

const program = new Command();
program
  .name('ctlab')
  .description('Consistency models (CM / iCT) in TypeScript: train, sample and evaluate; see README.md')
  .showHelpAfterError('(add --help for usage)');

const backendOption = (): Option => new Option('--backend <name>', 'TF.js backend (default: CTLAB_BACKEND or auto)').choices(BACKEND_NAMES);
const threadsOption = (): Option =>
  new Option('--threads <n>', 'threads for the heavy kernels (default: CTLAB_THREADS, else 2 where a second core is idle)').argParser(
    num('--threads', { int: true, min: 1 }),
  );

// --threads reaches the backend as CTLAB_THREADS, read by initBackend wherever the command starts it
program.hook('preAction', (_root, action) => {
  const t = action.opts<{ threads?: number }>().threads;
  if (t !== undefined) process.env.CTLAB_THREADS = String(t);
});

program
  .command('train')
  .description('consistency training (ct, ict), EDM diffusion (edm) or consistency distillation (cd) of one run; writes a self-describing run directory')
  .addOption(new Option('--preset <name>', 'baseline recipe').choices(Object.keys(PRESETS)).default('ict'))
  .option('--config <file.json>', 'JSON override merged onto the preset (any config field)')
  .option(
    '--data <name|file.csv>',
    `toy set (${TOY2D_NAMES.join(', ')}), fashion-mnist, fashion-mnist-color (16×16 U-Net scale; -color: tinted by class, RGB), or a CSV of x,y points`,
  )
  .option('--steps <K>', 'total training steps K', num('--steps', { int: true, min: 1 }))
  .option('--batch <B>', 'batch size', num('--batch', { int: true, min: 1 }))
  .option('--lr <rate>', 'learning rate', num('--lr'))
  .option('--seed <n>', 'seed', num('--seed', { int: true, min: 0 }))
  .addOption(new Option('--optimizer <kind>').choices(['adam', 'radam']))
  .addOption(new Option('--weighting <kind>', 'λ(σ): uniform (CM) or 1/(σ_{i+1}−σ_i) (iCT)').choices(['uniform', 'ict']))
  .addOption(new Option('--embedding <kind>', 'noise embedding').choices(['fourier', 'positional']))
  .option('--fourier-scale <s>', 'Fourier embedding scale (CM 16, iCT 0.02)', num('--fourier-scale'))
  .option('--dropout <p>', 'dropout rate', num('--dropout', { min: 0 }))
  .addOption(
    new Option('--target <kind>', "consistency target θ⁻: CT's EMA μ(k), or stopgrad (the student without gradient; iCT)").choices(['ema', 'stopgrad']),
  )
  .option('--teacher <dir>', 'CD (--preset cd): the finished EDM run directory to distill from (ctlab train --preset edm)')
  .addOption(new Option('--distance <kind>').choices(['l2', 'l1', 'pseudo-huber', 'lpips']))
  .addOption(new Option('--curriculum <kind>', 'N(k): CT square-root or iCT exponential').choices(['ct', 'ict']))
  .addOption(new Option('--noise-sampler <kind>', 'pair index: uniform (CM) or lognormal (iCT)').choices(['uniform', 'lognormal']))
  .option('--ema-rate <r>', 'EMA of the student used for sampling', num('--ema-rate', { min: 0 }))
  .option('--name <name>', 'run name (default: the preset name)')
  .option('--out <dir>', 'run directory (default runs/<name>-seed<seed>)')
  .option('--resume', 'continue the run in --out from its newest valid checkpoint')
  .addOption(backendOption())
  .addOption(threadsOption())
  .option('--dry-run', 'print the resolved config and exit')
  .option('--no-progress', 'no progress bar')
  .action(async (f: TrainFlags, cmd: Command) => {
    let cfg: TrainConfig;
    if (f.resume && f.out && fs.existsSync(runPaths(f.out).config)) {
      cfg = readRunConfig(f.out); // resume with the run's own config
      refuseResumeChanges(f, cfg, cmd, f.out);
    } else {
      cfg = configFromFlags(f);
    }
    if (f.dryRun) {
      process.stdout.write(JSON.stringify(cfg, null, 2) + '\n');
      return;
    }
    const out = f.out ?? path.join('runs', `${cfg.name}-seed${cfg.seed}`);
    const r = await train(cfg, {
      outDir: out,
      resume: f.resume ?? false,
      progress: f.progress,
      command: `ctlab ${process.argv.slice(2).join(' ')}`,
      ...(f.backend ? { backend: f.backend } : {}),
    });
    const ev = r.eval ? ` | 1-step SWD ${r.eval.swd1.toFixed(4)}, 2-step SWD ${r.eval.swd2.toFixed(4)}` : '';
    process.stdout.write(
      `${r.completed ? 'done' : 'stopped'}: ${out} at step ${r.steps}, loss ${r.finalLoss.toPrecision(4)}${ev} (${r.wallSec.toFixed(1)} s)\n`,
    );
  });

program
  .command('sample')
  .description('draw samples from a trained run (one-step or multistep)')
  .requiredOption('--run <dir>', 'run directory')
  .option('--sigmas <list>', 'descending σ list; one value = one-step (default: σ_max)', sigmaList)
  .option('--n <count>', 'number of samples', num('--n', { int: true, min: 1 }), 1000)
  .option('--seed <n>', 'sampling seed', num('--seed', { int: true, min: 0 }), 0)
  .addOption(new Option('--weights <which>', 'sampling EMA or raw student').choices(['ema', 'student']).default('ema'))
  .addOption(new Option('--solver <kind>', 'EDM runs: the PF-ODE solver (EDM Alg. 1; default heun)').choices(['heun', 'euler']))
  .option('--steps <N>', `EDM runs: steps on the Karras grid (default ${EDM_HEUN_STEPS}; NFE: Heun 2N − 1, Euler N)`, num('--steps', { int: true, min: 1 }))
  .option('--out <file>', 'output: CSV for points, PNG grid for images (default <run>/samples/sample-<sigmas>-step<k>.csv|png)')
  .option('--grid <cols>', 'images: columns of the PNG grid (default √n)', num('--grid', { int: true, min: 1 }))
  .addOption(backendOption())
  .addOption(threadsOption())
  .option('--no-progress', 'no progress bar')
  .action(
    async (f: {
      run: string;
      sigmas?: number[];
      n: number;
      seed: number;
      weights: 'ema' | 'student';
      solver?: 'heun' | 'euler';
      steps?: number;
      out?: string;
      grid?: number;
      backend?: BackendRequest;
      progress: boolean;
    }) => {
      const cfg = readRunConfig(f.run);
      const edm = cfg.method?.kind === 'edm';
      if (!edm && (f.solver || f.steps !== undefined))
        throw new Error(`--solver/--steps: ${f.run} is a consistency model (sampled along --sigmas); they apply to EDM runs`);
      if (edm && f.sigmas && f.steps !== undefined)
        throw new Error('--sigmas and --steps: give one (an EDM run solves along --sigmas, then to 0, or the Karras grid of --steps)');
      await initBackend(f.backend ? { backend: f.backend } : {});
      const solver = f.solver ?? 'heun';
      const sigmas = edm ? (f.sigmas ? [...f.sigmas, 0] : edmSigmas(f.steps ?? EDM_HEUN_STEPS, cfg.noise)) : (f.sigmas ?? [cfg.noise.sigmaMax]);
      const shape = exampleShape(cfg.data);
      const { net, weights, step } = loadRunWeights(f.run, cfg, shape, f.weights);
      const bar = createProgress({ label: 'sample', total: f.n, enabled: f.progress });
      const pts = edm
        ? await sampleEdm(net, weights, { sigmas, solver, n: f.n, seed: f.seed, shape, sigmaData: cfg.noise.sigmaData })
        : await sampleConsistencyAsync(net, weights, {
            sigmas,
            n: f.n,
            seed: f.seed,
            shape,
            sigmaMin: cfg.noise.sigmaMin,
            sigmaMax: cfg.noise.sigmaMax,
            sigmaData: cfg.noise.sigmaData,
            onProgress: (d) => bar.update(d),
          });
      bar.stop();
      const nfe = edm ? edmNfe(sigmas, solver) : sigmas.length;
      const tag = edm ? `sample-${solver}${sigmas.length - 1}-step${step}` : `sample-${sigmas.join('_')}-step${step}`;
      let out: string;
      if (shape.length === 3) {
        const [h, w, c] = shape as [number, number, number];
        out = f.out ?? path.join(runPaths(f.run).samples, `${tag}.png`);
        fs.mkdirSync(path.dirname(out), { recursive: true });
        writeImageGrid(out, pts, f.n, h, w, c, f.grid ?? Math.ceil(Math.sqrt(f.n)), { scale: upscaleFor(h) });
      } else {
        if (f.grid !== undefined) throw new Error('--grid applies to image runs only');
        out = f.out ?? path.join(runPaths(f.run).samples, `${tag}.csv`);
        writeCsv(out, pts, 2);
      }
      const how = edm ? `EDM ${solver}, ${sigmas.length - 1} steps, NFE ${nfe}` : `${sigmas.length}-step, NFE ${nfe}`;
      process.stdout.write(`${f.n} samples (${how}, σ = ${sigmas.map((v) => +v.toPrecision(4)).join(', ')}, ${f.weights} weights at step ${step}) -> ${out}\n`);
    },
  );

program
  .command('eval')
  .description('points: 1-step and multistep sliced Wasserstein and MMD²; images: FID/KID per feature net with floor and ceiling, and sample grids')
  .requiredOption('--run <dir>', 'run directory')
  .option('--sigmas <list>', 'σ list of the multistep sampler (default: σ_max, config.twoStepSigma)', sigmaList)
  .option('--n <count>', 'samples (default: the held-out set size)', num('--n', { int: true, min: 2 }))
  .option('--seed <n>', 'sampling seed', num('--seed', { int: true, min: 0 }), 777)
  .addOption(backendOption())
  .addOption(threadsOption())
  .option('--feature-net <names>', 'images: comma-separated feature nets (shipped names or TF.js graph model paths)', 'fmnist-cnn,fmnist-strided')
  .option('--out <dir>', 'images: also write a results folder (table with floor and ceiling, sample grids, provenance)')
  .action(async (f: { run: string; sigmas?: number[]; n?: number; seed: number; backend?: BackendRequest; featureNet: string; out?: string }) => {
    const nets = f.featureNet
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const r = await evaluateRunDir(f.run, {
      ...(f.n !== undefined ? { n: f.n } : {}),
      ...(f.sigmas ? { sigmas: f.sigmas } : {}),
      seed: f.seed,
      nets,
      ...(f.backend ? { backend: f.backend } : {}),
    });
    process.stdout.write(JSON.stringify(r.record, null, 2) + '\n');
    if (f.out && r.image) writeImageReport(f.run, f.out);
  });

const distill = program.command('distill').description('the distillation experiments (ct-vs-cd, cd-teacher-cap): EDM teachers, CD students, CT and iCT');
const distillData = (): Option => new Option('--data <name>', 'data set').choices(['eight-gaussians', 'fashion-mnist']).default('eight-gaussians');
distill
  .command('run')
  .description('train and evaluate every run of an experiment (teachers first); finished runs are skipped, stopped ones resumed')
  .argument('<experiment>', DISTILL_EXPERIMENTS.map((e) => e.name).join(' | '))
  .addOption(distillData())
  .option('--seeds <n>', 'seeds (default: the experiment scale)', num('--seeds', { int: true, min: 1 }))
  .option('--runs <dir>', 'root of the run directories', 'runs/distill')
  .addOption(backendOption())
  .addOption(threadsOption())
  .action(async (name: string, f: { data: DistillData; seeds?: number; runs: string }) => {
    await runDistill(findDistillExperiment(name), f.data, { runsRoot: f.runs, ...(f.seeds ? { seeds: f.seeds } : {}) });
  });
distill
  .command('report')
  .description("summary (markdown + JSON) and plots of an experiment into --out, and its runs' small records into --records")
  .argument('<experiment>', DISTILL_EXPERIMENTS.map((e) => e.name).join(' | '))
  .addOption(distillData())
  .option('--runs <dir>', 'root of the run directories', 'runs/distill')
  .option('--out <dir>', 'results folder', 'results/distill')
  .option('--records <dir>', "where the runs' small records go (no checkpoints)", 'results/runs/distill')
  .action(async (name: string, f: { data: DistillData; runs: string; out: string; records: string }) => {
    const s = await reportDistill(findDistillExperiment(name), f.data, {
      runsRoot: f.runs,
      out: f.out,
      recordsOut: f.records,
      command: `ctlab ${process.argv.slice(2).join(' ')}`,
    });
    process.stdout.write(`${s.experiment} on ${s.data}: ${s.arms.map((a) => `${a.arm} ${a.one.n ? a.one.text : '–'}`).join('; ')} -> ${f.out}\n`);
  });

program
  .command('quickstart')
  .description('train original CT and iCT on the default toy set and write results/quickstart/')
  .option('--steps <K>', 'training steps per run', num('--steps', { int: true, min: 1 }))
  .option('--data <name>', 'toy set', 'eight-gaussians')
  .option('--out <dir>', 'results folder', 'results/quickstart')
  .option('--runs <dir>', 'where the two run directories go', 'runs/quickstart')
  .option('--records <dir>', "where the runs' small records go (no checkpoints; default results/runs/quickstart beside --out)")
  .addOption(backendOption())
  .addOption(threadsOption())
  .option('--no-progress', 'no progress bar')
  .action(async (f: { steps?: number; data: string; out: string; runs: string; records?: string; backend?: BackendRequest; progress: boolean }) => {
    await runQuickstart({ ...f, command: `ctlab quickstart ${process.argv.slice(3).join(' ')}`.trim() });
  });

program
  .command('ablate')
  .description('run iCT ablations (baseline iCT + named overrides) over seeds, in parallel worker processes or as a Slurm job array; resumable')
  .argument('<name>', `ablation: ${ABLATIONS.map((a) => a.name).join(', ')}, or all`)
  .option('--data <name>', `toy set (${TOY2D_NAMES.join(', ')}) or fashion-mnist (16×16 U-Net, FID/KID after training)`, 'eight-gaussians')
  .option('--seeds <n>', `seeds per arm (default ${POINTS_ABLATION.seeds} on 2D, ${IMAGE_ABLATION.seeds} on images)`, num('--seeds', { int: true, min: 1 }))
  .option(
    '--steps <K>',
    `training steps per run (default ${POINTS_ABLATION.steps} on 2D, ${IMAGE_ABLATION.steps} on images)`,
    num('--steps', { int: true, min: 1 }),
  )
  .option('--eval-n <n>', `images: samples for FID/KID after training (default ${IMAGE_ABLATION.evalN})`, num('--eval-n', { int: true, min: 2 }))
  .option('--workers <n>', 'parallel worker processes', num('--workers', { int: true, min: 1 }), 2)
  .option('--runs <dir>', 'root of the run directories', 'runs/ablations')
  .option('--out <dir>', 'where tables and plots go', 'results/ablations')
  .option('--config <file.json>', 'override applied to every arm (e.g. a smaller model)')
  .option('--no-report', 'run only; build tables later with ctlab report (slurm: no dependent report job)')
  .option('--no-progress', 'no progress bar')
  .addOption(
    new Option('--executor <where>', 'local worker processes, or one Slurm job array (README: Sweeps on a Slurm cluster)')
      .choices(['local', 'slurm'])
      .default('local'),
  )
  .option('--sweep <dir>', 'slurm: the sweep directory, on a filesystem the nodes share (default <runs>/sweeps/<name>-<data>-<time>)')
  .option('--partition <p>', 'slurm: sbatch --partition')
  .option('--time <t>', 'slurm: sbatch --time per task (e.g. 2:00:00)')
  .option('--cpus-per-task <c>', 'slurm: sbatch --cpus-per-task (default 1; also CTLAB_THREADS unless set)', num('--cpus-per-task', { int: true, min: 1 }))
  .option('--mem <m>', 'slurm: sbatch --mem per task (e.g. 4G)')
  .option('--max-parallel <k>', 'slurm: at most K tasks at once (--array=0-N%K)', num('--max-parallel', { int: true, min: 1 }))
  .option('--signal <spec>', `slurm: sbatch --signal, so a task checkpoints before its limit (default ${DEFAULT_SIGNAL}; 'none' for none)`)
  .option('--sbatch-arg <arg>', 'slurm: one more sbatch option, e.g. --sbatch-arg=--account=abc (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
  .action(
    async (
      name: string,
      f: {
        executor: 'local' | 'slurm';
        sweep?: string;
        partition?: string;
        time?: string;
        cpusPerTask?: number;
        mem?: string;
        maxParallel?: number;
        signal?: string;
        sbatchArg?: string[];
        data: string;
        seeds?: number;
        steps?: number;
        evalN?: number;
        workers: number;
        runs: string;
        out: string;
        config?: string;
        report: boolean;
        progress: boolean;
      },
    ) => {
      const ablations = name === 'all' ? [...ABLATIONS] : [findAblation(name)];
      const image = isImageData(f.data);
      dataConfigFromArg(f.data, buildConfig('ict').data); // validates the name
      const defaults = image ? IMAGE_ABLATION : POINTS_ABLATION;
      const steps = f.steps ?? defaults.steps;
      const seeds = f.seeds ?? defaults.seeds;
      const common = f.config ? readOverrideFile(f.config, buildConfig(BASELINE_PRESET, {}, scaleFor(f.data))) : undefined;
      const scale = { data: f.data, steps, seeds, ...(common ? { common } : {}), ...(image ? { evalN: f.evalN ?? IMAGE_ABLATION.evalN } : {}) };
      const slurm = f.executor === 'slurm';
      if (!slurm) {
        const given = (['sweep', 'partition', 'time', 'cpusPerTask', 'mem', 'maxParallel', 'signal', 'sbatchArg'] as const).filter((k) => f[k] !== undefined);
        if (given.length) throw new Error(`--${given[0]?.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to --executor slurm only`);
      }
      // the nodes of a cluster run from the sweep's absolute paths
      const { jobs, skipped } = planJobs(ablations, scale, slurm ? path.resolve(f.runs) : f.runs);
      const command = `ctlab ablate ${process.argv.slice(3).join(' ')}`;
      savePlan(f.runs, {
        data: f.data,
        steps,
        seeds,
        command,
        skipped,
        entries: jobs.map((j) => ({ ablation: j.ablation, arm: j.arm, seed: j.seed, dir: j.dir })),
      });
      for (const s of skipped) process.stderr.write(`ablate: skipping ${s}\n`);
      if (slurm) {
        const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, 'Z');
        if (f.signal && f.signal !== 'none' && !/^[A-Z]*B[A-Z]*:/.test(f.signal))
          process.stderr.write(
            `ablate: warning: --signal ${f.signal} has no B: prefix, so Slurm sends it only to srun steps, never to the task (try B:${f.signal})\n`,
          );
        const dir = f.sweep ?? path.join(f.runs, 'sweeps', `${name}-${path.basename(f.data, '.csv')}-${stamp}`);
        const sw = createSweep(jobs, {
          dir,
          name,
          command,
          runsRoot: f.runs,
          data: f.data,
          cli: __filename,
          report: f.report ? { runs: f.runs, out: f.out } : null,
          signal: f.signal === undefined ? DEFAULT_SIGNAL : f.signal === 'none' ? null : f.signal,
          ...(f.partition ? { partition: f.partition } : {}),
          ...(f.time ? { time: f.time } : {}),
          ...(f.cpusPerTask !== undefined ? { cpusPerTask: f.cpusPerTask } : {}),
          ...(f.mem ? { mem: f.mem } : {}),
          ...(f.maxParallel !== undefined ? { maxParallel: f.maxParallel } : {}),
          ...(f.sbatchArg ? { sbatchArgs: f.sbatchArg } : {}),
        });
        const sub = submitSweep(sw.dir);
        if (!sub) {
          process.stdout.write(`ablate: sweep ${sw.dir}: all ${sw.jobs.length} run(s) complete already; nothing submitted\n`);
          return;
        }
        process.stdout.write(
          `ablate: sweep ${sw.dir}: ${sw.jobs.length} run(s); submitted Slurm job array ${sub.jobId} (--array=${sub.array})` +
            `${sub.reportJobId ? `, report job ${sub.reportJobId} after it` : ''}\n  follow it with: ctlab sweep status ${sw.dir}\n`,
        );
        return;
      }
      const r = await runJobs(jobs, { runsRoot: f.runs, workers: f.workers, cli: __filename, progress: f.progress });
      process.stdout.write(`ablate: ${r.ran} run(s) trained or evaluated, ${r.skipped} already complete, ${r.failures.length} failed\n`);
      for (const e of r.failures) process.stderr.write(`  ${e}\n`);
      if (f.report) {
        const rep = await buildReports(f.runs, f.out, { command: 'ctlab report (after ablate)' });
        process.stdout.write(`report: ${rep.ablations.join(', ')} -> ${f.out}/\n`);
      }
      if (r.failures.length) process.exitCode = 1;
    },
  );

program
  .command('job', { hidden: true })
  .description("one worker of `ctlab ablate`: train the job's run (resuming it), then evaluate it when the job asks (images)")
  .argument('<job.json>', 'the job file `ctlab ablate` wrote into the run directory')
  .addOption(threadsOption())
  .option('--no-progress', 'no progress bar')
  .action(async (file: string, f: { progress: boolean }) => {
    const job = readJob(file);
    await runJobHere(job, { command: `ctlab job ${process.argv.slice(3).join(' ')}`.trim(), progress: f.progress });
    process.exitCode = jobExitCode(job); // a run stopped by a signal is not done: 143 (SIGTERM) / 130 (SIGINT)
  });

program
  .command('run-job')
  .description('one task of a Slurm sweep: train (or resume) and evaluate line <index> of <sweep>/jobs.jsonl; exits 143 when SIGTERM stopped it')
  .argument('<sweep>', 'the sweep directory `ctlab ablate --executor slurm` wrote')
  .requiredOption('--index <i>', 'the array index ($SLURM_ARRAY_TASK_ID)', num('--index', { int: true, min: 0 }))
  .addOption(threadsOption())
  .action(async (dir: string, f: { index: number }) => {
    process.exitCode = await runSweepTask(dir, f.index, { command: `ctlab run-job ${process.argv.slice(3).join(' ')}`.trim() });
  });

const sweepCmd = program.command('sweep').description('follow a Slurm sweep written by `ctlab ablate --executor slurm`');
sweepCmd
  .command('status')
  .description("per run: Slurm's state and exit code beside the run directory's step, last checkpoint and error")
  .argument('<sweep>', 'the sweep directory')
  .option('--json', 'print the status as JSON')
  .action((dir: string, f: { json?: boolean }) => {
    const s = sweepStatus(dir);
    process.stdout.write(f.json ? JSON.stringify(s.tasks, null, 2) + '\n' : formatSweepStatus(dir, s));
  });
sweepCmd
  .command('resubmit')
  .description('submit again the runs that are neither done nor queued or running (failed, cancelled, timed out); they resume from their checkpoints')
  .argument('<sweep>', 'the sweep directory')
  .option('--dry-run', 'only say which indices would be resubmitted')
  .action((dir: string, f: { dryRun?: boolean }) => {
    const r = resubmitSweep(dir, { dryRun: f.dryRun ?? false });
    if (r.indices.length === 0) process.stdout.write('resubmit: nothing to resubmit (every run is done, queued or running)\n');
    else if (!r.submission) process.stdout.write(`resubmit: would resubmit index ${r.indices.join(', ')}\n`);
    else
      process.stdout.write(
        `resubmit: index ${r.indices.join(', ')} as Slurm job array ${r.submission.jobId} (--array=${r.submission.array})` +
          `${r.submission.reportJobId ? `, report job ${r.submission.reportJobId} after it` : ''}\n`,
      );
  });

const records = program
  .command('records')
  .description('the small per-run records (config.json, run.json, metrics.jsonl, eval.json) behind the committed tables');
records
  .command('export')
  .description('copy the records of every run under --runs (and its ablation plans) into --out, e.g. results/runs/ablations; never checkpoints or samples')
  .requiredOption('--runs <dir>', 'a runs root (runs/ablations, runs/quickstart)')
  .requiredOption('--out <dir>', 'where the records go (results/runs/ablations, results/runs/quickstart)')
  .option('--completed', 'only runs that finished (for images: with their final evaluation); records of other runs exported earlier are taken out of --out')
  .action((f: { runs: string; out: string; completed?: boolean }) => {
    const r = exportRecords(f.runs, f.out, { completedOnly: f.completed === true });
    const left = f.completed
      ? `; ${r.unfinished.length} unfinished run(s) left out${r.removed.length ? `, ${r.removed.length} earlier record file(s) of them removed` : ''}`
      : '';
    process.stdout.write(`records: ${r.runs} run(s), ${r.plans} plan(s) -> ${f.out}/ (${r.files.length} files)${left}\n`);
  });

program
  .command('report')
  .description('rebuild every ablation table and plot from the run directories')
  .option('--runs <dir>', 'root of the run directories', 'runs/ablations')
  .option('--out <dir>', 'where tables and plots go', 'results/ablations')
  .option('--summary <file.md>', "also write the results summary here (results/README.md): the verdicts, this suite's table and each --compare suite's table")
  .option('--label <text>', "this suite's name in the verdicts and the summary (e.g. '4,000-step suite')")
  .option(
    '--compare <label=dir>',
    'another reported suite (e.g. "1,000-step suite=results/ablations"), quoted under each verdict and kept as its own rows in --summary (repeatable)',
    (v: string, prev: string[] = []) => [...prev, v],
  )
  .option(
    '--images <run>',
    "instead: rebuild an image run's FID/KID table from its records (e.g. results/runs/images/fmnist-ict) into --out (default results/images)",
  )
  .option('--edit <dir>', 'instead: rebuild the editing summary <dir>/README.md from the records of ctlab edit / nfe under it (e.g. results/edit)')
  .option(
    '--quickstart <runs>',
    "instead: rebuild the quickstart's table and curve from its two runs (e.g. results/runs/quickstart) into --out (default results/quickstart)",
  )
  .option('--power', "instead: the power analysis (seeds that would decide each comparison) from --out's summary.json files, into its README.md and power.json")
  .option('--min-effect <fraction>', "with --power: the minimal effect worth deciding, as a fraction of the best arm's value", '0.1')
  .action(
    async (
      f: {
        runs: string;
        out: string;
        summary?: string;
        label?: string;
        compare?: string[];
        quickstart?: string;
        images?: string;
        edit?: string;
        power?: boolean;
        minEffect: string;
      },
      cmd: Command,
    ) => {
      const command = `ctlab report ${process.argv.slice(3).join(' ')}`.trim();
      if (f.edit !== undefined) {
        process.stdout.write(`report: editing summary -> ${writeEditSummary(f.edit)}\n`);
        return;
      }
      if (f.power) {
        const minEffect = Number(f.minEffect);
        if (!(minEffect > 0)) throw new Error(`--min-effect: expected a fraction > 0, got '${f.minEffect}'`);
        const commit = gitInfo().commit;
        const r = writePowerReport(f.out, { command, commit, minEffect });
        const v = writeVerdictReport(f.out, { command, commit, ...(f.label ? { label: f.label } : {}), compare: (f.compare ?? []).map(parseSuite) });
        const undecided = r.rows.filter((x) => x.outcome !== 'agrees' && x.outcome !== 'disagrees').length;
        process.stdout.write(
          `report: power analysis of ${r.rows.length} comparisons (${undecided} undecided now) and ${v.verdicts.length} verdicts -> ${[...new Set([...r.files, ...v.files])].join(', ')}\n`,
        );
        return;
      }
      if (f.images !== undefined) {
        const out = cmd.getOptionValueSource('out') === 'default' ? 'results/images' : f.out;
        const r = writeImageReport(f.images, out);
        process.stdout.write(
          `report: image run ${f.images} -> ${out}/${r.grids.length ? '' : ' (no samples/ beside the records: the sample grids there are left as they are)'}\n`,
        );
        return;
      }
      if (f.quickstart !== undefined) {
        const out = cmd.getOptionValueSource('out') === 'default' ? 'results/quickstart' : f.out;
        await buildQuickstartReport({ runs: f.quickstart, out });
        process.stdout.write(`report: quickstart -> ${out}/\n`);
        return;
      }
      const rep = await buildReports(f.runs, f.out, {
        command,
        ...(f.summary ? { summaryPath: f.summary } : {}),
        ...(f.label ? { label: f.label } : {}),
        compare: (f.compare ?? []).map(parseSuite),
      });
      process.stdout.write(`report: ${rep.ablations.join(', ')} -> ${f.out}/ (${rep.files.length} files)\n`);
    },
  );

function numList(name: string) {
  return (value: string): number[] => {
    const out = value.split(',').map((v) => Number(v.trim()));
    if (out.some((v) => !Number.isFinite(v))) throw new InvalidArgumentError(`${name}: expected comma-separated numbers, got '${value}'`);
    return out;
  };
}

program
  .command('edit')
  .description('zero-shot editing with an image run (CM Alg. 4): inpaint, superres, colorize, denoise, interpolate, stroke; PNG grid + metrics JSON')
  .requiredOption('--run <dir>', 'image run directory')
  .addOption(new Option('--task <name>', 'editing task').choices([...EDIT_TASKS]).makeOptionMandatory())
  .option('--input <png|test:i>', 'test:<index>, test:<first>-<last>, or a PNG of the model size (default test:0-7)')
  .option('--mask <spec>', 'inpaint: box, box:x,y,width,height, half (right), random:<rate>, or a PNG (white = regenerate)')
  .option('--factor <k>', 'superres: 2 or 4', num('--factor', { int: true, min: 2 }))
  .option('--noise-sigma <σ>', 'denoise: noise level added to the input (default 0.5)', num('--noise-sigma'))
  .option('--sigmas <list>', 'descending σ list of the sampler (defaults per task: see README)', sigmaList)
  .option('--alpha <list>', 'interpolate: weights in [0, 1] (default 0,0.25,0.5,0.75,1)', numList('--alpha'))
  .option('--pairs <n>', 'interpolate: pairs of noise vectors (default 4)', num('--pairs', { int: true, min: 1 }))
  .option('--fid-n <n>', 'inpaint: also FID/KID of n edited test images against n other test images', num('--fid-n', { int: true, min: 2 }))
  .option('--feature-net <name>', 'feature net of --fid-n', 'fmnist-strided')
  .option('--seed <n>', 'seed of the sampler noise', num('--seed', { int: true, min: 0 }), 0)
  .requiredOption('--out <dir>', 'folder for <task>.png, <task>-omega.png and <task>.json')
  .addOption(backendOption())
  .addOption(threadsOption())
  .action(async (f: EditOptions) => {
    const r = await runEdit({ ...f, command: `ctlab edit ${process.argv.slice(3).join(' ')}` });
    const m = r.metrics
      ? ` | PSNR ${r.metrics.psnr.degraded.toFixed(2)} -> ${r.metrics.psnr.result.toFixed(2)} dB, SSIM ${r.metrics.ssim.degraded.toFixed(3)} -> ${r.metrics.ssim.result.toFixed(3)}`
      : '';
    process.stdout.write(`edit ${r.task}: ${r.n} image(s), σ = ${r.sigmas.join(', ')}${m} -> ${f.out}/ (${r.wallSec} s)\n`);
  });

program
  .command('nfe')
  .description(
    'steps against quality: per arm, a consistency model (CT, iCT, CD) with the greedy σ search on held-out data for 1..8 steps, or an EDM run solved with Heun/Euler on the Karras grid; curve of the metric against NFE',
  )
  .requiredOption(
    '--arm <[name]=run>',
    `an arm (repeat): <name>=<run dir>, the sampler from the run's config.method (EDM runs: edm-heun; CT, iCT, CD: consistency), or <name>:<sampler>=<run dir> with sampler ${NFE_SAMPLERS.join(', ')} (e.g. --arm ict=runs/edit/2d-ict --arm cd=runs/edit/2d-cd --arm heun:edm-heun=runs/edit/2d-edm)`,
    (v: string, prev: string[] = []) => [...prev, v],
  )
  .option('--steps <list>', 'consistency arms: step counts to report (NFE = steps)', numList('--steps'), [1, 2, 3, 4, 6, 8])
  .option('--edm-steps <list>', 'EDM arms: Karras-grid step counts N (NFE: Heun 2N − 1, Euler N)', numList('--edm-steps'), [...NFE_EDM_STEPS])
  .option('--iterations <n>', 'ternary-search iterations per σ', num('--iterations', { int: true, min: 1 }), 6)
  .option('--search-n <n>', 'samples per scored list in the search', num('--search-n', { int: true, min: 2 }))
  .option('--n <n>', 'samples of the final scores (on held-out data the search did not see)', num('--n', { int: true, min: 2 }))
  .option('--seed <n>', 'seed', num('--seed', { int: true, min: 0 }), 0)
  .requiredOption('--out <dir>', 'results folder (table, curve, search trace)')
  .addOption(backendOption())
  .addOption(threadsOption())
  .action(
    async (f: {
      arm: string[];
      steps: number[];
      edmSteps: number[];
      iterations: number;
      searchN?: number;
      n?: number;
      seed: number;
      out: string;
      backend?: BackendRequest;
    }) => {
      await runNfe({ ...f, command: `ctlab nfe ${process.argv.slice(3).join(' ')}` });
    },
  );

const gridCmd = program.command('grid').description('sample grid PNGs');
gridCmd
  .command('upscale')
  .description(
    'rebuild an unlabelled sample grid (e.g. a committed 16-px one whose checkpoints are gone) from its own pixels: nearest-neighbour upscaling to >= 64 px per tile, row/column index labels, a title; writes <out>.grid.json (command, commit, source and its sha256, layout)',
  )
  .requiredOption('--in <png|git:rev:path>', 'the source grid: a PNG file, or git:<rev>:<path> for a committed version of one')
  .requiredOption('--tile <px|hxw>', "the source's native tile size (16 for 16×16 Fashion-MNIST)")
  .option('--gap <px>', 'gap between tiles in the source', num('--gap', { int: true, min: 0 }), 1)
  .option('--title <text>', 'a title line (e.g. the run and sampler the tiles come from)')
  .requiredOption('--out <file.png>', 'output PNG')
  .action((f: { in: string; tile: string; gap: number; title?: string; out: string }) => {
    const r = runGridUpscale({
      in: f.in,
      out: f.out,
      tile: parseTile(f.tile),
      gap: f.gap,
      ...(f.title ? { title: f.title } : {}),
      command: `ctlab grid upscale ${process.argv
        .slice(4)
        .map((a) => (/[\s"'()]/.test(a) ? `'${a}'` : a))
        .join(' ')}`,
    });
    const l = r.layout;
    process.stdout.write(
      `grid ${f.in}: ${l.rows}×${l.cols} tiles of ${l.h}×${l.w} px (source upscale ${l.scale}) -> ${f.out} (${r.output.width}×${r.output.height}, ${r.output.tilePx}-px tiles) and ${gridRecordPath(f.out)}\n`,
    );
  });

program
  .command('doctor')
  .description('check what this machine has for the kit (Node, backends, native addon, chromium, Jupyter + tslab, Fashion-MNIST, Slurm), each with its fix')
  .option('--slurm', "the Slurm executor will be used: Slurm's client (sbatch) is required")
  .action(async (f: { slurm?: boolean }) => {
    const checks = await runDoctor({ slurm: f.slurm === true });
    process.stdout.write(formatChecks(checks));
    if (!doctorOk(checks)) process.exitCode = 1;
  });

if (require.main === module)
  program.parseAsync(process.argv).catch((e: unknown) => {
    if (e instanceof ConfigError) process.stderr.write(`ctlab: ${e.message}\n`);
    else process.stderr.write(`ctlab: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
