/**
 * Notebooks as TypeScript sources: each notebooks/NN-name.ipynb is generated from notebooks/NN-name.ts
 * in the "percent" format (as jupytext writes it for TypeScript):
 *
 *   // %% [markdown]
 *   // # A title
 *   //
 *   // Markdown, every line a `// ` comment.
 *
 *   // %%
 *   const code = 'a code cell';
 *
 * A code cell starts at a line `// %%`, a markdown cell at `// %% [markdown]`; blank lines at the end of
 * a cell separate it from the next one and are not part of it. The .ts is what one edits and what tsc
 * type-checks (notebooks/tsconfig.json); the .ipynb keeps the outputs (PNG figures GitHub shows). This
 * is the Node side of the kit (node:fs), not loaded in notebook cells:
 *
 *   node dist/src/notebook/percent.js [--check] [notebooks/NN-name.ts ...]   (npm run notebooks:sync)
 *
 * rewrites each .ipynb from its .ts: a cell whose position and source are unchanged keeps the stored
 * cell (outputs, execution count, id); any other cell is written without outputs. The notebook's
 * metadata (the tslab kernelspec) is kept. With --check nothing is written and the exit status is 1
 * when a .ipynb is not what its .ts gives.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';

export type CellKind = 'code' | 'markdown';

/** One cell of a percent source: its kind and its source text (no trailing newline). */
export interface PercentCell {
  kind: CellKind;
  source: string;
}

const CODE_MARKER = '// %%';
const MARKDOWN_MARKER = '// %% [markdown]';

/** Thrown for a percent source (or a cell list) that the format cannot hold. */
export class PercentFormatError extends Error {
  override name = 'PercentFormatError';
}

function dropTrailingBlank(lines: string[]): string[] {
  let end = lines.length;
  while (end > 0 && /^\s*$/.test(lines[end - 1] ?? '')) end--;
  return lines.slice(0, end);
}

/**
 * The cells of a percent source. Lines before the first marker must be blank; a line that starts
 * with `// %%` must be one of the two markers; every line of a markdown cell must be `//` or start
 * with `// ` (blank lines only at its end).
 */
export function parsePercent(text: string, file = '<percent>'): PercentCell[] {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const starts: { kind: CellKind; line: number }[] = [];
  lines.forEach((line, i) => {
    const trimmed = line.trimEnd();
    if (!trimmed.startsWith(CODE_MARKER)) {
      if (starts.length === 0 && trimmed !== '') throw new PercentFormatError(`${file}:${i + 1}: text before the first '${CODE_MARKER}' marker`);
      return;
    }
    if (trimmed !== CODE_MARKER && trimmed !== MARKDOWN_MARKER) {
      throw new PercentFormatError(`${file}:${i + 1}: expected '${CODE_MARKER}' or '${MARKDOWN_MARKER}', got ${JSON.stringify(line)}`);
    }
    starts.push({ kind: trimmed === MARKDOWN_MARKER ? 'markdown' : 'code', line: i });
  });
  return starts.map(({ kind, line }, ci) => {
    const body = dropTrailingBlank(lines.slice(line + 1, starts[ci + 1]?.line ?? lines.length));
    if (kind === 'code') return { kind, source: body.join('\n') };
    const md = body.map((l, j) => {
      if (l.trimEnd() === '//') return '';
      if (l.startsWith('// ')) return l.slice(3);
      throw new PercentFormatError(`${file}:${line + 2 + j}: a markdown line must be a '// ' comment, got ${JSON.stringify(l)}`);
    });
    return { kind, source: md.join('\n') };
  });
}

/** The percent source of `cells` (parsePercent's inverse for cells without trailing blank lines). */
export function formatPercent(cells: readonly PercentCell[]): string {
  return cells
    .map((c, ci) => {
      const lines = c.source === '' ? [] : c.source.split('\n');
      if (lines.length > 0 && /^\s*$/.test(lines[lines.length - 1] ?? '')) {
        throw new PercentFormatError(`cell ${ci}: ends with a blank line, which the percent format drops`);
      }
      const body = lines.map((l) => {
        if (c.kind === 'markdown') return l === '' ? '//' : `// ${l}`;
        if (l.trimEnd().startsWith(CODE_MARKER)) throw new PercentFormatError(`cell ${ci}: a code line reads as a cell marker: ${JSON.stringify(l)}`);
        return l;
      });
      if (c.kind === 'markdown' && lines.some((l) => l.trimEnd().startsWith('%%'))) {
        throw new PercentFormatError(`cell ${ci}: a markdown line starting with '%%' reads as a cell marker`);
      }
      return [c.kind === 'markdown' ? MARKDOWN_MARKER : CODE_MARKER, ...body].join('\n') + '\n';
    })
    .join('\n');
}

