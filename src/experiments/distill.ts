/**
 * The distillation experiments, as data (`DISTILL_EXPERIMENTS`), their runner and their report:
 *  - ct-vs-cd: an EDM teacher, CD from it, original CT and iCT, students at equal budget (steps,
 *    batch, network); the teacher's cost is reported beside the students'.
 *  - cd-teacher-cap: CD from teachers trained for 25%, 50% and 100% of the teacher budget, student
 *    quality against teacher quality, iCT as the no-teacher line.
 * Runs are normal run directories under <runs>/<data>/<arm>/seed<s>; each is skipped when completed
 * and evaluated, resumed when stopped. `ctlab distill run|report`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildConfig, type ScaleName } from '../config/presets';
import type { ConfigOverride, TrainConfig } from '../config/schema';
import { mergeConfig } from '../config/merge';
import { validateConfig } from '../config/schema';
import { evaluateRunDir } from '../run/evaluate';
import { exportRecords, gitInfo, readEval, readRunJson, runStatus, writeJson } from '../run/run-dir';
import type { EvalFile } from '../run/records';
import { train } from '../training/trainer';
import { formatMeanCi } from '../report/table';
import { exportFigures, exportSkippedMessage } from '../report/export';
import { ensurePlotlyBundle, lineFigure, plotlyBundleDir, writeFigureHtml, barFigure, type Figure } from '../report/plot';
import { DISTILL_README_LINE, VERDICT_NET } from './report';

export type DistillData = 'eight-gaussians' | 'fashion-mnist';

/** One run of an experiment: a preset, and for CD the teacher arm it distills from. */
export interface DistillArm {
  name: string;
  preset: 'edm' | 'cd' | 'ct' | 'ict';
  /** EDM teachers: the fraction of the teacher budget (the students' steps) it trains for. */
  budget?: number;
  /** CD students: the teacher arm. */
  teacher?: string;
}

export interface DistillScale {
  seeds: number;
  steps: number;
  /** One teacher (seed 0) for every student seed, instead of one per seed. */
  sharedTeacher: boolean;
  /** Images: samples for FID/KID. */
  evalN?: number;
  /** Arms whose runs are read from committed records instead of trained (the same configs, run before). */
  reuse?: Record<string, string>;
}

export interface DistillExperiment {
  name: 'ct-vs-cd' | 'cd-teacher-cap';
  title: string;
  paper: string;
  arms: DistillArm[];
  scales: Partial<Record<DistillData, DistillScale>>;
}

const TEACHER = (budget: number): DistillArm => ({ name: `teacher-${Math.round(budget * 100)}`, preset: 'edm', budget });
const CD = (budget: number): DistillArm => ({ name: `cd-${Math.round(budget * 100)}`, preset: 'cd', teacher: `teacher-${Math.round(budget * 100)}` });

export const DISTILL_EXPERIMENTS: readonly DistillExperiment[] = [
  {
    name: 'ct-vs-cd',
    title: 'Consistency training against consistency distillation at equal budget',
    paper: 'iCT, CIFAR-10 1-step FID: iCT 2.83, CD 3.55 (CM, LPIPS): iCT beats distillation without a teacher (iCT Table 2; ict-facts.md)',
    arms: [TEACHER(1), CD(1), { name: 'ct', preset: 'ct' }, { name: 'ict', preset: 'ict' }],
    scales: {
      'eight-gaussians': { seeds: 5, steps: 1000, sharedTeacher: false },
      'fashion-mnist': {
        seeds: 3,
        steps: 1000,
        sharedTeacher: true,
        evalN: 2000,
        // the CT and iCT arms of the committed 8-ablation rerun: the same configs at this scale
        reuse: { ct: 'results/runs/ablations/fashion-mnist/ct-vs-ict-ct-94097dd8', ict: 'results/runs/ablations/fashion-mnist/baseline-93364566' },
      },
    },
  },
  {
    name: 'cd-teacher-cap',
    title: 'Distillation caps the student at its teacher',
    paper: "CD's quality is tied to the pre-trained diffusion model's (CM Sec. 6; iCT Sec. 1: 'the quality of CD is bounded by the teacher')",
    arms: [TEACHER(0.25), TEACHER(0.5), TEACHER(1), CD(0.25), CD(0.5), CD(1), { name: 'ict', preset: 'ict' }],
    scales: { 'eight-gaussians': { seeds: 5, steps: 1000, sharedTeacher: false } },
  },
];

