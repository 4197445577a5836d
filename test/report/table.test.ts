import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as aq from 'arquero';
import { formatMeanCi, formatNumber, markdownTable, tQuantile975, writeTable, type Row } from '../../src/report/table';

const rows: Row[] = [
  { run: 'cm, lpips', loss: 0.123456789, steps: 1000, note: null },
  { run: 'ict "v2"', loss: 2, steps: 250, note: 'stopped\nearly' },
  { run: 'a|b', loss: 12345.678, steps: 3 },
];

test('writeTable writes CSV that parses back, with arquero quoting', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctlab-table-'));
  try {
    const { csvPath, mdPath } = writeTable(rows, join(dir, 'sub', 'results'), { title: 'Ablation', notes: ['cut short'] });
    assert.equal(csvPath, join(dir, 'sub', 'results.csv'));
    assert.equal(mdPath, join(dir, 'sub', 'results.md'));
    const csv = readFileSync(csvPath, 'utf8');
    const lines = csv.split('\n');
    assert.equal(lines[0], 'run,loss,steps,note');
    // comma and quote fields are double-quoted, inner quotes doubled; CSV keeps full precision
    assert.equal(lines[1], '"cm, lpips",0.123456789,1000,');
    assert.equal(lines[2], '"ict ""v2""",2,250,"stopped');
    assert.ok(!csv.includes('cut short') && !csv.includes('Ablation'), 'title and notes stay out of the CSV');
    const back = aq.fromCSV(csv);
    assert.deepEqual(back.columnNames(), ['run', 'loss', 'steps', 'note']);
    assert.equal(back.numRows(), 3);
    assert.deepEqual(back.array('run'), ['cm, lpips', 'ict "v2"', 'a|b']);
    assert.deepEqual(back.array('loss'), [0.123456789, 2, 12345.678]);
    assert.deepEqual(back.array('steps'), [1000, 250, 3]);
    assert.deepEqual(back.array('note'), [null, 'stopped\nearly', null]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('markdownTable: title, header, aligned columns, formatted numbers, notes', () => {
  const md = markdownTable(rows, { title: 'Ablation', digits: 3, notes: ['Run cut short at step 1000.', 'Second note.'] });
  const lines = md.split('\n');
  assert.equal(lines[0], '## Ablation');
  assert.equal(lines[1], '');
  assert.equal(lines[2], '|run|loss|steps|note|');
  assert.equal(lines[3], '|:-|-:|-:|:-|');
  // 3 significant digits; a float column shows 2 as 2.00; an integer column stays whole; | escaped
  assert.equal(lines[4], '|cm, lpips|0.123|1000||');
  assert.equal(lines[5], '|ict "v2"|2.00|250|stopped<br>early|');
  assert.equal(lines[6], '|a\\|b|12346|3||');
  assert.equal(lines[7], '');
  assert.equal(lines[8], 'Run cut short at step 1000.');
  assert.equal(lines[10], 'Second note.');
  assert.ok(md.endsWith('Second note.\n'));
  assert.equal(markdownTable([]), '(no rows)\n');
});

test('formatNumber', () => {
  assert.equal(formatNumber(1000), '1000');
  assert.equal(formatNumber(0.5), '0.5000');
  assert.equal(formatNumber(3.14159, 3), '3.14');
  assert.equal(formatNumber(123.456), '123.5');
  assert.equal(formatNumber(-0.012345), '-0.01235');
  assert.equal(formatNumber(1.5e-5), '1.500e-5');
  assert.equal(formatNumber(NaN), 'NaN');
  assert.equal(formatNumber(-Infinity), '-Inf');
});

test('formatMeanCi matches hand-computed Student t intervals', () => {
  // [1,2,3]: mean 2, sd 1, t(0.975, 2) = 4.303, half-width 4.303/sqrt(3) = 2.4843
  const a = formatMeanCi([1, 2, 3]);
  assert.equal(a.n, 3);
  assert.equal(a.mean, 2);
  assert.ok(Math.abs(a.sd - 1) < 1e-12);
  assert.ok(Math.abs(a.halfWidth - 4.303 / Math.sqrt(3)) < 1e-12);
  assert.ok(Math.abs(a.halfWidth - 2.4843) < 1e-4);
  assert.ok(Math.abs(a.lo - (2 - 2.4843)) < 1e-4 && Math.abs(a.hi - (2 + 2.4843)) < 1e-4);
  assert.equal(a.text, '2.000 ± 2.484');
  // [2,4,4,4,5,5,7,9]: mean 5, sd sqrt(32/7) = 2.13809, t(0.975, 7) = 2.365, hw = 2.365*2.13809/sqrt(8) = 1.78777
  const b = formatMeanCi([2, 4, 4, 4, 5, 5, 7, 9]);
  assert.equal(b.mean, 5);
  assert.ok(Math.abs(b.sd - 2.13809) < 1e-5);
  assert.ok(Math.abs(b.halfWidth - 1.78777) < 1e-5);
  assert.equal(b.text, '5.000 ± 1.788');
  assert.equal(formatMeanCi([5]).text, '5.000 (n=1)');
  assert.ok(Number.isNaN(formatMeanCi([5]).lo));
  assert.equal(formatMeanCi([]).text, 'n/a');
  assert.ok(Number.isNaN(formatMeanCi([1, NaN]).mean), 'a NaN seed is not dropped');
});

/** Student t CDF by Simpson integration of the density (independent of the table). */
function tCdf(x: number, df: number): number {
  // g = Gamma((df+1)/2) / Gamma(df/2), by the recurrence g(v+2) = g(v) (v+1)/v
  let g = df % 2 === 1 ? 1 / Math.sqrt(Math.PI) : Math.sqrt(Math.PI) / 2;
  for (let v = df % 2 === 1 ? 1 : 2; v < df; v += 2) g *= (v + 1) / v;
  const pdf = (t: number): number => (g / Math.sqrt(df * Math.PI)) * (1 + (t * t) / df) ** (-(df + 1) / 2);
  const n = 4000;
  const h = x / n;
  let s = pdf(0) + pdf(x);
  for (let i = 1; i < n; i++) s += (i % 2 === 1 ? 4 : 2) * pdf(i * h);
  return 0.5 + (s * h) / 3;
}

test('t(0.975, df) table is the 3-decimal rounding of the true quantile; 1.96 beyond 30', () => {
  for (let df = 1; df <= 30; df++) {
    const q = tQuantile975(df);
    assert.ok(tCdf(q - 0.0005, df) < 0.975 && tCdf(q + 0.0005, df) > 0.975, `df ${df}: ${q}`);
  }
  assert.equal(tQuantile975(31), 1.96);
  assert.throws(() => tQuantile975(0), RangeError);
});
