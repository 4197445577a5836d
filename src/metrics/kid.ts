/**
 * KID, the kernel inception distance (Bińkowski et al. 2018, "Demystifying MMD GANs", ICLR): the
 * unbiased MMD² with the cubic polynomial kernel k(x, y) = (x·y/d + 1)³ between two feature sets,
 * averaged over random subsets of equal size drawn without replacement from each set (as clean-fid
 * and torch-fidelity: 100 subsets of 1000 by default, the size capped at the smaller set). Float64.
 * The one implementation: `ctlab eval`, the image evaluation (./image-eval) and the tests call it.
 */
import { Rng } from '../util/rng';
import { checkFeatures, type Features } from './frechet';

const KID_STREAM = 0x41d;
/**
 * Largest kernel matrix (entries) computed once up front: then each subset only sums entries
 * (20 subsets of 1000 rows: about a second instead of a minute in JS). Beyond it (32 MB of
 * float64), each subset computes its own kernel values. Both paths add the same terms in the same
 * order, so they give the same bits.
 */
const MAX_GRAM = 4_000_000;

/** Cubic polynomial kernel (x·y/d + 1)³ between row i of x and row j of y. */
function polyKernel(x: Features, i: number, y: Features, j: number, d: number): number {
  let dot = 0;
  const xi = i * d;
  const yj = j * d;
  for (let k = 0; k < d; k++) dot += (x[xi + k] as number) * (y[yj + k] as number);
  const t = dot / d + 1;
  return t * t * t;
}

/** All (x·y/d + 1)³ between rows of x (nx) and y (ny), row-major [nx, ny]. */
function polyGram(x: Features, nx: number, y: Features, ny: number, d: number, symmetric: boolean): Float64Array {
  const g = new Float64Array(nx * ny);
  for (let i = 0; i < nx; i++) {
    for (let j = symmetric ? i + 1 : 0; j < ny; j++) {
      const v = polyKernel(x, i, y, j, d);
      g[i * ny + j] = v;
      if (symmetric) g[j * ny + i] = v;
    }
  }
  return g;
}

/** k(row i, row j) of one pair of sets: a lookup in a precomputed matrix or a direct evaluation. */
type Kernel = (i: number, j: number) => number;

function kernels(a: Features, na: number, b: Features, nb: number, d: number, maxGram = MAX_GRAM): { kaa: Kernel; kbb: Kernel; kab: Kernel } {
  if (na * na <= maxGram && nb * nb <= maxGram && na * nb <= maxGram) {
    const gaa = polyGram(a, na, a, na, d, true);
    const gbb = polyGram(b, nb, b, nb, d, true);
    const gab = polyGram(a, na, b, nb, d, false);
    return { kaa: (i, j) => gaa[i * na + j] as number, kbb: (i, j) => gbb[i * nb + j] as number, kab: (i, j) => gab[i * nb + j] as number };
  }
  return { kaa: (i, j) => polyKernel(a, i, a, j, d), kbb: (i, j) => polyKernel(b, i, b, j, d), kab: (i, j) => polyKernel(a, i, b, j, d) };
}

/**
 * Unbiased MMD² between the rows `ia` (m ≥ 2) of the first set and `ib` (n ≥ 2) of the second:
 * Σ_{i≠j} k(a_i, a_j)/(m(m−1)) + Σ_{i≠j} k(b_i, b_j)/(n(n−1)) − 2 Σ_{i,j} k(a_i, b_j)/(mn).
 */
function mmd2Rows(k: { kaa: Kernel; kbb: Kernel; kab: Kernel }, ia: ArrayLike<number>, ib: ArrayLike<number>): number {
  const m = ia.length;
  const n = ib.length;
  let xx = 0;
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) xx += k.kaa(ia[i] as number, ia[j] as number);
  let yy = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) yy += k.kbb(ib[i] as number, ib[j] as number);
  let xy = 0;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) xy += k.kab(ia[i] as number, ib[j] as number);
  return (2 * xx) / (m * (m - 1)) + (2 * yy) / (n * (n - 1)) - (2 * xy) / (m * n);
}

