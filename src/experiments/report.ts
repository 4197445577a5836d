/**
 * Tables and plots of the ablations, rebuilt from run directories alone (`ctlab report`):
 *   <out>/<ablation>/summary.{csv,md}          one row per (data, arm): metric mean ± 95% interval over seeds, n
 *   <out>/<ablation>/<data>-swd1-vs-step.*     1-step SWD during training, mean over seeds with a 95% band
 *   <out>/README.md                           per technique: the paper's finding, what was measured, agreement
 * The plan written by `ctlab ablate` (<runs>/<data>/ablation-plan.json) maps arms to run directories.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isImageData } from '../config/data-kind';
import { exportFigures, exportSkippedMessage } from '../report/export';
import { ensurePlotlyBundle, lineFigure, plotlyBundleDir, writeFigureHtml, type Figure } from '../report/plot';
import { csvTable, formatMeanCi, markdownTable, writeTable, type MeanCi, type Row } from '../report/table';
import {
  ablationSummarySchema,
  parseRecord,
  verdictAgrees,
  type AblationPlan,
  type AblationSummary,
  type MeanCiRecord,
  type SummaryRow,
  type Verdict,
} from '../run/records';
import { gitInfo, gridPath, planEntryDir, readEvalMetrics, readImageEval, readPlans, readRunConfig, readRunJson, runStatus, writeJson } from '../run/run-dir';
import { exampleShape } from '../data/source';
import { writeUpscaledGrid } from '../data/grid-upscale';
import { ABLATIONS, type Ablation } from './ablations';
import { writeEvaluationBias } from './evaluation-bias';
import { writePowerReport } from './power';
import { writeVerdictReport, type Suite } from './verdict-report';
import { meanCiRecord, meanCiText, pairedVerdict, verdictNote, verdictsText, verdictWord } from './verdicts';

export type { AblationPlan, PlanEntry } from '../run/records';
export { planFile, savePlan } from '../run/run-dir';

export interface ArmResult {
  arm: string;
  seeds: number[];
  swd1: number[];
  swd2: number[];
  mmd1: number[];
  mmd2: number[];
  wall: number[];
  curves: Map<number, number[]>; // step -> swd1 per seed
  incomplete: number;
  /** Images: FID after training per feature net, 1-step and 2-step, per seed (from eval.json). */
  fid?: Record<string, { oneStep: number[]; twoStep: number[] }>;
  /** Images: the 1-step sample grid of the first seed, its seed and the data's tile size. */
  grid?: string;
  gridSeed?: number;
  gridTile?: { h: number; w: number };
}

/** Feature net of the image verdicts: the one no loss in the kit is built on (the LPIPS-style distance uses fmnist-cnn). */
export const VERDICT_NET = 'fmnist-strided';

/** The results README's line for the distillation experiments (src/experiments/distill.ts writes their index). */
export const DISTILL_README_LINE =
  "Distillation: [CT vs CD at equal budget, and the teacher cap](distill/README.md) (`ctlab distill run|report ct-vs-cd|cd-teacher-cap`; EDM teachers, CD students, CT and iCT, with NFE and the teachers' training cost).";
/** The other shipped feature net (the LPIPS-style distance's default). */
export const OTHER_NET = 'fmnist-cnn';

/** Drop the columns that are empty in every row (2D tables have no FID, image tables no MMD²). */
function dropEmptyColumns(rows: Row[]): Row[] {
  const keys = Object.keys(rows[0] ?? {}).filter((k) => rows.some((r) => r[k] !== null && r[k] !== undefined && r[k] !== ''));
  return rows.map((r) => Object.fromEntries<Row[string]>(keys.map((k) => [k, r[k] ?? null])));
}

type Metric = 'swd1' | 'swd2' | ((r: ArmResult) => number[]);

function values(r: ArmResult, metric: Metric): number[] {
  return typeof metric === 'function' ? metric(r) : r[metric];
}

const fidOf =
  (net: string, which: 'oneStep' | 'twoStep') =>
  (r: ArmResult): number[] =>
    r.fid?.[net]?.[which] ?? [];

/** 1-step SWD over training: mean and interval over seeds at each evaluated step. */
function curve(r: ArmResult): { steps: number[]; cis: MeanCi[] } {
  const steps = [...r.curves.keys()].sort((a, b) => a - b);
  return { steps, cis: steps.map((s) => formatMeanCi(r.curves.get(s) ?? [])) };
}

