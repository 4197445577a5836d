import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { cNoise, embedNoise, embedNoiseLevel, embeddingFrequencies } from '../../src/models/embedding';
import type { NoiseEmbeddingSpec } from '../../src/models/embedding';

function close(actual: number, expected: number, tol: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);
}

function l2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return Math.sqrt(s);
}

test('positional frequencies: omega_j = exp(-ln(10000) j / half)', () => {
  const w = embeddingFrequencies({ kind: 'positional', dim: 8 }, 0);
  assert.ok(w instanceof Float32Array);
  assert.equal(w.length, 4);
  const expected = [1, 0.1, 0.01, 0.001];
  for (let j = 0; j < 4; j++) close(w[j] as number, expected[j] as number, 1e-7 * (expected[j] as number) + 1e-12, `omega_${j}`);
  const dim = 128;
  const half = dim / 2;
  const v = embeddingFrequencies({ kind: 'positional', dim }, 123);
  for (let j = 0; j < half; j++) {
    assert.equal(v[j], Math.fround(Math.exp((-Math.log(10000) * j) / half)), `omega_${j} (dim ${dim})`);
  }
  // positional frequencies do not depend on the seed
  assert.deepEqual(Array.from(embeddingFrequencies({ kind: 'positional', dim }, 7)), Array.from(v));
});

test('Fourier frequencies are deterministic in the seed and differ between seeds', () => {
  const spec: NoiseEmbeddingSpec = { kind: 'fourier', scale: 16, dim: 64 };
  const a = embeddingFrequencies(spec, 42);
  const b = embeddingFrequencies(spec, 42);
  const c = embeddingFrequencies(spec, 43);
  assert.equal(a.length, 32);
  assert.deepEqual(Array.from(a), Array.from(b));
  assert.notDeepEqual(Array.from(a), Array.from(c));
  // scale multiplies the same underlying normals
  const s = embeddingFrequencies({ kind: 'fourier', scale: 0.02, dim: 64 }, 42);
  for (let j = 0; j < 32; j++) close(s[j] as number, ((a[j] as number) * 0.02) / 16, 1e-6 * Math.abs(s[j] as number) + 1e-9);
});

test('Fourier frequencies have std about 2 pi scale and mean about 0 (dim 2048)', () => {
  for (const scale of [16, 0.02, 1]) {
    const w = embeddingFrequencies({ kind: 'fourier', scale, dim: 2048 }, 5);
    assert.equal(w.length, 1024);
    let m = 0;
    for (const v of w) m += v;
    m /= w.length;
    let v2 = 0;
    for (const v of w) v2 += (v - m) ** 2;
    const std = Math.sqrt(v2 / (w.length - 1));
    const target = 2 * Math.PI * scale;
    // sample std of 1024 normals: relative s.e. ≈ 1/sqrt(2048) = 2.2%; allow 10%
    assert.ok(Math.abs(std / target - 1) < 0.1, `scale ${scale}: std ${std} vs ${target}`);
    // mean s.e. = target/32; allow 4 s.e.
    assert.ok(Math.abs(m) < (4 * target) / 32, `scale ${scale}: mean ${m}`);
  }
});

test('cNoise: 1/4 ln sigma (Fourier) and 250 ln sigma (positional)', () => {
  assert.equal(cNoise(1, 'fourier'), 0);
  close(cNoise(Math.E, 'fourier'), 0.25, 1e-15);
  close(cNoise(80, 'fourier'), 1.0955066586684703, 1e-15); // python3: 0.25*log(80)
  close(cNoise(0.5, 'fourier'), -0.25 * Math.LN2, 1e-15);
  close(cNoise(1, 'positional'), 0, 1e-12);
  close(cNoise(2, 'positional'), 250 * Math.LN2, 1e-12);
  close(cNoise(0.002, 'positional'), -1553.652024605548, 1e-9); // python3: 250*log(0.002)
});

test('embedNoiseLevel at sigma = 2, positional dim 4, by hand', () => {
  // ω = [1, 0.01]; c = 250 ln 2 = 173.2868; layout [cos(ωc), sin(ωc)]
  const spec: NoiseEmbeddingSpec = { kind: 'positional', dim: 4 };
  const e = embedNoiseLevel(2, spec, embeddingFrequencies(spec, 0));
  assert.equal(e.length, 4);
  // python3: cos(c), cos(0.01c), sin(c), sin(0.01c)
  const expected = [-0.8779662079999078, -0.1613630276151777, -0.47872261029771995, 0.9868951176892423];
  for (let i = 0; i < 4; i++) close(e[i] as number, expected[i] as number, 1e-6, `e[${i}]`);
});

