import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ABLATIONS, findAblation } from '../../src/experiments/ablations';
import { verdict, verdicts, type ArmResult } from '../../src/experiments/report';
import { verdictWord } from '../../src/experiments/verdicts';
import { verdictAgrees } from '../../src/run/records';
import { listRunDirs, readAblationSummary, readEval, readRunJson } from '../../src/run/run-dir';
import { planJobs } from '../../src/experiments/runner';
import { CLI, tempDir } from '../helpers';
import { parseGridPng } from '../../src/data/grid-upscale';

const SCALE = { data: 'eight-gaussians', steps: 100, seeds: 2 };

function arm(name: string, seeds: number[], swd1: number[]): ArmResult {
  return { arm: name, seeds, swd1, swd2: swd1, mmd1: swd1, mmd2: swd1, wall: [], curves: new Map(), incomplete: 0 };
}

describe('ablation specs', () => {
  it("cover the 8 techniques of iCT, each naming the paper's preferred arm among its arms", () => {
    assert.deepEqual(
      ABLATIONS.map((a) => a.name),
      ['weighting', 'embedding', 'dropout', 'target', 'distance', 'curriculum', 'noise-sampler', 'ct-vs-ict'],
    );
    for (const ab of ABLATIONS) {
      const names = ab.arms.map((a) => a.name);
      assert.ok(names.includes(ab.paperBest), `${ab.name}: ${ab.paperBest}`);
      for (const w of ab.paperWorse) assert.ok(names.includes(w), `${ab.name}: ${w}`);
    }
    assert.throws(() => findAblation('nope'), /unknown name 'nope', expected one of weighting, .* or all/);
  });

  it('plans one run per distinct config: every baseline arm shares the same directories', () => {
    const { jobs, skipped } = planJobs(ABLATIONS, SCALE, '/runs');
    assert.deepEqual(skipped, ['distance/lpips: an LPIPS-style distance needs image features; it has no 2D counterpart']);
    const baselineDirs = new Set(
      jobs
        .filter(
          (j) => j.config.target.kind === 'stopgrad' && j.arm === findAblation(j.ablation).paperBest && j.ablation !== 'dropout' && j.ablation !== 'embedding',
        )
        .map((j) => path.dirname(j.dir)),
    );
    assert.equal(baselineDirs.size, 1, [...baselineDirs].join(', '));
    const unique = new Set(jobs.map((j) => j.dir));
    // 19 arms, lpips skipped (18), 8 baseline occurrences (one per ablation) folded into 1: 11 distinct configs, 2 seeds each
    assert.equal(unique.size, 11 * 2);
    assert.equal(new Set(jobs.filter((j) => path.basename(path.dirname(j.dir)).startsWith('baseline-')).map((j) => j.ablation)).size, 8);
    const ctArm = jobs.find((j) => j.ablation === 'ct-vs-ict' && j.arm === 'ct');
    assert.equal(ctArm?.config.target.kind, 'ema');
    assert.equal(ctArm?.config.weighting, 'uniform');
    const uniform = jobs.find((j) => j.ablation === 'weighting' && j.arm === 'uniform');
    assert.equal(uniform?.config.weighting, 'uniform');
    assert.equal(uniform?.config.target.kind, 'stopgrad', 'an arm changes its own axis only');
  });

  it("reuses the run directories of the target ablation's former name (teacher-ema-<hash>), and refuses the old name", () => {
    const runs = tempDir();
    const fresh = planJobs([findAblation('target')], SCALE, runs).jobs.find((j) => j.arm === 'ema');
    assert.ok(fresh);
    assert.match(path.basename(path.dirname(fresh.dir)), /^target-ema-[0-9a-f]{8}$/);
    // a sweep made before the rename left its runs under teacher-ema-<same hash>
    const former = path.join(path.dirname(path.dirname(fresh.dir)), path.basename(path.dirname(fresh.dir)).replace('target-', 'teacher-'), 'seed0');
    fs.mkdirSync(former, { recursive: true });
    const again = planJobs([findAblation('target')], SCALE, runs).jobs.filter((j) => j.arm === 'ema');
    assert.deepEqual(
      again.map((j) => j.dir),
      [former, path.join(path.dirname(former), 'seed1')],
    );
    assert.throws(() => findAblation('teacher'), /ablation: 'teacher' is now called 'target'/);
  });
});

