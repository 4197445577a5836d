import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evenDirections2d, randomDirections, slicedWasserstein, wassersteinPow1d } from '../../src/metrics/sliced-wasserstein';
import { TOY2D_NAMES, toy2d } from '../../src/data/toy2d';

function close(actual: number, expected: number, tol: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);
}

/** Points with dyadic coordinates, so float32 translation / scaling by small integers is exact. */
const BASE = new Float32Array([0.5, -1.25, 2, 0.75, -1.5, 1, 0.25, 3, -2, -0.5, 1.75, -2.25]);

function translate(p: Float32Array, vx: number, vy: number): Float32Array {
  return p.map((v, i) => v + (i % 2 === 0 ? vx : vy));
}

test('1D exact W_p on empirical measures, equal and unequal sizes (hand-computed)', () => {
  // {0, 1} vs {0, 1, 2, 3}: quantile gaps 0, 1, 1, 2 on quarters -> W1 = 1, W2^2 = (0+1+1+4)/4 = 1.5.
  const a = new Float64Array([0, 1]);
  const b = new Float64Array([0, 1, 2, 3]);
  close(wassersteinPow1d(a, b, 1), 1, 1e-15);
  close(wassersteinPow1d(a, b, 2), 1.5, 1e-15);
  // {0, 6} vs {0, 3, 6}: gaps 0 on [0,1/3), 3 on [1/3,2/3), 0 on [2/3,1) -> W1 = 1, W2^2 = 3.
  // (Check W1 by CDFs: |F - G| = 1/6 on [0, 6) -> 1.)
  close(wassersteinPow1d(new Float64Array([0, 6]), new Float64Array([0, 3, 6]), 1), 1, 1e-15);
  close(wassersteinPow1d(new Float64Array([0, 6]), new Float64Array([0, 3, 6]), 2), 3, 1e-14);
  // Equal sizes: sorted pairing.
  close(wassersteinPow1d(new Float64Array([0, 1, 5]), new Float64Array([1, 2, 3]), 1), (1 + 1 + 2) / 3, 1e-15);
});

test('dim = 1: random directions are +-1, so SW is the exact 1D distance', () => {
  const a = new Float32Array([6, 0]); // unsorted on purpose
  const b = new Float32Array([3, 6, 0]);
  close(slicedWasserstein(a, b, { dim: 1, p: 1, projections: 5 }), 1, 1e-14);
  close(slicedWasserstein(a, b, { dim: 1, p: 2, projections: 5 }), Math.sqrt(3), 1e-14);
  close(slicedWasserstein(new Float32Array([2]), new Float32Array([-1.5]), { dim: 1 }), 3.5, 1e-14);
});

test('identical sets give 0', () => {
  const p = toy2d('two-moons', 300, 1);
  assert.equal(slicedWasserstein(p, p), 0);
  assert.equal(slicedWasserstein(p, Float32Array.from(p), { p: 1 }), 0);
  assert.equal(slicedWasserstein(p, Float64Array.from(p)), 0);
});

test('translation by v: SW_2 = |v|/sqrt(2) exactly with evenly spaced directions', () => {
  // E_θ[(θ·v)^2] = |v|^2/2 over the circle, and the mean over k >= 2 evenly spaced angles is exact.
  const moved = translate(BASE, 3, -4); // |v| = 5
  for (const k of [2, 3, 7, 64]) {
    close(slicedWasserstein(BASE, moved, { directions: evenDirections2d(k) }), 5 / Math.SQRT2, 1e-12, `k=${k}`);
  }
  // Random directions: a Monte Carlo estimate of the same value (std of the mean of cos^2 over 256
  // draws is about 0.354/16 = 0.022, i.e. about 2% on SW_2; allow 10%).
  close(slicedWasserstein(BASE, moved, { seed: 4 }), 5 / Math.SQRT2, 0.1 * (5 / Math.SQRT2), 'random');
});

test('translation by v: SW_1 -> (2/pi)|v| as directions get dense', () => {
  // E_θ|θ·v| = |v|·(1/π)∫_0^π |cos a| da = (2/π)|v|.
  const moved = translate(BASE, -6, 8); // |v| = 10
  close(slicedWasserstein(BASE, moved, { p: 1, directions: evenDirections2d(4000) }), 20 / Math.PI, 1e-5);
});

test('dim = 3 translation: SW_2 -> |v|/sqrt(3) with many random directions', () => {
  const a = new Float32Array([0, 0, 0, 1, 2, 3, -1, 0.5, 2, 4, -2, 1]);
  const v = [2, -1, 2]; // |v| = 3
  const b = a.map((x, i) => x + (v[i % 3] as number));
  // std of cos^2 on S^2 is sqrt(1/5 - 1/9) = 0.298, so over 4000 draws about 1.4% on SW_2^2.
  close(slicedWasserstein(a, b, { dim: 3, projections: 4000, seed: 1 }), 3 / Math.sqrt(3), 0.03 * Math.sqrt(3));
});

