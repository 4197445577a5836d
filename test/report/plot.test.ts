import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  barFigure,
  ensurePlotlyBundle,
  lineFigure,
  plotlyBundleDir,
  plotlyBundleSource,
  scatterFigure,
  writeFigureHtml,
  type Figure,
} from '../../src/report/plot';

test('scatterFigure: one marker trace per series, equal axes on request', () => {
  const fig = scatterFigure(
    [
      { x: [0, 1], y: [1, 0], name: 'data' },
      { x: [2], y: [2], name: 'samples', color: '#000000' },
    ],
    { title: 'Samples', xTitle: 'x', yTitle: 'y', equalAxes: true },
  );
  assert.equal(fig.data.length, 2);
  const [a, b] = fig.data;
  assert.ok(a?.type === 'scatter' && a.mode === 'markers');
  assert.equal(a.marker?.color, '#1f77b4');
  assert.equal(b?.marker?.color, '#000000');
  assert.equal(fig.layout.title?.text, 'Samples');
  assert.equal(fig.layout.yaxis?.scaleanchor, 'x');
  assert.equal(fig.layout.xaxis?.title?.text, 'x');
});

test('lineFigure: band trace under each curve with lo/hi, log axes', () => {
  const fig = lineFigure(
    [
      { x: [1, 2, 3], y: [3, 2, 1], lo: [2, 1, 0], hi: [4, 3, 2], name: 'loss' },
      { x: [1, 2, 3], y: [1, 1, 1] },
    ],
    { logY: true },
  );
  assert.equal(fig.data.length, 3);
  const band = fig.data[0];
  assert.ok(band?.type === 'scatter' && band.fill === 'toself' && band.showlegend === false);
  assert.deepEqual(band.x, [1, 2, 3, 3, 2, 1]);
  assert.deepEqual(band.y, [4, 3, 2, 0, 1, 2]);
  assert.equal(band.fillcolor, 'rgba(31,119,180,0.2)');
  const line = fig.data[1];
  assert.ok(line?.type === 'scatter' && line.mode === 'lines' && line.line?.color === '#1f77b4');
  assert.equal(fig.layout.yaxis?.type, 'log');
  assert.throws(() => lineFigure([{ x: [1, 2], y: [1, 2], lo: [1], hi: [1, 2] }]), RangeError);
});

test('barFigure: grouped bars with error bars', () => {
  const fig = barFigure([{ x: ['a', 'b'], y: [1, 2], err: [0.1, 0.2], name: 'fid' }]);
  assert.equal(fig.layout.barmode, 'group');
  const bar = fig.data[0];
  assert.ok(bar?.type === 'bar');
  assert.deepEqual(bar.error_y, { type: 'data', array: [0.1, 0.2], visible: true });
});

test('plotlyBundleDir: one bundle for everything under a results/ folder, else the parent', () => {
  assert.equal(plotlyBundleDir('/repo/results/ablations'), '/repo/results');
  assert.equal(plotlyBundleDir('/repo/results/edit/nfe-2d'), '/repo/results');
  assert.equal(plotlyBundleDir('/repo/results'), '/repo/results');
  assert.equal(plotlyBundleDir('/tmp/x/out'), '/tmp/x');
  assert.equal(plotlyBundleDir('out'), 'out');
});

test('ensurePlotlyBundle copies the bundle once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctlab-plot-'));
  try {
    const p = ensurePlotlyBundle(dir);
    assert.equal(p, join(dir, 'plotly-basic.min.js'));
    assert.equal(statSync(p).size, statSync(plotlyBundleSource()).size);
    assert.ok(statSync(p).size > 500_000);
    const before = statSync(p).mtimeMs;
    assert.equal(ensurePlotlyBundle(dir), p);
    assert.equal(statSync(p).mtimeMs, before, 'second call does not copy again');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeFigureHtml references the shared bundle by relative path and saves the spec', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctlab-plot-'));
  try {
    const bundle = ensurePlotlyBundle(dir);
    const fig: Figure = lineFigure([{ x: [1, 2, 3], y: [0.5, null, 0.25], name: 'a </script> b' }], {
      title: 'Loss <curve>',
    });
    const { htmlPath, jsonPath } = writeFigureHtml(fig, join(dir, 'run1', 'loss.html'), { bundlePath: bundle });
    assert.equal(htmlPath, join(dir, 'run1', 'loss.html'));
    assert.equal(jsonPath, join(dir, 'run1', 'loss.json'));
    const html = readFileSync(htmlPath, 'utf8');
    assert.ok(html.includes('<script src="../plotly-basic.min.js"></script>'), html);
    assert.ok(statSync(htmlPath).size < 5_000, 'plotly is not inlined');
    const bundleHead = readFileSync(bundle, 'utf8').slice(0, 200);
    assert.ok(!html.includes(bundleHead));
    assert.equal(html.match(/<\/script>/g)?.length, 2, 'a </script> in the data is escaped');
    assert.ok(html.includes('<title>Loss &lt;curve&gt;</title>'));
    assert.deepEqual(JSON.parse(readFileSync(jsonPath, 'utf8')), fig);
    // without extension: .html is added
    assert.equal(writeFigureHtml(fig, join(dir, 'bare'), { bundlePath: bundle }).htmlPath, join(dir, 'bare.html'));
    assert.ok(readFileSync(join(dir, 'bare.html'), 'utf8').includes('<script src="plotly-basic.min.js">'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
