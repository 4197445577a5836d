import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ctCurriculum, curriculumSize, ictCurriculum } from '../../src/schedules/curriculum';

// ---- original CT: N(k) = ceil(sqrt(k/K((s1+1)^2 - s0^2) + s0^2) - 1) + 1 ----

test('ctCurriculum endpoints: N(0) = s0 = 2, N(K) = s1 + 1 = 151', () => {
  assert.equal(ctCurriculum(0, 800000), 2);
  assert.equal(ctCurriculum(800000, 800000), 151);
  assert.equal(ctCurriculum(0, 10, { s0: 2, s1: 200 }), 2);
  assert.equal(ctCurriculum(10, 10, { s0: 2, s1: 200 }), 201);
  assert.equal(ctCurriculum(0, 7, { s0: 5, s1: 9 }), 5);
  assert.equal(ctCurriculum(7, 7, { s0: 5, s1: 9 }), 10);
});

test('ctCurriculum middle values by hand (s0 = 2, s1 = 150)', () => {
  // k/K = 1/2: sqrt(0.5·(151² − 4) + 4) = sqrt(11402.5) = 106.78 → ceil(105.78) = 106 → N = 107
  assert.equal(ctCurriculum(400000, 800000), 107);
  // k/K = 1/4: sqrt(0.25·22797 + 4) = sqrt(5703.25) = 75.52 → ceil(74.52) = 75 → N = 76
  assert.equal(ctCurriculum(200000, 800000), 76);
  // k/K = 3/4 → 131; k/K = 1/10 → 48 (python3)
  assert.equal(ctCurriculum(600000, 800000), 131);
  assert.equal(ctCurriculum(80000, 800000), 48);
  // a tiny step moves N by the ceiling: k = 1 of 800k: sqrt(22797/800000 + 4) − 1 = 1.0071 → ceil 2 → N = 3
  assert.equal(ctCurriculum(1, 800000), 3);
});

test('ctCurriculum is monotone non-decreasing over k and stays in [s0, s1 + 1]', () => {
  const K = 20000;
  let prev = 0;
  for (let k = 0; k <= K; k++) {
    const n = ctCurriculum(k, K);
    assert.ok(n >= prev, `N decreased at k=${k}: ${prev} -> ${n}`);
    assert.ok(n >= 2 && n <= 151, `N out of range at k=${k}: ${n}`);
    prev = n;
  }
  assert.equal(prev, 151);
});

test('ctCurriculum errors', () => {
  assert.throws(() => ctCurriculum(-1, 100), /k must be an integer in \[0, totalSteps=100\]/);
  assert.throws(() => ctCurriculum(101, 100), /k must be an integer in \[0, totalSteps=100\]/);
  assert.throws(() => ctCurriculum(1.5, 100), /k must be an integer/);
  assert.throws(() => ctCurriculum(Number.NaN, 100), /k must be an integer/);
  assert.throws(() => ctCurriculum(0, 0), /totalSteps must be an integer >= 1/);
  assert.throws(() => ctCurriculum(0, 2.5), /totalSteps must be an integer >= 1/);
  assert.throws(() => ctCurriculum(0, 100, { s0: 1 }), /need integers 2 <= s0 <= s1/);
  assert.throws(() => ctCurriculum(0, 100, { s0: 2.5 }), /need integers 2 <= s0 <= s1/);
  assert.throws(() => ctCurriculum(0, 100, { s0: 10, s1: 9 }), /need integers 2 <= s0 <= s1/);
  assert.throws(() => ctCurriculum(0, 100, { s1: 150.5 }), /need integers 2 <= s0 <= s1/);
});

// ---- iCT: N(k) = min(s0·2^floor(k/K'), s1) + 1, K' = floor(K / (log2 floor(s1/s0) + 1)) ----

test("ictCurriculum K = 400000: 8 stages of K' = 50000: 11, 21, ..., 1281", () => {
  const K = 400000;
  const stages = [11, 21, 41, 81, 161, 321, 641, 1281];
  stages.forEach((n, j) => {
    assert.equal(ictCurriculum(j * 50000, K), n, `stage start k=${j * 50000}`);
    assert.equal(ictCurriculum(j * 50000 + 49999, K), n, `stage end k=${j * 50000 + 49999}`);
  });
  assert.equal(ictCurriculum(49999, K), 11);
  assert.equal(ictCurriculum(50000, K), 21);
  assert.equal(ictCurriculum(K, K), 1281);
  assert.equal(ictCurriculum(0, K), 11);
});

