import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frechetDistance, frechetFromStats, meanCov, sqrtPsd, symmetricEigen, traceSqrtProduct } from '../../src/metrics/frechet';
import { kid, kidStats, polyMmd2 } from '../../src/metrics/kid';
import { Rng } from '../../src/util/rng';

function close(actual: number, expected: number, tol: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);
}

/** n draws of N(mu, L Lᵀ) as rows (L lower-triangular [d, d] row-major; identity when omitted). */
function gaussian(n: number, mu: number[], seed: number, chol?: number[], scale = 1): Float64Array {
  const d = mu.length;
  const rng = new Rng(seed);
  const z = new Float64Array(d);
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    rng.fillNormal(z);
    for (let a = 0; a < d; a++) {
      let v = 0;
      if (chol === undefined) v = z[a] as number;
      else for (let b = 0; b <= a; b++) v += (chol[a * d + b] as number) * (z[b] as number);
      out[i * d + a] = (mu[a] as number) + scale * v;
    }
  }
  return out;
}

/** Cholesky factor of a small SPD matrix (for drawing correlated Gaussians in tests). */
function cholesky(m: number[], d: number): number[] {
  const l = new Array<number>(d * d).fill(0);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = m[i * d + j] as number;
      for (let k = 0; k < j; k++) s -= (l[i * d + k] as number) * (l[j * d + k] as number);
      l[i * d + j] = i === j ? Math.sqrt(s) : s / (l[j * d + j] as number);
    }
  }
  return l;
}

// Non-diagonal 3x3 covariances; reference values from numpy/scipy:
//   trace(scipy.linalg.sqrtm(C1 @ C2)) = 3.6831946830732694, FD(m1, C1, m2, C2) = 8.18361063385346.
const C1 = [2, 0.5, 0.1, 0.5, 1, 0.3, 0.1, 0.3, 0.5];
const C2 = [1, -0.2, 0, -0.2, 3, 0.4, 0, 0.4, 0.8];
const M1 = [0, 1, 2];
const M2 = [1, -1, 0.5];

test('symmetricEigen: [[2,1],[1,2]] has eigenvalues 1 and 3; random 8x8 reconstructs with orthonormal V', () => {
  const { values, vectors } = symmetricEigen([2, 1, 1, 2], 2);
  assert.deepEqual(
    Array.from(values)
      .sort((a, b) => a - b)
      .map((v) => Math.round(v * 1e12) / 1e12),
    [1, 3],
  );
  close(Math.abs(vectors[0] as number), Math.SQRT1_2, 1e-14);
  const d = 8;
  const rng = new Rng(3);
  const a = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const v = rng.normal();
      a[i * d + j] = v;
      a[j * d + i] = v;
    }
  }
  const e = symmetricEigen(a, d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let rec = 0;
      let vtv = 0;
      for (let k = 0; k < d; k++) {
        rec += (e.vectors[i * d + k] as number) * (e.values[k] as number) * (e.vectors[j * d + k] as number);
        vtv += (e.vectors[k * d + i] as number) * (e.vectors[k * d + j] as number);
      }
      close(rec, a[i * d + j] as number, 1e-12, `A(${i},${j})`);
      close(vtv, i === j ? 1 : 0, 1e-12, `VᵀV(${i},${j})`);
    }
  }
  assert.throws(() => symmetricEigen([1, 2, 3], 2), /expected 2x2/);
});

test('sqrtPsd squares back; traceSqrtProduct matches scipy on a non-diagonal 3x3 pair and a singular one', () => {
  const s = sqrtPsd(C1, 3);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let v = 0;
      for (let k = 0; k < 3; k++) v += (s[i * 3 + k] as number) * (s[k * 3 + j] as number);
      close(v, C1[i * 3 + j] as number, 1e-14, `(${i},${j})`);
    }
  }
  close(traceSqrtProduct(C1, C2, 3), 3.6831946830732694, 1e-13);
  // C3 = 2uuᵀ, u = (1,1,0)/√2: C3·C2 has rank 1 with eigenvalue 2uᵀC2u = 3.6, so the trace is √3.6.
  close(traceSqrtProduct([1, 1, 0, 1, 1, 0, 0, 0, 0], C2, 3), Math.sqrt(3.6), 1e-13);
});

