/**
 * Helpers for tslab notebook cells: figures as static PNG (what GitHub and nbviewer show), tables as
 * HTML, markdown, images from disk, the committed ablation results, and the notebook scale.
 * tslab is not a dependency of the kit: scripts/notebooks.sh installs it under jupyter/, and it is
 * loaded only inside its kernel. Elsewhere (plain `node`) every helper prints a text line to stdout
 * instead, so the same code runs as a script.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as aq from 'arquero';
import { findAblation } from '../experiments/ablations';
import { summaryTextRows } from '../experiments/report';
import { readVerdictsFile, techniqueBullets } from '../experiments/verdict-report';
import { verdictNote } from '../experiments/verdicts';
import type { AblationSummary } from '../run/records';
import { readAblationSummary } from '../run/run-dir';
import { exportSkippedMessage, figuresToPng, type ImageSize } from '../report/export';
import type { Figure } from '../report/plot';
import { formatNumber, type Row } from '../report/table';

/** The part of tslab's `display` that ctlab uses (tslab's own `Display`, minimally). */
export interface NotebookDisplay {
  png: (bytes: Uint8Array) => void;
  html: (s: string) => void;
  markdown: (s: string) => void;
  text: (s: string) => void;
}

function isDisplay(v: unknown): v is NotebookDisplay {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as Record<string, unknown>;
  return ['png', 'html', 'markdown', 'text'].every((k) => typeof d[k] === 'function');
}

/** Stand-in outside a kernel: one text line per output on stdout. */
const consoleDisplay: NotebookDisplay = {
  png: (b) => process.stdout.write(`[image/png, ${b.length} bytes]\n`),
  html: (s) =>
    process.stdout.write(
      `${s
        .replace(/<[^>]*>/g, ' ')
        .replace(/[ \t]+/g, ' ')
        .trim()}\n`,
    ),
  markdown: (s) => process.stdout.write(`${s.trimEnd()}\n`),
  text: (s) => process.stdout.write(`${s.trimEnd()}\n`),
};

let cached: NotebookDisplay | null = null;

/** Runs `f`, else (tslab's "Not ready" outside a kernel) the stdout stand-in. */
function guarded<A>(f: (a: A) => void, fallback: (a: A) => void): (a: A) => void {
  return (a) => {
    try {
      f(a);
    } catch {
      fallback(a);
    }
  };
}

/**
 * tslab's `display` when running inside a tslab kernel (found through the kernel's own loaded copy
 * of tslab, wherever it is installed), else a stdout stand-in, so plain `node` never loads tslab.
 */
export function notebookDisplay(): NotebookDisplay {
  if (cached) return cached;
  let inner: NotebookDisplay | null = null;
  // inside a kernel, tslab's jupyter module is loaded; its sibling public.js is the same instance
  const loaded = Object.keys(require.cache).find((k) => /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(k));
  if (loaded) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the tslab instance already loaded in this kernel, found by its path at run time
      const mod: unknown = require(join(dirname(loaded), 'public.js'));
      const d = typeof mod === 'object' && mod !== null ? (mod as { display?: unknown }).display : undefined;
      if (isDisplay(d)) inner = d;
    } catch {
      inner = null;
    }
  }
  if (!inner) return (cached = consoleDisplay);
  const t = inner;
  return (cached = {
    png: guarded((b: Uint8Array) => t.png(b), consoleDisplay.png),
    html: guarded((s: string) => t.html(s), consoleDisplay.html),
    markdown: guarded((s: string) => t.markdown(s), consoleDisplay.markdown),
    text: guarded((s: string) => t.text(s), consoleDisplay.text),
  });
}

/** 'tiny' when env CTLAB_NOTEBOOK_SCALE=tiny (CI), else 'normal'. */
export type NotebookScale = 'tiny' | 'normal';