test('ictCurriculum is monotone, takes exactly the 8 stage values, never exceeds s1 + 1', () => {
  const K = 4000;
  const seen = new Set<number>();
  let prev = 0;
  for (let k = 0; k <= K; k++) {
    const n = ictCurriculum(k, K);
    assert.ok(n >= prev, `N decreased at k=${k}`);
    prev = n;
    seen.add(n);
  }
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    [11, 21, 41, 81, 161, 321, 641, 1281],
  );
});

test('ictCurriculum with other s0/s1: s1/s0 not a power of two caps at s1 + 1', () => {
  // s0 = 2, s1 = 150: floor(150/2) = 75, log2 75 = 6.23 → 7 stages; K = 700 → K' = 100
  assert.equal(ictCurriculum(0, 700, { s0: 2, s1: 150 }), 3);
  assert.equal(ictCurriculum(100, 700, { s0: 2, s1: 150 }), 5);
  assert.equal(ictCurriculum(599, 700, { s0: 2, s1: 150 }), 65); // stage 5: 2·32 + 1
  assert.equal(ictCurriculum(600, 700, { s0: 2, s1: 150 }), 129); // stage 6: 2·64 + 1
  assert.equal(ictCurriculum(700, 700, { s0: 2, s1: 150 }), 151); // stage 7: min(256, 150) + 1
  // s0 = s1: a single stage
  assert.equal(ictCurriculum(0, 10, { s0: 7, s1: 7 }), 8);
  assert.equal(ictCurriculum(10, 10, { s0: 7, s1: 7 }), 8);
});

test('ictCurriculum small K (K < number of stages): every step is its own stage', () => {
  // K = 5 < 8 stages → K' = 0; the implementation uses stage = k.
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].map((k) => ictCurriculum(k, 5)),
    [11, 21, 41, 81, 161, 321],
  );
  // K = 8 → K' = 1: the last stage is reached at k = 7 and kept at k = K
  assert.equal(ictCurriculum(7, 8), 1281);
  assert.equal(ictCurriculum(8, 8), 1281);
  // K = 1 → K' = 0
  assert.equal(ictCurriculum(0, 1), 11);
  assert.equal(ictCurriculum(1, 1), 21);
  // all stay within [s0 + 1, s1 + 1]
  for (let K = 1; K <= 20; K++) {
    for (let k = 0; k <= K; k++) {
      const n = ictCurriculum(k, K);
      assert.ok(n >= 11 && n <= 1281, `K=${K} k=${k}: ${n}`);
    }
  }
});

test('ictCurriculum errors', () => {
  assert.throws(() => ictCurriculum(-1, 100), /k must be an integer in \[0, totalSteps=100\]/);
  assert.throws(() => ictCurriculum(101, 100), /k must be an integer in \[0, totalSteps=100\]/);
  assert.throws(() => ictCurriculum(0.5, 100), /k must be an integer/);
  assert.throws(() => ictCurriculum(0, 0), /totalSteps must be an integer >= 1/);
  assert.throws(() => ictCurriculum(0, 100, { s0: 0 }), /need integers 1 <= s0 <= s1/);
  assert.throws(() => ictCurriculum(0, 100, { s0: 1.5 }), /need integers 1 <= s0 <= s1/);
  assert.throws(() => ictCurriculum(0, 100, { s0: 10, s1: 5 }), /need integers 1 <= s0 <= s1/);
});

test('curriculumSize dispatches on the spec kind', () => {
  assert.equal(curriculumSize({ kind: 'ct', s0: 2, s1: 150 }, 500, 1000), ctCurriculum(500, 1000));
  assert.equal(curriculumSize({ kind: 'ict', s0: 10, s1: 1280 }, 500, 1000), ictCurriculum(500, 1000));
  assert.equal(curriculumSize({ kind: 'ict', s0: 10, s1: 1280 }, 0, 2000), 11);
});
