import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { RecordError } from '../../src/run/records';
import {
  configHash,
  exportRecords,
  finalEval,
  planEntryDir,
  readEval,
  readImageEval,
  readMetrics,
  readPlans,
  readRunJson,
  runPaths,
  savePlan,
  truncateMetrics,
  writeJson,
} from '../../src/run/run-dir';
import { configHash as trainerConfigHash } from '../../src/training/trainer';
import { tempDir, tinyConfig } from '../helpers';

const RUN_JSON = {
  status: 'completed',
  command: 'ctlab train',
  commit: 'abc',
  dirty: false,
  seed: 0,
  configHash: '0123456789abcdef',
  backend: { name: 'wasm', tfName: 'wasm', threads: 1, native: { active: false } },
  node: 'v20',
  tfjs: '4.22.0',
  data: 'eight-gaussians',
  params: 10,
  step: 20,
  totalSteps: 20,
  wallSec: 1.5,
  updatedAt: '2026-12-01T00:00:00.000Z',
  lastCheckpoint: 'ckpt-00000020.bin',
};

/** A run directory as today's trainer and `ctlab eval` write it. */
function fakeRun(dir: string, evalFile: Record<string, unknown> | null): void {
  fs.mkdirSync(dir, { recursive: true });
  writeJson(runPaths(dir).config, tinyConfig('ict', { steps: 20 }));
  writeJson(runPaths(dir).run, RUN_JSON);
  fs.writeFileSync(
    runPaths(dir).metrics,
    [
      JSON.stringify({ step: 10, kind: 'train', loss: 0.7, N: 11, mu: 0, lr: 0.001, stepsPerSec: 20, numTensors: 33 }),
      JSON.stringify({ step: 20, kind: 'eval', n: 400, swd1: 0.1, swd2: null, mmd1: 0.2, mmd2: 0.3, twoStepSigma: 0.821 }),
      '{"step":30,"kind":"tr', // cut by a kill mid-write
    ].join('\n'),
  );
  if (evalFile) writeJson(runPaths(dir).eval, evalFile);
}

const IMAGE_EVAL = {
  run: 'runs/x/seed0',
  step: 20,
  n: 40,
  requestedN: 40,
  seed: 777,
  sigmas: { oneStep: [80], twoStep: [80, 0.821] },
  scores: { 'fmnist-strided': { oneStep: { fid: 10, kid: 0.1 }, twoStep: { fid: 9, kid: 0.09 }, floor: { fid: 1, kid: 0 }, ceiling: { fid: 200, kid: 1 } } },
  grids: { oneStep: 'runs/x/seed0/samples/grid-1step-step20.png', twoStep: 'runs/x/seed0/samples/grid-2step-step20.png' },
};
const POINTS_EVAL = {
  run: 'runs/y',
  step: 20,
  n: 400,
  seed: 777,
  oneStep: { sigmas: [80], swd: 0.1, mmd: 0.2 },
  multiStep: { sigmas: [80, 0.821], swd: 0.05, mmd: 0.1 },
};

