/**
 * Feature-space distances between two sets of samples, as used for FID and KID: each set is a
 * row-major [n, d] array of feature vectors (in FID/KID proper, Inception-v3 pool features; here
 * any embedding). All arithmetic is in float64.
 *
 * Fréchet distance (Dowson & Landau 1982; FID: Heusel et al. 2017): the squared 2-Wasserstein
 * distance between the Gaussians fitted to the two sets,
 *   FD = ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^{1/2}),
 * with Σ the unbiased (n − 1) sample covariance, as numpy's np.cov in pytorch-fid and clean-fid.
 * Tr (Σ1 Σ2)^{1/2} is computed without a non-symmetric matrix square root: Σ1 Σ2 is similar to the
 * symmetric PSD matrix M = Σ1^{1/2} Σ2 Σ1^{1/2} (conjugate by Σ1^{1/2}), so Tr (Σ1 Σ2)^{1/2} =
 * Σ_i √λ_i(M), with Σ1^{1/2} and the λ_i(M) from symmetric eigendecompositions (cyclic Jacobi).
 * Eigenvalues that round-off pushes slightly below 0 count as 0, so singular covariances (fewer
 * samples than dimensions) need no ε on the diagonal, unlike scipy's sqrtm route in pytorch-fid.
 * Jacobi costs O(d³) per sweep (≈ 6–10 sweeps): fine for d up to a few hundred; d = 2048 (Inception)
 * would take minutes in JS.
 *
 * KID, the other feature-space distance of image evaluation, is in ./kid.
 */
/** A row-major [n, d] set of feature vectors. */
export type Features = Float32Array | Float64Array;

/** The number of rows of x (each of length d, all finite), at least `min`; errors name `label`. */
export function checkFeatures(x: Features, d: number, label: string, min: number): number {
  if (!Number.isInteger(d) || d <= 0) throw new RangeError(`${label}: dim must be a positive integer, got ${d}`);
  if (x.length % d !== 0) throw new RangeError(`${label} has length ${x.length}, which is not a multiple of dim = ${d}`);
  const n = x.length / d;
  if (n < min) throw new RangeError(`${label} has ${n} rows, expected at least ${min}`);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new RangeError(`${label}[${i}] is ${x[i]}, expected a finite number`);
  }
  return n;
}

/** Mean and unbiased covariance ([d, d] row-major, divisor n − 1) of n ≥ 2 rows of length d. */
export function meanCov(x: Features, d: number): { mu: Float64Array; cov: Float64Array; n: number } {
  const n = checkFeatures(x, d, 'meanCov: features', 2);
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j] = (mu[j] as number) + (x[i * d + j] as number);
  for (let j = 0; j < d; j++) mu[j] = (mu[j] as number) / n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = (x[i * d + j] as number) - (mu[j] as number);
    for (let a = 0; a < d; a++) {
      const ra = row[a] as number;
      if (ra === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b] = (cov[a * d + b] as number) + ra * (row[b] as number);
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = (cov[a * d + b] as number) / (n - 1);
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  }
  return { mu, cov, n };
}

/**
 * Eigendecomposition of a symmetric [d, d] matrix by the cyclic Jacobi method (e.g. Golub & Van
 * Loan, Matrix Computations, §8.5): A = V diag(values) Vᵀ, eigenvectors in the columns of V
 * (row-major), values unsorted. Only the symmetric part ½(A + Aᵀ) is used. Accurate to a few ulps
 * relative to ‖A‖.
 */
