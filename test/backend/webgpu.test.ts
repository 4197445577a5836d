/**
 * The webgpu backend (src/backend/webgpu) against the cpu backend and float64 references, on
 * whatever adapter Dawn finds: here Mesa's lavapipe (scripts/system-deps.sh installs it), allowed by
 * CTLAB_WEBGPU_ALLOW_SOFTWARE=1 in this file. Covered: the refusals (`--backend webgpu` with only a
 * software adapter, and with no `webgpu` package, each one line, no fallback); the MLP and U-Net
 * forward, loss and gradients of the trainer's CT step, one Adam step and the EMA update against
 * cpu; GroupNorm+SiLU (the composite form: the fused kernel has no WebGPU version) and Adam against
 * float64; a short real train() on webgpu with the adapter recorded in run.json.
 *
 * Tolerances (float32 on both sides, different reduction orders): forward and loss 1e-4 of the
 * tensor's largest magnitude, gradients 2e-3 of each tensor's largest magnitude, Adam/EMA updates
 * 1e-3 of the learning rate where the gradient is not vanishing (Adam's first step divides g by |g|).
 * Where Dawn finds no adapter at all, the parity tests fail with the probe's message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo } from '../../src/backend/index';
import { buildConfig } from '../../src/config/presets';
import type { TrainConfig } from '../../src/config/schema';
import { consistencyFunction } from '../../src/consistency/model';
import { GN_EPS, groupNormSilu, hasFusedGroupNorm } from '../../src/models/groupnorm';
import { createOptimizer, emaUpdate } from '../../src/optim/index';
import { ctLossAndGrads, drawStep, gridSize, NoiseLevelTable } from '../../src/training/ct-step';
import { createModelState } from '../../src/training/model-state';
import { runPaths } from '../../src/training/run-dir';
import { sampleConsistency, sampleConsistencyAsync } from '../../src/sampling/multistep';
import { train } from '../../src/training/trainer';
import { Rng } from '../../src/util/rng';
import { CLI, tempDir, tinyConfig } from '../helpers';

const BACKEND = path.join(__dirname, '..', '..', 'src', 'backend', 'index.js');

function child(code: string, env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const script = `
    const b = require(${JSON.stringify(BACKEND)});
    b.initBackend(${code}).then((i) => console.log('loaded ' + i.name), (e) => { console.error('ERR ' + e.message); process.exit(3); });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, CTLAB_BACKEND: '', ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--backend webgpu refuses a software adapter unless allowed, in one line, and never falls back', () => {
  const r = child("{ backend: 'webgpu', log: false }", { CTLAB_WEBGPU_ALLOW_SOFTWARE: '' });
  assert.equal(r.status, 3, r.stderr);
  const line = r.stderr.split('\n').find((l) => l.startsWith('ERR ')) ?? '';
  // here (lavapipe) the software refusal; on a machine with no Vulkan driver at all, the no-adapter one
  assert.match(
    line,
    /^ERR --backend webgpu: (only a software WebGPU adapter was found \(mesa .*\); set CTLAB_WEBGPU_ALLOW_SOFTWARE=1|no WebGPU adapter found .*install)/,
  );
  assert.doesNotMatch(r.stdout, /loaded/);
});

test('--backend webgpu without the webgpu package (dawn.node missing) says what to install; auto skips it', () => {
  const missing = path.join(tempDir(), 'dawn.node');
  const r = child("{ backend: 'webgpu', log: false }", { CTLAB_DAWN_NODE: missing, CTLAB_WEBGPU_ALLOW_SOFTWARE: '1' });
  assert.equal(r.status, 3);
  assert.match(r.stderr, new RegExp(`^ERR --backend webgpu: dawn.node did not load from ${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(`, 'm'));
  const auto = child('{}', { CTLAB_DAWN_NODE: missing });
  assert.equal(auto.status, 0, auto.stderr);
  assert.match(auto.stderr, /not used: tensorflow-gpu \([^)]*\); webgpu \(dawn\.node did not load/);
});

test('ctlab train --backend webgpu without an allowed adapter exits with one ctlab line, no fallback', () => {
  const out = path.join(tempDir(), 'run');
  const r = spawnSync(process.execPath, [CLI, 'train', '--preset', 'ict', '--steps', '2', '--out', out, '--backend', 'webgpu'], {
    encoding: 'utf8',
    env: { ...process.env, CTLAB_BACKEND: '', CTLAB_WEBGPU_ALLOW_SOFTWARE: '' },
  });
  assert.notEqual(r.status, 0);
  // Dawn itself may print its own 'Warning: ...' lines about adapter limits; the kit prints one
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('ctlab'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0] as string,
    /^ctlab: --backend webgpu: (only a software WebGPU adapter was found .*CTLAB_WEBGPU_ALLOW_SOFTWARE=1|no WebGPU adapter found)/,
  );
  assert.equal(fs.existsSync(path.join(out, 'metrics.jsonl')), false);
});

// ---- in-process parity: the same computation on cpu, then on webgpu ----

process.env.CTLAB_WEBGPU_ALLOW_SOFTWARE = '1';

async function use(name: 'cpu' | 'webgpu'): Promise<BackendInfo> {
  return initBackend({ backend: name, log: false });
}

function maxAbs(a: Float32Array | Float64Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/** max |a − b| / max |b| (b the reference). */
function relErr(a: Float32Array | Float64Array, b: Float32Array | Float64Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m / Math.max(maxAbs(b), 1e-30);
}