test('two single points: SW_2 = |a - b|/sqrt(2), SW_1 = (2/pi)|a - b|', () => {
  const a = new Float32Array([1, 1]);
  const b = new Float32Array([-2, 5]); // distance 5
  close(slicedWasserstein(a, b, { directions: evenDirections2d(16) }), 5 / Math.SQRT2, 1e-12);
  close(slicedWasserstein(a, b, { p: 1, directions: evenDirections2d(4000) }), 10 / Math.PI, 1e-5);
});

test('scaling about the mean by c: SW_2 = |c - 1|·sqrt(mean |x - m|^2 / 2)', () => {
  // Order along each direction is preserved for c > 0, so W_2^2(θ) = (c-1)^2 mean_i (θ·(x_i - m))^2.
  // X has mean m = (1, 1) and mean squared distance (1 + 8 + 10 + 5)/4 = 6 from it.
  const x = new Float32Array([1, 2, 3, -1, -2, 0, 2, 3]);
  const y = x.map((v) => 1 + 2 * (v - 1)); // c = 2
  close(slicedWasserstein(x, y, { directions: evenDirections2d(5) }), Math.sqrt(3), 1e-12);
  const z = x.map((v) => 1 + 0.5 * (v - 1)); // c = 1/2
  close(slicedWasserstein(x, z, { directions: evenDirections2d(5) }), 0.5 * Math.sqrt(3), 1e-12);
});

test('symmetric in its arguments, also for different sizes; deterministic by seed', () => {
  const a = toy2d('rings', 120, 1);
  const b = toy2d('checkerboard', 77, 2);
  for (const p of [1, 2] as const) {
    close(slicedWasserstein(a, b, { p }), slicedWasserstein(b, a, { p }), 1e-12);
  }
  assert.equal(slicedWasserstein(a, b, { seed: 3 }), slicedWasserstein(a, b, { seed: 3 }));
  assert.notEqual(slicedWasserstein(a, b, { seed: 3 }), slicedWasserstein(a, b, { seed: 4 }));
});

test('each toy set is closer to a fresh sample of itself than to any other toy set', () => {
  // All toy sets share mean 0 and std 0.5 per axis, so their projections differ only in shape and
  // the cross distances are modest (about 0.07-0.15); self distances are sampling noise.
  const n = 400;
  for (const a of TOY2D_NAMES) {
    const pa = toy2d(a, n, 1);
    const self = slicedWasserstein(pa, toy2d(a, n, 2));
    for (const b of TOY2D_NAMES) {
      if (b === a) continue;
      const cross = slicedWasserstein(pa, toy2d(b, n, 2));
      assert.ok(self < cross, `${a}: self ${self} vs ${b} ${cross}`);
    }
  }
});

test('random directions are unit vectors and seeded', () => {
  const d = randomDirections(50, 3, 7);
  for (let k = 0; k < 50; k++) close(Math.hypot(d[3 * k] as number, d[3 * k + 1] as number, d[3 * k + 2] as number), 1, 1e-12);
  assert.deepEqual(randomDirections(50, 3, 7), d);
  assert.notDeepEqual(randomDirections(50, 3, 8), d);
});

test('input errors', () => {
  const ok = new Float32Array([0, 0, 1, 1]);
  assert.throws(() => slicedWasserstein(new Float32Array([0, 0, 1, 1, 2]), ok), /first point set has length 5, which is not a multiple of dim = 2/);
  assert.throws(() => slicedWasserstein(ok, new Float32Array([0, 0, 1, 1]), { dim: 3 }), /first point set has length 4, which is not a multiple of dim = 3/);
  assert.throws(() => slicedWasserstein(ok, new Float32Array(0)), /second point set is empty/);
  assert.throws(() => slicedWasserstein(ok, new Float32Array([0, Number.NaN])), /second point set\[1\] is NaN/);
  assert.throws(() => slicedWasserstein(ok, ok, { dim: 0 }), /dim must be a positive integer/);
  assert.throws(() => slicedWasserstein(ok, ok, { p: 3 as number as 1 | 2 }), /p must be 1 or 2, got 3/);
  assert.throws(() => slicedWasserstein(ok, ok, { projections: 0 }), /projections must be a positive integer/);
  assert.throws(() => slicedWasserstein(ok, ok, { directions: new Float64Array([1, 0, 0]) }), /directions have length 3/);
  assert.throws(() => slicedWasserstein(ok, ok, { directions: new Float64Array([1, 1]) }), /direction 0 has norm 1\.41/);
  assert.throws(() => wassersteinPow1d(new Float64Array(0), new Float64Array([1]), 1), /empty/);
});
