/**
 * Figures (./figures, plain plotly.js specs) as small HTML pages that load one shared plotly bundle
 * by relative <script src> (not inlined: 1.2 MB once per results folder instead of per figure). The
 * spec is also saved as JSON so images can be regenerated.
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';

export * from './figures';
import { figureJson, type Figure } from './figures';

/** File name of the shared bundle. */
export const PLOTLY_BUNDLE_NAME = 'plotly-basic.min.js';

/** Path of plotly's basic bundle inside node_modules. */
export function plotlyBundleSource(): string {
  return require.resolve('plotly.js-basic-dist-min/plotly-basic.min.js');
}

/**
 * Copies plotly's basic bundle to `<dir>/plotly-basic.min.js` unless an identical-size copy is
 * already there (atomic rename, so parallel writers are safe). Returns the bundle's path.
 */
/**
 * Where the figures written under `outDir` share their plotly bundle: the nearest enclosing folder
 * (or `outDir` itself) named `results`, so every figure in a repository's results/ uses one copy;
 * elsewhere `outDir`'s parent (or `outDir` when it has none).
 */
export function plotlyBundleDir(outDir: string): string {
  const abs = resolve(outDir);
  for (let d = abs; ; d = dirname(d)) {
    if (basename(d) === 'results') return d;
    if (dirname(d) === d) break;
  }
  return dirname(outDir) === '.' ? outDir : dirname(outDir);
}

export function ensurePlotlyBundle(dir: string): string {
  const src = plotlyBundleSource();
  const dest = join(dir, PLOTLY_BUNDLE_NAME);
  if (existsSync(dest) && statSync(dest).size === statSync(src).size) return dest;
  mkdirSync(dir, { recursive: true });
  const tmp = `${dest}.${process.pid}.tmp`;
  copyFileSync(src, tmp);
  renameSync(tmp, dest);
  return dest;
}

/** Paths written by {@link writeFigureHtml}. */
export interface FigureFiles {
  htmlPath: string;
  jsonPath: string;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
}

/** JSON that is safe inside <script> (no `</script>`, no U+2028/9 surprises). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * Writes `<outPath>` (`.html` is added when missing): a small page that loads plotly from
 * `opts.bundlePath` through a relative <script src> and draws the figure, plus the spec as
 * `<name>.json` beside it. Call {@link ensurePlotlyBundle} for the bundle path.
 */
export function writeFigureHtml(fig: Figure, outPath: string, opts: { bundlePath: string; title?: string }): FigureFiles {
  const base = outPath.replace(/\.html?$/i, '');
  const htmlPath = `${base}.html`;
  const jsonPath = `${base}.json`;
  const dir = dirname(htmlPath);
  mkdirSync(dir, { recursive: true });
  const src = relative(dir, opts.bundlePath).split(sep).map(encodeURIComponent).join('/');
  const title = opts.title ?? fig.layout.title?.text ?? basename(base);
  const html = `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<script src="${escapeHtml(src)}"></script>
</head>
<body>
<div id="fig"></div>
<script>
const fig = ${scriptJson(fig)};
Plotly.newPlot('fig', fig.data, fig.layout, { responsive: true });
</script>
</body>
</html>
`;
  writeFileSync(htmlPath, html);
  writeFileSync(jsonPath, figureJson(fig));
  return { htmlPath, jsonPath };
}