export function findDistillExperiment(name: string): DistillExperiment {
  const e = DISTILL_EXPERIMENTS.find((x) => x.name === name);
  if (!e) throw new Error(`experiment: expected one of ${DISTILL_EXPERIMENTS.map((x) => x.name).join(', ')}, got '${name}'`);
  return e;
}

function scaleOf(data: DistillData): ScaleName {
  return data === 'fashion-mnist' ? 'fashion-mnist' : 'toy2d';
}

/** The override every run of a data set shares: the ablations' scale (src/experiments/runner.ts), evaluation only at the end. */
function commonOverride(data: DistillData, steps: number): ConfigOverride {
  return data === 'fashion-mnist'
    ? { steps, emaRate: 0.995, model: { channels: [16, 32] }, checkpointEvery: Math.min(200, Math.floor(steps / 5)), evalEvery: 0, logEvery: 20 }
    : { steps, checkpointEvery: Math.max(1, Math.floor(steps / 4)), evalEvery: 0 };
}

/** Run directory of an arm and seed, relative to the runs root. */
export function armDir(data: DistillData, arm: DistillArm, seed: number, scale: DistillScale): string {
  const s = arm.preset === 'edm' && scale.sharedTeacher ? 0 : seed;
  return path.join(data, arm.name, `seed${s}`);
}

/** The config of one run. CD's teacher is recorded as the directory given (relative to the working directory). */
export function armConfig(exp: DistillExperiment, data: DistillData, arm: DistillArm, seed: number, runsRoot: string): TrainConfig {
  const scale = exp.scales[data];
  if (!scale) throw new Error(`${exp.name}: no scale for data '${data}' (has: ${Object.keys(exp.scales).join(', ')})`);
  const steps = arm.preset === 'edm' ? Math.max(1, Math.round(scale.steps * (arm.budget ?? 1))) : scale.steps;
  const base = buildConfig(
    arm.preset,
    { ...commonOverride(data, steps), name: arm.name, seed: arm.preset === 'edm' && scale.sharedTeacher ? 0 : seed },
    scaleOf(data),
  );
  if (arm.preset !== 'cd') return base;
  const t = exp.arms.find((a) => a.name === arm.teacher);
  if (!t) throw new Error(`${exp.name}: arm ${arm.name} names teacher '${arm.teacher}', which is not an arm`);
  return validateConfig(mergeConfig(base, { method: { kind: 'cd', teacher: path.join(runsRoot, armDir(data, t, seed, scale)) } }));
}

export interface DistillRunOptions {
  runsRoot: string;
  seeds?: number;
  log?: (line: string) => void;
}

/** Train and evaluate every run of an experiment (teachers first), skipping finished ones. */
export async function runDistill(exp: DistillExperiment, data: DistillData, opts: DistillRunOptions): Promise<void> {
  const scale = exp.scales[data];
  if (!scale) throw new Error(`${exp.name}: no scale for data '${data}'`);
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const seeds = opts.seeds ?? scale.seeds;
  const order = [...exp.arms.filter((a) => a.preset === 'edm'), ...exp.arms.filter((a) => a.preset !== 'edm')];
  const done = new Set<string>();
  for (const arm of order) {
    if (scale.reuse?.[arm.name]) continue;
    for (let seed = 0; seed < seeds; seed++) {
      const rel = armDir(data, arm, seed, scale);
      if (done.has(rel)) continue;
      done.add(rel);
      const dir = path.join(opts.runsRoot, rel);
      const cfg = armConfig(exp, data, arm, seed, opts.runsRoot);
      const status = runStatus(dir);
      if (status !== 'completed') {
        log(`${exp.name}: train ${rel}${status ? ` (resume: ${status})` : ''}`);
        await train(cfg, {
          outDir: dir,
          resume: status !== null,
          progress: false,
          command: `ctlab distill run ${exp.name} --data ${data} --runs ${opts.runsRoot} (${rel})`,
        });
      }
      if (!readEval(dir)) {
        log(`${exp.name}: eval ${rel}`);
        await evaluateRunDir(dir, {
          ...(scale.evalN ? { n: scale.evalN } : {}),
          command: `ctlab eval --run ${dir}${scale.evalN ? ` --n ${scale.evalN}` : ''}`,
        });
      }
    }
  }
}

// ---------------------------------------------------------------- report

/** The numbers of one run the report uses: quality at each sampler, lower is better. */
export interface RunScores {
  dir: string;
  seed: number;
  /** 1-step / 2-step (consistency) or Euler-1 / Euler-2 (EDM). */
  one: number;
  two: number;
  /** EDM: Heun-18 (NFE 35). */
  heun?: number;
  wallSec: number;
  steps: number;
  commit: string;
}