function collect(runsRoot: string, plan: AblationPlan, ab: Ablation): ArmResult[] {
  const out: ArmResult[] = [];
  for (const arm of ab.arms) {
    const entries = plan.entries.filter((e) => e.ablation === ab.name && e.arm === arm.name);
    if (entries.length === 0) continue;
    const r: ArmResult = { arm: arm.name, seeds: [], swd1: [], swd2: [], mmd1: [], mmd2: [], wall: [], curves: new Map(), incomplete: 0 };
    for (const e of entries) {
      const dir = planEntryDir(runsRoot, e);
      if (runStatus(dir) !== 'completed') {
        r.incomplete++;
        continue;
      }
      const evals = readEvalMetrics(dir);
      const last = evals[evals.length - 1];
      if (!last) continue;
      r.seeds.push(e.seed);
      r.swd1.push(last.swd1);
      r.swd2.push(last.swd2);
      r.mmd1.push(last.mmd1);
      r.mmd2.push(last.mmd2);
      r.wall.push(readRunJson(dir).wallSec);
      for (const m of evals) r.curves.set(m.step, [...(r.curves.get(m.step) ?? []), m.swd1]);
      const ev = readImageEval(dir);
      if (ev) {
        r.fid ??= {};
        for (const [net, sc] of Object.entries(ev.scores)) {
          const f = (r.fid[net] ??= { oneStep: [], twoStep: [] });
          f.oneStep.push(sc.oneStep.fid);
          f.twoStep.push(sc.twoStep.fid);
        }
        const grid = gridPath(dir, ev.grids?.oneStep);
        if (!r.grid && grid) {
          const [h, w] = exampleShape(readRunConfig(dir).data) as [number, number, number];
          r.grid = grid;
          r.gridSeed = e.seed;
          r.gridTile = { h, w };
        }
      }
    }
    out.push(r);
  }
  return out;
}

/** "eight-gaussians with a 3×128 MLP for 2,000 steps": a plan's data, network (from its first run's config) and steps. */
function planScale(runsRoot: string, plan: AblationPlan): string {
  const steps = `${plan.steps.toLocaleString('en-US')} steps`;
  const first = plan.entries.map((e) => planEntryDir(runsRoot, e)).find((d) => fs.existsSync(path.join(d, 'config.json')));
  if (!first) return `${plan.data} for ${steps}`;
  const cfg = readRunConfig(first);
  const net = cfg.model.kind === 'mlp' ? `a ${cfg.model.depth}×${cfg.model.hidden} MLP` : `a [${cfg.model.channels.join(', ')}] U-Net`;
  const data = cfg.data.kind === 'fashion-mnist' ? `${cfg.data.size}×${cfg.data.size} ${plan.data}` : plan.data;
  return `${data} with ${net} for ${steps}`;
}

/** Seed-paired verdicts of the paper's preferred arm against each other one (lower is better), as data. */
export function verdicts(
  results: ArmResult[],
  best: string,
  worse: string[],
  metric: Metric,
  ctx: { metric: string; data: string; steps: number } = { metric: '', data: '', steps: 0 },
): Verdict[] {
  const b = results.find((r) => r.arm === best);
  const out: Verdict[] = [];
  for (const w of worse) {
    const o = results.find((r) => r.arm === w);
    if (!b || !o) continue;
    const diffs: number[] = [];
    b.seeds.forEach((s, i) => {
      const j = o.seeds.indexOf(s);
      const ov = values(o, metric)[j];
      const bv = values(b, metric)[i];
      if (j >= 0 && ov !== undefined && bv !== undefined) diffs.push(ov - bv);
    });
    out.push(pairedVerdict(ctx, best, w, diffs));
  }
  return out;
}

/**
 * Paired (by seed) difference worse − best of a metric (lower is better), as the prose summary.md
 * shows: agrees when its 95% interval is above 0; with one seed only the direction.
 */
export function verdict(results: ArmResult[], best: string, worse: string[], metric: Metric): string {
  return verdictsText(verdicts(results, best, worse, metric));
}

/** The column labels of a summary in table order (every metric any row has). */
const METRIC_ORDER = [
  `FID 1-step (${VERDICT_NET})`,
  `FID 2-step (${VERDICT_NET})`,
  `FID 1-step (${OTHER_NET})`,
  `FID 2-step (${OTHER_NET})`,
  'SWD 1-step',
  'SWD 2-step',
  'MMD² 1-step',
  'MMD² 2-step',
];

