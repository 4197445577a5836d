import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { TOY2D_TEST_SEED, toy2d } from '../../src/data/toy2d';
import { applyChoices, choicesOf, techniques } from '../../src/experiments/techniques';
import { buildConfig } from '../../src/config/presets';
import { NonFiniteSessionLoss, TrainingSession } from '../../src/training/session';
import { loadRunWeights, train } from '../../src/training/trainer';
import { DRAWN, SettingsError, decodePoints, defaultSettings, encodePoints, fromQuery, panelConfig, presetChoices, toQuery } from '../../demo/settings';
import { tempDir, tinyConfig } from '../helpers';

test('techniques: one per ablation axis, arms resolved to concrete values, presets recognised', () => {
  const list = techniques('toy2d');
  assert.deepEqual(
    list.map((t) => `${t.name}@${t.path.join('.')}`),
    [
      'weighting@weighting',
      'embedding@model.embedding',
      'dropout@model.dropout',
      'target@target',
      'distance@distance',
      'curriculum@curriculum',
      'noise-sampler@noiseSampler',
    ],
  );
  // 2D has no LPIPS-style distance; images do
  assert.deepEqual(
    list.find((t) => t.name === 'distance')?.choices.map((c) => c.name),
    ['l2', 'pseudo-huber'],
  );
  assert.deepEqual(
    techniques('fashion-mnist')
      .find((t) => t.name === 'distance')
      ?.choices.map((c) => c.name),
    ['l2', 'pseudo-huber', 'lpips'],
  );
  // an arm whose override is {} means iCT's value, not "whatever the preset has"
  assert.deepEqual(list.find((t) => t.name === 'dropout')?.choices, [
    { name: '0', value: 0 },
    { name: '0.1', value: 0.1 },
    { name: '0.3', value: 0.3 },
  ]);
  assert.deepEqual(choicesOf(buildConfig('ct'), list), presetChoices('ct'));
  assert.deepEqual(presetChoices('ct'), {
    weighting: 'uniform',
    embedding: 'fourier-16',
    dropout: '0',
    target: 'ema',
    distance: 'l2',
    curriculum: 'ct',
    'noise-sampler': 'uniform',
  });
  // CT with iCT's curriculum: only that field changes
  const mixed = applyChoices('ct', { curriculum: 'ict' });
  assert.deepEqual(mixed.curriculum, buildConfig('ict').curriculum);
  assert.deepEqual({ ...mixed, curriculum: null }, { ...buildConfig('ct'), curriculum: null });
  assert.throws(() => applyChoices('ct', { curricula: 'ict' }), /technique: unknown name 'curricula', expected one of weighting, embedding/);
  assert.throws(() => applyChoices('ct', { dropout: '0.5' }), /technique dropout: unknown choice '0.5', expected one of 0, 0.1, 0.3/);
});

test('page settings survive the URL, and bad URL fields are refused by name', () => {
  const s = defaultSettings();
  s.steps = 750;
  s.seed = 3;
  s.panels[1].choices.target = 'ema';
  assert.deepEqual(fromQuery(toQuery(s)), s);
  // a URL shared before θ⁻ was renamed (b.teacher=none|ema) still opens with the same choice
  const shared = toQuery(s).replace('b.target=ema', 'b.teacher=none');
  assert.ok(shared.includes('b.teacher=none'), shared);
  assert.equal(fromQuery(shared).panels[1].choices.target, 'stopgrad');
  s.data = DRAWN;
  s.points = [0.5, -1.25, 2, 2, -3.999, 3.5, 0, 0, 1, 1, 1, -1, -1, 1, -1, -1];
  const back = fromQuery(toQuery(s));
  back.points.forEach((v, i) => assert.ok(Math.abs(v - (s.points[i] as number)) <= 1 / 8192, `point ${i}: ${v} vs ${s.points[i]}`));
  assert.deepEqual(
    decodePoints(encodePoints([1, 2])).map((v) => Math.round(v * 1000) / 1000),
    [1, 2],
  );
  const bad: [string, RegExp][] = [
    ['data=moons', /^data: expected one of eight-gaussians, two-moons, .*drawn, got 'moons'$/],
    ['steps=0', /^steps: expected an integer >= 1, got '0'$/],
    ['lr=-1', /^lr: expected a positive number, got '-1'$/],
    ['b=edm', /^b: expected a preset \(ct, ict\), got 'edm'$/],
    ['a.noise-sampler=gaussian', /^a\.noise-sampler: expected one of uniform, lognormal, got 'gaussian'$/],
    ['backend=metal', /^backend: expected one of auto, wasm, webgl, webgpu, cpu, got 'metal'$/],
    [`data=drawn&points=${encodePoints([0, 0])}`, /^points: draw at least 8 points \(have 1\)$/],
  ];
  for (const [q, re] of bad)
    assert.throws(
      () => fromQuery(q),
      (e: unknown) => e instanceof SettingsError && re.test(e.message),
      q,
    );
  // the config of a panel is the kit's: the schema refuses what it refuses for `ctlab train`
  const t = defaultSettings();
  t.batch = 0;
  assert.throws(() => panelConfig(t, 0), /batchSize/);
});

test('a TrainingSession ends with the same weights as ctlab train on the same config (the same step)', async () => {
  await initBackend({ backend: 'cpu' });
  const cfg = tinyConfig('ict', { steps: 25, checkpointEvery: 25 });
  const dir = tempDir();
  await train(cfg, { outDir: dir, progress: false, backend: 'cpu' });
  const { weights, net } = loadRunWeights(dir, cfg, [2]);
  const d = cfg.data.kind === 'toy2d' ? cfg.data : null;
  assert.ok(d);
  const session = new TrainingSession(cfg, {
    train: toy2d('eight-gaussians', d.trainSize, cfg.seed),
    test: toy2d('eight-gaussians', d.testSize, TOY2D_TEST_SEED),
    shape: [2],
  });
  const steps = await session.run(1000);
  assert.equal(steps, 25);
  assert.equal(session.status().done, true);
  const mine = session.emaWeights();
  for (const [i, w] of weights.entries()) assert.deepEqual(Array.from(mine[i]?.dataSync() ?? []), Array.from(w.dataSync()), `ema weight ${i}`);
  // the session's evaluation is the trainer's
  const ev = session.evaluate();
  assert.ok(ev.swd1 > 0 && Number.isFinite(ev.swd1));
  tf.dispose([...mine, ...weights]);
  net.dispose();
  session.dispose();
  await assert.rejects(session.step(), /session: used after dispose\(\)/);
});

test('a session stops on a non-finite loss without touching the weights, and checks its data', async () => {
  await initBackend({ backend: 'cpu' });
  const cfg = tinyConfig('ict', { steps: 5 });
  assert.throws(
    () => new TrainingSession(cfg, { train: new Float32Array(3), test: new Float32Array(4), shape: [2] }),
    /train holds 3 values, not a whole number/,
  );
  const nan = new Float32Array(2000 * 2).fill(NaN);
  const s = new TrainingSession(cfg, { train: nan, test: new Float32Array(20), shape: [2] });
  const before = s.emaWeights().map((w) => Array.from(w.dataSync()));
  await assert.rejects(s.step(), (e: unknown) => e instanceof NonFiniteSessionLoss && e.step === 1 && e.message.includes('non-finite loss (NaN) at step 1'));
  assert.deepEqual(
    s.emaWeights().map((w) => Array.from(w.dataSync())),
    before,
  );
  assert.equal(s.status().step, 0);
  s.dispose();
});
