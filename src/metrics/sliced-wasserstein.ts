/**
 * Sliced Wasserstein distance between two point sets (Rabin et al. 2011; Bonneel et al. 2015):
 * SW_p(μ, ν) = ( E_θ[ W_p^p(θ·μ, θ·ν) ] )^(1/p), θ uniform on the unit sphere, estimated by the
 * mean over k directions. Each 1D W_p is computed exactly (see `wassersteinPow1d`). All arithmetic
 * is float64; inputs may be float32 or float64, row-major [n, dim].
 */
import { Rng } from '../util/rng';
import type { Points2D } from '../data/toy2d';

export interface SlicedWassersteinOptions {
  /** Length of each row (default 2). */
  dim?: number;
  /** Number of random directions (default 256); ignored when `directions` is given. */
  projections?: number;
  /** Order p of the distance (default 2). */
  p?: 1 | 2;
  /** Seed for the random directions (default 0); ignored when `directions` is given. */
  seed?: number;
  /** Explicit unit directions, row-major [k, dim], used instead of random ones. */
  directions?: Float64Array;
}

/** RNG stream tag for the projection directions. */
const DIRECTION_STREAM = 0x5157;

/** Tolerance on ‖θ‖ − 1 for explicit directions. */
const UNIT_TOL = 1e-6;

/**
 * k directions uniform on the unit sphere S^(dim−1), row-major [k, dim]: normalised standard
 * Gaussian vectors (Muller 1959), drawn from Rng(seed, DIRECTION_STREAM).
 */
export function randomDirections(k: number, dim: number, seed = 0): Float64Array {
  if (!Number.isInteger(k) || k <= 0) throw new RangeError(`projections must be a positive integer, got ${k}`);
  if (!Number.isInteger(dim) || dim <= 0) throw new RangeError(`dim must be a positive integer, got ${dim}`);
  const rng = new Rng(seed, DIRECTION_STREAM);
  const out = new Float64Array(k * dim);
  for (let i = 0; i < k; i++) {
    let norm2 = 0;
    while (!(norm2 > 1e-24)) {
      norm2 = 0;
      for (let d = 0; d < dim; d++) {
        const g = rng.normal();
        out[i * dim + d] = g;
        norm2 += g * g;
      }
    }
    const inv = 1 / Math.sqrt(norm2);
    for (let d = 0; d < dim; d++) out[i * dim + d] = (out[i * dim + d] as number) * inv;
  }
  return out;
}

/**
 * k evenly spaced 2D unit directions over the half circle, θ_i = (cos πi/k, sin πi/k), row-major
 * [k, 2]. (Directions θ and −θ give the same 1D distance, so the half circle covers the sphere.)
 * For k ≥ 2 their mean of (θ·v)² is exactly |v|²/2, the sphere average.
 */
export function evenDirections2d(k: number): Float64Array {
  if (!Number.isInteger(k) || k <= 0) throw new RangeError(`k must be a positive integer, got ${k}`);
  const out = new Float64Array(2 * k);
  for (let i = 0; i < k; i++) {
    const a = (Math.PI * i) / k;
    out[2 * i] = Math.cos(a);
    out[2 * i + 1] = Math.sin(a);
  }
  return out;
}

function checkPoints(x: Float32Array | Float64Array, dim: number, label: string): number {
  if (x.length === 0) throw new RangeError(`sliced Wasserstein: ${label} is empty`);
  if (x.length % dim !== 0) {
    throw new RangeError(`sliced Wasserstein: ${label} has length ${x.length}, which is not a multiple of dim = ${dim}`);
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      throw new RangeError(`sliced Wasserstein: ${label}[${i}] is ${x[i]}, expected a finite number`);
    }
  }
  return x.length / dim;
}