test('embedNoiseLevel Fourier layout [sin(omega c), cos(omega c)] with c = ln(sigma)/4', () => {
  const spec: NoiseEmbeddingSpec = { kind: 'fourier', scale: 16, dim: 6 };
  const freqs = new Float32Array([1, -2, 0.5]);
  const sigma = 3;
  const c = Math.log(3) / 4;
  const e = embedNoiseLevel(sigma, spec, freqs);
  const expected = [Math.sin(c), Math.sin(-2 * c), Math.sin(0.5 * c), Math.cos(c), Math.cos(-2 * c), Math.cos(0.5 * c)];
  for (let i = 0; i < 6; i++) close(e[i] as number, expected[i] as number, 1e-15, `e[${i}]`);
  // at sigma = 1 the argument is 0: sin half 0, cos half 1
  const one = embedNoiseLevel(1, spec, freqs);
  [0, 0, 0, 1, 1, 1].forEach((v, i) => close(one[i] as number, v, 0, `sigma=1 e[${i}]`));
});

test('the tensor embedNoise equals embedNoiseLevel (cpu backend)', async () => {
  await tf.setBackend('cpu');
  const sigmas = [0.002, 0.05, 0.5, 0.821, 3, 80];
  const specs: NoiseEmbeddingSpec[] = [
    { kind: 'fourier', scale: 16, dim: 32 },
    { kind: 'fourier', scale: 0.02, dim: 32 },
    { kind: 'positional', dim: 32 },
  ];
  for (const spec of specs) {
    const freqs = embeddingFrequencies(spec, 11);
    const out = tf.tidy(() => {
      const e = embedNoise(tf.tensor1d(sigmas), spec, tf.tensor1d(freqs));
      return { shape: e.shape, data: e.arraySync() };
    });
    assert.deepEqual(out.shape, [sigmas.length, 32]);
    // float32: the angle ω·c is off by ~eps·|ω c| (|ω c| up to ~1600 for positional at σ_min)
    const tol = spec.kind === 'positional' ? 1e-3 : 1e-4;
    sigmas.forEach((sigma, b) => {
      const ref = embedNoiseLevel(sigma, spec, freqs);
      const row = out.data[b] as number[];
      for (let j = 0; j < 32; j++) close(row[j] as number, ref[j] as number, tol, `${spec.kind} σ=${sigma} j=${j}`);
    });
  }
});

test('iCT Sec. 3.1 sensitivity: scale 0.02 changes far less between sigma 0.5 and 0.51 than scale 16', () => {
  const dim = 256;
  const lo: NoiseEmbeddingSpec = { kind: 'fourier', scale: 0.02, dim };
  const hi: NoiseEmbeddingSpec = { kind: 'fourier', scale: 16, dim };
  const wLo = embeddingFrequencies(lo, 3);
  const wHi = embeddingFrequencies(hi, 3);
  const dLo = l2(embedNoiseLevel(0.5, lo, wLo), embedNoiseLevel(0.51, lo, wLo));
  const dHi = l2(embedNoiseLevel(0.5, hi, wHi), embedNoiseLevel(0.51, hi, wHi));
  assert.ok(dLo < 0.01 * dHi, `scale 0.02: ${dLo}, scale 16: ${dHi}`);
  assert.ok(dHi > 1, `scale 16 moves the embedding by ${dHi}`);
  // small scale is in the linear regime: ||Δe|| ≈ |Δc|·||ω|| (the derivative of [sin ωc, cos ωc] has norm ||ω||)
  const dc = 0.25 * Math.log(0.51 / 0.5);
  let norm = 0;
  for (const v of wLo) norm += v * v;
  close(dLo, Math.abs(dc) * Math.sqrt(norm), 0.01 * dLo, 'linearization');
});

test('errors: odd dim, dim < 2, non-integer dim, scale <= 0', () => {
  assert.throws(() => embeddingFrequencies({ kind: 'fourier', scale: 1, dim: 3 }, 0), /even integer >= 2, got 3/);
  assert.throws(() => embeddingFrequencies({ kind: 'positional', dim: 5 }, 0), /even integer >= 2, got 5/);
  assert.throws(() => embeddingFrequencies({ kind: 'positional', dim: 0 }, 0), /even integer >= 2/);
  assert.throws(() => embeddingFrequencies({ kind: 'positional', dim: 4.5 }, 0), /even integer >= 2/);
  assert.throws(() => embeddingFrequencies({ kind: 'fourier', scale: 1, dim: -2 }, 0), /even integer >= 2/);
  assert.throws(() => embeddingFrequencies({ kind: 'fourier', scale: 0, dim: 4 }, 0), /scale must be > 0, got 0/);
  assert.throws(() => embeddingFrequencies({ kind: 'fourier', scale: -0.02, dim: 4 }, 0), /scale must be > 0/);
  assert.throws(() => embeddingFrequencies({ kind: 'fourier', scale: Number.NaN, dim: 4 }, 0), /scale must be > 0/);
  assert.throws(() => embeddingFrequencies({ kind: 'fourier', scale: 1, dim: 4 }, 0.5), /seed must be an integer/);
});