function scoresOf(ev: EvalFile): { one: number; two: number; heun?: number } {
  if (ev.kind === 'points') return { one: ev.oneStep.swd, two: ev.multiStep.swd, ...(ev.heun ? { heun: ev.heun.swd } : {}) };
  const s = ev.scores[VERDICT_NET];
  if (!s) throw new Error(`${ev.run}: eval.json has no ${VERDICT_NET} scores`);
  const h = s.extra ? Object.values(s.extra)[0] : undefined;
  return { one: s.oneStep.fid, two: s.twoStep.fid, ...(h ? { heun: h.fid } : {}) };
}

function readScores(dir: string, seed: number): RunScores | null {
  if (!fs.existsSync(dir) || runStatus(dir) !== 'completed') return null;
  const ev = readEval(dir);
  if (!ev) return null;
  const run = readRunJson(dir);
  return { dir, seed, ...scoresOf(ev), wallSec: run.wallSec, steps: run.totalSteps, commit: run.commit };
}

export interface ArmSummary {
  arm: string;
  preset: string;
  runs: RunScores[];
  one: ReturnType<typeof formatMeanCi>;
  two: ReturnType<typeof formatMeanCi>;
  heun: ReturnType<typeof formatMeanCi> | null;
  wallSec: ReturnType<typeof formatMeanCi>;
}

export interface DistillSummary {
  experiment: string;
  data: DistillData;
  metric: string;
  steps: number;
  seedsPlanned: number;
  arms: ArmSummary[];
  /** Seed-paired differences CD − iCT and CT − CD (lower is better: > 0 means the second is better). */
  comparisons: { name: string; diff: ReturnType<typeof formatMeanCi>; values: number[] }[];
  missing: string[];
  generated: { command: string; commit: string; dirty: boolean; at: string };
}

/** Read the runs of an experiment (missing ones listed) and summarise them. */
export function summarizeDistill(exp: DistillExperiment, data: DistillData, runsRoot: string, command: string): DistillSummary {
  const scale = exp.scales[data];
  if (!scale) throw new Error(`${exp.name}: no scale for data '${data}'`);
  const missing: string[] = [];
  const arms: ArmSummary[] = exp.arms.map((arm) => {
    const runs: RunScores[] = [];
    const seen = new Set<string>();
    for (let seed = 0; seed < scale.seeds; seed++) {
      const reuse = scale.reuse?.[arm.name];
      const dir = reuse ? path.join(reuse, `seed${seed}`) : path.join(runsRoot, armDir(data, arm, seed, scale));
      if (seen.has(dir)) continue;
      seen.add(dir);
      const r = readScores(dir, seed);
      if (r) runs.push(r);
      else missing.push(dir);
    }
    const heun = runs.every((r) => r.heun !== undefined) && runs.length ? formatMeanCi(runs.map((r) => r.heun as number)) : null;
    return {
      arm: arm.name,
      preset: arm.preset,
      runs,
      one: formatMeanCi(runs.map((r) => r.one)),
      two: formatMeanCi(runs.map((r) => r.two)),
      heun,
      wallSec: formatMeanCi(runs.map((r) => r.wallSec)),
    };
  });
  const bySeed = (name: string): Map<number, number> => new Map((arms.find((a) => a.arm === name)?.runs ?? []).map((r) => [r.seed, r.one]));
  const paired = (a: string, b: string): number[] => {
    const x = bySeed(a);
    const y = bySeed(b);
    return [...x.keys()].filter((k) => y.has(k)).map((k) => (x.get(k) as number) - (y.get(k) as number));
  };
  const pairs: [string, string][] =
    exp.name === 'ct-vs-cd'
      ? [
          ['cd-100', 'ict'],
          ['ct', 'cd-100'],
          ['ct', 'ict'],
        ]
      : [
          ['cd-25', 'cd-100'],
          ['cd-50', 'cd-100'],
          ['cd-100', 'ict'],
        ];
  const comparisons = pairs.map(([a, b]) => {
    const values = paired(a, b);
    return { name: `${a} − ${b}`, diff: formatMeanCi(values), values };
  });
  const git = gitInfo();
  return {
    experiment: exp.name,
    data,
    metric: data === 'fashion-mnist' ? `FID (${VERDICT_NET} features, n = ${scale.evalN})` : 'sliced Wasserstein-2 to held-out data',
    steps: scale.steps,
    seedsPlanned: scale.seeds,
    arms,
    comparisons,
    missing,
    generated: { command, commit: git.commit, dirty: git.dirty, at: new Date().toISOString() },
  };
}

