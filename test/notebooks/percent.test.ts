import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import {
  formatPercent,
  main,
  notebookCells,
  parseNotebook,
  parsePercent,
  PercentFormatError,
  serializeNotebook,
  syncFile,
  syncNotebook,
  TSLAB_METADATA,
  type Notebook,
  type PercentCell,
} from '../../src/notebook/percent';

/** The repository root (this file runs from dist/test/notebooks/). */
const ROOT = resolve(__dirname, '..', '..', '..');
const NB_DIR = join(ROOT, 'notebooks');

const SOURCE = [
  '// %% [markdown]',
  '// # Title',
  '//',
  '// Some *markdown*, $\\sigma_i$.',
  '',
  '// %%',
  "import * as ctlab from '../dist/src/index';",
  '',
  '// %%',
  'const x = 1;',
  '',
  '// a comment inside code',
  'console.log(x);',
  '',
  '',
  '// %% [markdown]',
  '// Last.',
  '',
].join('\n');

const CELLS: PercentCell[] = [
  { kind: 'markdown', source: '# Title\n\nSome *markdown*, $\\sigma_i$.' },
  { kind: 'code', source: "import * as ctlab from '../dist/src/index';" },
  { kind: 'code', source: 'const x = 1;\n\n// a comment inside code\nconsole.log(x);' },
  { kind: 'markdown', source: 'Last.' },
];

test('parsePercent: markers start cells, markdown loses its // prefix, blank lines end a cell', () => {
  assert.deepEqual(parsePercent(SOURCE), CELLS);
  assert.deepEqual(parsePercent(SOURCE.replace(/\n/g, '\r\n')), CELLS, 'CRLF');
  assert.deepEqual(parsePercent('\n\n// %%\n'), [{ kind: 'code', source: '' }], 'blank lines before the first marker, an empty cell');
  assert.deepEqual(parsePercent(''), []);
});

test('parsePercent rejects what the format cannot mean', () => {
  assert.throws(
    () => parsePercent('const a = 1;\n// %%\n', 'a.ts'),
    (e: unknown) => e instanceof PercentFormatError && e.message.includes('a.ts:1: text before the first'),
  );
  assert.throws(() => parsePercent('// %%\nx;\n// %% [md]\n', 'b.ts'), /b\.ts:3: expected '\/\/ %%' or '\/\/ %% \[markdown\]'/);
  assert.throws(() => parsePercent('// %% [markdown]\n// fine\nnot a comment\n', 'c.ts'), /c\.ts:3: a markdown line must be a '\/\/ ' comment/);
  assert.throws(() => parsePercent('// %% [markdown]\n// one\n\n// two\n', 'd.ts'), /d\.ts:3:/, 'a blank line inside a markdown cell');
});

test('formatPercent writes the format parsePercent reads (round trip)', () => {
  const text = formatPercent(CELLS);
  assert.equal(text.split('\n')[0], '// %% [markdown]');
  assert.match(text, /\n\/\/\n/, 'an empty markdown line is a bare //');
  assert.match(text, /\n\n\/\/ %%\nconst x = 1;/, 'one blank line between cells');
  assert.ok(text.endsWith('// Last.\n'));
  assert.deepEqual(parsePercent(text), CELLS);
  assert.equal(formatPercent(parsePercent(text)), text);
});

test('formatPercent refuses cells that would not read back the same', () => {
  assert.throws(() => formatPercent([{ kind: 'code', source: 'a;\n// %%\nb;' }]), /reads as a cell marker/);
  assert.throws(() => formatPercent([{ kind: 'markdown', source: '%% not a marker' }]), /reads as a cell marker/);
  assert.throws(() => formatPercent([{ kind: 'code', source: 'a;\n' }]), /ends with a blank line/);
});

function storedNotebook(): Notebook {
  const png = { output_type: 'display_data', data: { 'image/png': 'iVBORw0KGgo=' }, metadata: {} };
  return parseNotebook(
    JSON.stringify({
      cells: [
        { cell_type: 'markdown', id: 'md0', metadata: {}, source: ['# Title\n', '\n', 'Some *markdown*, $\\sigma_i$.'] },
        { cell_type: 'code', id: 'imp1', metadata: {}, execution_count: 1, outputs: [], source: ["import * as ctlab from '../dist/src/index';"] },
        {
          cell_type: 'code',
          id: 'fig2',
          metadata: { tags: ['x'] },
          execution_count: 2,
          outputs: [png],
          source: 'const x = 1;\n\n// a comment inside code\nconsole.log(x);',
        },
        { cell_type: 'markdown', id: 'md3', metadata: {}, source: ['Last.'] },
      ],
      metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript (tslab)', language: 'typescript' }, custom: 1 },
      nbformat: 4,
      nbformat_minor: 5,
    }),
  );
}

