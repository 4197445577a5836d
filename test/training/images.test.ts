import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { initBackend } from '../../src/backend';
import { buildConfig } from '../../src/config/presets';
import { ConfigError } from '../../src/config/schema';
import { loadDataset } from '../../src/data/source';
import * as tf from '@tensorflow/tfjs';
import { ctLossAndGrads, drawStep, gridSize, NoiseLevelTable } from '../../src/training/ct-step';
import { createModelState } from '../../src/training/trainer';
import { loadDefaultLpips } from '../../src/losses/lpips-weights';
import { CLI, tempDir } from '../helpers';

/** A tiny image config: 8×8 Fashion-MNIST, a 2-level U-Net of 8/16 channels. */
function tinyImages(preset: 'ct' | 'ict', override: Record<string, unknown> = {}) {
  return buildConfig(
    preset,
    {
      steps: 40,
      batchSize: 16,
      data: { kind: 'fashion-mnist', size: 8, trainSize: 2000, testSize: 200 },
      model: { channels: [8, 16], groups: 4, embedding: { kind: 'fourier', scale: 16, dim: 16 } },
      evalEvery: 0,
      checkpointEvery: 40,
      logEvery: 10,
      ...override,
    },
    'fashion-mnist',
  );
}

before(async () => {
  await initBackend({ backend: 'wasm', log: false });
});

describe('image consistency models', () => {
  it('refuses a model that does not fit the data, and U-Net sizes that do not divide', () => {
    assert.throws(
      () => buildConfig('ict', { data: { kind: 'fashion-mnist', size: 16, trainSize: 10, testSize: 10 } }),
      (e: unknown) => e instanceof ConfigError && e.message.includes("config.model.kind: 'mlp' does not fit data 'fashion-mnist'"),
    );
    assert.throws(() => tinyImages('ict', { model: { groups: 3 } }), /config\.model\.groups: 3 must divide every width/);
    assert.throws(() => tinyImages('ict', { data: { size: 7 } }), /config\.data\.size: 7 must be divisible by 2/);
  });

  it('loads Fashion-MNIST resized to the configured size, in [−1, 1]', () => {
    const d = loadDataset(tinyImages('ict').data, 0);
    assert.deepEqual(d.shape, [8, 8, 1]);
    assert.equal(d.train.length, 2000 * 64);
    assert.equal(d.test.length, 200 * 64);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of d.train) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    assert.ok(lo >= -1 && hi <= 1 && hi - lo > 1.5, `range ${lo}..${hi}`);
  });

  it('a few image training steps lower the LPIPS-style loss on a fixed batch (U-Net and feature-net gradients through the wasm conv kernels)', async () => {
    // The CT loss of a whole run wanders at this tiny scale (the target moves with the teacher), so
    // this checks the optimisation itself: one fixed draw and a frozen teacher, 15 updates.
    const cfg = tinyImages('ct', { batchSize: 16, optimizer: { kind: 'adam', lr: 2e-3 }, curriculum: { kind: 'ict', s0: 10, s1: 10 } });
    const data = loadDataset(cfg.data, cfg.seed);
    assert.equal(cfg.distance.kind, 'lpips', 'the CT preset on images uses the LPIPS-style distance, as CM did');
    const perceptual = await loadDefaultLpips();
    const state = createModelState(cfg, data.shape);
    const draw = drawStep(cfg, 0, data.train, data.dim, new NoiseLevelTable(cfg).at(gridSize(cfg, 0)), state.net.dropoutShapes(cfg.batchSize));
    const losses: number[] = [];
    for (let i = 0; i < 15; i++) {
      const { loss, grads } = ctLossAndGrads(cfg, state.net, state.student, state.target ?? state.student, draw, data.shape, perceptual);
      losses.push(loss.dataSync()[0] as number);
      state.optimizer.step(grads);
      tf.dispose([loss, ...grads]);
    }
    state.dispose();
    perceptual.dispose();
    assert.ok(losses.every(Number.isFinite), losses.join(', '));
    assert.ok((losses[14] as number) < 0.5 * (losses[0] as number), `loss should fall: ${losses.map((l) => l.toPrecision(3)).join(', ')}`);
  });

  it('ctlab sample --grid writes a PNG grid of image samples', () => {
    const dir = tempDir();
    const cfgFile = path.join(dir, 'cfg.json');
    fs.writeFileSync(cfgFile, JSON.stringify(tinyImages('ict', { steps: 4, checkpointEvery: 2 })));
    let r = spawnSync(process.execPath, [CLI, 'train', '--data', 'fashion-mnist', '--config', cfgFile, '--out', path.join(dir, 'run'), '--no-progress'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const png = path.join(dir, 'grid.png');
    r = spawnSync(
      process.execPath,
      [CLI, 'sample', '--run', path.join(dir, 'run'), '--n', '6', '--grid', '3', '--sigmas', '80,0.821', '--out', png, '--no-progress'],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const img = PNG.sync.read(fs.readFileSync(png));
    // 3 columns × 2 rows of 8×8 tiles upscaled to 64×64 (nearest neighbour) with 1-px gaps between tiles
    assert.equal(img.width, 3 * 64 + 2);
    assert.equal(img.height, 2 * 64 + 1);
  });
});
