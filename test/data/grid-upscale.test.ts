import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { composeGrid, encodePng } from '../../src/data/images';
import { gridIndexLabels, parseGridPng, upscaleGridPng } from '../../src/data/grid-upscale';
import { gridRecordPath, parseTile, runGridUpscale, type GridUpscaleRecord } from '../../src/experiments/grids';
import { Rng } from '../../src/util/rng';
import { tempDir } from '../helpers';

/** n random u8 tiles h×w×c. */
function tiles(n: number, h: number, w: number, c: number, seed: number): Uint8Array {
  const r = new Rng(seed, 1);
  return Uint8Array.from({ length: n * h * w * c }, () => Math.floor(r.uniform() * 256));
}

function oldGrid(u8: Uint8Array, n: number, h: number, w: number, c: number, cols: number, scale = 1): Buffer {
  const g = composeGrid(u8, n, h, w, c, cols, { scale });
  return encodePng(g.data, g.width, g.height, c);
}

test('the old 10×10 grid of 16-px tiles (169×169) reads back to its exact tiles, and so does a ×4 one', () => {
  const u8 = tiles(100, 16, 16, 1, 3);
  const png = oldGrid(u8, 100, 16, 16, 1, 10);
  assert.deepEqual([PNG.sync.read(png).width, PNG.sync.read(png).height], [169, 169]);
  const a = parseGridPng(png, { h: 16, w: 16 });
  assert.deepEqual(a.layout, { h: 16, w: 16, c: 1, rows: 10, cols: 10, gap: 1, scale: 1, gapValue: 255 });
  assert.deepEqual(a.tiles, u8);
  const b = parseGridPng(oldGrid(u8, 100, 16, 16, 1, 10, 4), { h: 16, w: 16 });
  assert.equal(b.layout.scale, 4);
  assert.deepEqual(b.tiles, u8);
  const rgb = tiles(6, 8, 8, 3, 4);
  const c = parseGridPng(oldGrid(rgb, 6, 8, 8, 3, 3), { h: 8, w: 8 });
  assert.deepEqual([c.layout.c, c.layout.rows, c.layout.cols], [3, 2, 3]);
  assert.deepEqual(c.tiles, rgb);
});

test('upscaling: 64-px tiles whose pixels are the source pixels, index labels and a title above', () => {
  const u8 = tiles(100, 16, 16, 1, 5);
  const { png, layout, outScale } = upscaleGridPng(oldGrid(u8, 100, 16, 16, 1, 10), { h: 16, w: 16 }, { title: 'ct-vs-ict / ct' });
  assert.equal(outScale, 4);
  assert.equal(layout.scale, 1);
  const out = PNG.sync.read(png);
  // the expected image: the same tiles composed at ×4 with the labels and title
  const g = composeGrid(u8, 100, 16, 16, 1, 10, { scale: 4, ...gridIndexLabels(10, 10), title: 'ct-vs-ict / ct' });
  assert.deepEqual([out.width, out.height], [g.width, g.height]);
  assert.ok(g.width >= 10 * 64 + 9 && g.height > 10 * 64 + 9, `${g.width}×${g.height}`);
  for (let i = 0; i < g.width * g.height; i++) assert.equal(out.data[i * 4], g.data[i]);
  assert.deepEqual(gridIndexLabels(2, 10), { rowLabels: ['0', '10'], colLabels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] });
});

test('a PNG that is no grid of the given tiles is refused, naming the file and --tile', () => {
  const png = oldGrid(tiles(100, 16, 16, 1, 6), 100, 16, 16, 1, 10);
  assert.throws(
    () => parseGridPng(png, { h: 15, w: 15 }, { file: 'x.png' }),
    /^RangeError: x\.png: 169×169 px is not an unlabelled grid of 15×15 tiles .*check --tile and --gap$/,
  );
  const labelled = composeGrid(tiles(4, 16, 16, 1, 7), 4, 16, 16, 1, 2, { scale: 4, ...gridIndexLabels(2, 2) });
  assert.throws(() => parseGridPng(encodePng(labelled.data, labelled.width, labelled.height, 1), { h: 16, w: 16 }), /is not an unlabelled grid of 16×16 tiles/);
  assert.throws(() => parseTile('16x'), /--tile: expected <px> or <h>x<w> \(e\.g\. 16 or 16x16\), got '16x'/);
  assert.deepEqual(parseTile('16'), { h: 16, w: 16 });
  assert.deepEqual(parseTile('16x8'), { h: 16, w: 8 });
});

test('ctlab grid upscale from a committed blob (git:<rev>:<path>) writes the grid and its provenance', () => {
  const dir = tempDir('ctlab-grid-');
  const git = (...a: string[]): string => execFileSync('git', a, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  git('init', '-q');
  const src = oldGrid(tiles(100, 16, 16, 1, 8), 100, 16, 16, 1, 10);
  fs.writeFileSync(path.join(dir, 'g.png'), src);
  git('add', 'g.png');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'old grid');
  const commit = git('rev-parse', 'HEAD').trim();
  fs.writeFileSync(path.join(dir, 'g.png'), 'replaced'); // the working-tree file no longer holds the source
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const out = path.join(dir, 'up', 'g.png');
    const r = runGridUpscale({ in: 'git:HEAD:g.png', out, tile: { h: 16, w: 16 }, title: 'old grid' });
    assert.equal(r.source.gitCommit, commit);
    assert.equal(r.source.sha256, '' + execFileSync('sha256sum', ['-'], { input: src }).toString().split(' ')[0]);
    assert.deepEqual([r.output.tilePx, r.output.upscale, r.layout.rows, r.layout.cols], [64, 4, 10, 10]);
    const rec = JSON.parse(fs.readFileSync(gridRecordPath(out), 'utf8')) as GridUpscaleRecord;
    assert.equal(rec.output.sha256, r.output.sha256);
    assert.deepEqual(PNG.sync.read(fs.readFileSync(out)).width, r.output.width);
    assert.throws(
      () => runGridUpscale({ in: 'git:nope:g.png', out, tile: { h: 16, w: 16 } }),
      /--in git:nope:g\.png: 'nope' is not a commit of this repository/,
    );
    assert.throws(() => runGridUpscale({ in: 'git:HEAD:h.png', out, tile: { h: 16, w: 16 } }), /--in git:HEAD:h\.png: commit [0-9a-f]{12} has no file h\.png/);
    assert.throws(() => runGridUpscale({ in: 'missing.png', out, tile: { h: 16, w: 16 } }), /--in missing\.png: no such file/);
  } finally {
    process.chdir(cwd);
  }
});