test('syncNotebook keeps an unchanged cell whole, outputs included, and the notebook metadata', () => {
  const old = storedNotebook();
  const nb = syncNotebook(CELLS, old);
  assert.deepEqual(nb, old, 'same sources: the stored notebook as it was');
  assert.deepEqual(nb.metadata, { kernelspec: { name: 'tslab', display_name: 'TypeScript (tslab)', language: 'typescript' }, custom: 1 });
  const fig = nb.cells[2];
  assert.ok(fig?.cell_type === 'code');
  assert.equal(fig.outputs.length, 1);
  assert.equal(fig.execution_count, 2);
  assert.deepEqual(fig.metadata, { tags: ['x'] });
});

test('syncNotebook clears the outputs of a changed cell and of a cell that moved', () => {
  const old = storedNotebook();
  const edited = CELLS.map((c, i) => (i === 2 ? { ...c, source: `${c.source}\nconsole.log(2);` } : c));
  const nb = syncNotebook(edited, old);
  const fig = nb.cells[2];
  assert.ok(fig?.cell_type === 'code');
  assert.deepEqual(fig.outputs, []);
  assert.equal(fig.execution_count, null);
  assert.equal(fig.id, 'fig2', 'the id of the cell it replaces');
  assert.deepEqual(fig.source, ['const x = 1;\n', '\n', '// a comment inside code\n', 'console.log(x);\n', 'console.log(2);']);
  assert.equal(nb.cells[0], old.cells[0], 'the unchanged cells are the stored ones');
  assert.equal(nb.cells[1], old.cells[1]);

  // a new cell first: every stored cell is now at another position, so none keeps its outputs
  const shifted = syncNotebook([{ kind: 'markdown', source: 'New.' }, ...CELLS], old);
  assert.equal(shifted.cells.length, 5);
  const moved = shifted.cells[3];
  assert.ok(moved?.cell_type === 'code');
  assert.deepEqual(moved.outputs, []);
  const ids = shifted.cells.map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length, `ids unique: ${ids.join(', ')}`);
  assert.ok(ids.every((id) => typeof id === 'string' && id.length > 0));

  // a markdown cell turned into code is not the stored cell
  const retyped = syncNotebook(
    CELLS.map((c, i) => (i === 3 ? { kind: 'code' as const, source: c.source } : c)),
    old,
  );
  assert.equal(retyped.cells[3]?.cell_type, 'code');
});

test('syncNotebook without a stored notebook: the tslab kernelspec, no outputs', () => {
  const nb = syncNotebook(CELLS, null);
  assert.deepEqual(nb.metadata, TSLAB_METADATA);
  assert.equal(nb.nbformat, 4);
  assert.equal(nb.nbformat_minor, 5);
  assert.deepEqual(notebookCells(nb), CELLS);
  for (const c of nb.cells) if (c.cell_type === 'code') assert.deepEqual([c.outputs, c.execution_count], [[], null]);
  // the same sources give the same ids (a rewrite is reproducible)
  assert.deepEqual(
    syncNotebook(CELLS, null).cells.map((c) => c.id),
    nb.cells.map((c) => c.id),
  );
});

test('parseNotebook validates the JSON', () => {
  assert.throws(() => parseNotebook('{', 'x.ipynb'), /x\.ipynb: not JSON/);
  assert.throws(
    () => parseNotebook(JSON.stringify({ cells: [{ cell_type: 'code', metadata: {}, source: '' }], metadata: {}, nbformat: 4, nbformat_minor: 5 }), 'y.ipynb'),
    /y\.ipynb: not an nbformat 4 notebook/,
  );
  assert.throws(() => parseNotebook(JSON.stringify({ cells: [], metadata: {}, nbformat: 3, nbformat_minor: 0 })), /not an nbformat 4/);
});

test('serializeNotebook writes what nbformat writes: every committed notebook byte for byte', () => {
  const nb = syncNotebook([{ kind: 'code', source: 'a;\nb;' }], null);
  const text = serializeNotebook(nb);
  assert.ok(text.startsWith('{\n "cells": [\n  {\n   "cell_type": "code",\n   "execution_count": null,\n'), text.slice(0, 120));
  assert.ok(text.endsWith('\n "nbformat": 4,\n "nbformat_minor": 5\n}\n'));
  const ipynbs = readdirSync(NB_DIR).filter((f) => f.endsWith('.ipynb'));
  assert.ok(ipynbs.length >= 10);
  for (const f of ipynbs) {
    const stored = readFileSync(join(NB_DIR, f), 'utf8');
    assert.equal(serializeNotebook(parseNotebook(stored, f)), stored, f);
  }
});

