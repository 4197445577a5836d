import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ABLATIONS } from '../../src/experiments/ablations';
import type { AblationSummary } from '../../src/run/records';
import { meanCiRecord, pairedVerdict } from '../../src/experiments/verdicts';
import { byScale, htmlTable, notebookScale, notRunYet, paperVsKit, readAblationResults, repoRoot } from '../../src/notebook/display';
import { writeVerdictReport } from '../../src/experiments/verdict-report';

/** The repository root (this file runs from dist/test/notebooks/). */
const ROOT = resolve(__dirname, '..', '..', '..');
const NB_DIR = join(ROOT, 'notebooks');
const SIZE_CAP = 2 * 1024 * 1024; // user-needs.md: CI enforces a size cap on committed notebooks

interface NbOutput {
  output_type: string;
  data?: Record<string, unknown>;
}
interface Notebook {
  metadata: { kernelspec?: { name?: string } };
  cells: { cell_type: string; outputs?: NbOutput[] }[];
}

const notebooks = readdirSync(NB_DIR)
  .filter((f) => f.endsWith('.ipynb'))
  .sort();

test('one notebook per ablation plus the quickstart, the evaluation-bias, the distillation and the zero-shot-editing one', () => {
  assert.ok(notebooks.includes('00-quickstart.ipynb'));
  assert.ok(notebooks.includes('09-evaluation-bias.ipynb'));
  assert.ok(notebooks.includes('10-distillation.ipynb'));
  assert.ok(notebooks.includes('11-zero-shot-editing.ipynb'));
  assert.equal(notebooks.length, ABLATIONS.length + 4, notebooks.join(', '));
});

test('committed notebooks carry PNG outputs (GitHub shows them), use the committed kernel, stay under 2 MB', () => {
  const kernel = JSON.parse(readFileSync(join(ROOT, 'jupyter', 'kernels', 'tslab', 'kernel.json'), 'utf8')) as { argv: string[] };
  assert.deepEqual(kernel.argv, ['tslab', 'kernel', '--config-path', '{connection_file}']);
  for (const f of notebooks) {
    const path = join(NB_DIR, f);
    const size = statSync(path).size;
    assert.ok(size < SIZE_CAP, `${f}: ${size} bytes, over the 2 MB cap`);
    const nb = JSON.parse(readFileSync(path, 'utf8')) as Notebook;
    assert.equal(nb.metadata.kernelspec?.name, 'tslab', `${f}: kernelspec`);
    const pngs = nb.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data !== undefined && 'image/png' in o.data);
    assert.ok(pngs.length >= 1, `${f}: no image/png output stored (run bash scripts/notebooks.sh --write)`);
    const errors = nb.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === 'error');
    assert.equal(errors.length, 0, `${f}: stored error outputs`);
  }
});

test('notebookScale and byScale follow CTLAB_NOTEBOOK_SCALE', () => {
  const old = process.env.CTLAB_NOTEBOOK_SCALE;
  try {
    process.env.CTLAB_NOTEBOOK_SCALE = 'tiny';
    assert.equal(notebookScale(), 'tiny');
    assert.equal(byScale(300, 20), 20);
    delete process.env.CTLAB_NOTEBOOK_SCALE;
    assert.equal(notebookScale(), 'normal');
    assert.equal(byScale(300, 20), 300);
  } finally {
    if (old === undefined) delete process.env.CTLAB_NOTEBOOK_SCALE;
    else process.env.CTLAB_NOTEBOOK_SCALE = old;
  }
});

test('htmlTable escapes text and formats numbers', () => {
  const html = htmlTable([{ arm: '<b>&', swd: 0.123456, n: 3 }]);
  assert.match(html, /&lt;b&gt;&amp;/);
  assert.match(html, />0\.1235</);
  assert.match(html, />3</);
});