function summaryMarkdown(exp: DistillExperiment, s: DistillSummary): string {
  const f = (m: ReturnType<typeof formatMeanCi> | null): string => (m?.n ? m.text : '–');
  const lines = [
    `# ${exp.title} (${s.data})`,
    '',
    `Paper: ${exp.paper}.`,
    '',
    `Metric: ${s.metric}, lower is better; mean ± 95% t-interval over seeds (n = seeds found). Students: ${s.steps} steps each; EDM teachers: the fraction of that budget in their name.`,
    `Columns: 1-step (NFE 1) and 2-step (NFE 2, σ = σ_max then twoStepSigma) samples of a consistency model; for an EDM teacher the same σ levels solved by Euler (NFE 1 and 2), and Heun on the 18-level Karras grid (NFE 35).`,
    '',
    '| arm | method | seeds | 1-step (NFE 1) | 2-step (NFE 2) | Heun-18 (NFE 35) | wall s per run | steps |',
    '|---|---|---|---|---|---|---|---|',
    ...s.arms.map(
      (a) =>
        `| ${a.arm} | ${a.preset} | ${a.runs.length} | ${f(a.one)} | ${f(a.two)} | ${f(a.heun)} | ${a.wallSec.n ? a.wallSec.mean.toFixed(0) : '–'} | ${a.runs[0]?.steps ?? '–'} |`,
    ),
    '',
    'Seed-paired differences of the 1-step metric (> 0: the second arm is better):',
    '',
    ...s.comparisons.map(
      (c) =>
        `- ${c.name} = ${c.diff.n ? c.diff.text : 'n/a'} (${c.diff.n} pairs)${c.diff.n > 1 ? (c.diff.lo > 0 ? ': the second is significantly better' : c.diff.hi < 0 ? ': the first is significantly better' : ': the interval includes 0') : ''}`,
    ),
    '',
    ...(s.missing.length ? ['Not found (not run or not finished):', '', ...s.missing.map((m) => `- ${m}`), ''] : []),
    'Runs (their config.json, run.json with command, commit, backend, seed and wall time, metrics.jsonl and eval.json):',
    '',
    ...s.arms.flatMap((a) => a.runs.map((r) => `- ${a.arm} seed ${r.seed}: ${r.dir} (commit ${r.commit.slice(0, 7)}, ${r.wallSec.toFixed(0)} s)`)),
    '',
    `Generated by \`${s.generated.command}\` at commit ${s.generated.commit.slice(0, 7)}${s.generated.dirty ? ' (dirty)' : ''}.`,
    '',
  ];
  return lines.join('\n');
}

function figures(exp: DistillExperiment, s: DistillSummary): { fig: Figure; outBase: string }[] {
  const base = `${exp.name}-${s.data}`;
  if (exp.name === 'cd-teacher-cap') {
    const pts = ['25', '50', '100'].map((b) => ({ t: s.arms.find((a) => a.arm === `teacher-${b}`), c: s.arms.find((a) => a.arm === `cd-${b}`), b }));
    const ok = pts.filter((p) => p.t?.heun?.n && p.c?.one.n);
    const ict = s.arms.find((a) => a.arm === 'ict');
    const xs = ok.map((p) => p.t?.heun?.mean ?? null);
    const series = [
      {
        x: xs,
        y: ok.map((p) => p.c?.one.mean ?? null),
        name: 'CD student, 1-step',
        markers: true,
        lo: ok.map((p) => p.c?.one.lo as number),
        hi: ok.map((p) => p.c?.one.hi as number),
      },
      { x: xs, y: xs, name: 'student = teacher (Heun-18)', dash: 'dot' as const },
      ...(ict?.one.n ? [{ x: xs, y: xs.map(() => ict.one.mean), name: 'iCT, 1-step (no teacher)', dash: 'dash' as const }] : []),
    ];
    return [
      {
        fig: lineFigure(series, {
          title: `CD student against its teacher (${s.data}; teachers at 25/50/100% budget)`,
          xTitle: `teacher Heun-18 ${s.metric}`,
          yTitle: `student 1-step ${s.metric}`,
          width: 640,
          height: 440,
        }),
        outBase: base,
      },
    ];
  }
  const arms = s.arms;
  return [
    {
      fig: barFigure(
        [
          { x: arms.map((a) => a.arm), y: arms.map((a) => (a.one.n ? a.one.mean : NaN)), name: '1-step / Euler-1 (NFE 1)' },
          { x: arms.map((a) => a.arm), y: arms.map((a) => (a.two.n ? a.two.mean : NaN)), name: '2-step / Euler-2 (NFE 2)' },
          { x: arms.map((a) => a.arm), y: arms.map((a) => (a.heun?.n ? a.heun.mean : NaN)), name: 'Heun-18 (NFE 35)' },
        ],
        { title: `CT, iCT, CD and the EDM teacher at equal budget (${s.data})`, yTitle: s.metric, width: 640, height: 420 },
      ),
      outBase: base,
    },
  ];
}