// ---- .ipynb (nbformat 4) ----

const sourceSchema = z.union([z.string(), z.array(z.string())]);
const outputSchema = z.looseObject({ output_type: z.string() });
const codeCellSchema = z.looseObject({
  cell_type: z.literal('code'),
  id: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()),
  source: sourceSchema,
  outputs: z.array(outputSchema),
  execution_count: z.number().int().nullable(),
});
const markdownCellSchema = z.looseObject({
  cell_type: z.literal('markdown'),
  id: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()),
  source: sourceSchema,
});
const notebookSchema = z.looseObject({
  cells: z.array(z.discriminatedUnion('cell_type', [codeCellSchema, markdownCellSchema])),
  metadata: z.record(z.string(), z.unknown()),
  nbformat: z.literal(4),
  nbformat_minor: z.number().int(),
});

export type NotebookCell = z.infer<typeof codeCellSchema> | z.infer<typeof markdownCellSchema>;
export type Notebook = z.infer<typeof notebookSchema>;

/** Notebook metadata of a new notebook: the committed tslab kernel (jupyter/kernels/tslab). */
export const TSLAB_METADATA: Record<string, unknown> = {
  kernelspec: { display_name: 'TypeScript (tslab)', language: 'typescript', name: 'tslab' },
  language_info: {
    codemirror_mode: { mode: 'typescript', name: 'javascript', typescript: true },
    file_extension: '.ts',
    mimetype: 'text/typescript',
    name: 'typescript',
    version: '3.7.2',
  },
};