/**
 * W_p^p between the uniform empirical measures on two *sorted* 1D samples, exactly:
 * W_p^p = ∫_0^1 |F⁻¹(u) − G⁻¹(u)|^p du (1D optimal transport by quantile functions; Villani 2003,
 * Thm 2.18), with F⁻¹, G⁻¹ the step-function empirical quantile functions. When the sizes differ,
 * the integral is summed over the merged breakpoints {i/na} ∪ {j/nb} (tracked in integer units of
 * 1/(na·nb)); with equal sizes it reduces to mean_i |a_(i) − b_(i)|^p.
 */
export function wassersteinPow1d(sa: Float64Array, sb: Float64Array, p: 1 | 2): number {
  const na = sa.length;
  const nb = sb.length;
  if (na === 0 || nb === 0) throw new RangeError('wassersteinPow1d: empty sample');
  let acc = 0;
  if (na === nb) {
    for (let i = 0; i < na; i++) {
      const d = Math.abs((sa[i] as number) - (sb[i] as number));
      acc += p === 1 ? d : d * d;
    }
    return acc / na;
  }
  let i = 0;
  let j = 0;
  let prev = 0;
  while (i < na && j < nb) {
    const ea = (i + 1) * nb; // end of a's step i, in units of 1/(na·nb)
    const eb = (j + 1) * na;
    const end = Math.min(ea, eb);
    const d = Math.abs((sa[i] as number) - (sb[j] as number));
    acc += (end - prev) * (p === 1 ? d : d * d);
    prev = end;
    if (ea === end) i++;
    if (eb === end) j++;
  }
  return acc / (na * nb);
}

function project(x: Float32Array | Float64Array, n: number, dim: number, dirs: Float64Array, k: number, out: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += (x[i * dim + d] as number) * (dirs[k * dim + d] as number);
    out[i] = s;
  }
  out.sort();
}

/**
 * Sliced p-Wasserstein distance SW_p(a, b) between the uniform empirical measures on the rows of
 * `a` and `b` (sizes may differ): (mean over directions θ of W_p^p(θ·a, θ·b))^(1/p).
 * Rabin et al. 2011 (defined there for p = 2), Bonneel et al. 2015.
 */
export function slicedWasserstein(a: Points2D | Float64Array, b: Points2D | Float64Array, opts: SlicedWassersteinOptions = {}): number {
  const dim = opts.dim ?? 2;
  const p = opts.p ?? 2;
  if (!Number.isInteger(dim) || dim <= 0) throw new RangeError(`sliced Wasserstein: dim must be a positive integer, got ${dim}`);
  if (p !== 1 && p !== 2) throw new RangeError(`sliced Wasserstein: p must be 1 or 2, got ${String(p)}`);
  const na = checkPoints(a, dim, 'first point set');
  const nb = checkPoints(b, dim, 'second point set');
  let dirs: Float64Array;
  if (opts.directions !== undefined) {
    dirs = opts.directions;
    if (dirs.length === 0 || dirs.length % dim !== 0) {
      throw new RangeError(`sliced Wasserstein: directions have length ${dirs.length}, expected a positive multiple of dim = ${dim}`);
    }
    for (let k = 0; k < dirs.length / dim; k++) {
      let n2 = 0;
      for (let d = 0; d < dim; d++) n2 += (dirs[k * dim + d] as number) ** 2;
      if (!(Math.abs(Math.sqrt(n2) - 1) <= UNIT_TOL)) {
        throw new RangeError(`sliced Wasserstein: direction ${k} has norm ${Math.sqrt(n2)}, expected a unit vector`);
      }
    }
  } else {
    dirs = randomDirections(opts.projections ?? 256, dim, opts.seed ?? 0);
  }
  const k = dirs.length / dim;
  const pa = new Float64Array(na);
  const pb = new Float64Array(nb);
  let total = 0;
  for (let t = 0; t < k; t++) {
    project(a, na, dim, dirs, t, pa);
    project(b, nb, dim, dirs, t, pb);
    total += wassersteinPow1d(pa, pb, p);
  }
  const mean = total / k;
  return p === 1 ? mean : Math.sqrt(mean);
}
