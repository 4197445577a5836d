/**
 * Maximum mean discrepancy between two point sets (Gretton et al. 2012, "A Kernel Two-Sample
 * Test", JMLR 13) with a sum of Gaussian RBF kernels k(x, y) = Σ_h exp(−‖x − y‖² / (2h²)) over a
 * list of bandwidths h (a multi-scale kernel, as in Li et al. 2015, generative moment matching networks).
 * Cost O((n_a + n_b)² · dim), in float64; meant for sets of up to a few thousand points.
 */
import type { Points2D } from '../data/toy2d';

export interface MmdOptions {
  /** Length of each row (default 2). */
  dim?: number;
  /** Gaussian kernel bandwidths h (default [0.1, 0.2, 0.5, 1, 2]); the kernel is their sum. */
  bandwidths?: readonly number[];
  /** Unbiased U-statistic (default true) or the biased V-statistic. */
  unbiased?: boolean;
}

export const DEFAULT_MMD_BANDWIDTHS: readonly number[] = [0.1, 0.2, 0.5, 1, 2];

function checkPoints(x: Float32Array | Float64Array, dim: number, label: string, min: number): number {
  if (x.length === 0) throw new RangeError(`MMD: ${label} is empty`);
  if (x.length % dim !== 0) {
    throw new RangeError(`MMD: ${label} has length ${x.length}, which is not a multiple of dim = ${dim}`);
  }
  const n = x.length / dim;
  if (n < min) {
    throw new RangeError(`MMD: ${label} has ${n} point, the unbiased estimator needs at least ${min}`);
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      throw new RangeError(`MMD: ${label}[${i}] is ${x[i]}, expected a finite number`);
    }
  }
  return n;
}

/** Σ_h exp(−d²/(2h²)) given the precomputed coefficients c_h = −1/(2h²). */
function kernel(d2: number, coef: Float64Array): number {
  let s = 0;
  for (const c of coef) s += Math.exp(d2 * c);
  return s;
}

/** Σ over pairs (i, j), i in x, j in y, of k(x_i, y_j); with x === y and `offDiagonal`, only i ≠ j. */
function kernelSum(
  x: Float32Array | Float64Array,
  nx: number,
  y: Float32Array | Float64Array,
  ny: number,
  dim: number,
  coef: Float64Array,
  same: boolean,
  offDiagonal: boolean,
): number {
  let s = 0;
  if (same) {
    // Symmetric: twice the strict upper triangle, plus the diagonal k(x, x) = number of bandwidths.
    for (let i = 0; i < nx; i++) {
      for (let j = i + 1; j < nx; j++) {
        let d2 = 0;
        for (let d = 0; d < dim; d++) {
          const t = (x[i * dim + d] as number) - (x[j * dim + d] as number);
          d2 += t * t;
        }
        s += kernel(d2, coef);
      }
    }
    s *= 2;
    if (!offDiagonal) s += nx * coef.length;
    return s;
  }
  for (let i = 0; i < nx; i++) {
    for (let j = 0; j < ny; j++) {
      let d2 = 0;
      for (let d = 0; d < dim; d++) {
        const t = (x[i * dim + d] as number) - (y[j * dim + d] as number);
        d2 += t * t;
      }
      s += kernel(d2, coef);
    }
  }
  return s;
}

/**
 * MMD² between the rows of `a` (m points) and `b` (n points).
 * Unbiased (Gretton et al. 2012, Lemma 6): 1/(m(m−1)) Σ_{i≠j} k(a_i, a_j) + 1/(n(n−1)) Σ_{i≠j}
 * k(b_i, b_j) − 2/(mn) Σ_{i,j} k(a_i, b_j); needs m, n ≥ 2 and can be slightly negative.
 * Biased (ibid., Sec. 2.2, the V-statistic): the same with the diagonal included and 1/m², 1/n² normalisers; ≥ 0.
 */
export function mmdSquared(a: Points2D | Float64Array, b: Points2D | Float64Array, opts: MmdOptions = {}): number {
  const dim = opts.dim ?? 2;
  const unbiased = opts.unbiased ?? true;
  const hs = opts.bandwidths ?? DEFAULT_MMD_BANDWIDTHS;
  if (!Number.isInteger(dim) || dim <= 0) throw new RangeError(`MMD: dim must be a positive integer, got ${dim}`);
  if (hs.length === 0) throw new RangeError('MMD: bandwidths must not be empty');
  const coef = new Float64Array(hs.length);
  hs.forEach((h, q) => {
    if (!(h > 0) || !Number.isFinite(h)) throw new RangeError(`MMD: bandwidths must be finite and > 0, got ${h}`);
    coef[q] = -1 / (2 * h * h);
  });
  const min = unbiased ? 2 : 1;
  const m = checkPoints(a, dim, 'first point set', min);
  const n = checkPoints(b, dim, 'second point set', min);
  const kaa = kernelSum(a, m, a, m, dim, coef, true, unbiased);
  const kbb = kernelSum(b, n, b, n, dim, coef, true, unbiased);
  const kab = kernelSum(a, m, b, n, dim, coef, false, false);
  const daa = unbiased ? m * (m - 1) : m * m;
  const dbb = unbiased ? n * (n - 1) : n * n;
  return kaa / daa + kbb / dbb - (2 * kab) / (m * n);
}

/** MMD = √max(0, MMD²) (the unbiased MMD² can dip below 0 by sampling noise). */
export function mmd(a: Points2D | Float64Array, b: Points2D | Float64Array, opts: MmdOptions = {}): number {
  return Math.sqrt(Math.max(0, mmdSquared(a, b, opts)));
}
