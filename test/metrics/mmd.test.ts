import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mmd, mmdSquared } from '../../src/metrics/mmd';
import { toy2d } from '../../src/data/toy2d';

function close(actual: number, expected: number, tol: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);
}

test('two single points: biased MMD^2 = 2 - 2 exp(-|a-b|^2 / (2h^2)) per bandwidth', () => {
  const a = new Float32Array([0, 0]);
  const b = new Float32Array([3, 4]); // |a - b|^2 = 25
  close(mmdSquared(a, b, { bandwidths: [5], unbiased: false }), 2 - 2 * Math.exp(-0.5), 1e-15);
  close(mmdSquared(a, b, { bandwidths: [1, 5], unbiased: false }), 4 - 2 * Math.exp(-12.5) - 2 * Math.exp(-0.5), 1e-15);
  close(mmd(a, b, { bandwidths: [5], unbiased: false }), Math.sqrt(2 - 2 * Math.exp(-0.5)), 1e-15);
});

test('hand-computed 2x2 sets, h = 1: biased 1 - e^-1, unbiased e^-1/2 - e^-1', () => {
  // X = {(0,0), (1,0)}, Y = X + (0,1). Within-set off-diagonal d^2 = 1 -> e^-1/2; across: two pairs
  // with d^2 = 1 (e^-1/2) and two with d^2 = 2 (e^-1).
  // Biased: (1 + e^-½)/2 · 2 − 2·(e^-½ + e^-1)/2 = 1 − e^-1. Unbiased: 2e^-½ − (e^-½ + e^-1).
  const x = new Float32Array([0, 0, 1, 0]);
  const y = new Float32Array([0, 1, 1, 1]);
  close(mmdSquared(x, y, { bandwidths: [1], unbiased: false }), 1 - Math.exp(-1), 1e-15);
  close(mmdSquared(x, y, { bandwidths: [1] }), Math.exp(-0.5) - Math.exp(-1), 1e-15);
});

test('dim = 1, unequal sizes: X = {0}, Y = {0, 2}, h = 1: biased (1 - e^-2)/2', () => {
  // Kxx = 1; Kyy = (2 + 2e^-2)/4; Kxy = (1 + e^-2)/2 -> 1 + (1 + e^-2)/2 - (1 + e^-2).
  close(mmdSquared(new Float64Array([0]), new Float64Array([0, 2]), { dim: 1, bandwidths: [1], unbiased: false }), (1 - Math.exp(-2)) / 2, 1e-15);
});

test('unbiased MMD^2 of a set with itself is negative (e^-1/2 - 1); mmd clamps it to 0', () => {
  // Within terms: off-diagonal mean e^-½ each; across: (2 + 2e^-½)/4 -> 2e^-½ − 1 − e^-½.
  const x = new Float32Array([0, 0, 1, 0]);
  close(mmdSquared(x, x, { bandwidths: [1] }), Math.exp(-0.5) - 1, 1e-15);
  assert.equal(mmd(x, x, { bandwidths: [1] }), 0);
});

test('biased MMD^2 of a set against itself is 0 (default bandwidths)', () => {
  const p = toy2d('swiss-roll', 200, 1);
  close(mmdSquared(p, p, { unbiased: false }), 0, 1e-12);
  close(mmdSquared(p, Float64Array.from(p), { unbiased: false }), 0, 1e-12);
});

test('same distribution: unbiased MMD^2 near 0; different: clearly positive', () => {
  const a = toy2d('eight-gaussians', 300, 1);
  const b = toy2d('eight-gaussians', 300, 2);
  const c = toy2d('two-moons', 300, 3);
  const same = mmdSquared(a, b);
  const diff = mmdSquared(a, c);
  assert.ok(Math.abs(same) < 0.02, `same-distribution MMD^2 ${same}`);
  assert.ok(diff > 0.1, `different-distribution MMD^2 ${diff}`);
  assert.ok(diff > 10 * Math.abs(same), `different ${diff} vs same ${same}`);
});

test('symmetric, and invariant to translating both sets (RBF kernel is translation-invariant)', () => {
  const a = toy2d('rings', 60, 1);
  const b = toy2d('checkerboard', 45, 2);
  for (const unbiased of [true, false]) {
    close(mmdSquared(a, b, { unbiased }), mmdSquared(b, a, { unbiased }), 1e-12);
  }
  const shift = (p: Float32Array): Float64Array => Float64Array.from(p, (v, i) => v + (i % 2 === 0 ? 10 : -7));
  close(mmdSquared(shift(a), shift(b)), mmdSquared(a, b), 1e-10);
});

test('input errors', () => {
  const ok = new Float32Array([0, 0, 1, 1]);
  assert.throws(() => mmdSquared(new Float32Array([0, 0, 1]), ok), /first point set has length 3, which is not a multiple of dim = 2/);
  assert.throws(() => mmdSquared(ok, new Float32Array(0)), /second point set is empty/);
  assert.throws(() => mmdSquared(ok, new Float32Array([1, 2])), /second point set has 1 point, the unbiased estimator needs at least 2/);
  assert.doesNotThrow(() => mmdSquared(ok, new Float32Array([1, 2]), { unbiased: false }));
  assert.throws(() => mmdSquared(ok, ok, { bandwidths: [] }), /bandwidths must not be empty/);
  assert.throws(() => mmdSquared(ok, ok, { bandwidths: [1, 0] }), /bandwidths must be finite and > 0, got 0/);
  assert.throws(() => mmdSquared(ok, ok, { bandwidths: [-1] }), /got -1/);
  assert.throws(() => mmdSquared(ok, ok, { dim: 1.5 }), /dim must be a positive integer/);
  assert.throws(() => mmdSquared(new Float32Array([0, Infinity, 1, 1]), ok), /first point set\[1\] is Infinity/);
});
