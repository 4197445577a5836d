import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index';
import { attentionBlock, createUNet, groupNormReference, UNetConfig, UNetNetwork } from '../../src/models/unet';
import { buildConfig } from '../../src/config/presets';
import { ConfigError, validateConfig } from '../../src/config/schema';
import { buildNetwork } from '../../src/models/build';
import { ctLossAndGrads, drawStep, gridSize, NoiseLevelTable } from '../../src/training/ct-step';
import { configHash, createModelState } from '../../src/training/trainer';
import { Rng } from '../../src/util/rng';
import * as fs from 'node:fs';
import * as path from 'node:path';

// one wasm thread in this file: the tests are dominated by tiny ops (threads are tested in test/backend)
process.env.CTLAB_THREADS ??= '1';

/** Tiny 2-level U-Net (8×8 images): attention at the 4×4 level, 16 channels, 2 heads. */
const TINY: UNetConfig = {
  imageChannels: 1,
  channels: [8, 16],
  embedding: { kind: 'fourier', scale: 0.02, dim: 8 },
  embDim: 16,
  groups: 4,
  dropout: 0,
  attentionHeads: 2,
};

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

function maxAbs(a: ArrayLike<number> & Iterable<number>): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

test('attention adds blocks at the lowest resolution only, zero-initialised output; bad heads are refused', async () => {
  await initBackend({ backend: 'cpu', log: false });
  const off = new UNetNetwork({ ...TINY, attentionHeads: 0, height: 8, width: 8 }, 0);
  const on = new UNetNetwork({ ...TINY, height: 8, width: 8 }, 0);
  const attnNames = on.params.map((p) => p.name).filter((n) => n.includes('.attn.'));
  const blocks = [...new Set(attnNames.map((n) => n.slice(0, n.indexOf('.attn.'))))];
  assert.deepEqual(blocks, ['down.1.0', 'mid', 'up.1.0'], 'after each lowest-level ResBlock (down and up) and the mid ResBlock');
  // per block: GroupNorm (2·16) + q, k, v, out (4·(16·16 + 16))
  assert.equal(on.numParams() - off.numParams(), 3 * (2 * 16 + 4 * (16 * 16 + 16)));
  assert.deepEqual(
    off.params.map((p) => p.name),
    on.params.map((p) => p.name).filter((n) => !n.includes('.attn.')),
    'the other parameters keep their names and order',
  );
  const init = on.init(3);
  on.params.forEach((p, i) => {
    if (p.name.endsWith('.attn.out.w') || p.name.endsWith('.attn.out.b')) assert.equal(maxAbs(init[i] as Float32Array), 0, p.name);
    if (p.name.endsWith('.attn.q.w')) assert.ok(maxAbs(init[i] as Float32Array) > 0, p.name);
  });
  assert.deepEqual(on.dropoutShapes(2), off.dropoutShapes(2));
  on.dispose();
  off.dispose();
  assert.throws(() => new UNetNetwork({ ...TINY, attentionHeads: 3, height: 8, width: 8 }, 0), /attentionHeads 3 must divide the lowest-resolution width 16/);
  assert.throws(() => new UNetNetwork({ ...TINY, attentionHeads: -1, height: 8, width: 8 }, 0), /attentionHeads/);
});

