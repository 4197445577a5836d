import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { loadDataset } from '../../src/data/source';
import { sampleDistances } from '../../src/metrics/evaluate';
import { sampleConsistency } from '../../src/sampling/multistep';
import { loadCheckpoint, listCheckpoints } from '../../src/training/checkpoint';
import { ctLossAndGrads, drawStep, gridSize, NoiseLevelTable } from '../../src/training/ct-step';
import { readMetrics, runPaths } from '../../src/training/run-dir';
import { createModelState, loadRunWeights, NonFiniteLossError, restoreState, train } from '../../src/training/trainer';
import { tempDir, tinyConfig } from '../helpers';

before(async () => {
  await initBackend({ backend: 'wasm', log: false });
});

describe('consistency training', () => {
  it('lowers the loss over a short run (EMA teacher, fixed grid so λ and N do not move under it)', async () => {
    // With θ⁻ = stopgrad(θ) (iCT) the loss measures |df/dσ| along trajectories and rises as the model
    // leaves the near-constant initial map; the falling-loss check uses CT's EMA teacher instead.
    const cfg = tinyConfig('ct', { steps: 200, logEvery: 20, curriculum: { kind: 'ict', s0: 10, s1: 10 } });
    const dir = tempDir();
    await train(cfg, { outDir: dir, progress: false });
    const losses = readMetrics(runPaths(dir).metrics)
      .filter((r) => r.kind === 'train')
      .map((r) => Number(r.loss));
    assert.equal(losses.length, 10);
    const first = losses[0] as number;
    const last = losses.slice(-2).reduce((a, b) => a + b, 0) / 2;
    assert.ok(last < 0.8 * first, `loss should fall by > 20%: first ${first}, last ${last}`);
  });

  it("a trained model's 1-step samples beat the untrained model's on sliced Wasserstein", async () => {
    const cfg = tinyConfig('ict', { steps: 800, batchSize: 128, model: { hidden: 64, depth: 2, dropout: 0 }, checkpointEvery: 800 });
    const dir = tempDir();
    await train(cfg, { outDir: dir, progress: false });
    const data = loadDataset(cfg.data, cfg.seed);
    const opts = { sigmas: [80], n: 400, seed: 5, sigmaMin: 0.002, sigmaMax: 80 };
    const trained = loadRunWeights(dir, cfg, [2]);
    const swdTrained = sampleDistances(sampleConsistency(trained.net, trained.weights, opts), data.test, 2).swd;
    const fresh = createModelState(cfg, [2]);
    const swdUntrained = sampleDistances(sampleConsistency(fresh.net, fresh.ema, opts), data.test, 2).swd;
    fresh.dispose();
    tf.dispose(trained.weights);
    trained.net.dispose();
    assert.ok(swdTrained < 0.6 * swdUntrained, `trained SWD ${swdTrained} should be well below untrained ${swdUntrained}`);
  });

  it('keeps tf.memory().numTensors flat over 200 steps and frees everything at the end', async () => {
    const before = tf.memory().numTensors;
    const cfg = tinyConfig('ct', { steps: 200, logEvery: 10, checkpointEvery: 50, evalEvery: 100, model: { dropout: 0.1 } });
    const counts: number[] = [];
    await train(cfg, { outDir: tempDir(), progress: false, onMetric: (r) => r.kind === 'train' && counts.push(Number(r.numTensors)) });
    assert.equal(counts.length, 20);
    assert.ok(
      counts.every((c) => c === counts[0]),
      `tensor counts drifted: ${counts.join(',')}`,
    );
    assert.equal(tf.memory().numTensors, before);
  });

  it('shares dropout masks between the student and teacher passes', () => {
    // With σ_{i+1} forced equal to σ_i and θ⁻ = θ, the two passes see identical inputs: the loss is 0
    // exactly when both passes use the same masks (dropout 0.5 would otherwise make it large).
    const cfg = tinyConfig('ict', { model: { dropout: 0.5 } });
    const state = createModelState(cfg, [2]);
    const data = loadDataset(cfg.data, cfg.seed);
    const draw = drawStep(cfg, 3, data.train, 2, new NoiseLevelTable(cfg).at(gridSize(cfg, 3)), state.net.dropoutShapes(cfg.batchSize));
    assert.ok(draw.masks.length > 0 && draw.masks.some((m) => m.data.includes(0)));
    draw.sigmaNext.set(draw.sigma);
    const { loss, grads } = ctLossAndGrads(cfg, state.net, state.student, state.student, draw, [2]);
    assert.equal(loss.dataSync()[0], 0);
    tf.dispose([loss, ...grads]);
    // and the same draw with different masks for the teacher gives a clearly non-zero loss
    const other = drawStep(cfg, 4, data.train, 2, new NoiseLevelTable(cfg).at(gridSize(cfg, 4)), state.net.dropoutShapes(cfg.batchSize));
    const target = { ...draw };
    const r = tf.tidy(() => {
      const x = tf.tensor2d(draw.x, [cfg.batchSize, 2]);
      const s = tf.tensor1d(draw.sigma);
      const masksA = draw.masks.map((m) => tf.tensor(m.data, m.shape));
      const masksB = other.masks.map((m) => tf.tensor(m.data, m.shape));
      const a = state.net.apply(state.student, x, s, masksA);
      const b = state.net.apply(state.student, x, s, masksB);
      return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number;
    });
    assert.ok(r > 1e-3, `different masks should change the output (max diff ${r}); draw ${target.sigma.length}`);
    state.dispose();
  });

  it('stops on a non-finite loss, naming the step, and keeps the last good checkpoint', async () => {
    const cfg = tinyConfig('ict', { steps: 50, checkpointEvery: 1, optimizer: { lr: 1e30 } });
    const dir = tempDir();
    await assert.rejects(train(cfg, { outDir: dir, progress: false }), (e: unknown) => {
      assert.ok(e instanceof NonFiniteLossError, String(e));
      assert.match(e.message, /non-finite loss \((NaN|-?Infinity)\) at step \d+; training stopped\. Last good checkpoint: .*ckpt-\d+\.bin/);
      const good = listCheckpoints(runPaths(dir).checkpoints)[0];
      assert.ok(good, 'a checkpoint must remain');
      assert.equal(good.step, e.step - 1);
      assert.equal(loadCheckpoint(good.file).step, e.step - 1); // verifies its checksum
      return true;
    });
    const info = JSON.parse(fs.readFileSync(runPaths(dir).run, 'utf8')) as { status: string; error: string };
    assert.equal(info.status, 'failed');
    assert.match(info.error, /non-finite loss/);
  });

  it('refuses to overwrite a run without --resume, and a resume with a changed config', async () => {
    const cfg = tinyConfig('ict', { steps: 20 });
    const dir = tempDir();
    await train(cfg, { outDir: dir, progress: false, stopAfter: 10 });
    await assert.rejects(train(cfg, { outDir: dir, progress: false }), /already holds a run .*--resume/);
    await assert.rejects(train({ ...cfg, batchSize: 32 }, { outDir: dir, resume: true, progress: false }), /differs from the run's config\.json/);
    const r = await train(cfg, { outDir: dir, resume: true, progress: false });
    assert.equal(r.steps, 20);
    assert.ok(r.completed);
  });

  it('writes a self-describing run directory', async () => {
    const cfg = tinyConfig('ct', { steps: 20, evalEvery: 10 });
    const dir = tempDir();
    await train(cfg, { outDir: dir, progress: false, command: 'test-command' });
    const p = runPaths(dir);
    const info = JSON.parse(fs.readFileSync(p.run, 'utf8')) as Record<string, unknown>;
    assert.equal(info.status, 'completed');
    assert.equal(info.command, 'test-command');
    assert.equal(info.seed, 0);
    assert.match(String(info.commit), /^([0-9a-f]{40}|unknown)$/);
    assert.equal((info.backend as { name: string }).name, 'wasm');
    assert.deepEqual(JSON.parse(fs.readFileSync(p.config, 'utf8')), cfg);
    const evals = readMetrics(p.metrics).filter((r) => r.kind === 'eval');
    assert.deepEqual(
      evals.map((r) => r.step),
      [10, 20],
    );
    assert.ok(fs.existsSync(path.join(p.checkpoints, 'ckpt-00000020.bin')));
  });

  it("restores θ⁻ from a checkpoint written before the rename (its group named 'teacher/')", () => {
    const cfg = tinyConfig('ct');
    assert.equal(cfg.target.kind, 'ema');
    const a = createModelState({ ...cfg, seed: 1 }, [2]);
    const b = createModelState({ ...cfg, seed: 2 }, [2]);
    try {
      const names = a.net.params.map((p) => p.name);
      const group = (role: string, vars: readonly tf.Tensor[]) =>
        vars.map((v, i) => ({ name: `${role}/${names[i]}`, shape: v.shape, data: v.dataSync() as Float32Array }));
      assert.ok(a.target && b.target);
      const optState = a.optimizer.state();
      const opt = optState.map(({ name, tensor }) => ({ name: `opt/${name}`, shape: tensor.shape, data: tensor.dataSync() as Float32Array }));
      tf.dispose(optState.map((o) => o.tensor));
      const old = [...group('student', a.student), ...group('ema', a.ema), ...group('teacher', a.target), ...opt];
      restoreState(b, old, 'old.ckpt');
      for (const [i, v] of b.target.entries()) assert.deepEqual(v.dataSync(), a.target[i]?.dataSync(), `${names[i]}`);
      // neither spelling present: refused, naming today's tensor
      assert.throws(
        () => restoreState(b, [...group('student', a.student), ...group('ema', a.ema), ...opt], 'bad.ckpt'),
        /checkpoint bad\.ckpt: missing tensor target\//,
      );
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});