interface StepOut {
  forward: Float32Array;
  loss: number;
  grads: Float32Array[];
  params: Float32Array[];
  ema: Float32Array[];
}

/** Forward, loss and gradients of the CT step, one Adam step and one EMA update, read back with data(). */
async function stepOutputs(cfg: TrainConfig, shape: number[]): Promise<StepOut> {
  const state = createModelState(cfg, shape);
  const d = shape.reduce((a, b) => a * b, 1);
  const train = new Rng(7, 1).fillUniform(new Float32Array(64 * d)).map((v) => v - 0.5);
  const table = new NoiseLevelTable(cfg).at(gridSize(cfg, 0));
  const draw = drawStep(cfg, 0, train, d, table, state.net.dropoutShapes(cfg.batchSize));
  const x = tf.tensor(draw.x, [cfg.batchSize, ...shape]);
  const f = consistencyFunction(state.net, state.student, x, tf.tensor1d(draw.sigmaNext), null, {
    sigmaMin: cfg.noise.sigmaMin,
    sigmaData: cfg.noise.sigmaData,
  });
  const forward = (await f.data()) as Float32Array;
  const { loss, grads } = ctLossAndGrads(cfg, state.net, state.student, state.target ?? state.student, draw, shape);
  const out: StepOut = { forward, loss: (await loss.data())[0] as number, grads: [], params: [], ema: [] };
  for (const g of grads) out.grads.push((await g.data()) as Float32Array);
  state.optimizer.step(grads, 1e-3);
  state.optimizer.emaUpdate(state.ema, state.student, 0.9);
  for (const p of state.student) out.params.push((await p.data()) as Float32Array);
  for (const p of state.ema) out.ema.push((await p.data()) as Float32Array);
  tf.dispose([x, f, loss, ...grads]);
  state.dispose();
  return out;
}