test('the attention block equals a plain-JS multi-head attention (2 heads) and is the identity with a zero output projection', async () => {
  await initBackend({ backend: 'cpu', log: false });
  const rng = new Rng(31);
  const [B, H, W, C, G, heads] = [2, 2, 3, 4, 2, 2];
  const T = H * W;
  const d = C / heads;
  const rand = (shape: number[], std = 1): tf.Tensor => tf.tensor(rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)), 0, std), shape);
  const x = rand([B, H, W, C]) as tf.Tensor4D;
  const w: Record<string, tf.Tensor> = { 'norm.gamma': rand([C], 0.3), 'norm.beta': rand([C], 0.3) };
  for (const n of ['q', 'k', 'v', 'out']) {
    w[`${n}.w`] = rand([C, C], 0.7);
    w[`${n}.b`] = rand([C], 0.2);
  }
  const P = (n: string): tf.Tensor => w[n] as tf.Tensor;
  const y = attentionBlock(x, P, G, heads).dataSync();
  // reference: per example, per head, softmax over keys of q·k/√d
  const hn = groupNormReference(x, P('norm.gamma') as tf.Tensor1D, P('norm.beta') as tf.Tensor1D, G).dataSync();
  const mat = (n: string): Float32Array => P(n).dataSync() as Float32Array;
  const proj = (n: string, src: ArrayLike<number>, rows: number): Float64Array => {
    const [wt, bt] = [mat(`${n}.w`), mat(`${n}.b`)];
    const out = new Float64Array(rows * C);
    for (let r = 0; r < rows; r++)
      for (let o = 0; o < C; o++) {
        let s = bt[o] as number;
        for (let i = 0; i < C; i++) s += (src[r * C + i] as number) * (wt[i * C + o] as number);
        out[r * C + o] = s;
      }
    return out;
  };
  const [q, k, v] = [proj('q', hn, B * T), proj('k', hn, B * T), proj('v', hn, B * T)];
  const a = new Float64Array(B * T * C);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < heads; h++)
      for (let t = 0; t < T; t++) {
        const s = new Float64Array(T);
        for (let u = 0; u < T; u++)
          for (let j = 0; j < d; j++)
            s[u] = (s[u] as number) + ((q[(b * T + t) * C + h * d + j] as number) * (k[(b * T + u) * C + h * d + j] as number)) / Math.sqrt(d);
        const m = Math.max(...s);
        const e = s.map((z) => Math.exp(z - m));
        const z = e.reduce((p, c) => p + c, 0);
        for (let u = 0; u < T; u++)
          for (let j = 0; j < d; j++)
            a[(b * T + t) * C + h * d + j] = (a[(b * T + t) * C + h * d + j] as number) + ((e[u] as number) / z) * (v[(b * T + u) * C + h * d + j] as number);
      }
  const o = proj('out', a, B * T);
  const xs = x.dataSync();
  const ref = Array.from(o, (val, i) => val + (xs[i] as number));
  assert.ok(maxAbsDiff(y, ref) < 1e-5, `attention vs reference: ${maxAbsDiff(y, ref)}`);
  // zero output projection: exactly the input
  const zeroOut = (n: string): tf.Tensor => (n.startsWith('out.') ? tf.zerosLike(P(n)) : P(n));
  const yId = attentionBlock(x, zeroOut, G, heads);
  assert.equal(maxAbsDiff(yId.dataSync(), xs), 0);
  tf.dispose([x, yId, ...Object.values(w)]);
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`with attention: output shape, f(x, σ_min) = x, and at init the same function as the U-Net without attention (${backend})`, async () => {
    await initBackend({ backend, log: false });
    const net = createUNet({ ...TINY, height: 8, width: 8 }, 3);
    const plain = new UNetNetwork({ ...TINY, attentionHeads: 0, height: 8, width: 8 }, 3);
    const rng = new Rng(9);
    const x = tf.tensor4d(rng.fillNormal(new Float32Array(2 * 64)), [2, 8, 8, 1]);
    const atMin = net.apply(x, tf.tensor1d([0.002, 0.002]), { training: false });
    assert.deepEqual(atMin.shape, [2, 8, 8, 1]);
    assert.ok(maxAbsDiff(atMin.dataSync(), x.dataSync()) < 1e-6, 'boundary condition');
    // the network without attention, given the shared weights (by name), computes the same F_θ
    const byName = new Map(net.paramNames.map((n, i) => [n, net.params[i] as tf.Tensor]));
    const shared = plain.params.map((p) => byName.get(p.name) as tf.Tensor);
    const sigma = tf.tensor1d([0.5, 3]);
    const withAttn = net.net.apply(net.params, x, sigma, null);
    const without = plain.apply(shared, x, sigma, null);
    assert.deepEqual(withAttn.shape, [2, 8, 8, 1]);
    assert.ok(
      maxAbsDiff(withAttn.dataSync(), without.dataSync()) < 1e-6,
      `attention is the identity at init: ${maxAbsDiff(withAttn.dataSync(), without.dataSync())}`,
    );
    tf.dispose([x, atMin, sigma, withAttn, without]);
    plain.dispose();
    net.dispose();
  });
}

