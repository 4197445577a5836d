/**
 * Result tables: rows of plain values written as CSV (full precision, for re-analysis) and as a
 * GitHub markdown table (numbers rounded, for reading), both through arquero. Also the
 * "mean ± 95% interval over seeds" summary used by ablation reports.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as aq from 'arquero';

/** One table cell. `null` is a missing value (empty in CSV and markdown). */
export type Cell = string | number | null;
/** One table row, keyed by column name. */
export type Row = Record<string, Cell>;

/** Options for {@link markdownTable} and {@link writeTable}. */
export interface TableOptions {
  /** Heading written above the markdown table. */
  title?: string;
  /** Significant digits in markdown for columns not all whole numbers (default 4). The CSV keeps full precision. */
  digits?: number;
  /** Lines written as text under the markdown table (e.g. "run stopped early at step 3000"). */
  notes?: string[];
}

/** Paths written by {@link writeTable}. */
export interface TableFiles {
  csvPath: string;
  mdPath: string;
}

/** Column names in order of first appearance across all rows. */
function columnNames(rows: readonly Row[]): string[] {
  const seen = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) seen.add(key);
  return [...seen];
}

/** Rows with every column present (missing -> null), as an arquero table. */
function toTable(rows: readonly Row[]): { table: aq.ColumnTable; names: string[] } {
  const names = columnNames(rows);
  const full = rows.map((row) => {
    const out: Row = {};
    for (const name of names) out[name] = row[name] ?? null;
    return out;
  });
  return { table: aq.from(full, names), names };
}

/** `digits` significant digits, fixed notation for 1e-3 <= |x| < 1e15, exponent notation otherwise. */
function formatSig(x: number, digits: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Inf' : '-Inf';
  const d = Math.max(1, Math.min(21, Math.round(digits)));
  const a = Math.abs(x);
  if (a === 0) return x.toFixed(d - 1);
  if (a < 1e-3 || a >= 1e15) return x.toExponential(d - 1);
  return x.toFixed(decimalsFor(a, d));
}

/** Decimal places that show `digits` significant digits of |a| (0 for large values). */
function decimalsFor(a: number, digits: number): number {
  return Math.max(0, Math.min(20, digits - (Math.floor(Math.log10(a)) + 1)));
}

/**
 * Formats a number for display: integers as-is, other values to `digits` significant digits
 * (fixed notation when 1e-3 <= |x| < 1e15, large values keeping all integer digits; exponent
 * notation otherwise). NaN and ±Infinity print as NaN, Inf, -Inf.
 */
export function formatNumber(x: number, digits = 4): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  return formatSig(x, digits);
}

/** The table as CSV text (header row, full-precision numbers; arquero quotes fields with `,`, `"` or newlines). */
export function csvTable(rows: readonly Row[]): string {
  if (rows.length === 0) return '';
  return aq.toCSV(toTable(rows).table);
}

/** The table as markdown: optional `## title`, the GitHub table, then the notes as paragraphs. */
export function markdownTable(rows: readonly Row[], opts: TableOptions = {}): string {
  const digits = opts.digits ?? 4;
  const parts: string[] = [];
  if (opts.title) parts.push(`## ${opts.title.replace(/\s*\n\s*/g, ' ')}`);
  if (rows.length === 0) {
    parts.push('(no rows)');
  } else {
    const { table, names } = toTable(rows);
    const format: Record<string, (v: Cell) => string> = {};
    const align: Record<string, 'l' | 'r'> = {};
    for (const name of names) {
      const values = rows.map((r) => r[name] ?? null);
      align[name] = values.every((v) => v === null || typeof v === 'number') ? 'r' : 'l';
      // a column of whole numbers (steps, seeds) prints them whole; otherwise all get `digits` digits
      const whole = values.every((v) => typeof v !== 'number' || (Number.isInteger(v) && Math.abs(v) < 1e15));
      format[name] = (v) => (v === null ? '' : typeof v === 'number' ? (whole ? String(v) : formatSig(v, digits)) : v.replace(/\r?\n/g, '<br>'));
    }
    parts.push(aq.toMarkdown(table, { format, align }).trimEnd());
  }
  for (const note of opts.notes ?? []) parts.push(note);
  return parts.join('\n\n') + '\n';
}

/**
 * Writes `<outBase>.csv` and `<outBase>.md` (creating the folder). Notes and title go only into the
 * markdown, so the CSV stays machine-readable.
 */
export function writeTable(rows: readonly Row[], outBase: string, opts: TableOptions = {}): TableFiles {
  const csvPath = `${outBase}.csv`;
  const mdPath = `${outBase}.md`;
  mkdirSync(dirname(csvPath), { recursive: true });
  writeFileSync(csvPath, csvTable(rows));
  writeFileSync(mdPath, markdownTable(rows, opts));
  return { csvPath, mdPath };
}

/**
 * Two-sided 95% Student t critical values t(0.975, df) for df = 1..30, from the NIST/SEMATECH
 * e-Handbook of Statistical Methods, §1.3.6.7.2 "Critical Values of the Student's t Distribution"
 * (https://www.itl.nist.gov/div898/handbook/eda/section3/eda3672.htm); checked against
 * scipy.stats.t.ppf(0.975, df) rounded to 3 decimals.
 */
const T975: readonly number[] = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069,
  2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t(0.975, df): the table above for df <= 30, the normal 1.96 beyond (about 3% low at df = 31). */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`tQuantile975: df must be a positive integer, got ${df}`);
  return df <= T975.length ? (T975[df - 1] as number) : 1.96;
}

/** Mean with a 95% Student-t confidence interval; see {@link formatMeanCi}. */
export interface MeanCi {
  mean: number;
  /** Sample standard deviation (n - 1 denominator); NaN when n < 2. */
  sd: number;
  /** t(0.975, n-1) · sd / √n; NaN when n < 2. */
  halfWidth: number;
  lo: number;
  hi: number;
  n: number;
  /** "mean ± halfWidth"; "mean (n=1)" for one value, "n/a" for none. */
  text: string;
}

/** "mean ± hw" with hw to `digits` significant digits and the mean to the same decimal places. */
function meanPmText(mean: number, hw: number, digits: number): string {
  const a = Math.abs(hw);
  if (!Number.isFinite(mean) || !Number.isFinite(hw) || a === 0 || a < 1e-3 || a >= 1e15) {
    return `${formatSig(mean, digits)} ± ${formatSig(hw, digits)}`;
  }
  const dec = decimalsFor(a, Math.max(1, Math.round(digits)));
  return `${mean.toFixed(dec)} ± ${hw.toFixed(dec)}`;
}

/**
 * Mean and 95% confidence interval of the mean by Student's t (e.g. over seeds). NaN values are kept
 * (a diverged seed makes the summary NaN rather than silently vanishing). `digits` sets the
 * significant digits of `text`.
 */
export function formatMeanCi(values: readonly number[], digits = 4): MeanCi {
  const n = values.length;
  if (n === 0) return { mean: NaN, sd: NaN, halfWidth: NaN, lo: NaN, hi: NaN, n, text: 'n/a' };
  const mean = values.reduce((s, v) => s + v, 0) / n;
  if (n === 1) return { mean, sd: NaN, halfWidth: NaN, lo: NaN, hi: NaN, n, text: `${formatSig(mean, digits)} (n=1)` };
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  const halfWidth = (tQuantile975(n - 1) * sd) / Math.sqrt(n);
  return {
    mean,
    sd,
    halfWidth,
    lo: mean - halfWidth,
    hi: mean + halfWidth,
    n,
    text: meanPmText(mean, halfWidth, digits),
  };
}