/** A parsed, validated .ipynb (nbformat 4 with code and markdown cells). */
export function parseNotebook(json: string, file = '<ipynb>'): Notebook {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new Error(`${file}: not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const r = notebookSchema.safeParse(raw);
  if (!r.success) throw new Error(`${file}: not an nbformat 4 notebook of code and markdown cells: ${z.prettifyError(r.error)}`);
  return r.data;
}

/** A cell's source as one string (nbformat stores a list of lines). */
export function cellSource(cell: NotebookCell): string {
  return typeof cell.source === 'string' ? cell.source : cell.source.join('');
}

/** The cells of a notebook as percent cells (sources only). */
export function notebookCells(nb: Notebook): PercentCell[] {
  return nb.cells.map((c) => ({ kind: c.cell_type, source: cellSource(c) }));
}

/** nbformat's multiline form: lines keeping their '\n', the last without one ([] for ''). */
function splitLines(s: string): string[] {
  return s.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

function cellId(cell: PercentCell, index: number, taken: ReadonlySet<string>): string {
  for (let salt = 0; ; salt++) {
    const id = createHash('sha256').update(`${index}\0${cell.kind}\0${cell.source}\0${salt}`).digest('hex').slice(0, 8);
    if (!taken.has(id)) return id;
  }
}

/**
 * The notebook of `cells`, keeping what `old` (the committed .ipynb, if any) stored: a cell at the
 * same position with the same kind and source is kept whole (outputs, execution count, id, metadata);
 * any other cell is new, without outputs (it reuses the id of the cell it replaces). The notebook's
 * metadata and nbformat_minor are kept; a new notebook gets the tslab kernelspec.
 */
export function syncNotebook(cells: readonly PercentCell[], old: Notebook | null): Notebook {
  const oldCells = old?.cells ?? [];
  const kept = cells.map((c, i) => {
    const o = oldCells[i];
    return o?.cell_type === c.kind && cellSource(o) === c.source ? o : null;
  });
  const taken = new Set<string>();
  kept.forEach((o) => o?.id !== undefined && taken.add(o.id));
  const out: NotebookCell[] = cells.map((c, i) => {
    const k = kept[i];
    if (k !== null && k !== undefined) return k;
    const reuse = oldCells[i]?.id;
    const id = reuse !== undefined && !taken.has(reuse) ? reuse : cellId(c, i, taken);
    taken.add(id);
    const source = splitLines(c.source);
    return c.kind === 'code'
      ? { cell_type: 'code', execution_count: null, id, metadata: {}, outputs: [], source }
      : { cell_type: 'markdown', id, metadata: {}, source };
  });
  return {
    ...(old ?? {}),
    cells: out,
    metadata: old?.metadata ?? TSLAB_METADATA,
    nbformat: 4,
    nbformat_minor: old?.nbformat_minor ?? 5,
  };
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, x]) => [k, sortKeys(x)]));
  }
  return v;
}

/** The .ipynb text as nbformat writes it (sorted keys, indent 1, UTF-8 kept, trailing newline). */
export function serializeNotebook(nb: Notebook): string {
  return `${JSON.stringify(sortKeys(nb), null, 1)}\n`;
}

export interface SyncResult {
  ipynb: string;
  /** The .ipynb is not (or was not, before writing) what the .ts gives. */
  changed: boolean;
  /** Code cells written without outputs (their source differs from the stored one): indices. */
  cleared: number[];
  /** The cell sources differ (not only formatting). */
  sourcesDiffer: boolean;
}

/** The .ipynb beside a percent source: notebooks/NN-name.ts -> notebooks/NN-name.ipynb. */
export function ipynbPathFor(tsPath: string): string {
  return join(dirname(tsPath), `${basename(tsPath, '.ts')}.ipynb`);
}

/** Rewrites (or with `check`, only compares) the .ipynb of one percent source. */
export function syncFile(tsPath: string, opts: { check?: boolean } = {}): SyncResult {
  const ipynb = ipynbPathFor(tsPath);
  const cells = parsePercent(readFileSync(tsPath, 'utf8'), tsPath);
  const oldText = existsSync(ipynb) ? readFileSync(ipynb, 'utf8') : null;
  const old = oldText === null ? null : parseNotebook(oldText, ipynb);
  const next = syncNotebook(cells, old);
  const text = serializeNotebook(next);
  const cleared = next.cells.flatMap((c, i) => (c.cell_type === 'code' && c !== old?.cells[i] ? [i] : []));
  const oldCells = old === null ? null : notebookCells(old);
  const sourcesDiffer = oldCells === null || JSON.stringify(oldCells) !== JSON.stringify(cells);
  const changed = text !== oldText;
  if (changed && !opts.check) writeFileSync(ipynb, text);
  return { ipynb, changed, cleared, sourcesDiffer };
}

/** The percent sources in a folder: NN-name.ts (not .d.ts). */
export function percentSources(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /^\d\d-[^.]+\.ts$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** `npm run notebooks:sync [-- --check] [files]`; returns the exit status. */
export function main(argv: readonly string[], dir = resolve(__dirname, '..', '..', '..', 'notebooks')): number {
  const check = argv.includes('--check');
  const unknown = argv.filter((a) => a.startsWith('--') && a !== '--check');
  if (unknown.length > 0) {
    console.error(`notebooks:sync: unknown option(s) ${unknown.join(' ')}; usage: [--check] [notebooks/NN-name.ts ...]`);
    return 2;
  }
  const named = argv.filter((a) => !a.startsWith('--'));
  const sources = named.length > 0 ? named.map((f) => resolve(f)) : percentSources(dir);
  let bad = 0;
  if (named.length === 0) {
    const have = new Set(sources.map(ipynbPathFor));
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.ipynb'))) {
      if (!have.has(join(dir, f))) {
        console.error(`notebooks:sync: ${f} has no percent source ${basename(f, '.ipynb')}.ts`);
        bad++;
      }
    }
  }
  for (const ts of sources) {
    const r = syncFile(ts, { check });
    const name = basename(r.ipynb);
    const cleared = r.cleared.length > 0 ? `, code cell(s) ${r.cleared.join(', ')} without outputs` : '';
    if (!r.changed) console.log(`ok        ${name}`);
    else if (check) {
      console.error(`differs   ${name}: ${r.sourcesDiffer ? 'cell sources differ from' : 'not as written from'} ${basename(ts)} (npm run notebooks:sync)`);
      bad++;
    } else console.log(`written   ${name}${cleared}`);
  }
  return bad > 0 ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