function compareSteps(label: string, gpu: StepOut, cpu: StepOut, init: Float32Array[]): void {
  assert.ok(relErr(gpu.forward, cpu.forward) < 1e-4, `${label} forward: ${relErr(gpu.forward, cpu.forward)}`);
  assert.ok(Math.abs(gpu.loss - cpu.loss) <= 1e-4 * Math.abs(cpu.loss), `${label} loss ${gpu.loss} vs ${cpu.loss}`);
  gpu.grads.forEach((g, i) => {
    const e = relErr(g, cpu.grads[i] as Float32Array);
    assert.ok(e < 2e-3, `${label} gradient ${i}: ${e}`);
  });
  const lr = 1e-3;
  gpu.params.forEach((p, i) => {
    const c = cpu.params[i] as Float32Array;
    const g = cpu.grads[i] as Float32Array;
    const p0 = init[i] as Float32Array;
    const gMax = maxAbs(g);
    for (let j = 0; j < p.length; j++) {
      const du = (p[j] as number) - (p0[j] as number);
      const dc = (c[j] as number) - (p0[j] as number);
      // Adam's first step is lr·g/(|g|+eps): exact where g is not vanishing, within ±lr elsewhere
      const tol = Math.abs(g[j] as number) > 1e-3 * gMax ? 1e-3 * lr : 2.01 * lr;
      assert.ok(Math.abs(du - dc) <= tol, `${label} Adam update of param ${i}[${j}]: ${du} vs ${dc}`);
    }
    const e = relErr(gpu.ema[i] as Float32Array, cpu.ema[i] as Float32Array);
    assert.ok(e < 1e-4 + (2.01 * lr * 0.1) / Math.max(maxAbs(cpu.ema[i] as Float32Array), 1e-30), `${label} EMA ${i}: ${e}`);
  });
}

const MLP_CFG = tinyConfig('ict', { batchSize: 16, model: { hidden: 32, depth: 2, dropout: 0.1 } });
const UNET_CFG = buildConfig(
  'ict',
  {
    name: 'webgpu-unet',
    batchSize: 4,
    data: { kind: 'fashion-mnist', size: 8 },
    model: { kind: 'unet', channels: [8, 16], numResBlocks: 1, groups: 4, embedding: { kind: 'fourier', scale: 0.02, dim: 16 }, dropout: 0.1 },
    optimizer: { kind: 'adam', lr: 1e-3 },
    evalEvery: 0,
  },
  'fashion-mnist',
);

for (const [label, cfg, shape] of [
  ['MLP', MLP_CFG, [2]],
  ['U-Net', UNET_CFG, [8, 8, 1]],
] as const) {
  test(`${label}: forward, CT loss, gradients, one Adam step and the EMA update on webgpu match cpu`, async () => {
    await use('cpu');
    const initState = createModelState(cfg, [...shape]);
    const init = initState.net.init(cfg.seed);
    initState.dispose();
    const cpu = await stepOutputs(cfg, [...shape]);
    const info = await use('webgpu');
    assert.equal(tf.getBackend(), 'webgpu');
    assert.equal(info.name, 'webgpu');
    assert.ok(info.webgpu && typeof info.webgpu.vendor === 'string' && typeof info.webgpu.isFallbackAdapter === 'boolean', JSON.stringify(info.webgpu));
    const gpu = await stepOutputs(cfg, [...shape]);
    compareSteps(label, gpu, cpu, init);
  });
}

