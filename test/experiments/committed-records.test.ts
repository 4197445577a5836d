/**
 * The committed tables can be rebuilt from the committed records alone (results/runs/), as in a
 * fresh clone: `ctlab report --runs results/runs/ablations` and `ctlab report --quickstart
 * results/runs/quickstart`, here into a temporary directory, compared file by file with results/.
 * Skipped until the records of every data set in the committed tables are committed.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { buildReports } from '../../src/experiments/report';
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
    .replace(/Rebuilt by `[^`]*` from the run directories \(commit [^)]*\)/g, 'Rebuilt by `ctlab report` from the run directories (commit X)');
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

describe('committed records', () => {
  const plans = readPlans(path.join(RUNS, 'ablations'));
  const have = new Set(plans.map((p) => p.data));
  const missing = [...committedDataSets()].filter((d) => !have.has(d));
  it(
    'rebuild every committed ablation table and plot spec',
    { skip: plans.length === 0 || missing.length > 0 ? `records missing for: ${missing.join(', ') || 'all'}` : false },
    async () => {
      const out = path.join(tempDir(), 'results');
      await buildReports(path.join(RUNS, 'ablations'), path.join(out, 'ablations'), { summaryPath: path.join(out, 'README.md') });
      same(path.join(RESULTS, 'README.md'), path.join(out, 'README.md'));
      same(path.join(RESULTS, 'ablations', 'README.md'), path.join(out, 'ablations', 'README.md'));
      for (const d of fs.readdirSync(path.join(out, 'ablations'))) {
        const dir = path.join(out, 'ablations', d);
        if (!fs.statSync(dir).isDirectory()) {
          if (/^evaluation-bias\.(csv|md|json)$/.test(d)) same(path.join(RESULTS, 'ablations', d), dir);
          continue;
        }
        for (const f of fs.readdirSync(dir).filter((x) => /^summary\.(csv|md|json)$|-vs-step\.json$/.test(x)))
          same(path.join(RESULTS, 'ablations', d, f), path.join(dir, f));
      }
    },
  );

  const qs = path.join(RUNS, 'quickstart');
  it(
    'rebuild the quickstart table and curve',
    { skip: fs.existsSync(quickstartRecordFile(qs)) ? false : 'no results/runs/quickstart/quickstart.json' },
    async () => {
      const out = path.join(tempDir(), 'quickstart');
      await buildQuickstartReport({ runs: qs, out });
      for (const f of ['table.csv', 'table.md', 'swd-vs-step.json', 'provenance.json']) same(path.join(RESULTS, 'quickstart', f), path.join(out, f));
    },
  );
});
