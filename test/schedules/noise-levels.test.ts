import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lognormalNoiseProbs, uniformNoiseProbs } from '../../src/schedules/noise-levels';
import { karrasSigmas } from '../../src/schedules/karras';
import { erf } from '../../src/util/erf';

function close(actual: number, expected: number, tol: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] as number; // eslint-disable-line @typescript-eslint/prefer-for-of -- ArrayLike has no iterator
  return s;
}

// ---- erf ----

test('erf matches python3 math.erf to 1e-14', () => {
  const cases: [number, number][] = [
    [-3, -0.9999779095030014],
    [-1.5, -0.9661051464753108],
    [-0.1, -0.1124629160182849],
    [0, 0],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [2, 0.9953222650189527],
    [2.49, 0.9995707121322661],
    [2.51, 0.9996142945182758],
    [3, 0.9999779095030014],
    [5, 0.9999999999984626],
  ];
  for (const [x, y] of cases) close(erf(x), y, 1e-14, `erf(${x})`);
});

test('erf: odd, limits, NaN', () => {
  for (const x of [0.3, 1.7, 2.5, 4.2]) assert.equal(erf(-x), -erf(x), `odd at ${x}`);
  assert.equal(erf(0), 0);
  assert.equal(erf(30), 1);
  assert.equal(erf(-30), -1);
  assert.equal(erf(Number.POSITIVE_INFINITY), 1);
  assert.equal(erf(Number.NEGATIVE_INFINITY), -1);
  assert.ok(Number.isNaN(erf(Number.NaN)));
});

test('erf is continuous across the series/continued-fraction switch at 2.5', () => {
  const below = erf(2.5 - 1e-12);
  const above = erf(2.5);
  close(above - below, 0, 1e-14);
  // python3: math.erf(2.5) = 0.999593047982555
  close(above, 0.999593047982555, 1e-14);
});

// ---- lognormal noise probabilities ----

test('lognormalNoiseProbs on karrasSigmas(6) matches python3 math.erf computation', () => {
  // python3: c=[erf((log(s)+1.1)/(sqrt(2)*2)) for s in grid]; p=diff(c); p/=sum(p)
  const expected = [0.2443699722169109, 0.4589958689905245, 0.22305067970074519, 0.06065999846374003, 0.012923480628079232];
  const p = lognormalNoiseProbs(karrasSigmas(6));
  assert.equal(p.length, 5);
  for (let i = 0; i < 5; i++) close(p[i] as number, expected[i] as number, 1e-13, `p[${i}]`);
  close(sum(p), 1, 1e-12);
});

test('lognormalNoiseProbs with pMean 0.5, pStd 1 on karrasSigmas(6) (python3)', () => {
  const expected = [0.001518032106850145, 0.2947547478937911, 0.6007574423974268, 0.09950116837041977, 0.0034686092315123628];
  const p = lognormalNoiseProbs(karrasSigmas(6), { pMean: 0.5, pStd: 1 });
  for (let i = 0; i < 5; i++) close(p[i] as number, expected[i] as number, 1e-13, `p[${i}]`);
});

test('lognormalNoiseProbs: length n - 1, sums to 1, all positive, on several grids', () => {
  for (const n of [2, 3, 11, 21, 151, 1281]) {
    const p = lognormalNoiseProbs(karrasSigmas(n));
    assert.equal(p.length, n - 1);
    close(sum(p), 1, 1e-12, `n=${n} sum`);
    for (let i = 0; i < p.length; i++) assert.ok((p[i] as number) > 0, `n=${n} p[${i}] = ${p[i]}`);
  }
  assert.deepEqual(Array.from(lognormalNoiseProbs([0.1, 5])), [1]);
  // plain arrays work too
  close(sum(lognormalNoiseProbs([0.01, 0.1, 1, 10])), 1, 1e-12);
});