test('U-Net with attention: forward and gradients (attention weights included) agree on wasm and cpu (batch 2)', async () => {
  const out: { names: string[]; values: Float32Array[] }[] = [];
  for (const backend of ['cpu', 'wasm'] as const) {
    await initBackend({ backend, log: false });
    const net = createUNet({ ...TINY, height: 8, width: 8 }, 4);
    // non-zero output projections, so that q, k, v get gradients too (at init they get none)
    const rngW = new Rng(77);
    net.params.forEach((p, i) => {
      const name = net.paramNames[i] as string;
      if (name.endsWith('.attn.out.w')) p.assign(tf.tensor(rngW.fillNormal(new Float32Array(16 * 16), 0, 0.25), [16, 16]));
    });
    // batch 2: the cpu backend's ResizeNearestNeighborGrad is ctlab's corrected one (src/backend/cpu)
    const rng = new Rng(10);
    const x = tf.tensor4d(rng.fillNormal(new Float32Array(128)), [2, 8, 8, 1]);
    const sigma = tf.tensor1d([1.3, 0.2]);
    const { value, grads } = tf.variableGrads(() => tf.sum<tf.Scalar>(tf.square(net.apply(x, sigma, { training: true }))), net.params);
    out.push({ names: net.paramNames, values: [value.dataSync() as Float32Array, ...net.params.map((p) => grads[p.name]?.dataSync() as Float32Array)] });
    tf.dispose([x, sigma, value, ...Object.values(grads)]);
    net.dispose();
  }
  const [cpu, wasm] = out as [(typeof out)[0], (typeof out)[0]];
  cpu.values.forEach((r, i) => {
    const name = i === 0 ? 'loss' : (cpu.names[i - 1] as string);
    const scale = Math.max(1e-3, maxAbs(r));
    assert.ok(maxAbsDiff(wasm.values[i] as Float32Array, r) <= 2e-4 * scale, `${name}: ${maxAbsDiff(wasm.values[i] as Float32Array, r)} (scale ${scale})`);
    // (the key bias adds q·b_k to every score of a query, which the softmax ignores: no gradient)
    if (name.includes('.attn.') && !name.endsWith('.attn.k.b')) assert.ok(maxAbs(r) > 1e-6, `${name} gets a gradient`);
  });
});

test('a few image training steps with attention lower the loss on a fixed batch (wasm)', async () => {
  await initBackend({ backend: 'wasm', log: false });
  // as 'a few image training steps lower the LPIPS-style loss' in test/training/images.test.ts, on
  // synthetic 8×8 images and the l2 distance: one fixed draw, a frozen EMA teacher, 15 updates.
  const cfg = buildConfig(
    'ct',
    {
      steps: 40,
      batchSize: 16,
      data: { kind: 'fashion-mnist', size: 8, trainSize: 64, testSize: 16 },
      model: { channels: [8, 16], groups: 4, embedding: { kind: 'fourier', scale: 16, dim: 16 }, attention: { heads: 2 } },
      distance: { kind: 'l2' },
      optimizer: { kind: 'adam', lr: 2e-3 },
      curriculum: { kind: 'ict', s0: 10, s1: 10 },
      evalEvery: 0,
      checkpointEvery: 40,
      logEvery: 10,
    },
    'fashion-mnist',
  );
  assert.deepEqual(cfg.model.kind === 'unet' && cfg.model.attention, { heads: 2 });
  const shape = [8, 8, 1];
  const n = 64;
  const rng = new Rng(5);
  const train = new Float32Array(n * 64);
  for (let i = 0; i < n; i++) {
    const [cx, cy, r] = [2 + 4 * rng.uniform(), 2 + 4 * rng.uniform(), 1 + 2 * rng.uniform()];
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) train[i * 64 + y * 8 + x] = Math.hypot(x - cx, y - cy) < r ? 1 : -1;
  }
  const state = createModelState(cfg, shape);
  const outIdx = state.net.params.findIndex((p) => p.name === 'mid.attn.out.w');
  const qIdx = state.net.params.findIndex((p) => p.name === 'mid.attn.q.w');
  const q0 = (state.student[qIdx] as tf.Variable).dataSync().slice();
  const draw = drawStep(cfg, 0, train, 64, new NoiseLevelTable(cfg).at(gridSize(cfg, 0)), state.net.dropoutShapes(cfg.batchSize));
  const losses: number[] = [];
  for (let i = 0; i < 15; i++) {
    const { loss, grads } = ctLossAndGrads(cfg, state.net, state.student, state.target ?? state.student, draw, shape);
    losses.push(loss.dataSync()[0] as number);
    state.optimizer.step(grads);
    tf.dispose([loss, ...grads]);
  }
  const outW = (state.student[outIdx] as tf.Variable).dataSync();
  const q1 = (state.student[qIdx] as tf.Variable).dataSync();
  state.dispose();
  assert.ok(losses.every(Number.isFinite), losses.join(', '));
  assert.ok((losses[14] as number) < 0.5 * (losses[0] as number), `loss should fall: ${losses.map((l) => l.toPrecision(3)).join(', ')}`);
  assert.ok(maxAbs(outW) > 0, 'the zero-initialised output projection is trained');
  assert.ok(maxAbsDiff(q1, q0) > 0, 'the query projection is trained once the output projection is non-zero');
});

