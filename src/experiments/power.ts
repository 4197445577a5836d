/**
 * Power analysis of the committed ablations: from each technique's seed-paired differences (the
 * verdicts in its summary.json: diff = worse arm − paper's best arm, per shared seed), the spread of
 * the difference and the number of seeds that would give a 95% interval narrower than the
 * difference seen, and narrower than a stated minimal effect (a fraction of the best arm's mean).
 * With the same spread, n seeds give a half-width t(0.975, n − 1)·s/√n; the interval excludes 0
 * once that half-width is below |mean difference|. This assumes the spread measured on a few seeds
 * holds at more (with 3 seeds, s itself is uncertain by a factor of ~2), so the numbers are a
 * sizing guide, not a promise.
 *
 * Written into results/ablations/README.md (between markers, so a rerun replaces it) and
 * results/ablations/power.json by `ctlab report --power`, from the summary.json files alone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ablationSummarySchema, type AblationSummary, type PowerRow, type TechniqueVerdict, type TechniqueWord } from '../run/records';
import { tQuantile975 } from '../report/table';

export type { PowerRow, TechniqueVerdict, TechniqueWord } from '../run/records';

/** Seeds beyond this are reported as "> MAX_SEEDS". */
export const MAX_SEEDS = 200;
/** The minimal effect worth deciding, as a fraction of the best arm's metric (10%). */
export const DEFAULT_MIN_EFFECT = 0.1;

/** Smallest n ≥ 2 with t(0.975, n − 1)·sd/√n < target; null beyond MAX_SEEDS, or when sd or target is not usable. */
export function seedsNeeded(sd: number, target: number): number | null {
  if (!(sd >= 0) || !(target > 0) || !Number.isFinite(sd) || !Number.isFinite(target)) return null;
  if (sd === 0) return 2;
  for (let n = 2; n <= MAX_SEEDS; n++) if ((tQuantile975(n - 1) * sd) / Math.sqrt(n) < target) return n;
  return null;
}

function sampleSd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

/** The metric's mean for one arm, from the summary rows (the verdict's metric names the step count and the metric). */
function armMean(s: AblationSummary, data: string, arm: string, metric: string): number {
  const row = s.rows.find((r) => r.data === data && r.arm === arm);
  if (!row) return NaN;
  // verdict metrics read "1-step SWD" / "1-step FID (fmnist-strided)"; row metrics "SWD 1-step" / "FID 1-step (fmnist-strided)"
  const m = /^(\d+)-step (\S+)(.*)$/.exec(metric);
  const key = m ? `${m[2]} ${m[1]}-step${m[3]}` : metric;
  return row.metrics[key]?.mean ?? NaN;
}

/** One row per (ablation, data set, step count, worse arm). */
export function powerAnalysis(summaries: readonly AblationSummary[], minEffect = DEFAULT_MIN_EFFECT): PowerRow[] {
  if (!(minEffect > 0)) throw new RangeError(`powerAnalysis: minEffect must be > 0, got ${minEffect}`);
  const rows: PowerRow[] = [];
  for (const s of summaries) {
    for (const v of s.verdicts) {
      for (const vd of [...v.oneStep, ...v.twoStep]) {
        const values = vd.diff.values.filter((x) => Number.isFinite(x));
        const sd = sampleSd(values);
        const bestMean = armMean(s, v.data, vd.best, vd.metric);
        rows.push({
          ablation: s.ablation,
          data: v.data,
          metric: vd.metric,
          steps: vd.steps,
          best: vd.best,
          worse: vd.worse,
          n: values.length,
          meanDiff: vd.diff.mean,
          sdDiff: sd,
          halfWidth: vd.diff.halfWidth,
          outcome: vd.outcome,
          bestMean,
          seedsForSeen: seedsNeeded(sd, Math.abs(vd.diff.mean)),
          seedsForMinEffect: seedsNeeded(sd, minEffect * Math.abs(bestMean)),
          minEffect,
        });
      }
    }
  }
  return rows;
}

const g = (x: number): string => (Number.isFinite(x) ? Number(x.toPrecision(3)).toString() : '–');
const seeds = (n: number | null, have: number): string => (n === null ? `> ${MAX_SEEDS}` : n <= have ? `${n} (have ${have})` : String(n));

export const POWER_BEGIN = '<!-- power analysis: ctlab report --power -->';
export const POWER_END = '<!-- end of power analysis -->';

/** The section for results/ablations/README.md. */
export function powerMarkdown(rows: readonly PowerRow[], provenance: string): string {
  const lines = [
    POWER_BEGIN,
    '## Power analysis: how many seeds would decide each comparison',
    '',
    `From the committed seed-paired differences (worse arm − the paper's best arm, lower metric is better): their spread s, and the seeds n for which a 95% interval, t(0.975, n − 1)·s/√n, is narrower than the difference seen (so its sign would be decided if the difference and spread held), and narrower than a minimal effect of ${Math.round(100 * (rows[0]?.minEffect ?? DEFAULT_MIN_EFFECT))}% of the best arm's value. s from 3 seeds is itself uncertain (by a factor of about 2 either way), so these are sizing guides; "> ${MAX_SEEDS}" means the difference seen is tiny against the spread (no seed count here would decide it: the budget, steps or scale, is what to change).`,
    '',
    '| technique | data | metric | steps | best vs worse | n | mean diff ± 95% | s | verdict now | seeds to decide the difference seen | seeds for the minimal effect |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.ablation} | ${r.data} | ${r.metric} | ${r.steps} | ${r.best} vs ${r.worse} | ${r.n} | ${g(r.meanDiff)} ± ${g(r.halfWidth)} | ${g(r.sdDiff)} | ${r.outcome} | ${seeds(r.seedsForSeen, r.n)} | ${seeds(r.seedsForMinEffect, r.n)} |`,
    ),
    '',
    provenance,
    POWER_END,
  ];
  return lines.join('\n') + '\n';
}