describe('run records', () => {
  it("read what today's runs wrote: both eval.json shapes without a kind field, null metrics as NaN, a cut last line skipped", () => {
    const root = tempDir();
    const img = path.join(root, 'img');
    const pts = path.join(root, 'pts');
    fakeRun(img, IMAGE_EVAL);
    fakeRun(pts, POINTS_EVAL);
    const ev = readEval(img);
    assert.equal(ev?.kind, 'images');
    assert.equal(readImageEval(img)?.scores['fmnist-strided']?.oneStep.fid, 10);
    assert.equal(readEval(pts)?.kind, 'points');
    assert.equal(readImageEval(pts), null);
    assert.equal(finalEval(img, 20, 40)?.n, 40);
    assert.equal(finalEval(img, 20, 2000), null, 'another n: redo');
    assert.equal(finalEval(img, 30, 40), null, 'another step: redo');
    const m = readMetrics(runPaths(img).metrics);
    assert.equal(m.length, 2);
    const last = m[1];
    assert.ok(last?.kind === 'eval' && Number.isNaN(last.swd2));
    assert.equal(readRunJson(img).backend.name, 'wasm');
    assert.equal(readRunJson(img).backend.tfName, 'wasm', 'fields beyond the schema are kept');
  });

  it('refuse a bad file naming the file and the field', () => {
    const dir = path.join(tempDir(), 'run');
    fakeRun(dir, { ...POINTS_EVAL, n: 'many' });
    writeJson(runPaths(dir).run, { ...RUN_JSON, wallSec: 'slow' });
    assert.throws(
      () => readRunJson(dir),
      (e: unknown) => e instanceof RecordError && /run\.json: wallSec: .*got "slow"/.test(e.message),
    );
    assert.throws(() => readEval(dir), /eval\.json: n: .*got "many"/);
    fs.appendFileSync(runPaths(dir).metrics, '\n' + JSON.stringify({ step: 40, kind: 'train', loss: 'x' }) + '\n');
    // the torn line is no longer the last one: it is an error too, named by its line
    assert.throws(() => readMetrics(runPaths(dir).metrics), /metrics\.jsonl:3: not valid JSON/);
    const lines = fs.readFileSync(runPaths(dir).metrics, 'utf8').split('\n');
    fs.writeFileSync(runPaths(dir).metrics, [...lines.slice(0, 2), ...lines.slice(3)].join('\n'));
    assert.throws(() => readMetrics(runPaths(dir).metrics), /metrics\.jsonl:3: [\s\S]*loss: .*got "x"/);
  });

  it('truncate metrics on resume keeping the kept lines byte for byte', () => {
    const dir = path.join(tempDir(), 'run');
    fakeRun(dir, null);
    const before = fs.readFileSync(runPaths(dir).metrics, 'utf8').split('\n')[0];
    truncateMetrics(runPaths(dir).metrics, 10);
    assert.equal(fs.readFileSync(runPaths(dir).metrics, 'utf8'), `${before}\n`);
  });

  it('keep configHash where run directories are keyed by it', () => {
    const cfg = tinyConfig('ict');
    assert.equal(configHash(cfg), trainerConfigHash(cfg));
    assert.match(configHash(cfg), /^[0-9a-f]{16}$/);
  });

  it('export records (never checkpoints, samples or logs) with plans made relative, readable under the new root', () => {
    const root = tempDir();
    const runs = path.join(root, 'runs');
    const dir = path.join(runs, 'eight-gaussians', 'baseline-01234567', 'seed0');
    fakeRun(dir, POINTS_EVAL);
    fs.mkdirSync(runPaths(dir).checkpoints, { recursive: true });
    fs.writeFileSync(path.join(runPaths(dir).checkpoints, 'ckpt-00000020.bin'), 'x');
    fs.writeFileSync(path.join(dir, 'train.log'), 'log');
    savePlan(runs, {
      data: 'eight-gaussians',
      steps: 20,
      seeds: 1,
      command: 'ctlab ablate teacher',
      skipped: [],
      entries: [{ ablation: 'teacher', arm: 'none', seed: 0, dir }],
    });
    const out = path.join(root, 'results', 'runs');
    const r = exportRecords(runs, out);
    assert.equal(r.runs, 1);
    assert.equal(r.plans, 1);
    const copied = path.join(out, 'eight-gaussians', 'baseline-01234567', 'seed0');
    assert.deepEqual(fs.readdirSync(copied).sort(), ['config.json', 'eval.json', 'metrics.jsonl', 'run.json']);
    assert.equal(fs.readFileSync(path.join(copied, 'metrics.jsonl'), 'utf8'), fs.readFileSync(runPaths(dir).metrics, 'utf8'));
    const [plan] = readPlans(out);
    assert.equal(plan?.entries[0]?.dir, 'eight-gaussians/baseline-01234567/seed0');
    // written under the ablation's former name (teacher, arm none): read back under today's (target, stopgrad)
    assert.deepEqual([plan?.entries[0]?.ablation, plan?.entries[0]?.arm], ['target', 'stopgrad']);
    assert.equal(planEntryDir(out, plan?.entries[0] ?? { ablation: '', arm: '', seed: 0, dir: '' }), copied);
  });

  it('export only completed runs when asked, and take out the records of an unfinished run exported before', () => {
    const root = tempDir();
    const runs = path.join(root, 'runs');
    const done = path.join(runs, 'eight-gaussians', 'baseline-01234567', 'seed0');
    const running = path.join(runs, 'eight-gaussians', 'baseline-01234567', 'seed1');
    fakeRun(done, POINTS_EVAL);
    fakeRun(running, null);
    writeJson(runPaths(running).run, { ...RUN_JSON, status: 'running' });
    const out = path.join(root, 'results', 'runs');
    // a plain export takes the in-flight snapshot too
    assert.equal(exportRecords(runs, out).runs, 2);
    const snapshot = path.join(out, 'eight-gaussians', 'baseline-01234567', 'seed1');
    assert.ok(fs.existsSync(path.join(snapshot, 'run.json')));
    const r = exportRecords(runs, out, { completedOnly: true });
    assert.equal(r.runs, 1);
    assert.deepEqual(r.unfinished, [path.join('eight-gaussians', 'baseline-01234567', 'seed1')]);
    assert.deepEqual(r.removed.map((f) => path.basename(f)).sort(), ['config.json', 'metrics.jsonl', 'run.json']);
    assert.ok(!fs.existsSync(snapshot), 'its emptied folder removed');
    assert.deepEqual(fs.readdirSync(path.join(out, 'eight-gaussians', 'baseline-01234567', 'seed0')).sort(), [
      'config.json',
      'eval.json',
      'metrics.jsonl',
      'run.json',
    ]);
  });
});
