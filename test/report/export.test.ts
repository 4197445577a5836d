import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumPath, exportFigures, figuresToPng, isChromiumAvailable, normalizeSvg } from '../../src/report/export';
import { barFigure, lineFigure, scatterFigure } from '../../src/report/plot';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from a PNG's IHDR chunk, after checking the signature. */
function pngSize(png: Buffer): { width: number; height: number } {
  assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE), 'PNG signature');
  assert.equal(png.subarray(12, 16).toString('latin1'), 'IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** The export tests need chromium: fail (not skip) when it is missing. */
function requireChromium(): void {
  assert.ok(
    isChromiumAvailable(),
    `chromium not found at ${chromiumPath()}: run 'bash scripts/system-deps.sh' (installs Debian chromium) or set CHROMIUM_PATH`,
  );
}

const lineFig = lineFigure(
  [
    { x: [1, 2, 3], y: [3, 2, 1], lo: [2, 1, 0], hi: [4, 3, 2], name: 'loss' },
    { x: [1, 2, 3], y: [1, 1.5, 1], name: 'baseline', markers: true },
  ],
  { title: 'Loss', xTitle: 'step', yTitle: 'loss' },
);
const scatterFig = scatterFigure([{ x: [0, 1, 2], y: [1, 0, 2], name: 'data' }], { title: 'Samples', equalAxes: true });
const barFig = barFigure([{ x: ['a', 'b'], y: [1, 2], err: [0.1, 0.2], name: 'fid' }]);

test('normalizeSvg renames plotly uid-based ids and sorts attributes', () => {
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" class="main-svg"><defs id="defs-a1b2c3"><clipPath id="clipa1b2c3xy">' +
    '<rect width="1" height="2"/></clipPath></defs><g clip-path="url(#clipa1b2c3xy)" class="x"><text data-unformatted="a > b" x="1">a &gt; b</text></g></svg>';
  assert.equal(
    normalizeSvg(svg),
    '<svg class="main-svg" xmlns="http://www.w3.org/2000/svg"><defs id="defs-fig"><clipPath id="clipfigxy">' +
      '<rect height="2" width="1"/></clipPath></defs><g class="x" clip-path="url(#clipfigxy)"><text data-unformatted="a > b" x="1">a &gt; b</text></g></svg>',
  );
});

test('exportFigures writes real PNGs of the requested size and byte-identical SVGs', { timeout: 180_000 }, async () => {
  requireChromium();
  const dir = mkdtempSync(join(tmpdir(), 'ctlab-export-'));
  try {
    const size = { width: 400, height: 300, scale: 2 };
    const first = await exportFigures(
      [
        { fig: lineFig, outBase: join(dir, 'r1', 'loss') },
        { fig: scatterFig, outBase: join(dir, 'r1', 'samples') },
      ],
      size,
    );
    assert.ok(first.ok, first.ok ? '' : first.reason);
    assert.deepEqual(
      first.files,
      ['loss.png', 'loss.svg', 'samples.png', 'samples.svg'].map((f) => join(dir, 'r1', f)),
    );
    for (const name of ['loss', 'samples']) {
      assert.deepEqual(pngSize(readFileSync(join(dir, 'r1', `${name}.png`))), { width: 800, height: 600 });
      const svg = readFileSync(join(dir, 'r1', `${name}.svg`), 'utf8');
      assert.ok(svg.startsWith('<svg'), svg.slice(0, 100));
      assert.ok(svg.includes('viewBox="0 0 400 300"'));
      assert.ok(!/id="defs-(?!fig")/.test(svg), 'random plot uid rewritten');
    }
    assert.ok(readFileSync(join(dir, 'r1', 'loss.svg'), 'utf8').includes('>Loss<'), 'title text in the SVG');
    // a second run, in another order (plotly's first plot on a page differs), gives the same bytes
    const second = await exportFigures(
      [
        { fig: barFig, outBase: join(dir, 'r2', 'bars') },
        { fig: scatterFig, outBase: join(dir, 'r2', 'samples') },
        { fig: lineFig, outBase: join(dir, 'r2', 'loss') },
      ],
      { ...size, formats: ['svg'] },
    );
    assert.ok(second.ok, second.ok ? '' : second.reason);
    assert.equal(second.files.length, 3);
    for (const name of ['loss', 'samples']) {
      assert.ok(readFileSync(join(dir, 'r1', `${name}.svg`)).equals(readFileSync(join(dir, 'r2', `${name}.svg`))), `${name}.svg differs between runs`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('figuresToPng returns PNG bytes; layout size is the default size', { timeout: 120_000 }, async () => {
  requireChromium();
  const sized = { ...barFig, layout: { ...barFig.layout, width: 320, height: 200 } };
  const res = await figuresToPng([sized, scatterFig]);
  assert.ok(res.ok, res.ok ? '' : res.reason);
  assert.equal(res.pngs.length, 2);
  assert.deepEqual(pngSize(res.pngs[0] as Buffer), { width: 320, height: 200 });
  assert.deepEqual(pngSize(res.pngs[1] as Buffer), { width: 700, height: 450 });
});

test('a missing or broken chromium is reported, not thrown', { timeout: 120_000 }, async () => {
  const missing = await exportFigures([{ fig: barFig, outBase: join(tmpdir(), 'never') }], {
    executablePath: '/nonexistent/chromium',
  });
  assert.deepEqual(missing, { ok: false, reason: 'chromium not found at /nonexistent/chromium', files: [] });
  const broken = await figuresToPng([barFig], { executablePath: '/bin/false' });
  assert.ok(!broken.ok);
  assert.match(broken.reason, /^chromium failed to launch: /);
});