function range(n: number): Uint32Array {
  const r = new Uint32Array(n);
  for (let i = 0; i < n; i++) r[i] = i;
  return r;
}

/** Unbiased MMD² with the KID kernel between all rows of a and all rows of b (≥ 2 each); can be slightly negative. */
export function polyMmd2(a: Features, b: Features, d: number): number {
  const m = checkFeatures(a, d, 'polyMmd2: first set', 2);
  const n = checkFeatures(b, d, 'polyMmd2: second set', 2);
  return mmd2Rows(kernels(a, m, b, n, d), range(m), range(n));
}

export interface KidOptions {
  /** Rows per subset (default 1000; capped at the smaller set's size). */
  subsetSize?: number;
  /** Number of subsets averaged (default 100). */
  subsets?: number;
  /** Seed of the subset draws (default 0). */
  seed?: number;
  /** Largest kernel matrix (entries) computed up front (default 4M); only speed depends on it, not the value. */
  maxGramEntries?: number;
}

export interface KidResult {
  /** Mean over subsets of the unbiased MMD² (the KID). */
  mean: number;
  /** Standard deviation over subsets (divisor = number of subsets, as np.std in torch-fidelity). */
  std: number;
  /** The per-subset values. */
  values: Float64Array;
  /** The subset size used. */
  subsetSize: number;
}

/** `count` distinct indices of 0..n−1 (partial Fisher-Yates), in draw order. */
export function sampleWithoutReplacement(n: number, count: number, rng: Rng, scratch: Uint32Array): Uint32Array {
  for (let i = 0; i < n; i++) scratch[i] = i;
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(n - i);
    const t = scratch[i] as number;
    scratch[i] = scratch[j] as number;
    scratch[j] = t;
  }
  return scratch.slice(0, count);
}

/**
 * KID between feature sets a and b (rows of length d) with its spread over subsets; a pure function
 * of (a, b, d, options). Each subset draws `subsetSize` rows of a and of b without replacement.
 */
export function kidStats(a: Features, b: Features, d: number, opts: KidOptions = {}): KidResult {
  const na = checkFeatures(a, d, 'kid: first set', 2);
  const nb = checkFeatures(b, d, 'kid: second set', 2);
  const subsets = opts.subsets ?? 100;
  const wanted = opts.subsetSize ?? 1000;
  if (!Number.isInteger(subsets) || subsets <= 0) throw new RangeError(`kid: subsets must be a positive integer, got ${subsets}`);
  if (!Number.isInteger(wanted) || wanted < 2) throw new RangeError(`kid: subsetSize must be an integer ≥ 2, got ${wanted}`);
  const m = Math.min(wanted, na, nb);
  const k = kernels(a, na, b, nb, d, opts.maxGramEntries);
  const rng = new Rng(opts.seed ?? 0, KID_STREAM);
  const sa = new Uint32Array(na);
  const sb = new Uint32Array(nb);
  const values = new Float64Array(subsets);
  for (let s = 0; s < subsets; s++) {
    const ia = sampleWithoutReplacement(na, m, rng, sa);
    const ib = sampleWithoutReplacement(nb, m, rng, sb);
    values[s] = mmd2Rows(k, ia, ib);
  }
  let mean = 0;
  for (const v of values) mean += v;
  mean /= subsets;
  let ss = 0;
  for (const v of values) ss += (v - mean) * (v - mean);
  return { mean, std: Math.sqrt(ss / subsets), values, subsetSize: m };
}

/** KID: the mean over subsets of the unbiased cubic-kernel MMD² (see {@link kidStats}). */
export function kid(a: Features, b: Features, d: number, opts: KidOptions = {}): number {
  return kidStats(a, b, d, opts).mean;
}
