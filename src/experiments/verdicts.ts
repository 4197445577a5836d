/**
 * Seed-paired verdicts as typed objects ({@link Verdict}, src/run/records.ts), and their prose,
 * written only here, at the edge: summary.md notes, the README technique table, the notebooks.
 * Nothing reads prose back; readers take summary.json.
 */
import { formatMeanCi } from '../report/table';
import type { AblationSummary, MeanCiRecord, Verdict } from '../run/records';

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