test('GroupNorm+SiLU (composite on webgpu) and Adam match float64 references', async () => {
  await use('webgpu');
  const [B, H, W, C, G] = [2, 4, 4, 8, 4];
  const rng = new Rng(3, 2);
  const x = rng.fillNormal(new Float32Array(B * H * W * C), 0.3, 1.5);
  const gamma = rng.fillNormal(new Float32Array(C), 1, 0.2);
  const beta = rng.fillNormal(new Float32Array(C), 0, 0.2);
  const y = (await groupNormSilu(tf.tensor4d(x, [B, H, W, C]), tf.tensor1d(gamma), tf.tensor1d(beta), G).data()) as Float32Array;
  const ref = new Float64Array(x.length);
  const Cg = C / G;
  for (let b = 0; b < B; b++)
    for (let g = 0; g < G; g++) {
      const idx: number[] = [];
      for (let p = 0; p < H * W; p++) for (let c = g * Cg; c < (g + 1) * Cg; c++) idx.push((b * H * W + p) * C + c);
      const mean = idx.reduce((a, i) => a + (x[i] as number), 0) / idx.length;
      const v = idx.reduce((a, i) => a + ((x[i] as number) - mean) ** 2, 0) / idx.length;
      for (const i of idx) {
        const z = (((x[i] as number) - mean) / Math.sqrt(v + GN_EPS)) * (gamma[i % C] as number) + (beta[i % C] as number);
        ref[i] = z / (1 + Math.exp(-z));
      }
    }
  assert.ok(relErr(y, ref) < 1e-5, `GroupNorm+SiLU vs float64: ${relErr(y, ref)}`);

  // two Adam steps (torch's formula, bias-corrected) and one EMA update against float64
  const p0 = rng.fillNormal(new Float32Array(50));
  const g1 = rng.fillNormal(new Float32Array(50));
  const g2 = rng.fillNormal(new Float32Array(50));
  const v = tf.variable(tf.tensor1d(p0));
  const opt = createOptimizer({ kind: 'adam', lr: 0.01 }, [v]);
  // no fused kernels on webgpu: the composite forms ran above and run here
  assert.equal(hasFusedGroupNorm(), false);
  assert.equal(opt.fusedActive, false);
  opt.step([tf.tensor1d(g1)]);
  opt.step([tf.tensor1d(g2)]);
  const got = await v.data();
  const [b1, b2, eps, lr] = [0.9, 0.999, 1e-8, 0.01];
  for (let j = 0; j < 50; j++) {
    let m = 0;
    let s = 0;
    let p = p0[j] as number;
    [g1[j] as number, g2[j] as number].forEach((g, t) => {
      m = b1 * m + (1 - b1) * g;
      s = b2 * s + (1 - b2) * g * g;
      p -= (lr * (m / (1 - b1 ** (t + 1)))) / (Math.sqrt(s / (1 - b2 ** (t + 1))) + eps);
    });
    assert.ok(Math.abs((got[j] as number) - p) < 1e-6, `Adam [${j}]: ${got[j]} vs ${p}`);
  }
  const target = tf.variable(tf.tensor1d(g1));
  emaUpdate([target], [v], 0.99);
  const ema = await target.data();
  for (let j = 0; j < 50; j++) {
    const want = 0.99 * (g1[j] as number) + 0.01 * (got[j] as number);
    assert.ok(Math.abs((ema[j] as number) - want) < 1e-6, `EMA [${j}]`);
  }
  opt.dispose();
  tf.dispose([v, target]);
});

test('2-step sampling read back with await data() on webgpu matches the synchronous sampler on cpu', async () => {
  const opts = { sigmas: [80, 0.8], n: 300, batchSize: 128, seed: 4, sigmaMin: 0.002, sigmaMax: 80 };
  await use('cpu');
  const state = createModelState(MLP_CFG, [2]);
  const onCpu = sampleConsistency(state.net, state.ema, opts);
  const init = await Promise.all(state.ema.map((w) => w.data() as Promise<Float32Array>));
  state.dispose();
  await use('webgpu');
  const net = createModelState(MLP_CFG, [2]);
  const weights = init.map((w, i) => tf.tensor(w, net.ema[i]?.shape));
  const onGpu = await sampleConsistencyAsync(net.net, weights, opts);
  assert.throws(() => sampleConsistency(net.net, weights, opts), /dataSync\(\)\/arraySync\(\) are not available on the webgpu backend in Node/);
  tf.dispose(weights);
  net.dispose();
  assert.ok(relErr(onGpu, onCpu) < 1e-4, `samples: ${relErr(onGpu, onCpu)}`);
});

test('a short train() on webgpu: finite losses, the adapter in run.json', async () => {
  const dir = tempDir();
  const cfg = tinyConfig('ict', { steps: 6, batchSize: 32, logEvery: 2, checkpointEvery: 6 });
  await train(cfg, { outDir: dir, progress: false, backend: 'webgpu' });
  const run = JSON.parse(fs.readFileSync(runPaths(dir).run, 'utf8')) as { backend?: BackendInfo };
  assert.equal(run.backend?.name, 'webgpu');
  assert.equal(typeof run.backend?.webgpu?.description, 'string');
  assert.equal(typeof run.backend?.webgpu?.isFallbackAdapter, 'boolean');
  const metrics = fs
    .readFileSync(runPaths(dir).metrics, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; loss?: number })
    .filter((r) => r.kind === 'train');
  assert.equal(metrics.length, 3);
  for (const m of metrics) assert.ok(Number.isFinite(m.loss), JSON.stringify(m));
});