test('lognormalNoiseProbs at N = 1281 with the iCT defaults: median pair near sigma 0.33, little mass at the top', () => {
  const s = karrasSigmas(1281);
  const p = lognormalNoiseProbs(s);
  // defaults are P_mean = −1.1, P_std = 2.0: passing them explicitly gives the same array
  assert.deepEqual(Array.from(lognormalNoiseProbs(s, { pMean: -1.1, pStd: 2.0 })), Array.from(p));
  let cum = 0;
  let median = -1;
  for (let i = 0; i < p.length; i++) {
    cum += p[i] as number;
    if (cum >= 0.5) {
      median = i;
      break;
    }
  }
  // python3: the pair where the cumulative mass reaches 1/2 is index 389, (0.33354, 0.33666)
  assert.equal(median, 389);
  close(s[median] as number, 0.3335369936266838, 1e-9);
  assert.ok(Math.abs((s[median] as number) - Math.exp(-1.1)) < 0.01, 'median close to exp(P_mean)');
  // python3: last pair mass 2.0109e-5, first 1.4982e-4, max 1.9557e-3
  close(p[1279] as number, 2.010947452942423e-5, 1e-12, 'last pair');
  close(p[0] as number, 1.4982123066344162e-4, 1e-12, 'first pair');
  let max = 0;
  for (const v of p) max = Math.max(max, v);
  close(max, 0.0019556888586454856, 1e-12, 'max');
  assert.ok((p[1279] as number) < 1e-4, 'little mass on the last pair');
  // versus uniform sampling, the top 10% of pairs get far less mass
  let top = 0;
  for (let i = 1152; i < 1280; i++) top += p[i] as number;
  assert.ok(top < 0.05, `top-decile mass ${top}`);
});

test('lognormalNoiseProbs: a pMean above sigmaMax still normalizes (mass in the top pair)', () => {
  // ln 80 = 4.38; pMean 6, pStd 0.5: the grid holds only the lower tail, about 99% of it in the last pair
  const p = lognormalNoiseProbs(karrasSigmas(11), { pMean: 6, pStd: 0.5 });
  close(sum(p), 1, 1e-12);
  assert.ok((p[9] as number) > 0.98, `last pair ${p[9]}`);
  // so far out that every erf value rounds to −1: refused with a clear message
  assert.throws(() => lognormalNoiseProbs(karrasSigmas(11), { pMean: 10, pStd: 0.5 }), /carries no lognormal mass/);
});

test('lognormalNoiseProbs errors', () => {
  assert.throws(() => lognormalNoiseProbs([0.1]), /need at least 2 noise levels/);
  assert.throws(() => lognormalNoiseProbs([]), /need at least 2 noise levels/);
  assert.throws(() => lognormalNoiseProbs([0.1, 0.5, 0.3]), /strictly ascending \(at index 2\)/);
  assert.throws(() => lognormalNoiseProbs([0.1, 0.1, 0.3]), /strictly ascending \(at index 1\)/);
  assert.throws(() => lognormalNoiseProbs([80, 0.002]), /strictly ascending/);
  assert.throws(() => lognormalNoiseProbs([0, 1]), /sigmas\[0\] must be finite and > 0/);
  assert.throws(() => lognormalNoiseProbs([-1, 1]), /sigmas\[0\] must be finite and > 0/);
  assert.throws(() => lognormalNoiseProbs([0.1, Number.NaN]), /sigmas\[1\] must be finite and > 0/);
  assert.throws(() => lognormalNoiseProbs([0.1, Number.POSITIVE_INFINITY]), /sigmas\[1\] must be finite and > 0/);
  assert.throws(() => lognormalNoiseProbs([0.1, 1], { pStd: 0 }), /pStd must be > 0/);
  assert.throws(() => lognormalNoiseProbs([0.1, 1], { pStd: -2 }), /pStd must be > 0/);
  assert.throws(() => lognormalNoiseProbs([0.1, 1], { pStd: Number.NaN }), /pStd must be > 0/);
});

// ---- uniform ----

test('uniformNoiseProbs: each of the n - 1 pairs with probability 1/(n - 1)', () => {
  const p = uniformNoiseProbs(karrasSigmas(11));
  assert.equal(p.length, 10);
  for (const v of p) assert.equal(v, 0.1);
  close(sum(p), 1, 1e-12);
  assert.deepEqual(Array.from(uniformNoiseProbs([1, 2])), [1]);
  const q = uniformNoiseProbs(karrasSigmas(1281));
  assert.equal(q.length, 1280);
  close(sum(q), 1, 1e-12);
});

test('uniformNoiseProbs errors', () => {
  assert.throws(() => uniformNoiseProbs([1]), /need at least 2 noise levels/);
  assert.throws(() => uniformNoiseProbs([2, 1]), /strictly ascending/);
  assert.throws(() => uniformNoiseProbs([0, 1]), /must be finite and > 0/);
});