/** summary.md rows: each metric as "mean ± hw" text (what the table has always shown). */
export function summaryTextRows(rows: readonly SummaryRow[]): Row[] {
  return dropEmptyColumns(
    rows.map((r) => ({
      data: r.data,
      arm: r.arm,
      ...Object.fromEntries(METRIC_ORDER.map((k) => [k, meanCiText(r.metrics[k])])),
      n: r.n,
      steps: r.steps,
      'wall s (mean)': r.wallMean,
    })),
  );
}

/** summary.csv rows: each metric as numeric columns "<metric> mean", "<metric> half-width", "<metric> n" (re-plottable with arquero). */
export function summaryNumericRows(rows: readonly SummaryRow[]): Row[] {
  const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);
  return dropEmptyColumns(
    rows.map((r) => ({
      data: r.data,
      arm: r.arm,
      ...Object.fromEntries(
        METRIC_ORDER.flatMap((k) => {
          const m = r.metrics[k];
          return [
            [`${k} mean`, m ? finite(m.mean) : null],
            [`${k} half-width`, m ? finite(m.halfWidth) : null],
            [`${k} n`, m ? m.n : null],
          ];
        }),
      ),
      n: r.n,
      steps: r.steps,
      'wall s (mean)': r.wallMean,
    })),
  );
}

/** Writes <base>.json (the summary as data), <base>.csv (numeric columns) and <base>.md (text, notes). */
function writeSummary(summary: AblationSummary, base: string, notes: string[]): string[] {
  const file = `${base}.json`;
  parseRecord(ablationSummarySchema, summary, file);
  writeJson(file, summary);
  fs.writeFileSync(`${base}.csv`, csvTable(summaryNumericRows(summary.rows)));
  fs.writeFileSync(`${base}.md`, markdownTable(summaryTextRows(summary.rows), { title: summary.title, notes }));
  return [`${base}.csv`, `${base}.md`, file];
}

export interface ReportResult {
  ablations: string[];
  files: string[];
}

/** Options of {@link buildReports}. */
export interface ReportOptions {
  command?: string;
  /** Also write the results summary here (e.g. results/README.md): the verdicts, this suite's table and each --compare suite's table. */
  summaryPath?: string;
  /** This suite's label in the verdicts and the summary (default 'this suite'). */
  label?: string;
  /** Other suites (already reported) quoted under each verdict and kept as their own tables in the summary. */
  compare?: readonly Suite[];
}