test('frechetFromStats: diagonal covariances give Σ(√a − √b)² + ‖Δμ‖², exactly', () => {
  // N((0,0,0), diag(1,4,9)) vs N((1,2,2), diag(4,1,16)): 9 + (1 + 1 + 1) = 12.
  const diag = (v: number[]): number[] => v.flatMap((x, i) => v.map((_, j) => (i === j ? x : 0)));
  close(frechetFromStats([0, 0, 0], diag([1, 4, 9]), [1, 2, 2], diag([4, 1, 16])), 12, 1e-13);
  // Identical Gaussians: 0; a scaled covariance k²Σ: Tr Σ (1 − k)².
  close(frechetFromStats(M1, C1, M1, C1), 0, 1e-13);
  close(
    frechetFromStats(
      M1,
      C1,
      M1,
      C1.map((v) => 4 * v),
    ),
    3.5,
    1e-13,
  );
});

test('frechetFromStats: non-diagonal 2x2 by hand and 3x3 against scipy', () => {
  // A = [[2,1],[1,2]], B = diag(1,4): for 2x2, Tr √(AB) = √(Tr AB + 2√(det A det B)) = √(10 + 2√12);
  // FD = Tr A + Tr B − 2 Tr √(AB) = 9 − 2√(10 + 4√3) (scipy: 0.7712204476543407).
  const fd2 = frechetFromStats([0, 0], [2, 1, 1, 2], [0, 0], [1, 0, 0, 4]);
  close(fd2, 9 - 2 * Math.sqrt(10 + 4 * Math.sqrt(3)), 1e-13);
  close(fd2, 0.7712204476543407, 1e-13);
  close(frechetFromStats([3, 4], [2, 1, 1, 2], [0, 0], [1, 0, 0, 4]), 25 + fd2, 1e-12);
  close(frechetFromStats(M1, C1, M2, C2), 8.18361063385346, 1e-12);
  close(frechetFromStats(M2, C2, M1, C1), 8.18361063385346, 1e-12, 'symmetric');
  assert.throws(() => frechetFromStats([0, 0], [1, 0, 0, 1], [0], [1]), /lengths 2 and 1/);
  assert.throws(() => frechetFromStats([0, 0], [1, 0, 0], [0, 0], [1, 0, 0, 1]), /cov1 has length 3/);
});

test('meanCov: unbiased (n − 1) covariance, as np.cov', () => {
  // Rows (0,0), (2,0), (1,3): mean (1,1); cov = [[1, 0], [0, 3]].
  const { mu, cov, n } = meanCov(new Float64Array([0, 0, 2, 0, 1, 3]), 2);
  assert.equal(n, 3);
  assert.deepEqual(Array.from(mu), [1, 1]);
  assert.deepEqual(Array.from(cov), [1, 0, 0, 3]);
  assert.throws(() => meanCov(new Float64Array([1, 2]), 2), /expected at least 2/);
  assert.throws(() => meanCov(new Float64Array([1, 2, 3]), 2), /not a multiple of dim = 2/);
  assert.throws(() => meanCov(new Float64Array([1, 2, Number.NaN, 3]), 2), /\[2\] is NaN/);
});

test('frechetDistance on samples matches the closed form of the Gaussians they come from', () => {
  const n = 20000;
  const zero = [0, 0, 0];
  const a = gaussian(n, zero, 1);
  // N(0, I) vs N(μ, I): ‖μ‖² = 1 + 0.25 + 0.0625.
  close(frechetDistance(a, gaussian(n, [1, -0.5, 0.25], 2), 3), 1.3125, 0.05, 'mean shift');
  // N(0, I) vs N(0, s²I): d (1 − s)² = 3 for s = 2.
  close(frechetDistance(a, gaussian(n, zero, 3, undefined, 2), 3), 3, 0.1, 'scale');
  // Correlated Gaussians with the 3x3 covariances above.
  const fdc = frechetDistance(gaussian(n, M1, 4, cholesky(C1, 3)), gaussian(n, M2, 5, cholesky(C2, 3)), 3);
  close(fdc, 8.18361063385346, 0.2, 'non-diagonal');
  // Same distribution, independent draws: close to 0 (≈ d(d+1)/n-order bias).
  const same = frechetDistance(a, gaussian(n, zero, 6), 3);
  assert.ok(same >= 0 && same < 0.01, `same distribution: ${same}`);
});

