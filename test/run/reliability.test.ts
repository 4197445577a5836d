/**
 * Nothing lost, nothing mixed (#18): every file the kit reads names itself in its errors, --resume
 * refuses a flag that would change the config, and a failed write stops the run so that a resume
 * ends bit-identical to an uninterrupted run.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { initBackend } from '../../src/backend';
import { readEval, readMetrics, readRunConfig, readRunJson, runPaths, truncateMetrics } from '../../src/run/run-dir';
import { listCheckpoints, loadCheckpoint, loadLatestCheckpoint } from '../../src/training/checkpoint';
import { train, WriteFailedError } from '../../src/training/trainer';
import { CLI, tempDir, tinyConfig } from '../helpers';

before(async () => {
  await initBackend({ backend: 'wasm', log: false });
});

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

function sameWeights(a: string, b: string): void {
  const x = loadCheckpoint(listCheckpoints(runPaths(a).checkpoints)[0]!.file);
  const y = loadCheckpoint(listCheckpoints(runPaths(b).checkpoints)[0]!.file);
  assert.equal(y.step, x.step);
  assert.deepEqual(
    y.tensors.map((t) => t.name),
    x.tensors.map((t) => t.name),
  );
  for (const [i, t] of x.tensors.entries()) assert.deepEqual(Buffer.from(y.tensors[i]!.data.buffer), Buffer.from(t.data.buffer), `${t.name} differs`);
}

describe('files the kit reads name themselves', () => {
  it('metrics.jsonl: a torn last line is skipped with a warning, a bad line elsewhere names file:line', () => {
    const dir = tempDir();
    const file = path.join(dir, 'metrics.jsonl');
    const good = JSON.stringify({ step: 10, kind: 'train', loss: 0.5, N: 10, mu: 0, lr: 1e-3, stepsPerSec: 1, numTensors: 5 });
    fs.writeFileSync(file, `${good}\n{"step":20,"kind":"tr`);
    const warnings: string[] = [];
    assert.equal(readMetrics(file, (m) => warnings.push(m)).length, 1);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: skipping a torn last line`));
    // on resume the torn line is dropped from the file, the good one kept byte for byte
    truncateMetrics(file, 10, () => undefined);
    assert.equal(fs.readFileSync(file, 'utf8'), `${good}\n`);

    fs.writeFileSync(file, `${good}\n{"step":20,"kind":"tr\n${good}\n`);
    assert.throws(() => readMetrics(file), { message: new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: not valid JSON`) });
    fs.writeFileSync(file, `${good}\n${good}\n{"step":"x","kind":"train"}\n`);
    assert.throws(() => readMetrics(file), { message: /metrics\.jsonl:3: \n {2}step: Invalid input: expected number/ });
    // a complete last line (it ends in a newline) that is not JSON is not torn: an error
    fs.writeFileSync(file, `${good}\nnot json\n`);
    assert.throws(() => readMetrics(file), { message: /metrics\.jsonl:2: not valid JSON/ });
  });

  it('config.json, run.json, eval.json: broken JSON, a non-object and a bad field each name the file', () => {
    const dir = tempDir();
    const p = runPaths(dir);
    fs.writeFileSync(p.config, '{"name": ');
    assert.throws(() => readRunConfig(dir), { message: new RegExp(`^${p.config}: not valid JSON`) });
    fs.writeFileSync(p.config, '[1, 2]');
    assert.throws(() => readRunConfig(dir), { message: new RegExp(`^${p.config}: expected a JSON object .*got an array`) });
    fs.writeFileSync(p.config, JSON.stringify({ ...tinyConfig('ict'), batchSize: -3 }));
    assert.throws(() => readRunConfig(dir), { message: new RegExp(`^${p.config}: config\\.batchSize`) });
    fs.writeFileSync(p.run, '{"status": "running"}');
    assert.throws(() => readRunJson(dir), { message: new RegExp(`^${p.run}: \\n  command:`) });
    fs.mkdirSync(p.eval); // a folder where the file should be
    assert.throws(() => readEval(dir), { message: new RegExp(`^${p.eval}: cannot be read`) });
  });

  it('ctlab train --config: broken JSON and an array are refused naming the file', () => {
    const dir = tempDir();
    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, '{"steps": 10,}');
    let r = cli(['train', '--config', broken, '--dry-run']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`--config ${broken}: .*JSON`));
    const arr = path.join(dir, 'arr.json');
    fs.writeFileSync(arr, '[{"steps": 10}]');
    r = cli(['train', '--config', arr, '--dry-run']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`--config ${arr}: expected a JSON object`));
    assert.doesNotMatch(r.stderr, /missing|required/i);
  });
});

describe('ctlab train --resume keeps the run config', () => {
  it('refuses --preset ct on an iCT run and --steps, naming the flag and both values; plain --resume works', () => {
    const dir = tempDir();
    const override = path.join(dir, 'o.json');
    fs.writeFileSync(
      override,
      JSON.stringify({
        batchSize: 32,
        data: { kind: 'toy2d', name: 'two-moons', trainSize: 200, testSize: 50 },
        model: { hidden: 16, depth: 1 },
        checkpointEvery: 10,
        evalEvery: 0,
        logEvery: 10,
      }),
    );
    const run = path.join(dir, 'run');
    let r = cli(['train', '--config', override, '--steps', '10', '--out', run, '--no-progress', '--backend', 'wasm']);
    assert.equal(r.status, 0, r.stderr);

    r = cli(['train', '--resume', '--out', run, '--preset', 'ct', '--no-progress']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /these flags would change it:\n {2}--preset ct: .*config\.weighting: the run has "ict", the flag gives "uniform"/);
    r = cli(['train', '--resume', '--out', run, '--steps', '900', '--lr', '0.5', '--no-progress']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--steps 900: config\.steps: the run has 10, the flag gives 900/);
    assert.match(r.stderr, /--lr 0\.5: config\.optimizer\.lr: the run has [\d.e-]+, the flag gives 0\.5/);
    assert.match(r.stderr, new RegExp(`Drop them \\(ctlab train --resume --out ${run}\\)`));
    r = cli(['train', '--resume', '--out', run, '--data', 'eight-gaussians', '--no-progress']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--data eight-gaussians: config\.data\.name: the run has "two-moons", the flag gives "eight-gaussians"/);

    // flags that repeat the run's values are accepted
    r = cli(['train', '--resume', '--out', run, '--preset', 'ict', '--config', override, '--steps', '10', '--dry-run']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { steps: number }).steps, 10);
    r = cli(['train', '--resume', '--out', run, '--no-progress', '--backend', 'wasm']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^done: .* at step 10/);
  });
});

describe('a failed write loses nothing', () => {
  const cfg = tinyConfig('ict', { steps: 60, checkpointEvery: 20, logEvery: 10 });

  it('a checkpoint write that fails stops the run with a message; after the fix a resume ends bit-identical', async () => {
    const work = tempDir();
    const full = path.join(work, 'full');
    await train(cfg, { outDir: full, progress: false });

    const run = path.join(work, 'broken');
    const p = runPaths(run);
    const saved = path.join(work, 'checkpoints.saved');
    // at step 30 the checkpoints folder becomes a file (root ignores chmod, not this): the step-40 checkpoint cannot be written
    const onMetric = (rec: { step: number; kind: string }): void => {
      if (rec.kind === 'train' && rec.step === 30) {
        fs.renameSync(p.checkpoints, saved);
        fs.writeFileSync(p.checkpoints, 'not a folder');
      }
    };
    await assert.rejects(train(cfg, { outDir: run, progress: false, onMetric }), (e: unknown) => {
      assert.ok(e instanceof WriteFailedError);
      assert.match(e.message, /ckpt-00000040\.bin: writing the checkpoint failed at step 40 \(.*\); training stopped\./);
      assert.match(e.message, /Last good checkpoint: .*ckpt-00000020\.bin\./);
      assert.match(e.message, new RegExp(`ctlab train --resume --out ${run}$`));
      return true;
    });
    assert.equal(readRunJson(run).status, 'failed');
    // the disk is fixed: the last good checkpoint is there and loads
    fs.rmSync(p.checkpoints);
    fs.renameSync(saved, p.checkpoints);
    assert.equal(loadLatestCheckpoint(p.checkpoints)?.step, 20);
    const r = await train(cfg, { outDir: run, resume: true, progress: false });
    assert.equal(r.completed, true);
    sameWeights(full, run);
    assert.deepEqual(
      readMetrics(p.metrics).map((m) => m.step),
      readMetrics(runPaths(full).metrics).map((m) => m.step),
    );
  });

  it('--resume with every checkpoint corrupt is refused naming each one, and leaves the run as it is', async () => {
    const run = path.join(tempDir(), 'run');
    await train(cfg, { outDir: run, progress: false });
    const metrics = fs.readFileSync(runPaths(run).metrics, 'utf8');
    for (const { file } of listCheckpoints(runPaths(run).checkpoints)) {
      const b = fs.readFileSync(file);
      b[100] = (b[100] as number) ^ 0xff;
      fs.writeFileSync(file, b);
    }
    await assert.rejects(train(cfg, { outDir: run, resume: true, progress: false }), {
      message:
        /--resume found no valid checkpoint \(checkpoint .*ckpt-00000060\.bin: checksum mismatch .*; checkpoint .*ckpt-00000040\.bin: checksum mismatch .*\); the run was left as it is\. To start it over, remove .*checkpoints$/,
    });
    assert.equal(fs.readFileSync(runPaths(run).metrics, 'utf8'), metrics);
    assert.equal(readRunJson(run).status, 'completed');
  });

  it('a metrics write that fails stops the run; after the fix a resume ends bit-identical', async () => {
    const work = tempDir();
    const full = path.join(work, 'full');
    await train(cfg, { outDir: full, progress: false });

    const run = path.join(work, 'broken');
    const p = runPaths(run);
    const saved = path.join(work, 'metrics.saved');
    // after the step-20 record metrics.jsonl becomes a folder: the step-30 record cannot be appended
    const onMetric = (rec: { step: number; kind: string }): void => {
      if (rec.kind === 'train' && rec.step === 20) {
        fs.renameSync(p.metrics, saved);
        fs.mkdirSync(p.metrics);
      }
    };
    await assert.rejects(train(cfg, { outDir: run, progress: false, onMetric }), {
      name: 'WriteFailedError',
      message: /metrics\.jsonl: writing the metrics record failed at step 30 .*Last good checkpoint: .*ckpt-00000020\.bin/,
    });
    fs.rmdirSync(p.metrics);
    fs.renameSync(saved, p.metrics);
    await train(cfg, { outDir: run, resume: true, progress: false });
    sameWeights(full, run);
    assert.deepEqual(
      readMetrics(p.metrics).map((m) => m.step),
      readMetrics(runPaths(full).metrics).map((m) => m.step),
    );
  });
});