test('config: model.attention is optional, off when absent (config hash unchanged), and bad heads are refused naming the field', async () => {
  await initBackend({ backend: 'cpu', log: false });
  // The completed image run (results/images/provenance.json) recorded config hash 1e66cdbf5c454dcf
  // in runs/fmnist-ict/run.json before attention existed: its config must still validate to it.
  const provenance = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'results', 'images', 'provenance.json'), 'utf8')) as {
    config: unknown;
  };
  const saved = validateConfig(provenance.config);
  assert.ok(saved.model.kind === 'unet' && !('attention' in saved.model), 'an absent attention field stays absent');
  assert.equal(configHash(saved), '1e66cdbf5c454dcf');
  for (const preset of ['ct', 'ict'] as const) {
    const c = buildConfig(preset, {}, 'fashion-mnist');
    assert.ok(!('attention' in c.model), preset);
  }
  const base = JSON.parse(JSON.stringify(buildConfig('ict', {}, 'fashion-mnist'))) as { model: Record<string, unknown> };
  const withAttention = (attention: unknown): unknown => ({ ...base, model: { ...base.model, attention } });
  const ok = validateConfig(withAttention({}));
  assert.deepEqual(ok.model.kind === 'unet' && ok.model.attention, { heads: 1 }, 'heads default to 1');
  assert.notEqual(configHash(ok), configHash(validateConfig(base)));
  const net = buildNetwork(validateConfig(withAttention({ heads: 4 })), [16, 16, 1]);
  assert.ok(net.params.some((p) => p.name === 'mid.attn.q.w'));
  net.dispose();
  const refused = (attention: unknown, re: RegExp): void =>
    assert.throws(
      () => validateConfig(withAttention(attention)),
      (e: unknown) =>
        e instanceof ConfigError && e.problems.length === 1 && e.problems.every((p) => p.startsWith('config.model.attention')) && re.test(e.message),
      `attention ${JSON.stringify(attention)}`,
    );
  refused({ heads: 3 }, /config\.model\.attention\.heads: expected a divisor of the lowest-resolution width channels\[1\] = 64 \(got 3\)/);
  refused({ heads: 0 }, /config\.model\.attention\.heads: .*\(got 0\)/);
  refused({ heads: 1.5 }, /config\.model\.attention\.heads: .*\(got 1\.5\)/);
  refused({ heads: 1, enabled: true }, /config\.model\.attention: .*enabled/);
  refused(2, /config\.model\.attention: .*\(got 2\)/);
  // attention is a U-Net option: the MLP refuses it
  const mlp = JSON.parse(JSON.stringify(buildConfig('ict'))) as { model: Record<string, unknown> };
  assert.throws(() => validateConfig({ ...mlp, model: { ...mlp.model, attention: { heads: 1 } } }), /config\.model: .*attention/);
});
