/**
 * The power analysis (src/experiments/power.ts): seeds needed against hand-computed values from the
 * t table, the wiring from a committed summary.json (its paired differences and the best arm's
 * mean), the README section replaced rather than repeated on a rerun, and the errors naming files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MAX_SEEDS, POWER_BEGIN, powerAnalysis, readSummaries, seedsNeeded, withPowerSection, writePowerReport } from '../../src/experiments/power';

const ROOT = path.join(__dirname, '..', '..', '..');

test('seeds needed: the smallest n with t(0.975, n−1)·s/√n below the target', () => {
  // s = 1, target 1: n = 6 gives 2.571/√6 = 1.0497 (not below), n = 7 gives 2.447/√7 = 0.925
  assert.equal(seedsNeeded(1, 1), 7);
  // s = 0.5, target 1: n = 3 gives 4.303·0.5/√3 = 1.242, n = 4 gives 3.182·0.5/2 = 0.796
  assert.equal(seedsNeeded(0.5, 1), 4);
  // s = 0.05, target 1: n = 2 gives 12.706·0.05/√2 = 0.449
  assert.equal(seedsNeeded(0.05, 1), 2);
  assert.equal(seedsNeeded(0, 1), 2);
  // beyond the cap, or nothing to go on
  assert.equal(seedsNeeded(100, 1), null);
  assert.equal(seedsNeeded(NaN, 1), null);
  assert.equal(seedsNeeded(1, 0), null);
  assert.ok(MAX_SEEDS >= 100);
});

test('from a committed summary: the paired differences and the best arm’s mean', () => {
  const rows = powerAnalysis(readSummaries(path.join(ROOT, 'results', 'ablations')));
  const r = rows.find((x) => x.ablation === 'dropout' && x.data === 'eight-gaussians' && x.metric === '1-step SWD');
  assert.ok(r, 'dropout / eight-gaussians / 1-step SWD row');
  const summary = JSON.parse(fs.readFileSync(path.join(ROOT, 'results', 'ablations', 'dropout', 'summary.json'), 'utf8')) as {
    verdicts: { data: string; oneStep: { diff: { values: number[] } }[] }[];
    rows: { data: string; arm: string; metrics: Record<string, { mean: number }> }[];
  };
  const diffs = summary.verdicts.find((v) => v.data === 'eight-gaussians')?.oneStep[0]?.diff.values ?? [];
  const m = diffs.reduce((a, b) => a + b, 0) / diffs.length;
  const sd = Math.sqrt(diffs.reduce((a, b) => a + (b - m) ** 2, 0) / (diffs.length - 1));
  assert.equal(r.n, diffs.length);
  assert.ok(Math.abs(r.sdDiff - sd) < 1e-12);
  assert.equal(r.seedsForSeen, seedsNeeded(sd, Math.abs(m)));
  const best = summary.rows.find((x) => x.data === 'eight-gaussians' && x.arm === r.best)?.metrics['SWD 1-step']?.mean;
  assert.equal(r.bestMean, best);
  assert.equal(r.seedsForMinEffect, seedsNeeded(sd, 0.1 * Math.abs(best as number)));
  // image rows find their FID column too
  const img = rows.find((x) => x.data === 'fashion-mnist' && x.metric.startsWith('1-step FID'));
  assert.ok(img && Number.isFinite(img.bestMean), 'an image row with the best arm’s FID');
});

test('the README section is replaced on a rerun, and the rest of the README kept', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctlab-power-'));
  try {
    fs.cpSync(path.join(ROOT, 'results', 'ablations', 'dropout'), path.join(dir, 'dropout'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'README.md'), '# table\n\nrows\n');
    writePowerReport(dir, { command: 'test', commit: 'abc' });
    writePowerReport(dir, { command: 'test', commit: 'def' });
    const text = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    assert.equal(text.split(POWER_BEGIN).length - 1, 1, 'one section');
    assert.ok(text.startsWith('# table\n\nrows\n'));
    assert.match(text, /commit def/);
    assert.doesNotMatch(text, /commit abc/);
    assert.equal(withPowerSection('a\n', 'S\n'), 'a\n\nS\n');
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'power.json'), 'utf8')) as { rows: unknown[]; commit: string };
    assert.equal(json.commit, 'def');
    assert.equal(json.rows.length, 4);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('errors name the directory or the file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctlab-power-'));
  try {
    assert.throws(() => readSummaries(path.join(dir, 'nope')), /nope: no such directory/);
    assert.throws(() => readSummaries(dir), /no <ablation>\/summary\.json found/);
    fs.mkdirSync(path.join(dir, 'x'));
    fs.writeFileSync(path.join(dir, 'x', 'summary.json'), '{ not json');
    assert.throws(() => readSummaries(dir), new RegExp(`${path.join(dir, 'x', 'summary.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not JSON`));
    fs.writeFileSync(path.join(dir, 'x', 'summary.json'), '{"ablation": 3}');
    assert.throws(() => readSummaries(dir), /summary\.json: ablation: /);
    assert.throws(() => powerAnalysis([], 0), /minEffect must be > 0/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