/**
 * Replace the section between `begin` and `end` in a README, or insert it: before the line that
 * starts `before` when given and present, else at the end.
 */
export function withSection(readme: string, begin: string, end: string, section: string, before?: string): string {
  const a = readme.indexOf(begin);
  const b = readme.indexOf(end);
  if (a >= 0 && b > a) return readme.slice(0, a) + section + readme.slice(b + end.length + 1);
  const at = before === undefined ? -1 : readme.indexOf(before);
  if (at >= 0) return `${readme.slice(0, at)}${section}\n${readme.slice(at)}`;
  return `${readme.replace(/\n*$/, '\n\n')}${section}`;
}

/** Replace (or append) the power section of a README between its markers. */
export function withPowerSection(readme: string, section: string): string {
  return withSection(readme, POWER_BEGIN, POWER_END, section);
}

/** Read every <dir>/<ablation>/summary.json (validated; a bad one names its file). */
export function readSummaries(dir: string): AblationSummary[] {
  if (!fs.existsSync(dir)) throw new Error(`${dir}: no such directory (expected the ablation results, e.g. results/ablations)`);
  const out: AblationSummary[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, name, 'summary.json');
    if (!fs.existsSync(file)) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`${file}: not JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    const r = ablationSummarySchema.safeParse(raw);
    if (!r.success) throw new Error(`${file}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    out.push(r.data);
  }
  if (out.length === 0) throw new Error(`${dir}: no <ablation>/summary.json found (run ctlab report first)`);
  return out;
}

/** `ctlab report --power`: power.json and the README section in `dir`. */
export function writePowerReport(dir: string, opts: { command: string; commit: string; minEffect?: number }): { rows: PowerRow[]; files: string[] } {
  const rows = powerAnalysis(readSummaries(dir), opts.minEffect ?? DEFAULT_MIN_EFFECT);
  const provenance = `Computed by \`${opts.command}\` from the summary.json files beside this README (commit ${opts.commit}).`;
  const json = path.join(dir, 'power.json');
  fs.writeFileSync(
    json,
    JSON.stringify({ command: opts.command, commit: opts.commit, minEffect: opts.minEffect ?? DEFAULT_MIN_EFFECT, maxSeeds: MAX_SEEDS, rows }, null, 2) + '\n',
  );
  const readme = path.join(dir, 'README.md');
  const before = fs.existsSync(readme) ? fs.readFileSync(readme, 'utf8') : '';
  fs.writeFileSync(readme, withPowerSection(before, powerMarkdown(rows, provenance)));
  return { rows, files: [json, readme] };
}

// ---------------------------------------------------------------- verdicts per technique

const decided = (r: PowerRow): boolean => r.n >= 2 && (r.outcome === 'agrees' || r.outcome === 'disagrees');

/** The word for a set of comparisons: decided ones agree or disagree; the rest are undecided at this budget. */
export function techniqueWord(rows: readonly PowerRow[]): TechniqueWord {
  const ran = rows.filter((r) => r.n >= 2);
  if (ran.length === 0) return 'not run';
  const agree = ran.filter((r) => decided(r) && r.outcome === 'agrees').length;
  const disagree = ran.filter((r) => decided(r) && r.outcome === 'disagrees').length;
  const undecided = ran.length - agree - disagree;
  if (agree && disagree) return 'mixed';
  if (agree) return undecided ? 'agrees in part' : 'agrees';
  if (disagree) return undecided ? 'disagrees in part' : 'disagrees';
  return 'undecided';
}

/** The largest seed count over the undecided comparisons (null when any of them has none). */
function seedsOver(rows: readonly PowerRow[], pick: (r: PowerRow) => number | null): number | null {
  const open = rows.filter((r) => r.n >= 2 && !decided(r));
  if (open.length === 0) return null;
  const ns = open.map(pick);
  return ns.some((n) => n === null) ? null : Math.max(...(ns as number[]));
}

/** One verdict per (technique, data set, compared arm) of a suite, in the summaries' order. */
export function techniqueVerdicts(summaries: readonly AblationSummary[], rows: readonly PowerRow[], suite: string): TechniqueVerdict[] {
  const out: TechniqueVerdict[] = [];
  for (const s of summaries) {
    const mine = rows.filter((r) => r.ablation === s.ablation);
    const keys = [...new Set(mine.map((r) => `${r.data}\u0000${r.worse}`))];
    for (const key of keys) {
      const [data, worse] = key.split('\u0000') as [string, string];
      const group = mine.filter((r) => r.data === data && r.worse === worse);
      const oneStep = group.find((r) => r.metric.startsWith('1-step'));
      const twoStep = group.find((r) => r.metric.startsWith('2-step'));
      const both = [oneStep, twoStep].filter((r): r is PowerRow => r !== undefined);
      out.push({
        ablation: s.ablation,
        title: s.title,
        data,
        suite,
        best: group[0]?.best ?? s.paperBest,
        worse,
        steps: group[0]?.steps ?? 0,
        seeds: Math.min(...both.map((r) => r.n)),
        ...(oneStep ? { oneStep } : {}),
        ...(twoStep ? { twoStep } : {}),
        word: techniqueWord(both),
        seedsToDecide: seedsOver(both, (r) => r.seedsForSeen),
        seedsForMinEffect: seedsOver(both, (r) => r.seedsForMinEffect),
      });
    }
  }
  return out;
}