test('frechetDistance of a set with itself is 0, also with fewer rows than dimensions (singular Σ)', () => {
  const a = gaussian(500, [1, 2, 3, 4, 5, 6], 7, undefined, 0.3);
  close(frechetDistance(a, a, 6), 0, 1e-12);
  const tiny = gaussian(5, new Array<number>(10).fill(0), 8);
  close(frechetDistance(tiny, tiny, 10), 0, 1e-10);
  const other = gaussian(5, new Array<number>(10).fill(0), 9);
  const v = frechetDistance(tiny, other, 10);
  assert.ok(Number.isFinite(v) && v > 0, `singular covariances: ${v}`);
  // d = 64 on 300 rows runs (Jacobi converges) and is symmetric in its arguments.
  const p = gaussian(300, new Array<number>(64).fill(0), 10);
  const q = gaussian(300, new Array<number>(64).fill(0.1), 11);
  close(frechetDistance(p, q, 64), frechetDistance(q, p, 64), 1e-8);
});

test('polyMmd2 (KID kernel) on hand-computed tiny sets', () => {
  // d = 1, k(x, y) = (xy + 1)³: X = {0, 1}, Y = {2, 3}. Within X: k(0,1) = 1; within Y: 7³ = 343;
  // across: 1 + 1 + 27 + 64 = 93 -> 1 + 343 − 2·93/4 = 297.5.
  close(polyMmd2(new Float64Array([0, 1]), new Float64Array([2, 3]), 1), 297.5, 1e-12);
  // d = 2, k = (x·y/2 + 1)³: X = {e1, e2}, Y = {(1,1), (−1,1)}: within-set dots 0 -> 1 each;
  // across: 1.5³ three times and 0.5³ once -> 1 + 1 − 2·(3·3.375 + 0.125)/4 = −3.125 (unbiased, < 0).
  close(polyMmd2(new Float64Array([1, 0, 0, 1]), new Float64Array([1, 1, -1, 1]), 2), -3.125, 1e-12);
  // Unequal sizes: X = {0, 1}, Y = {0, 0, 1}: Kxx off-diagonal k(0,1) = 1; Kyy off-diagonal pairs
  // (0,0), (0,1), (0,1) all 1; across: 1 for every pair but k(1,1) = 8, sum 13 -> 1 + 1 − 2·13/6 = −7/3.
  close(polyMmd2(new Float64Array([0, 1]), new Float64Array([0, 0, 1]), 1), -7 / 3, 1e-14);
  assert.throws(() => polyMmd2(new Float64Array([1]), new Float64Array([1, 2]), 1), /at least 2/);
});

test('kid: full-size subsets equal polyMmd2; same distribution ≈ 0; shifted > 0 and growing; seeded', () => {
  const x = new Float64Array([0, 1]);
  const y = new Float64Array([2, 3]);
  const r = kidStats(x, y, 1, { subsets: 3, subsetSize: 10 });
  assert.equal(r.subsetSize, 2);
  close(r.mean, 297.5, 1e-12);
  close(r.std, 0, 1e-12);
  assert.equal(r.values.length, 3);

  const d = 4;
  const zero = new Array<number>(d).fill(0);
  const a = gaussian(1000, zero, 21);
  const opts = { subsets: 20, subsetSize: 200, seed: 5 };
  const same = kidStats(a, gaussian(1000, zero, 22), d, opts);
  assert.ok(Math.abs(same.mean) < 0.02, `same distribution: ${same.mean} (std ${same.std})`);
  const small = kid(a, gaussian(1000, new Array<number>(d).fill(0.3), 23), d, opts);
  const large = kid(a, gaussian(1000, new Array<number>(d).fill(1), 24), d, opts);
  assert.ok(small > 0.05 && small > 5 * Math.abs(same.mean), `shift 0.3: ${small}`);
  assert.ok(large > 3 * small, `shift 1: ${large} vs shift 0.3: ${small}`);
  // Seeded: same options -> same value; another seed -> another subset draw.
  assert.equal(kid(a, gaussian(1000, zero, 22), d, opts), same.mean);
  assert.notEqual(kid(a, gaussian(1000, zero, 22), d, { ...opts, seed: 6 }), same.mean);
  assert.throws(() => kid(a, a, d, { subsets: 0 }), /subsets must be a positive integer/);
  assert.throws(() => kid(a, a, d, { subsetSize: 1 }), /subsetSize must be an integer ≥ 2/);
});
