import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ictWeight, lossWeight } from '../../src/consistency/weighting';
import { karrasSigmas } from '../../src/schedules/karras';

function close(actual: number, expected: number, relTol: number, what = ''): void {
  const tol = relTol * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);
}

test('ictWeight = 1/(sigma_{i+1} - sigma_i): hand values', () => {
  assert.equal(ictWeight(1, 2), 1);
  assert.equal(ictWeight(0.5, 0.75), 4);
  assert.equal(ictWeight(0, 0.1), 10);
  close(ictWeight(79, 80), 1, 1e-15);
  close(ictWeight(0.002, 0.003), 1000, 1e-12);
});

test('ictWeight on karrasSigmas(5) matches python3 values', () => {
  // python3: [1/(g[i+1]-g[i]) for the n = 5 grid]
  const expected = [5.961153916290089, 0.42635446698177, 0.06661065603744168, 0.016007128157198798];
  const s = karrasSigmas(5);
  for (let i = 0; i < 4; i++) close(ictWeight(s[i] as number, s[i + 1] as number), expected[i] as number, 1e-12, `pair ${i}`);
});

test('at N = 1281 the weight spans about 2.6e4 (sigma_min end) to about 2.9 (sigma_max end) and decreases', () => {
  const s = karrasSigmas(1281);
  const first = ictWeight(s[0] as number, s[1] as number);
  const last = ictWeight(s[1279] as number, s[1280] as number);
  close(first, 1 / ((s[1] as number) - 0.002), 1e-15, 'first pair');
  close(last, 1 / (80 - (s[1279] as number)), 1e-15, 'last pair');
  // python3: 25584.723847909514 and 2.9360312719706485
  close(first, 25584.723847909514, 1e-9, 'first pair (python3)');
  close(last, 2.9360312719706485, 1e-9, 'last pair (python3)');
  assert.ok(first > 2.5e4 && first < 2.7e4, `first ${first}`);
  assert.ok(last > 2.85 && last < 2.95, `last ${last}`);
  let prev = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 1280; i++) {
    const w = ictWeight(s[i] as number, s[i + 1] as number);
    assert.ok(w < prev, `weight not decreasing at pair ${i}`);
    prev = w;
  }
});

test("lossWeight: 'uniform' is 1 everywhere, 'ict' is ictWeight", () => {
  const s = karrasSigmas(11);
  for (let i = 0; i < 10; i++) {
    assert.equal(lossWeight('uniform', s[i] as number, s[i + 1] as number), 1);
    assert.equal(lossWeight('ict', s[i] as number, s[i + 1] as number), 1 / ((s[i + 1] as number) - (s[i] as number)));
  }
  assert.equal(lossWeight('ict', 0.5, 0.75), 4);
});

test('errors when sigmaNext <= sigma or NaN', () => {
  assert.throws(() => ictWeight(1, 1), /ictWeight: need sigmaNext > sigma, got sigma=1, sigmaNext=1/);
  assert.throws(() => ictWeight(2, 1), /need sigmaNext > sigma/);
  assert.throws(() => ictWeight(Number.NaN, 1), /need sigmaNext > sigma/);
  assert.throws(() => ictWeight(1, Number.NaN), /need sigmaNext > sigma/);
  assert.throws(() => lossWeight('ict', 2, 1), /need sigmaNext > sigma/);
  assert.throws(() => ictWeight(2, 1), RangeError);
});