/** The scale notebooks run at, from env `CTLAB_NOTEBOOK_SCALE` ('tiny' in CI: callers shrink steps). */
export function notebookScale(): NotebookScale {
  return (process.env.CTLAB_NOTEBOOK_SCALE ?? '').trim().toLowerCase() === 'tiny' ? 'tiny' : 'normal';
}

/** `normal` at normal scale, `tiny` at tiny scale: `byScale(300, 20)` training steps. */
export function byScale<T>(normal: T, tiny: T): T {
  return notebookScale() === 'tiny' ? tiny : normal;
}

/**
 * Shows figures as static PNGs, rendered in one chromium session (~2 s to start). Without chromium
 * it shows a text note instead and never throws. Resolves to nothing, so a cell that ends with
 * `await nb.showFigure(...)` prints no value.
 */
export async function showFigures(figs: Figure[], size: ImageSize = {}): Promise<void> {
  const d = notebookDisplay();
  const out = await figuresToPng(figs, size);
  if (!out.ok) {
    d.text(`(figure not shown) ${exportSkippedMessage(out.reason)}`);
    return;
  }
  for (const png of out.pngs) d.png(png);
}

/** Shows one figure as a static PNG; see {@link showFigures}. */
export function showFigure(fig: Figure, size: ImageSize = {}): Promise<void> {
  return showFigures([fig], size);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
}

/** Rows as an HTML table string (numbers to `digits` significant digits, right-aligned). */
export function htmlTable(rows: readonly Row[], digits = 4): string {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: Row[string] | undefined, tag: 'td' | 'th'): string =>
    typeof v === 'number' ? `<${tag} style="text-align:right">${escapeHtml(formatNumber(v, digits))}</${tag}>` : `<${tag}>${escapeHtml(v ?? '')}</${tag}>`;
  const head = `<tr>${names.map((n) => cell(n, 'th')).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${names.map((n) => cell(r[n], 'td')).join('')}</tr>`).join('\n');
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/** Shows rows as an HTML table (renders in JupyterLab, VS Code, nbviewer and GitHub). */
export function showTable(rows: readonly Row[], opts: { title?: string; digits?: number } = {}): void {
  const title = opts.title ? `<h4>${escapeHtml(opts.title)}</h4>\n` : '';
  notebookDisplay().html(title + (rows.length ? htmlTable(rows, opts.digits) : '<p>(no rows)</p>'));
}

/** Shows markdown text. */
export function showMarkdown(text: string): void {
  notebookDisplay().markdown(text);
}

/** Shows a PNG file; a missing file gives a text note. */
export function showImage(pngPath: string): void {
  if (!existsSync(pngPath)) notebookDisplay().text(`(image not found: ${pngPath})`);
  else notebookDisplay().png(readFileSync(pngPath));
}

/** Rows of a CSV file (numbers parsed), e.g. a committed results table. */
export function readCsvRows(csvPath: string): Row[] {
  return aq.fromCSV(readFileSync(csvPath, 'utf8')).objects() as Row[];
}

/** Shows a CSV file as an HTML table; a missing file gives a text note. */
export function showCsvTable(csvPath: string, opts: { title?: string; digits?: number } = {}): void {
  if (!existsSync(csvPath)) notebookDisplay().text(`(table not found: ${csvPath})`);
  else showTable(readCsvRows(csvPath), opts);
}

/**
 * The repository root: the nearest folder at or above `from` (default: the working directory, the
 * notebook's folder under tslab) with a `results/` folder and a package.json, else `from`.
 */
export function repoRoot(from: string = process.cwd()): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'results'))) return dir;
    const up = resolve(dir, '..');
    if (up === dir) return resolve(from);
    dir = up;
  }
}

/**
 * The committed ablation suites under results/, shown newest first: the longer suite of issue #19
 * (its verdicts quote the others) and the 1,000-step suite, kept as it was. Their budgets are read
 * from each summary, not written here.
 */
export const RESULT_SUITES = [
  { dir: 'ablations-long', label: 'longer suite' },
  { dir: 'ablations', label: '1,000-step suite' },
] as const;
export type ResultSuite = (typeof RESULT_SUITES)[number]['dir'];