describe('image ablations', () => {
  it('plan every arm on Fashion-MNIST (LPIPS-style included) at the U-Net scale, each evaluated by FID after training', () => {
    const { jobs, skipped } = planJobs(ABLATIONS, { data: 'fashion-mnist', steps: 1000, seeds: 1, evalN: 2000 }, '/runs');
    assert.deepEqual(skipped, []);
    const unique = new Map(jobs.map((j) => [j.dir, j]));
    // 19 arms, 8 baseline occurrences folded into 1: 12 distinct configs, 1 seed
    assert.equal(unique.size, 12);
    for (const j of unique.values()) {
      assert.equal(j.config.model.kind, 'unet', j.dir);
      assert.equal(j.config.data.kind, 'fashion-mnist');
      assert.equal(j.config.emaRate, 0.995);
      assert.equal(j.config.steps, 1000);
      assert.equal(j.evalN, 2000);
    }
    assert.equal(jobs.find((j) => j.ablation === 'distance' && j.arm === 'lpips')?.config.distance.kind, 'lpips');
    assert.equal(
      jobs.find((j) => j.ablation === 'ct-vs-ict' && j.arm === 'ct')?.config.distance.kind,
      'lpips',
      "CT's image preset uses the LPIPS-style distance, as CM did",
    );
    assert.equal(jobs.find((j) => j.ablation === 'distance' && j.arm === 'pseudo-huber')?.config.distance.kind, 'pseudo-huber');
    const points = planJobs(ABLATIONS, SCALE, '/runs').jobs;
    assert.ok(points.every((j) => j.evalN === undefined && j.config.model.kind === 'mlp'));
  });

  it('train, evaluate (FID with both feature nets) and report with sample grids', () => {
    const work = tempDir();
    const runs = path.join(work, 'runs');
    const out = path.join(work, 'results');
    const cfg = path.join(work, 'tiny.json');
    const tiny = {
      model: { kind: 'unet', channels: [8, 16], numResBlocks: 1, embedding: { kind: 'fourier', scale: 0.02, dim: 16 }, dropout: 0.3, groups: 4 },
      checkpointEvery: 2,
      data: { kind: 'fashion-mnist', size: 16, trainSize: 300, testSize: 100 },
    };
    fs.writeFileSync(cfg, JSON.stringify(tiny));
    const args = [
      CLI,
      'ablate',
      'target',
      '--data',
      'fashion-mnist',
      '--steps',
      '3',
      '--eval-n',
      '40',
      '--runs',
      runs,
      '--out',
      out,
      '--config',
      cfg,
      '--no-progress',
    ];
    const env = { ...process.env, CTLAB_BACKEND: 'wasm' };
    let r = spawnSync(process.execPath, args, { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ablate: 2 run\(s\) trained or evaluated, 0 already complete, 0 failed/);
    const csv = fs
      .readFileSync(path.join(out, 'target', 'summary.csv'), 'utf8')
      .trim()
      .split('\n');
    assert.equal(csv.length, 3);
    // numeric columns: one seed, so no half-width column (empty everywhere)
    assert.match(
      csv[0] as string,
      /^data,arm,FID 1-step \(fmnist-strided\) mean,FID 1-step \(fmnist-strided\) n,FID 2-step \(fmnist-strided\) mean,FID 2-step \(fmnist-strided\) n,FID 1-step \(fmnist-cnn\) mean,.*SWD 1-step mean,SWD 1-step n,SWD 2-step mean,SWD 2-step n,n,steps,/,
    );
    assert.doesNotMatch(csv[0] as string, /MMD/);
    const summary = readAblationSummary(path.join(out, 'target', 'summary.json'));
    assert.equal(summary.verdicts[0]?.oneStep[0]?.diff.n, 1);
    assert.match(summary.verdicts[0]?.oneStep[0]?.outcome ?? '', /^(same|opposite) direction$/);
    assert.match(
      fs.readFileSync(path.join(out, 'target', 'summary.md'), 'utf8'),
      /\|fashion-mnist\|ema\|\d+\.\d+ \(n=1\)\|/,
      'summary.md keeps the text cells',
    );
    const md = fs.readFileSync(path.join(out, 'target', 'summary.md'), 'utf8');
    assert.match(md, /fashion-mnist, 1-step FID \(fmnist-strided\): (same|opposite) direction \(1 seed, no interval: ema − stopgrad = /);
    for (const a of ['ema', 'stopgrad']) {
      const grid = path.join(out, 'target', `fashion-mnist-samples-1step-${a}.png`);
      assert.ok(fs.existsSync(grid), a);
      // read back from the run's grid and written at >= 64 px per tile with labels and a title: no longer an unlabelled grid
      assert.throws(() => parseGridPng(fs.readFileSync(grid), { h: 16, w: 16 }), /is not an unlabelled grid/);
    }
    assert.match(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), /fashion-mnist: ema \d/);
    // an eval.json of another size is redone, the training is not
    const emaDir = fs.readdirSync(path.join(runs, 'fashion-mnist')).find((d) => d.startsWith('target-ema-')) as string;
    const evalFile = path.join(runs, 'fashion-mnist', emaDir, 'seed0', 'eval.json');
    const ev = readEval(path.dirname(evalFile));
    assert.equal(ev?.kind, 'images');
    assert.equal(ev?.requestedN, 40);
    assert.match(
      fs.readFileSync(path.join(path.dirname(evalFile), 'train.log'), 'utf8'),
      /evaluated .* at step 3 \(n = 40\)/,
      'the worker evaluates in its own process',
    );
    fs.writeFileSync(evalFile, JSON.stringify({ ...ev, n: 7, requestedN: 7 }));
    r = spawnSync(process.execPath, args, { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ablate: 1 run\(s\) trained or evaluated, 1 already complete/);
    assert.equal(readEval(path.dirname(evalFile))?.n, 40);
  });
});

describe('verdicts', () => {
  it('agree, disagree or stay inconclusive from seed-paired differences', () => {
    const best = arm('ict', [0, 1, 2], [0.1, 0.11, 0.12]);
    assert.match(verdict([best, arm('ct', [0, 1, 2], [0.3, 0.32, 0.29])], 'ict', ['ct'], 'swd1'), /^agrees \(ct − ict = /);
    assert.match(verdict([best, arm('ct', [0, 1, 2], [0.05, 0.06, 0.055])], 'ict', ['ct'], 'swd1'), /^disagrees/);
    assert.match(verdict([best, arm('ct', [0, 1, 2], [0.12, 0.09, 0.125])], 'ict', ['ct'], 'swd1'), /^inconclusive/);
    assert.match(verdict([best, arm('ct', [5], [0.3])], 'ict', ['ct'], 'swd1'), /too few paired seeds \(0\)/);
    assert.equal(verdict([arm('ict', [0], [0.1]), arm('ct', [0], [0.3])], 'ict', ['ct'], 'swd1'), 'same direction (1 seed, no interval: ct − ict = 0.200)');
    assert.match(verdict([arm('ict', [0], [0.3]), arm('ct', [0], [0.1])], 'ict', ['ct'], 'swd1'), /^opposite direction \(1 seed/);
    const [v] = verdicts([best, arm('ct', [0, 1, 2], [0.3, 0.32, 0.29])], 'ict', ['ct'], 'swd1', { metric: '1-step SWD', data: 'eight-gaussians', steps: 100 });
    assert.equal(v?.outcome, 'agrees');
    assert.equal(v?.diff.n, 3);
    assert.ok(Math.abs((v?.diff.mean ?? 0) - 0.193333) < 1e-5);
    assert.ok(v !== undefined && verdictAgrees(v));
    assert.equal(verdictWord(v ? [v] : []), 'agrees');
    assert.equal(verdictWord([]), 'not run');
  });
});

describe('ctlab ablate and ctlab report', () => {
  it('runs arms in worker processes, skips finished runs, and rebuilds tables from run directories', () => {
    const work = tempDir();
    const runs = path.join(work, 'runs');
    const out = path.join(work, 'results');
    const cfg = path.join(work, 'tiny.json');
    fs.writeFileSync(cfg, JSON.stringify({ batchSize: 32, model: { hidden: 16, depth: 2 }, checkpointEvery: 10 }));
    const args = [CLI, 'ablate', 'target', '--seeds', '2', '--steps', '20', '--runs', runs, '--out', out, '--config', cfg, '--no-progress'];
    // CTLAB_THREADS set by the user reaches every worker (without it, 2 workers get 1 thread each)
    const env = { ...process.env, CTLAB_BACKEND: 'wasm', CTLAB_THREADS: '2' };
    let r = spawnSync(process.execPath, args, { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ablate: 4 run\(s\) trained or evaluated, 0 already complete, 0 failed/);
    const threads = listRunDirs(runs).map((d) => readRunJson(d).backend.threads);
    assert.deepEqual(threads, [2, 2, 2, 2]);
    const csv = fs
      .readFileSync(path.join(out, 'target', 'summary.csv'), 'utf8')
      .trim()
      .split('\n');
    assert.equal(csv.length, 3);
    assert.match(csv[0] as string, /^data,arm,SWD 1-step mean,SWD 1-step half-width,SWD 1-step n,SWD 2-step mean,/);
    assert.match(csv[1] as string, /^eight-gaussians,ema,[0-9.e-]+,[0-9.e-]+,2,.*,2,20,/);
    const md = fs.readFileSync(path.join(out, 'target', 'summary.md'), 'utf8');
    assert.match(md, /dropping the EMA of the target/);
    assert.match(md, /eight-gaussians, 1-step SWD: (agrees|disagrees|inconclusive)/);
    assert.match(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), /\[Consistency target θ⁻\]\(target\/summary\.md\)/);
    assert.ok(fs.existsSync(path.join(out, 'target', 'eight-gaussians-swd1-vs-step.html')));

    r = spawnSync(process.execPath, args, { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ablate: 0 run\(s\) trained or evaluated, 4 already complete/);

    fs.rmSync(out, { recursive: true });
    const summary = path.join(work, 'README.md');
    r = spawnSync(process.execPath, [CLI, 'report', '--runs', runs, '--out', out, '--summary', summary], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    const top = fs.readFileSync(summary, 'utf8');
    assert.match(top, /\[Consistency target θ⁻\]\(results\/target\/summary\.md\)/, 'links rewritten relative to the summary');
    assert.match(top, /\[Evaluation bias\]\(results\/evaluation-bias\.md\)/);
    assert.deepEqual(
      fs
        .readFileSync(path.join(out, 'target', 'summary.csv'), 'utf8')
        .trim()
        .split('\n'),
      csv,
    );
  });
});