/** Write results/distill/<experiment>-<data>.{md,json} and plots, and copy the runs' small records to `recordsOut`. */
export async function reportDistill(
  exp: DistillExperiment,
  data: DistillData,
  opts: { runsRoot: string; out: string; recordsOut?: string; command: string },
): Promise<DistillSummary> {
  const s = summarizeDistill(exp, data, opts.runsRoot, opts.command);
  fs.mkdirSync(opts.out, { recursive: true });
  const base = path.join(opts.out, `${exp.name}-${data}`);
  writeJson(`${base}.summary.json`, s);
  fs.writeFileSync(`${base}.md`, summaryMarkdown(exp, s));
  const figs = figures(exp, s).map((f) => ({ ...f, outBase: path.join(opts.out, path.basename(f.outBase)) }));
  const bundle = ensurePlotlyBundle(plotlyBundleDir(opts.out));
  for (const { fig, outBase } of figs) writeFigureHtml(fig, `${outBase}.html`, { bundlePath: bundle });
  const exported = await exportFigures(figs, { formats: ['png', 'svg'] });
  if (!exported.ok) process.stderr.write(exportSkippedMessage(exported.reason) + '\n');
  if (opts.recordsOut) exportRecords(opts.runsRoot, opts.recordsOut);
  writeDistillIndex(opts.out);
  return s;
}

/** results/distill/README.md: one row per experiment and data set found in `out`, and the results README's link line. */
export function writeDistillIndex(out: string): void {
  const rows: string[] = [];
  for (const exp of DISTILL_EXPERIMENTS) {
    for (const data of Object.keys(exp.scales) as DistillData[]) {
      const file = path.join(out, `${exp.name}-${data}.summary.json`);
      if (!fs.existsSync(file)) {
        rows.push(`| ${exp.name} | ${data} | ${exp.paper} | not run yet: \`ctlab distill run ${exp.name} --data ${data}\` | |`);
        continue;
      }
      const s = JSON.parse(fs.readFileSync(file, 'utf8')) as DistillSummary;
      const arms = s.arms
        .map(
          (a) =>
            `${a.arm} ${a.one.n ? a.one.text : '–'}${a.heun?.n ? ` (Heun-18 ${a.heun.text})` : ''} [${a.runs.length} seeds, ${a.wallSec.n ? a.wallSec.mean.toFixed(0) : '–'} s/run]`,
        )
        .join('; ');
      const cmp = s.comparisons
        .map(
          (c) =>
            `${c.name} = ${c.diff.n ? c.diff.text : 'n/a'}${c.diff.n > 1 ? (c.diff.lo > 0 ? ' (second better)' : c.diff.hi < 0 ? ' (first better)' : ' (interval includes 0)') : ''}`,
        )
        .join('; ');
      rows.push(`| [${exp.name}](${exp.name}-${data}.md) | ${data} | ${exp.paper} | ${arms} | ${cmp} |`);
    }
  }
  const text = [
    '# Distillation: the paper against this kit',
    '',
    '1-step metric per arm (SWD on 2D, FID in the fmnist-strided features on Fashion-MNIST; lower is better), mean ± 95% t-interval over seeds; EDM teachers also at Heun-18 (NFE 35). Seed-paired differences of the 1-step metric: "second better" when the interval is above 0. Wall time per run: run.json wallSec (training and its final in-training evaluation; `ctlab eval` afterwards not included).',
    '',
    '| experiment | data | paper | measured, 1-step (NFE 1) | comparisons |',
    '|:-|:-|:-|:-|:-|',
    ...rows,
    '',
    'Rebuilt by `ctlab distill report <experiment> --data <data>` from the run directories; each summary lists its runs and their records in `results/runs/distill/`.',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(out, 'README.md'), text);
  // the results README links it (the same line `ctlab report --summary` writes)
  const readme = path.join(path.dirname(out), 'README.md');
  if (fs.existsSync(readme)) {
    const r = fs.readFileSync(readme, 'utf8');
    if (!r.includes(DISTILL_README_LINE)) fs.writeFileSync(readme, r.replace(/\n*$/, '\n\n' + DISTILL_README_LINE + '\n'));
  }
}