/** The table lines (header to last row) of a suite's README, as `ctlab report` wrote it. */
function readmeTable(dir: string): string[] {
  const file = path.join(dir, 'README.md');
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file (report that suite first: ctlab report --runs <its runs> --out ${dir})`);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((l) => l.startsWith('|technique|'));
  if (start < 0) throw new Error(`${file}: no technique table (expected a line starting '|technique|')`);
  const end = lines.findIndex((l, i) => i > start && !l.startsWith('|'));
  return lines.slice(start, end < 0 ? undefined : end);
}

/** Rebuild every ablation table and plot from the run directories under `runsRoot`, then the power analysis and the verdicts. */
export async function buildReports(runsRoot: string, outRoot: string, opts: ReportOptions = {}): Promise<ReportResult> {
  const plans = readPlans(runsRoot);
  if (plans.length === 0) throw new Error(`report: no ablation plans under ${runsRoot} (run \`ctlab ablate\` first)`);
  const git = gitInfo();
  const bundle = ensurePlotlyBundle(plotlyBundleDir(outRoot));
  const figs: { fig: Figure; outBase: string }[] = [];
  const files: string[] = [];
  const readmeRows: Row[] = [];
  const done: string[] = [];
  const grids: { from: string; to: string; tile: { h: number; w: number }; title: string }[] = [];
  const provenance = (ps: readonly AblationPlan[]): string =>
    `Provenance: ${ps.map((p) => `\`${p.command}\``).join(', ')}, rebuilt by \`${opts.command ?? 'ctlab report'}\` at commit ${git.commit}${git.dirty ? ' (dirty tree)' : ''}`;

  for (const ab of ABLATIONS) {
    const summary: AblationSummary = {
      ablation: ab.name,
      title: ab.title,
      paper: ab.paper,
      paperBest: ab.paperBest,
      paperWorse: [...ab.paperWorse],
      rows: [],
      verdicts: [],
      skipped: [],
    };
    const notes: string[] = [`Paper (iCT): ${ab.paper}.`];
    /** Per data set: the README's "measured" cell. */
    const measured = new Map<string, string>();
    let pointMetrics = false;
    let imageMetrics = false;
    for (const plan of plans) {
      const results = collect(runsRoot, plan, ab);
      if (results.length === 0) continue;
      const image = isImageData(plan.data);
      for (const r of results) {
        const metrics: Record<string, MeanCiRecord> = {};
        const put = (label: string, v: number[]): void => {
          if (v.length) metrics[label] = meanCiRecord(v);
        };
        if (image) {
          for (const net of [VERDICT_NET, OTHER_NET]) {
            put(`FID 1-step (${net})`, fidOf(net, 'oneStep')(r));
            put(`FID 2-step (${net})`, fidOf(net, 'twoStep')(r));
          }
        }
        put('SWD 1-step', r.swd1);
        put('SWD 2-step', r.swd2);
        if (!image) {
          put('MMD² 1-step', r.mmd1);
          put('MMD² 2-step', r.mmd2);
        }
        summary.rows.push({
          data: plan.data,
          arm: r.arm,
          image,
          metrics,
          n: r.seeds.length,
          steps: plan.steps,
          wallMean: r.wall.length ? Math.round(r.wall.reduce((a, b) => a + b, 0) / r.wall.length) : null,
          incomplete: r.incomplete,
        });
        if (r.incomplete) notes.push(`${plan.data}/${r.arm}: ${r.incomplete} seed(s) not completed yet; not counted.`);
        if (image && r.grid && r.gridTile)
          grids.push({
            from: r.grid,
            to: path.join(outRoot, ab.name, `${plan.data}-samples-1step-${r.arm}.png`),
            tile: r.gridTile,
            title: `${ab.name} / ${r.arm}: 1-step samples, seed ${r.gridSeed ?? '?'}`,
          });
      }
      const metric = (which: 'oneStep' | 'twoStep'): Metric => (image ? fidOf(VERDICT_NET, which) : which === 'oneStep' ? 'swd1' : 'swd2');
      const metricLabel = image ? `FID (${VERDICT_NET})` : 'SWD';
      const ctx = (which: 'oneStep' | 'twoStep') => ({ metric: `${which === 'oneStep' ? '1' : '2'}-step ${metricLabel}`, data: plan.data, steps: plan.steps });
      const v = {
        data: plan.data,
        image,
        metricLabel,
        oneStep: verdicts(results, ab.paperBest, ab.paperWorse, metric('oneStep'), ctx('oneStep')),
        twoStep: verdicts(results, ab.paperBest, ab.paperWorse, metric('twoStep'), ctx('twoStep')),
      };
      summary.verdicts.push(v);
      if (image) {
        imageMetrics = true;
        measured.set(plan.data, results.map((r) => `${r.arm} ${meanCiText(meanCiRecord(fidOf(VERDICT_NET, 'oneStep')(r))) ?? '–'}`).join('; '));
      } else {
        pointMetrics = true;
        measured.set(plan.data, results.map((r) => `${r.arm} ${formatMeanCi(r.swd1, 3).text}`).join('; '));
      }
      notes.push(verdictNote(v));
      for (const s of plan.skipped.filter((x) => x.startsWith(`${ab.name}/`))) {
        summary.skipped.push(`${plan.data}: ${s}`);
        notes.push(`Not run on ${plan.data}: ${s}.`);
      }
      figs.push({
        fig: lineFigure(
          results.map((r) => {
            const { steps, cis } = curve(r);
            const band = cis.every((c) => Number.isFinite(c.lo));
            return { name: r.arm, x: steps, y: cis.map((c) => c.mean), ...(band ? { lo: cis.map((c) => c.lo), hi: cis.map((c) => c.hi) } : {}) };
          }),
          {
            title: `${ab.title} on ${plan.data}: 1-step ${image ? 'pixel ' : ''}SWD (mean${plan.seeds > 1 ? ', 95% band over seeds' : ''})`,
            xTitle: 'training step',
            yTitle: `sliced Wasserstein-2${image ? ' on pixels' : ''} (lower is better)`,
            width: 700,
            height: 440,
          },
        ),
        outBase: path.join(outRoot, ab.name, `${plan.data}-swd1-vs-step`),
      });
    }
    if (summary.rows.length === 0) continue;
    if (pointMetrics)
      notes.push(
        'Metrics, 2D: sliced Wasserstein-2 (256 directions) and unbiased MMD² between 2000 samples of the sampling EMA and 2000 held-out points, at the end of training; mean ± 95% Student-t interval over seeds. Verdicts use seed-paired differences.',
      );
    if (imageMetrics) {
      notes.push(
        `Metrics, images: FID between ${'`ctlab eval --n`'} samples of the sampling EMA and as many held-out test images, in the feature space of each shipped Fashion-MNIST classifier (not Inception: not comparable with published FIDs); verdicts use ${VERDICT_NET}, the net no loss of the kit is built on (the LPIPS-style distance uses ${OTHER_NET}'s features, so ${OTHER_NET} FIDs of LPIPS-trained arms are biased in their favour). SWD here is on raw pixels (1000 images), the in-training curve. With one seed there is no interval; a difference is then only a direction.`,
      );
    }
    notes.push(`${provenance(plans)}; per-run commit, backend, seed and wall time are in each run's run.json.`);
    files.push(...writeSummary(summary, path.join(outRoot, ab.name, 'summary'), notes));
    done.push(ab.name);
    const cell = (image: boolean, f: (v: AblationSummary['verdicts'][number]) => string): string =>
      summary.verdicts
        .filter((v) => v.image === image)
        .map((v) => `${v.data}: ${f(v)}`)
        .join(' / ') || 'not run yet';
    const differs = summary.verdicts.some((v) => !(v.oneStep[0] && verdictAgrees(v.oneStep[0])));
    readmeRows.push({
      technique: `[${ab.title}](${ab.name}/summary.md)`,
      'paper (iCT)': ab.paper,
      'measured, 2D (1-step SWD, mean ± 95%)': cell(false, (v) => measured.get(v.data) ?? ''),
      'agreement, 2D (1-step / 2-step SWD)': cell(false, (v) => `${verdictWord(v.oneStep)} / ${verdictWord(v.twoStep)}`),
      [`measured, Fashion-MNIST (1-step FID, ${VERDICT_NET})`]: cell(true, (v) => measured.get(v.data) ?? ''),
      'agreement, Fashion-MNIST (1-step / 2-step FID)': cell(true, (v) => `${verdictWord(v.oneStep)} / ${verdictWord(v.twoStep)}`),
      'where it does not agree: likely why (hypothesis)': differs ? ab.smallScale : '',
    });
  }

  const imagePlans = plans.filter((p) => isImageData(p.data));
  if (imagePlans.length) {
    const bias = writeEvaluationBias(imagePlans, outRoot, `${provenance(imagePlans)}.`, runsRoot);
    files.push(...bias.files);
    if (bias.fig) figs.push(bias.fig);
  }

  // never a 16-px grid: the run's grid is read back tile by tile and written at >= 64 px with index labels and a title
  for (const g of grids) {
    writeUpscaledGrid(fs.readFileSync(g.from), g.to, g.tile, { title: g.title, file: g.from });
    files.push(g.to);
  }
  for (const { fig, outBase } of figs) files.push(writeFigureHtml(fig, `${outBase}.html`, { bundlePath: bundle }).htmlPath);
  const exported = await exportFigures(figs);
  if (!exported.ok) process.stderr.write(exportSkippedMessage(exported.reason) + '\n');
  else files.push(...exported.files);

  const readmeNotes = [
    `Each row links its summary (arms, seeds, intervals, plots). "agrees" means the paper's preferred arm is better with a 95% interval on the seed-paired difference that excludes 0; "inconclusive" means the interval straddles 0; "disagrees" means the other arm is significantly better; with a single seed there is no interval, and "same direction" / "opposite direction" give only the sign of the difference. Seeds per arm: ${plans.map((p) => `${p.data} ${p.seeds}`).join(', ')} (a few seeds give wide intervals: t(0.975, 2) = 4.3).`,
    `Disagreement at this scale is a result, not a bug report: ${plans.map((p) => planScale(runsRoot, p)).join(', and ')}, are orders of magnitude from CIFAR-10 at 400k steps; SWD is not FID, and FID here is computed in the features of small Fashion-MNIST classifiers, not Inception. The last column is a hypothesis per technique, not something the kit tested.`,
    `[Evaluation bias](evaluation-bias.md): every image run scored by both feature nets, to see whether the LPIPS-style loss flatters the evaluator it is built on.`,
    `Rebuilt by \`${opts.command ?? 'ctlab report'}\` from the run directories (commit ${git.commit}).`,
  ];
  const dropUnused = (rows: Row[]): Row[] =>
    dropEmptyColumns(
      rows.map((r) =>
        Object.fromEntries<Row[string]>(Object.entries(r).map(([k, v]) => [k, v === 'not run yet' && rows.every((x) => x[k] === 'not run yet') ? null : v])),
      ),
    );
  const table = dropUnused(readmeRows);
  const t = writeTable(table, path.join(outRoot, 'README'), { title: 'iCT ablations: the paper against this kit', notes: readmeNotes });
  fs.renameSync(t.mdPath, path.join(outRoot, 'README.md'));
  fs.rmSync(t.csvPath, { force: true });
  files.push(path.join(outRoot, 'README.md'));
  // the power analysis and the verdicts from the summaries just written: their sections go below the table
  const command = opts.command ?? 'ctlab report';
  files.push(...writePowerReport(outRoot, { command, commit: git.commit }).files.filter((f) => !f.endsWith('README.md')));
  const compare = opts.compare ?? [];
  const verdictReport = writeVerdictReport(outRoot, { command, commit: git.commit, ...(opts.label ? { label: opts.label } : {}), compare });
  files.push(...verdictReport.files.filter((f) => !f.endsWith('README.md')));
  if (opts.summaryPath) {
    // the verdicts and the table one folder up, links rewritten relative to it; each compared suite's table below, as its README has it
    const relTo = (dir: string): string =>
      path
        .relative(path.dirname(opts.summaryPath as string), dir)
        .split(path.sep)
        .join('/');
    const relinker =
      (dir: string) =>
      (v: Row[string]): Row[string] =>
        typeof v === 'string' ? v.replace(/\]\(([^)]+)\)/g, (_m, l: string) => `](${relTo(dir)}/${l})`) : v;
    const relink = relinker(outRoot);
    const rows = table.map((r) => Object.fromEntries<Row[string]>(Object.entries(r).map(([k, v]) => [k, relink(v)])));
    const others = [
      `Other results: [quickstart](quickstart/table.md) (\`npm start\`), [image run](images/fid.md) (FID/KID with floor and ceiling, sample grids), [training speed](bench/quiet/unet-step.md) (\`npm run bench\`), [feature nets](feature-nets.json), [zero-shot editing and steps against quality](edit/README.md) (\`scripts/edit-results.sh\`). Every file records its command, commit, backend, seed and wall time.`,
      DISTILL_README_LINE,
    ];
    const label = opts.label ?? 'this suite';
    // one heading level down: the summary's own title is the only '##'
    const verdictSection = (relink(verdictReport.section) as string).replace(/^### /gm, '#### ').replace(/^## /m, '### ');
    const parts = [
      "## ctlab results: iCT's techniques, the paper against this kit",
      '',
      compare.length
        ? `The ${label} ([${relTo(outRoot)}/README.md](${relTo(outRoot)}/README.md)) is the one the verdicts come from; ${compare.map((c) => `the ${c.label} ([${relTo(c.dir)}/README.md](${relTo(c.dir)}/README.md))`).join(' and ')} ${compare.length > 1 ? 'are' : 'is'} kept as ${compare.length > 1 ? 'their' : 'its'} own rows below and quoted under each verdict.`
        : `From [${relTo(outRoot)}/README.md](${relTo(outRoot)}/README.md).`,
      '',
      verdictSection,
      `### The ${label}: the paper against this kit`,
      '',
      markdownTable(rows).trimEnd(),
      '',
      ...readmeNotes.flatMap((n) => [relink(n) as string, '']),
      ...compare.flatMap((c) => {
        const relinkC = relinker(c.dir);
        return [
          `### The ${c.label}`,
          '',
          ...readmeTable(c.dir).map((l) => relinkC(l) as string),
          '',
          `Rebuilt by its own \`ctlab report\`; details, plots and its power analysis in [${relTo(c.dir)}/README.md](${relTo(c.dir)}/README.md).`,
          '',
        ];
      }),
      ...others.flatMap((n) => [n, '']),
    ];
    fs.mkdirSync(path.dirname(opts.summaryPath), { recursive: true });
    fs.writeFileSync(opts.summaryPath, parts.join('\n').replace(/\n+$/, '\n'));
    files.push(opts.summaryPath);
  }
  return { ablations: done, files };
}