test('syncFile and main(--check): write, then report nothing to do; an edited .ts is reported, not written, by --check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctlab-percent-'));
  const log = console.log;
  const err = console.error;
  const lines: string[] = [];
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  console.error = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    const ts = join(dir, '01-demo.ts');
    writeFileSync(ts, SOURCE);
    const first = syncFile(ts);
    assert.equal(first.ipynb, join(dir, '01-demo.ipynb'));
    assert.deepEqual([first.changed, first.sourcesDiffer, first.cleared], [true, true, [1, 2]]);
    assert.ok(existsSync(first.ipynb));
    assert.equal(main(['--check'], dir), 0);

    // store an output (as a --write run does), then edit only the last markdown cell
    const nb = parseNotebook(readFileSync(first.ipynb, 'utf8'));
    const fig = nb.cells[2];
    assert.ok(fig?.cell_type === 'code');
    fig.outputs = [{ output_type: 'stream', name: 'stdout', text: ['1\n'] }];
    writeFileSync(first.ipynb, serializeNotebook(nb));
    writeFileSync(ts, SOURCE.replace('// Last.', '// Last, edited.'));
    const before = readFileSync(first.ipynb, 'utf8');
    const checked = syncFile(ts, { check: true });
    assert.deepEqual([checked.changed, checked.sourcesDiffer], [true, true]);
    assert.equal(readFileSync(first.ipynb, 'utf8'), before, '--check writes nothing');
    lines.length = 0;
    assert.equal(main(['--check'], dir), 1);
    assert.match(lines.join('\n'), /differs {3}01-demo\.ipynb: cell sources differ from 01-demo\.ts/);
    assert.equal(main([], dir), 0);
    const after = parseNotebook(readFileSync(first.ipynb, 'utf8'));
    assert.equal(notebookCells(after)[3]?.source, 'Last, edited.');
    const keptFig = after.cells[2];
    assert.ok(keptFig?.cell_type === 'code');
    assert.deepEqual(keptFig.outputs, [{ output_type: 'stream', name: 'stdout', text: ['1\n'] }], 'the unchanged code cell kept its output');
    assert.equal(main(['--check'], dir), 0);

    // a notebook without a source, and an unknown option
    writeFileSync(join(dir, '02-orphan.ipynb'), serializeNotebook(syncNotebook([], null)));
    lines.length = 0;
    assert.equal(main(['--check'], dir), 1);
    assert.match(lines.join('\n'), /02-orphan\.ipynb has no percent source 02-orphan\.ts/);
    assert.equal(main(['--chek'], dir), 2);
  } finally {
    console.log = log;
    console.error = err;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every committed notebook has a .ts source and its cell sources are that source (npm run notebooks:sync)', () => {
  const ipynbs = readdirSync(NB_DIR)
    .filter((f) => f.endsWith('.ipynb'))
    .sort();
  assert.ok(ipynbs.length >= 10, ipynbs.join(', '));
  for (const f of ipynbs) {
    const ts = join(NB_DIR, `${basename(f, '.ipynb')}.ts`);
    assert.ok(existsSync(ts), `${f}: no percent source ${basename(ts)}`);
    const want = parsePercent(readFileSync(ts, 'utf8'), ts);
    const have = notebookCells(parseNotebook(readFileSync(join(NB_DIR, f), 'utf8'), f));
    const n = Math.max(want.length, have.length);
    for (let i = 0; i < n; i++) {
      assert.deepEqual(have[i], want[i], `${f}, cell ${i}: differs from ${basename(ts)}; run npm run notebooks:sync`);
    }
  }
});

test('no notebook cell both imports and awaits (tslab rejects await in a cell with an import)', () => {
  for (const f of readdirSync(NB_DIR).filter((f) => /^\d\d-.*\.ts$/.test(f))) {
    parsePercent(readFileSync(join(NB_DIR, f), 'utf8'), f).forEach((c, i) => {
      if (c.kind !== 'code' || !/^import\b/m.test(c.source)) return;
      assert.doesNotMatch(c.source, /\bawait\b/, `${f}, cell ${i}: an import and an await in one cell`);
    });
  }
});
