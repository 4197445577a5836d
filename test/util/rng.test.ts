import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng';

function draws(r: Rng, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(r.nextU32());
  return out;
}

test('same (seed, streams) gives the same sequence', () => {
  assert.deepEqual(draws(new Rng(7), 1000), draws(new Rng(7), 1000));
  assert.deepEqual(draws(new Rng(7, 3, 99), 1000), draws(new Rng(7, 3, 99), 1000));
  const a = new Rng(123, 4);
  const b = new Rng(123, 4);
  for (let i = 0; i < 500; i++) {
    assert.equal(a.uniform(), b.uniform());
    assert.equal(a.normal(), b.normal());
    assert.equal(a.int(17), b.int(17));
  }
});

test('different seeds or streams give different sequences', () => {
  const base = draws(new Rng(7, 1), 64);
  const others = [new Rng(7, 2), new Rng(8, 1), new Rng(7), new Rng(7, 1, 0), new Rng(-7, 1), new Rng(7 + 2 ** 32, 1), new Rng(7, 1, 1)];
  for (const o of others) assert.notDeepEqual(draws(o, 64), base);
  // stream order matters
  assert.notDeepEqual(draws(new Rng(1, 2, 3), 64), draws(new Rng(1, 3, 2), 64));
  // consecutive training steps (the trainer's use) differ
  assert.notDeepEqual(draws(new Rng(0, 1000), 64), draws(new Rng(0, 1001), 64));
  // nextU32 gives 32-bit unsigned integers
  for (const v of draws(new Rng(3), 1000)) assert.ok(Number.isInteger(v) && v >= 0 && v < 2 ** 32);
});

test('uniform in [0, 1) with mean about 1/2 and variance about 1/12 (1e5 draws)', () => {
  const r = new Rng(2024);
  const n = 100000;
  let s = 0;
  let s2 = 0;
  let min = 1;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const u = r.uniform();
    assert.ok(u >= 0 && u < 1, `u = ${u}`);
    s += u;
    s2 += u * u;
    min = Math.min(min, u);
    max = Math.max(max, u);
  }
  const mean = s / n;
  const v = s2 / n - mean * mean;
  assert.ok(Math.abs(mean - 0.5) < 0.005, `mean ${mean}`); // s.e. 0.0009
  assert.ok(Math.abs(v - 1 / 12) < 0.003, `variance ${v}`);
  assert.ok(min < 1e-3 && max > 1 - 1e-3);
  const f = new Rng(5).fillUniform(new Float64Array(100));
  assert.ok(f.every((u) => u >= 0 && u < 1));
});

test('normal: mean about 0, std about 1, symmetric tails (1e5 draws)', () => {
  const r = new Rng(99, 1);
  const n = 100000;
  let s = 0;
  let s2 = 0;
  let s4 = 0;
  let beyond2 = 0;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    s += z;
    s2 += z * z;
    s4 += z ** 4;
    if (Math.abs(z) > 2) beyond2++;
  }
  const mean = s / n;
  const std = Math.sqrt(s2 / n - mean * mean);
  assert.ok(Math.abs(mean) < 0.015, `mean ${mean}`); // s.e. 0.003
  assert.ok(Math.abs(std - 1) < 0.01, `std ${std}`); // s.e. 0.0022
  assert.ok(Math.abs(s4 / n - 3) < 0.1, `kurtosis ${s4 / n}`);
  // P(|Z| > 2) = 0.0455
  assert.ok(Math.abs(beyond2 / n - 0.0455) < 0.004, `tail ${beyond2 / n}`);
  const f = new Rng(1).fillNormal(new Float32Array(50000), 3, 0.5);
  let m = 0;
  for (const v of f) m += v;
  m /= f.length;
  let v2 = 0;
  for (const v of f) v2 += (v - m) ** 2;
  assert.ok(Math.abs(m - 3) < 0.01, `fillNormal mean ${m}`);
  assert.ok(Math.abs(Math.sqrt(v2 / f.length) - 0.5) < 0.01, 'fillNormal std');
});