test('ablation results: a clear note before the run, the summary read back after it', () => {
  const root = mkdtempSync(join(tmpdir(), 'ctlab-nb-'));
  try {
    writeFileSync(join(root, 'package.json'), '{}');
    mkdirSync(join(root, 'results'));
    assert.equal(repoRoot(join(root, 'results')), root);
    assert.equal(readAblationResults('target', root), null);
    assert.match(paperVsKit('target', root), /not run yet: ctlab ablate target/);
    assert.match(notRunYet('target'), /^not run yet: ctlab ablate target/);
    const dir = join(root, 'results', 'ablations', 'target');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'summary.csv'), 'data,arm,SWD 1-step,n,steps\neight-gaussians,ema,0.4 ± 0.1,3,2000\neight-gaussians,none,0.07 ± 0.01,3,2000\n');
    writeFileSync(
      join(dir, 'summary.md'),
      '## Consistency target θ⁻\n\n|data|arm|\n|:-|:-|\n|x|y|\n\nPaper (iCT): claim.\n\neight-gaussians, 1-step SWD: agrees (ema − stopgrad = 0.33 ± 0.09, n=3). 2-step SWD: agrees (ema − stopgrad = 0.1 ± 0.05, n=3).\n',
    );
    writeFileSync(join(dir, 'eight-gaussians-swd1-vs-step.png'), Buffer.from([0x89, 0x50]));
    // the verdicts come from summary.json as typed objects (nothing parses the markdown's prose)
    const diffs1 = [0.3, 0.33, 0.36];
    const diffs2 = [0.08, 0.1, 0.12];
    const summary: AblationSummary = {
      ablation: 'target',
      title: 'Consistency target θ⁻',
      paper: 'claim',
      paperBest: 'stopgrad',
      paperWorse: ['ema'],
      rows: [
        {
          data: 'eight-gaussians',
          arm: 'ema',
          image: false,
          metrics: { 'SWD 1-step': meanCiRecord([0.4, 0.41, 0.39]) },
          n: 3,
          steps: 2000,
          wallMean: 10,
          incomplete: 0,
        },
        {
          data: 'eight-gaussians',
          arm: 'stopgrad',
          image: false,
          metrics: { 'SWD 1-step': meanCiRecord([0.07, 0.08, 0.06]) },
          n: 3,
          steps: 2000,
          wallMean: 10,
          incomplete: 0,
        },
      ],
      verdicts: [
        {
          data: 'eight-gaussians',
          image: false,
          metricLabel: 'SWD',
          oneStep: [pairedVerdict({ metric: '1-step SWD', data: 'eight-gaussians', steps: 2000 }, 'stopgrad', 'ema', diffs1)],
          twoStep: [pairedVerdict({ metric: '2-step SWD', data: 'eight-gaussians', steps: 2000 }, 'stopgrad', 'ema', diffs2)],
        },
      ],
      skipped: [],
    };
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary));
    const r = readAblationResults('target', root);
    assert.ok(r);
    assert.equal(r.rows.length, 2);
    assert.equal(r.rows[1]?.arm, 'stopgrad');
    assert.equal(r.pngs.length, 1);
    assert.equal(r.notes.length, 2);
    const text = paperVsKit('target', root);
    // means 0.33 and 0.1; 95% half-widths t(0.975, 2)·s/√3 = 4.303·0.03/1.732 = 0.07453 and 4.303·0.02/1.732 = 0.04969
    assert.match(text, /eight-gaussians, 1-step SWD: agrees \(ema − stopgrad = 0\.33000 ± 0\.07453, n=3\)/);
    assert.match(text, /2-step SWD: agrees \(ema − stopgrad = 0\.10000 ± 0\.04969, n=3\)/);
    assert.match(text, /eight-gaussians, 2000 steps, n = 3 seed\(s\) per arm/);

    // once the longer suite has verdicts, its sentences lead and the 1,000-step suite's follow beneath
    const long = join(root, 'results', 'ablations-long');
    mkdirSync(join(long, 'target'), { recursive: true });
    writeFileSync(join(long, 'target', 'summary.json'), JSON.stringify({ ...summary, rows: summary.rows.map((x) => ({ ...x, n: 3, steps: 10000 })) }));
    writeFileSync(join(long, 'target', 'summary.md'), '## t\n\nnote\n');
    writeFileSync(join(long, 'target', 'summary.csv'), 'data,arm\n');
    writeVerdictReport(long, {
      command: 'test',
      commit: 'abc',
      label: 'longer suite',
      compare: [{ label: '1,000-step suite', dir: join(root, 'results', 'ablations') }],
    });
    const withLong = paperVsKit('target', root);
    assert.match(withLong, /in the longer suite \(eight-gaussians, 10000 steps, n = 3 seed\(s\) per arm; results\/ablations-long\/verdicts\.json\)/);
    assert.match(
      withLong,
      /\n- \*\*eight-gaussians\*\*: ema − stopgrad in SWD: \+0\.33 ± 0\.075 at 1 step, \+0\.1 ± 0\.05 at 2 steps \(2,000 steps × 3 seeds\): \*\*agrees\*\*/,
    );
    assert.match(withLong, /\n {2}- 1,000-step suite: ema − stopgrad in SWD: \+0\.33 ± 0\.075 at 1 step/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('every notebook executes headless at tiny scale (bash scripts/notebooks.sh --scale tiny)', { timeout: 30 * 60_000 }, () => {
  const res = spawnSync('bash', [join(ROOT, 'scripts', 'notebooks.sh'), '--scale', 'tiny'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 29 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const tail = `${res.stdout ?? ''}\n${res.stderr ?? ''}`.slice(-6000);
  assert.equal(res.error, undefined, `notebooks.sh did not finish: ${String(res.error)}\n${tail}`);
  assert.equal(res.status, 0, `notebooks.sh exited ${res.status}:\n${tail}`);
});