/** What `results/<suite>/<name>/` holds, read back from `ctlab report`'s files. */
export interface AblationResults {
  name: string;
  dir: string;
  /** One row per (data, arm), metrics as "mean ± half-width" text (summary.md's table; from summary.json, else summary.csv). */
  rows: Row[];
  /** summary.json: the rows and verdicts as data (null for a report written before it existed). */
  summary: AblationSummary | null;
  /** summary.md paragraphs under the table (paper claim, verdicts, metric definitions, provenance). */
  notes: string[];
  /** PNG plots in the folder. */
  pngs: string[];
}

/** Reads `<root>/results/<suite>/<name>/` (default the 1,000-step suite, results/ablations); null when the ablation has no report there. */
export function readAblationResults(name: string, root: string = repoRoot(), suite: ResultSuite = 'ablations'): AblationResults | null {
  const dir = join(root, 'results', suite, name);
  const md = join(dir, 'summary.md');
  const csv = join(dir, 'summary.csv');
  if (!existsSync(md) || !existsSync(csv)) return null;
  const json = join(dir, 'summary.json');
  const summary = existsSync(json) ? readAblationSummary(json) : null;
  const rows = summary ? summaryTextRows(summary.rows) : readCsvRows(csv);
  const notes = markdownNotes(md);
  const pngs = readdirSync(dir)
    .filter((f) => f.endsWith('.png'))
    .sort()
    .map((f) => join(dir, f));
  return { name, dir, rows, summary, notes, pngs };
}

/** The note shown for an ablation that has not been run. */
export function notRunYet(name: string, suite: ResultSuite = 'ablations'): string {
  return suite === 'ablations'
    ? `not run yet: ctlab ablate ${name} (then ctlab report writes results/ablations/${name}/)`
    : `not in the ${RESULT_SUITES.find((x) => x.dir === suite)?.label ?? suite} yet (results/${suite}/${name}/): bash scripts/fidelity-runs.sh, then bash scripts/fidelity-report.sh export and report`;
}

/** "eight-gaussians, 10000 steps, n = 10 seed(s) per arm; …" from a summary's rows. */
function suiteScale(r: AblationResults | null): string {
  return [...new Set((r?.summary?.rows ?? []).map((row) => `${row.data}, ${row.steps} steps, n = ${row.n} seed(s) per arm`))].join('; ');
}

/**
 * Shows an ablation's committed results, one suite after the other (RESULT_SUITES): its summary
 * table, notes and plots, or the "not run yet" note ({@link readAblationResults} returns the same data).
 */
export function showAblationResults(name: string, root: string = repoRoot()): void {
  const d = notebookDisplay();
  for (const suite of RESULT_SUITES) {
    const r = readAblationResults(name, root, suite.dir);
    if (!r) {
      d.text(notRunYet(name, suite.dir));
      continue;
    }
    showTable(r.rows, { title: `${findAblation(name).title}, the ${suite.label} (${suiteScale(r)}): results/${suite.dir}/${name}/summary.md` });
    d.markdown(r.notes.join('\n\n'));
    for (const png of r.pngs) showImage(png);
  }
}

/**
 * A "paper vs this kit" paragraph built from the ablation's data (the paper's claim), the longer
 * suite's verdicts (results/ablations-long/verdicts.json: one sentence per data set, the other
 * suites beneath) and, where that suite has none, the 1,000-step suite's verdict lines; no number
 * is written by hand.
 */
