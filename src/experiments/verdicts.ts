/**
 * Seed-paired verdicts as typed objects ({@link Verdict}, src/run/records.ts), and their prose,
 * written only here, at the edge: summary.md notes, the README technique table, the notebooks.
 * Nothing reads prose back; readers take summary.json.
 */
import { formatMeanCi } from '../report/table';
import type { AblationSummary, MeanCiRecord, Verdict } from '../run/records';
import { MAX_SEEDS, type PowerRow, type TechniqueVerdict } from './power';

/** Mean ± interval of some values, with the values kept (NaN kept: a diverged seed shows). */
export function meanCiRecord(values: readonly number[]): MeanCiRecord {
  const ci = formatMeanCi(values);
  return { mean: ci.mean, halfWidth: ci.halfWidth, n: ci.n, values: [...values] };
}

/** "mean ± hw" text of a statistic (as formatMeanCi writes it); null when there are no values. */
export function meanCiText(m: MeanCiRecord | undefined, digits = 4): string | null {
  return m?.values.length ? formatMeanCi(m.values, digits).text : null;
}

/**
 * The verdict of one comparison: diff = worse − best per shared seed (lower is better), agrees
 * when the 95% interval is above 0; with one pair only its sign.
 */
export function pairedVerdict(ctx: { metric: string; data: string; steps: number }, best: string, worse: string, diffs: readonly number[]): Verdict {
  const diff = meanCiRecord(diffs);
  let outcome: Verdict['outcome'];
  if (diffs.length === 0) outcome = 'too few seeds';
  else if (diffs.length === 1) outcome = (diffs[0] as number) > 0 ? 'same direction' : 'opposite direction';
  else {
    const lo = diff.mean - diff.halfWidth;
    const hi = diff.mean + diff.halfWidth;
    outcome = lo > 0 ? 'agrees' : hi < 0 ? 'disagrees' : 'inconclusive';
  }
  return { ...ctx, best, worse, diff, outcome };
}

/** One verdict as a sentence fragment: "agrees (ct − ict = 0.17 ± 0.02, n=3)". */
export function verdictText(v: Verdict): string {
  switch (v.outcome) {
    case 'too few seeds':
      return `${v.best} vs ${v.worse}: too few paired seeds (${v.diff.n})`;
    case 'same direction':
    case 'opposite direction':
      return `${v.outcome} (1 seed, no interval: ${v.worse} − ${v.best} = ${(v.diff.values[0] as number).toPrecision(3)})`;
    default:
      return `${v.outcome} (${v.worse} − ${v.best} = ${formatMeanCi(v.diff.values).text}, n=${v.diff.n})`;
  }
}

/** Several verdicts joined ("; "), or 'not run' when there are none. */
export function verdictsText(vs: readonly Verdict[]): string {
  return vs.map(verdictText).join('; ') || 'not run';
}

/** The headline word of a list of verdicts (the first one's outcome), for the README's agreement columns. */
export function verdictWord(vs: readonly Verdict[]): string {
  const v = vs[0];
  if (!v) return 'not run';
  return v.outcome === 'too few seeds' ? `${v.best} vs ${v.worse}: too few paired seeds` : v.outcome;
}

/** The summary.md note of one data set's verdicts: "<data>, 1-step SWD: … 2-step SWD: …." */
export function verdictNote(v: AblationSummary['verdicts'][number]): string {
  return `${v.data}, 1-step ${v.metricLabel}: ${verdictsText(v.oneStep)}. 2-step ${v.metricLabel}: ${verdictsText(v.twoStep)}.`;
}

const sig = (x: number): string => (Number.isFinite(x) ? `${x > 0 ? '+' : ''}${Number(x.toPrecision(3))}` : '–');
const pm = (r: PowerRow | undefined): string => (r && r.n >= 2 ? `${sig(r.meanDiff)} ± ${Number(r.halfWidth.toPrecision(2))}` : 'not run');
const steps = (r: PowerRow): string => (r.metric.startsWith('1-step') ? '1 step' : '2 steps');

/** What budget would decide the comparisons left open, in words. */
function budgetClause(v: TechniqueVerdict): string {
  const at = `${v.steps.toLocaleString('en-US')} steps`;
  if (v.seedsToDecide !== null) return `with the spread seen, about ${v.seedsToDecide} seeds at ${at} would decide a difference of this size`;
  const minEffect = Math.round(100 * (v.oneStep?.minEffect ?? v.twoStep?.minEffect ?? 0.1));
  const bound =
    v.seedsForMinEffect === null
      ? `even ${MAX_SEEDS} seeds would not bound it within ±${minEffect}% of the paper arm's value`
      : `${v.seedsForMinEffect} seeds would bound it within ±${minEffect}% of the paper arm's value`;
  return `the difference seen is too small against the seed-to-seed spread for any count up to ${MAX_SEEDS} seeds to decide its sign at ${at} (${bound}); a longer budget or a larger scale is what could show an effect`;
}

/**
 * The verdict of one technique in one sentence: the paired difference (worse − best, lower metric
 * is better, so > 0 favours the paper's arm) at 1 and 2 sampling steps with their 95% intervals,
 * then agrees / disagrees / undecided at this budget, and for what is undecided, the budget that
 * would decide it (from the power analysis).
 */
export function verdictSentence(v: TechniqueVerdict): string {
  const metric = (v.oneStep ?? v.twoStep)?.metric.replace(/^\d+-step /, '') ?? '';
  const budget = `${v.steps.toLocaleString('en-US')} steps × ${v.seeds} seeds`;
  const head = `${v.worse} − ${v.best} in ${metric}: ${pm(v.oneStep)} at 1 step, ${pm(v.twoStep)} at 2 steps (${budget})`;
  const rows = [v.oneStep, v.twoStep].filter((r): r is PowerRow => r !== undefined && r.n >= 2);
  const at = (o: string): string =>
    rows
      .filter((r) => (o === 'open' ? r.outcome !== 'agrees' && r.outcome !== 'disagrees' : r.outcome === o))
      .map(steps)
      .join(' and ');
  switch (v.word) {
    case 'not run':
      return `${v.worse} vs ${v.best}: not run at this budget (no paired seeds).`;
    case 'agrees':
      return `${head}: **agrees** with the paper (${v.best} better at ${at('agrees')}).`;
    case 'disagrees':
      return `${head}: **disagrees** with the paper (${v.worse} better at ${at('disagrees')}).`;
    case 'mixed':
      return `${head}: **mixed**: ${v.best} better at ${at('agrees')}, ${v.worse} better at ${at('disagrees')}.`;
    case 'agrees in part':
      return `${head}: **agrees at ${at('agrees')}**, undecided at ${at('open')}: ${budgetClause(v)}.`;
    case 'disagrees in part':
      return `${head}: **disagrees at ${at('disagrees')}** (${v.worse} better), undecided at ${at('open')}: ${budgetClause(v)}.`;
    case 'undecided':
      return `${head}: **undecided at this budget**: ${budgetClause(v)}.`;
  }
}
