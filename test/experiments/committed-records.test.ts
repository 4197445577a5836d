/**
 * The committed tables can be rebuilt from the committed records alone (results/runs/), as in a
 * fresh clone: `ctlab report --runs results/runs/ablations` and `ctlab report --quickstart
 * results/runs/quickstart` and `ctlab report --images results/runs/images/fmnist-ict`, here into a
 * temporary directory, compared file by file with results/. Missing records fail the test: every
 * committed table must come with the records it was built from.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { buildReports } from '../../src/experiments/report';
import { writeImageReport } from '../../src/experiments/image-report';
import { buildQuickstartReport } from '../../src/quickstart';
import { readAblationSummary, readPlans, quickstartRecordFile } from '../../src/run/run-dir';
import { tempDir } from '../helpers';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const RESULTS = path.join(ROOT, 'results');
const RUNS = path.join(RESULTS, 'runs');

/** Lines that name the rebuilding command and commit, which differ from run to run. */
function normalise(text: string): string {
  return text
    .replace(/rebuilt by `[^`]*` at commit \S+?( \(dirty tree\))?([;.,])/g, 'rebuilt by `ctlab report` at commit X$2')
    .replace(/Rebuilt by `[^`]*` from the run directories \(commit [^)]*\)/g, 'Rebuilt by `ctlab report` from the run directories (commit X)')
    .replace(
      /Computed by `[^`]*` from the summary\.json files beside this README \(commit [^)]*\)/g,
      'Computed by `ctlab report` from the summary.json files (commit X)',
    )
    .replace(
      /Written by `[^`]*` from the summary\.json files beside this README(.*?) \(commit [0-9a-f]+\)/g,
      'Written by `ctlab report` from the summary.json files$1 (commit X)',
    );
}

function same(a: string, b: string): void {
  assert.equal(normalise(fs.readFileSync(a, 'utf8')), normalise(fs.readFileSync(b, 'utf8')), `${b} differs from ${a}`);
}

/** Data sets the committed ablation tables show. */
function committedDataSets(): Set<string> {
  const out = new Set<string>();
  const dir = path.join(RESULTS, 'ablations');
  for (const d of fs.readdirSync(dir)) {
    const json = path.join(dir, d, 'summary.json');
    if (fs.existsSync(json)) for (const r of readAblationSummary(json).rows) out.add(r.data);
    else if (fs.existsSync(path.join(dir, d, 'summary.csv'))) out.add('(a table without summary.json)');
  }
  return out;
}

/** The labels scripts/fidelity-report.sh gives the three suites (the summary and the verdicts name them). */
const LONG = 'longer suite';
const OLD = '1,000-step suite';
const CHECK = '28×28 check';

describe('committed records', () => {
  const plans = readPlans(path.join(RUNS, 'ablations'));
  const have = new Set(plans.map((p) => p.data));
  const missing = [...committedDataSets()].filter((d) => !have.has(d));
  // the three suites rebuilt side by side, as scripts/fidelity-report.sh lays them out under results/
  const out = path.join(tempDir(), 'results');
  const suiteFiles = (name: string): void => {
    same(path.join(RESULTS, name, 'README.md'), path.join(out, name, 'README.md'));
    for (const d of fs.readdirSync(path.join(out, name))) {
      const dir = path.join(out, name, d);
      if (!fs.statSync(dir).isDirectory()) {
        if (/^evaluation-bias\.(csv|md|json)$/.test(d)) same(path.join(RESULTS, name, d), dir);
        continue;
      }
      for (const f of fs.readdirSync(dir).filter((x) => /^summary\.(csv|md|json)$|-vs-step\.json$/.test(x)))
        same(path.join(RESULTS, name, d, f), path.join(dir, f));
    }
  };

  it('rebuild every committed table and plot spec of the 1,000-step suite (results/ablations)', async () => {
    assert.ok(
      plans.length > 0,
      `no ablation plans under ${path.join(RUNS, 'ablations')} (ctlab records export --runs runs/ablations --out results/runs/ablations)`,
    );
    assert.deepEqual(missing, [], `records missing for the committed tables of: ${missing.join(', ')}`);
    await buildReports(path.join(RUNS, 'ablations'), path.join(out, 'ablations'), { label: OLD });
    suiteFiles('ablations');
  });

  it('rebuild the 28×28 target check of #19 (results/ablations-28) from its records', async () => {
    assert.ok(readPlans(path.join(RUNS, 'ablations-28')).length > 0, `no ablation plans under ${path.join(RUNS, 'ablations-28')}`);
    await buildReports(path.join(RUNS, 'ablations-28'), path.join(out, 'ablations-28'), { label: CHECK });
    suiteFiles('ablations-28');
  });

  it('rebuild the longer suite of #19 (results/ablations-long) and the results summary (results/README.md) from the records', async () => {
    assert.ok(readPlans(path.join(RUNS, 'ablations-long')).length > 0, `no ablation plans under ${path.join(RUNS, 'ablations-long')}`);
    // the compared suites' tables come from the two tests above
    assert.ok(fs.existsSync(path.join(out, 'ablations', 'README.md')) && fs.existsSync(path.join(out, 'ablations-28', 'README.md')));
    await buildReports(path.join(RUNS, 'ablations-long'), path.join(out, 'ablations-long'), {
      label: LONG,
      compare: [
        { label: OLD, dir: path.join(out, 'ablations') },
        { label: CHECK, dir: path.join(out, 'ablations-28') },
      ],
      summaryPath: path.join(out, 'README.md'),
    });
    suiteFiles('ablations-long');
    same(path.join(RESULTS, 'README.md'), path.join(out, 'README.md'));
  });

  const qs = path.join(RUNS, 'quickstart');
  it('rebuild the quickstart table and curve', async () => {
    assert.ok(fs.existsSync(quickstartRecordFile(qs)), `no ${quickstartRecordFile(qs)} (npm start writes it)`);
    const out = path.join(tempDir(), 'quickstart');
    await buildQuickstartReport({ runs: qs, out });
    for (const f of ['table.csv', 'table.md', 'swd-vs-step.json', 'provenance.json']) same(path.join(RESULTS, 'quickstart', f), path.join(out, f));
  });

  it('rebuild the image run table (results/images)', () => {
    const run = path.join(RUNS, 'images', 'fmnist-ict');
    assert.ok(fs.existsSync(path.join(run, 'eval.json')), `no ${run}/eval.json (ctlab records export --runs runs/images --out results/runs/images)`);
    const out = path.join(tempDir(), 'images');
    writeImageReport(run, out);
    for (const f of ['fid.csv', 'fid.md', 'provenance.json']) same(path.join(RESULTS, 'images', f), path.join(out, f));
  });
});