export function paperVsKit(name: string, root: string = repoRoot()): string {
  const ab = findAblation(name);
  const claim = `**Paper:** ${ab.paper}.`;
  const caveat =
    '"agrees" = the seed-paired 95% interval of the difference excludes 0 in the paper\'s favour; "undecided" = it straddles 0, and the sentence says what budget would decide it; "same direction" / "opposite direction" = one seed, so only the sign of the difference is known. 2D toy data with a small MLP, and 16×16 Fashion-MNIST with a small U-Net for a few thousand steps, are far from the paper\'s CIFAR-10 scale; SWD is not FID, and FID here uses small Fashion-MNIST classifiers, not Inception.';
  const long = readVerdictsFile(join(root, 'results', 'ablations-long'));
  const bullets = long ? techniqueBullets(long.main, long.others, name) : [];
  if (bullets.length) {
    const scale = suiteScale(readAblationResults(name, root, 'ablations-long'));
    return [
      claim,
      `**This kit**, the paper's preferred arm \`${ab.paperBest}\` against ${ab.paperWorse.map((w) => `\`${w}\``).join(', ')} in the longer suite (${scale}; results/ablations-long/verdicts.json), the other suites beneath:`,
      bullets.join('\n'),
      caveat,
    ].join('\n\n');
  }
  const r = readAblationResults(name, root);
  if (!r) return `${claim}\n\n**This kit:** ${notRunYet(name)}.`;
  const verdicts = r.summary ? r.summary.verdicts.map(verdictNote) : [];
  const kit = verdicts.length
    ? verdicts.map((v) => `- ${v}`).join('\n')
    : r.summary
      ? '- no verdict in the summary (too few completed seeds?)'
      : `- no summary.json in results/ablations/${name}/ yet: rebuild it with ctlab report`;
  return [
    claim,
    `**This kit** (${suiteScale(r)}), the paper's preferred arm \`${ab.paperBest}\` against ${ab.paperWorse.map((w) => `\`${w}\``).join(', ')}:`,
    kit,
    caveat,
  ].join('\n\n');
}

/** Shows {@link paperVsKit} as markdown. */
export function showPaperVsKit(name: string, root: string = repoRoot()): void {
  showMarkdown(paperVsKit(name, root));
}

/** Paragraphs of a markdown file under its title and table (notes, findings, provenance). */
function markdownNotes(mdPath: string): string[] {
  return readFileSync(mdPath, 'utf8')
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '' && !p.startsWith('#') && !p.startsWith('|'));
}

/**
 * Shows `results/ablations/evaluation-bias.*` (written by `ctlab report` from the image ablation
 * runs): the table of every run under both evaluators, its finding, and the scatter plot.
 */
export function showEvaluationBias(root: string = repoRoot()): void {
  const base = join(root, 'results', 'ablations', 'evaluation-bias');
  const d = notebookDisplay();
  if (!existsSync(`${base}.csv`) || !existsSync(`${base}.md`)) {
    d.text('not run yet: ctlab ablate all --data fashion-mnist (then ctlab report writes results/ablations/evaluation-bias.*)');
    return;
  }
  showTable(readCsvRows(`${base}.csv`), { title: 'results/ablations/evaluation-bias.csv' });
  d.markdown(markdownNotes(`${base}.md`).join('\n\n'));
  if (existsSync(`${base}.png`)) showImage(`${base}.png`);
}

/**
 * Shows the committed image run (`results/images/`): its FID/KID table with floor and ceiling,
 * its provenance line and its 1-step and 2-step sample grids.
 */
export function showImageRun(root: string = repoRoot()): void {
  const dir = join(root, 'results', 'images');
  const d = notebookDisplay();
  if (!existsSync(join(dir, 'fid.csv'))) {
    d.text('not run yet: ctlab train --preset ict --data fashion-mnist, then ctlab eval --run <dir> --out results/images');
    return;
  }
  showCsvTable(join(dir, 'fid.csv'), { title: 'results/images/fid.csv (lower is better)' });
  if (existsSync(join(dir, 'fid.md'))) d.markdown(markdownNotes(join(dir, 'fid.md')).join('\n\n'));
  for (const f of ['samples-1step.png', 'samples-2step.png']) {
    d.markdown(`\`results/images/${f}\``);
    showImage(join(dir, f));
  }
}
