/**
 * Which adjacent pair (σ_i, σ_{i+1}) of the grid a training example uses.
 * Index i is 0-based here: pair i is (sigmas[i], sigmas[i+1]), i = 0..n−2.
 */
import { erf } from '../util/erf';

export interface LognormalOptions {
  pMean?: number; // −1.1 in iCT (Sec. 3.5)
  pStd?: number; // 2.0 in iCT
}

/**
 * iCT's discretized lognormal (Sec. 3.5): p(i) ∝ erf((ln σ_{i+1} − P_mean)/(√2 P_std)) −
 * erf((ln σ_i − P_mean)/(√2 P_std)), over the n−1 adjacent pairs of an ascending grid; sums to 1.
 */
export function lognormalNoiseProbs(sigmas: ArrayLike<number>, opts: LognormalOptions = {}): Float64Array {
  const pMean = opts.pMean ?? -1.1;
  const pStd = opts.pStd ?? 2.0;
  if (!(pStd > 0)) throw new RangeError(`lognormalNoiseProbs: pStd must be > 0, got ${pStd}`);
  checkGrid('lognormalNoiseProbs', sigmas);
  const n = sigmas.length;
  const cdf = new Float64Array(n);
  for (let i = 0; i < n; i++) cdf[i] = erf((Math.log(sigmas[i] as number) - pMean) / (Math.SQRT2 * pStd));
  const p = new Float64Array(n - 1);
  let total = 0;
  for (let i = 0; i < n - 1; i++) {
    p[i] = (cdf[i + 1] as number) - (cdf[i] as number);
    total += p[i] as number;
  }
  if (!(total > 0)) throw new RangeError('lognormalNoiseProbs: the grid carries no lognormal mass');
  for (let i = 0; i < n - 1; i++) p[i] = (p[i] as number) / total;
  return p;
}

/** Original CT: i ~ U{1..N−1}, i.e. each of the n−1 pairs with probability 1/(n−1). */
export function uniformNoiseProbs(sigmas: ArrayLike<number>): Float64Array {
  checkGrid('uniformNoiseProbs', sigmas);
  return new Float64Array(sigmas.length - 1).fill(1 / (sigmas.length - 1));
}

function checkGrid(fn: string, sigmas: ArrayLike<number>): void {
  if (sigmas.length < 2) throw new RangeError(`${fn}: need at least 2 noise levels, got ${sigmas.length}`);
  for (let i = 0; i < sigmas.length; i++) {
    const s = sigmas[i] as number;
    if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`${fn}: sigmas[${i}] must be finite and > 0, got ${s}`);
    if (i > 0 && !(s > (sigmas[i - 1] as number))) throw new RangeError(`${fn}: sigmas must be strictly ascending (at index ${i})`);
  }
}