test('fromCdf frequencies match the probabilities (chi-square), zero-mass bins never drawn', () => {
  const probs = [0.1, 0.2, 0.3, 0.4];
  const cdf = [0.1, 0.3, 0.6, 1.0];
  const n = 100000;
  const r = new Rng(17);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const k = r.fromCdf(cdf);
    counts[k] = (counts[k] as number) + 1;
  }
  let chi2 = 0;
  probs.forEach((p, k) => {
    chi2 += ((counts[k] as number) - n * p) ** 2 / (n * p);
  });
  // 3 degrees of freedom: P(chi2 > 16.27) = 0.001
  assert.ok(chi2 < 16.27, `chi2 ${chi2}, counts ${counts}`);

  // an unnormalized cdf (total 10) and zero-mass bins
  const r2 = new Rng(18);
  const c2 = [0, 5, 5, 10];
  const counts2 = [0, 0, 0, 0];
  for (let i = 0; i < 20000; i++) {
    const k = r2.fromCdf(c2);
    counts2[k] = (counts2[k] as number) + 1;
  }
  assert.equal(counts2[0], 0);
  assert.equal(counts2[2], 0);
  assert.ok(Math.abs((counts2[1] as number) / 20000 - 0.5) < 0.02);
  assert.equal(new Rng(1).fromCdf([1]), 0);
});

test('fromCdf errors', () => {
  assert.throws(() => new Rng(1).fromCdf([]), /cdf must end in a positive total/);
  assert.throws(() => new Rng(1).fromCdf([0, 0]), /cdf must end in a positive total/);
  assert.throws(() => new Rng(1).fromCdf([0.5, Number.NaN]), /cdf must end in a positive total/);
});

test('permutation is a permutation of 0..n-1, seed-dependent, roughly uniform', () => {
  for (const n of [0, 1, 2, 10, 1000]) {
    const p = new Rng(n).permutation(n);
    assert.ok(p instanceof Uint32Array);
    assert.equal(p.length, n);
    assert.deepEqual(
      Array.from(p).sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i),
    );
  }
  assert.notDeepEqual(Array.from(new Rng(1).permutation(50)), Array.from(new Rng(2).permutation(50)));
  assert.deepEqual(Array.from(new Rng(3, 9).permutation(50)), Array.from(new Rng(3, 9).permutation(50)));
  // first position of a 4-permutation is uniform over 4 values
  const r = new Rng(4);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 20000; i++) {
    const f = r.permutation(4)[0] as number;
    counts[f] = (counts[f] as number) + 1;
  }
  for (const c of counts) assert.ok(Math.abs(c / 20000 - 0.25) < 0.02, `counts ${counts}`);
});

test('int(n) is in [0, n) and hits every value', () => {
  const r = new Rng(11);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const k = r.int(7);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
    seen.add(k);
  }
  assert.equal(seen.size, 7);
  assert.equal(r.int(1), 0);
});

test('errors: non-integer seed, non-finite stream key, int(0) and other bad n', () => {
  assert.throws(() => new Rng(1.5), /seed must be an integer, got 1\.5/);
  assert.throws(() => new Rng(Number.NaN), /seed must be an integer/);
  assert.throws(() => new Rng(Number.POSITIVE_INFINITY), /seed must be an integer/);
  assert.throws(() => new Rng(1, Number.NaN), /stream key must be finite/);
  assert.throws(() => new Rng(1, 2, Number.POSITIVE_INFINITY), /stream key must be finite/);
  const r = new Rng(1);
  assert.throws(() => r.int(0), /n must be a positive integer, got 0/);
  assert.throws(() => r.int(-3), /n must be a positive integer/);
  assert.throws(() => r.int(2.5), /n must be a positive integer/);
  assert.throws(() => r.int(Number.NaN), /n must be a positive integer/);
});

test('fillDropoutMask equals the uniform() < p loop draw for draw and leaves the same state; zero fraction about p', () => {
  for (const [p, n] of [
    [0.1, 100_003],
    [0.3, 5_000],
    [0, 1_000],
  ] as const) {
    const keep = 1 / (1 - p);
    const a = new Rng(11, 3);
    const b = new Rng(11, 3);
    const loop = new Float32Array(n);
    for (let i = 0; i < n; i++) loop[i] = a.uniform() < p ? 0 : keep;
    const fast = b.fillDropoutMask(new Float32Array(n), p, keep);
    assert.deepEqual(fast, loop);
    assert.equal(b.nextU32(), a.nextU32(), 'same generator state afterwards');
    const zeros = fast.filter((v) => v === 0).length / n;
    assert.ok(Math.abs(zeros - p) < 4 * Math.sqrt((p * (1 - p)) / n) + 1e-12, `p=${p}: zero fraction ${zeros}`);
    assert.ok(fast.every((v) => v === 0 || v === Math.fround(keep)));
  }
});
