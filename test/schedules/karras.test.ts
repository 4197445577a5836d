import { test } from 'node:test';
import assert from 'node:assert/strict';
import { karrasSigmas } from '../../src/schedules/karras';

function close(actual: number, expected: number, relTol: number, what = ''): void {
  const tol = relTol * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);
}

/** Independent evaluation of σ_i = (σ_min^{1/ρ} + (i−1)/(N−1)(σ_max^{1/ρ} − σ_min^{1/ρ}))^ρ, i = 1..N. */
function formula(n: number, smin = 0.002, smax = 80, rho = 7): number[] {
  const out: number[] = [];
  for (let i = 1; i <= n; i++) {
    const t = (i - 1) / (n - 1);
    out.push(Math.pow(Math.pow(smin, 1 / rho) + t * (Math.pow(smax, 1 / rho) - Math.pow(smin, 1 / rho)), rho));
  }
  return out;
}

test('n = 5 matches literal values computed with python3', () => {
  // python3: a=0.002**(1/7); b=80**(1/7); [(a+i/4*(b-a))**7 for i in range(5)]
  const expected = [0.002, 0.16975275626876413, 2.515218976147159, 17.52783196464411, 80];
  const s = karrasSigmas(5);
  assert.equal(s.length, 5);
  for (let i = 0; i < 5; i++) close(s[i] as number, expected[i] as number, 1e-13, `sigma[${i}]`);
});

test('n = 6 matches literal values computed with python3', () => {
  const expected = [0.002, 0.08508720268939021, 0.9654169263318955, 5.838947631011886, 24.40834178658012, 80];
  const s = karrasSigmas(6);
  for (let i = 0; i < 6; i++) close(s[i] as number, expected[i] as number, 1e-13, `sigma[${i}]`);
});

test('n = 3 has the midpoint of the rho-root grid in the middle (same as n = 5 index 2)', () => {
  const s = karrasSigmas(3);
  close(s[1] as number, 2.515218976147159, 1e-13);
});

test('custom options: sigmaMin 0.5, sigmaMax 10, rho 3 (python3 literals)', () => {
  const expected = [0.5, 1.940396099681917, 4.920430771609976, 10];
  const s = karrasSigmas(4, { sigmaMin: 0.5, sigmaMax: 10, rho: 3 });
  for (let i = 0; i < 4; i++) close(s[i] as number, expected[i] as number, 1e-13, `sigma[${i}]`);
});

test('rho = 1 gives a linear grid', () => {
  const s = karrasSigmas(5, { sigmaMin: 1, sigmaMax: 5, rho: 1 });
  for (let i = 0; i < 5; i++) close(s[i] as number, i + 1, 1e-14, `sigma[${i}]`);
});

test('golden values from the formula for several n', () => {
  for (const n of [2, 3, 7, 11, 18, 40, 151, 201, 1281]) {
    const s = karrasSigmas(n);
    const f = formula(n);
    assert.equal(s.length, n);
    for (let i = 0; i < n; i++) close(s[i] as number, f[i] as number, 1e-12, `n=${n} sigma[${i}]`);
  }
});

test('endpoints are exactly sigmaMin and sigmaMax; strictly ascending', () => {
  for (const n of [2, 3, 10, 1281]) {
    const s = karrasSigmas(n);
    assert.equal(s[0], 0.002, `n=${n} first`);
    assert.equal(s[n - 1], 80, `n=${n} last`);
    for (let i = 1; i < n; i++) assert.ok((s[i] as number) > (s[i - 1] as number), `n=${n}: not ascending at ${i}`);
  }
  const c = karrasSigmas(9, { sigmaMin: 0.01, sigmaMax: 3.7, rho: 5 });
  assert.equal(c[0], 0.01);
  assert.equal(c[8], 3.7);
});

test('n = 2 edge: exactly [sigmaMin, sigmaMax]', () => {
  assert.deepEqual(Array.from(karrasSigmas(2)), [0.002, 80]);
});

test('returns a fresh Float64Array', () => {
  const a = karrasSigmas(4);
  assert.ok(a instanceof Float64Array);
  a[1] = 123;
  assert.notEqual(karrasSigmas(4)[1], 123);
});

test('errors: n < 2, non-integer n, sigmaMin >= sigmaMax, sigmaMin <= 0, rho <= 0', () => {
  assert.throws(() => karrasSigmas(1), /n must be an integer >= 2/);
  assert.throws(() => karrasSigmas(0), /n must be an integer >= 2/);
  assert.throws(() => karrasSigmas(2.5), /n must be an integer >= 2/);
  assert.throws(() => karrasSigmas(Number.NaN), /n must be an integer >= 2/);
  assert.throws(() => karrasSigmas(5, { sigmaMin: 80, sigmaMax: 80 }), /sigmaMin < sigmaMax/);
  assert.throws(() => karrasSigmas(5, { sigmaMin: 90, sigmaMax: 80 }), /sigmaMin < sigmaMax/);
  assert.throws(() => karrasSigmas(5, { sigmaMin: 0 }), /0 < sigmaMin/);
  assert.throws(() => karrasSigmas(5, { sigmaMin: -1 }), /0 < sigmaMin/);
  assert.throws(() => karrasSigmas(5, { sigmaMax: Number.NaN }), /sigmaMin < sigmaMax/);
  assert.throws(() => karrasSigmas(5, { rho: 0 }), /rho must be > 0/);
  assert.throws(() => karrasSigmas(5, { rho: -7 }), /rho must be > 0/);
  assert.throws(() => karrasSigmas(5, { rho: Number.NaN }), /rho must be > 0/);
  assert.throws(() => karrasSigmas(1), RangeError);
});