export function symmetricEigen(matrix: ArrayLike<number>, d: number): { values: Float64Array; vectors: Float64Array } {
  if (matrix.length !== d * d) throw new RangeError(`symmetricEigen: matrix has length ${matrix.length}, expected ${d}x${d}`);
  const a = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      const v = 0.5 * ((matrix[i * d + j] as number) + (matrix[j * d + i] as number));
      if (!Number.isFinite(v)) throw new RangeError(`symmetricEigen: entry (${i}, ${j}) is not finite`);
      a[i * d + j] = v;
    }
  }
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  const MAX_SWEEPS = 100;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let rotations = 0;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q] as number;
        if (apq === 0) continue;
        const app = a[p * d + p] as number;
        const aqq = a[q * d + q] as number;
        // Negligible next to both diagonal entries: zero it (Numerical Recipes' test).
        const g = 100 * Math.abs(apq);
        if (Math.abs(app) + g === Math.abs(app) && Math.abs(aqq) + g === Math.abs(aqq)) {
          a[p * d + q] = 0;
          a[q * d + p] = 0;
          continue;
        }
        rotations++;
        // Rotation J (J_pp = J_qq = c, J_pq = s, J_qp = −s) with (Jᵀ A J)_pq = 0: the smaller root t of
        // t² + 2θt − 1 = 0, θ = (a_qq − a_pp) / (2 a_pq).
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p] as number;
          const akq = a[k * d + q] as number;
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k] as number;
          const aqk = a[q * d + k] as number;
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        a[p * d + q] = 0;
        a[q * d + p] = 0;
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p] as number;
          const vkq = v[k * d + q] as number;
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
    if (rotations === 0) {
      const values = new Float64Array(d);
      for (let i = 0; i < d; i++) values[i] = a[i * d + i] as number;
      return { values, vectors: v };
    }
  }
  throw new Error(`symmetricEigen: Jacobi did not converge in ${MAX_SWEEPS} sweeps (d = ${d})`);
}

/** Square root of a symmetric PSD [d, d] matrix (negative round-off eigenvalues taken as 0). */
export function sqrtPsd(matrix: ArrayLike<number>, d: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const r = Math.sqrt(Math.max(0, values[k] as number));
    if (r === 0) continue;
    for (let i = 0; i < d; i++) {
      const vik = (vectors[i * d + k] as number) * r;
      if (vik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j] = (out[i * d + j] as number) + vik * (vectors[j * d + k] as number);
    }
  }
  return out;
}

function matmul(x: Float64Array, y: ArrayLike<number>, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const xik = x[i * d + k] as number;
      if (xik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j] = (out[i * d + j] as number) + xik * (y[k * d + j] as number);
    }
  }
  return out;
}

/** Tr (Σ1 Σ2)^{1/2} for symmetric PSD Σ1, Σ2, via the eigenvalues of Σ1^{1/2} Σ2 Σ1^{1/2}. */
export function traceSqrtProduct(cov1: ArrayLike<number>, cov2: ArrayLike<number>, d: number): number {
  const s1 = sqrtPsd(cov1, d);
  const m = matmul(matmul(s1, cov2, d), s1, d);
  const { values } = symmetricEigen(m, d);
  let tr = 0;
  for (let i = 0; i < d; i++) tr += Math.sqrt(Math.max(0, values[i] as number));
  return tr;
}

/**
 * Fréchet distance between N(mu1, cov1) and N(mu2, cov2) (covariances [d, d] row-major, symmetric
 * PSD), d = mu1.length. Clamped at 0 (round-off can give −1e−15 for equal inputs).
 */
export function frechetFromStats(mu1: ArrayLike<number>, cov1: ArrayLike<number>, mu2: ArrayLike<number>, cov2: ArrayLike<number>): number {
  const d = mu1.length;
  if (d === 0) throw new RangeError('frechetFromStats: empty mean');
  if (mu2.length !== d) throw new RangeError(`frechetFromStats: means have lengths ${d} and ${mu2.length}`);
  for (const [name, cov] of [
    ['cov1', cov1],
    ['cov2', cov2],
  ] as const) {
    if (cov.length !== d * d) throw new RangeError(`frechetFromStats: ${name} has length ${cov.length}, expected ${d}x${d} = ${d * d}`);
  }
  let dm = 0;
  let tr = 0;
  for (let i = 0; i < d; i++) {
    const t = (mu1[i] as number) - (mu2[i] as number);
    dm += t * t;
    tr += (cov1[i * d + i] as number) + (cov2[i * d + i] as number);
  }
  if (!Number.isFinite(dm) || !Number.isFinite(tr)) throw new RangeError('frechetFromStats: non-finite means or covariances');
  return Math.max(0, dm + tr - 2 * traceSqrtProduct(cov1, cov2, d));
}

/** Fréchet distance between the Gaussians fitted to two feature sets (rows of length d, ≥ 2 rows each). */
export function frechetDistance(a: Features, b: Features, d: number): number {
  const sa = meanCov(a, d);
  const sb = meanCov(b, d);
  return frechetFromStats(sa.mu, sa.cov, sb.mu, sb.cov);
}
