/**
 * The Karras et al. (2022) noise grid as CM and iCT write it, ascending:
 * σ_i = (σ_min^{1/ρ} + (i−1)/(N−1)·(σ_max^{1/ρ} − σ_min^{1/ρ}))^ρ, i = 1..N  (CM Sec. 5, iCT Sec. 2).
 */
import { RHO, SIGMA_MAX, SIGMA_MIN } from '../constants';

export interface KarrasOptions {
  sigmaMin?: number; // 0.002 in CM/iCT
  sigmaMax?: number; // 80 in CM/iCT
  rho?: number; // 7 in CM/iCT
}

/** Ascending σ_1..σ_n with σ_1 = σ_min and σ_n = σ_max exactly. */
export function karrasSigmas(n: number, opts: KarrasOptions = {}): Float64Array {
  const smin = opts.sigmaMin ?? SIGMA_MIN;
  const smax = opts.sigmaMax ?? SIGMA_MAX;
  const rho = opts.rho ?? RHO;
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`karrasSigmas: n must be an integer >= 2, got ${n}`);
  if (!(smin > 0) || !(smax > smin) || !Number.isFinite(smax)) {
    throw new RangeError(`karrasSigmas: need 0 < sigmaMin < sigmaMax, got sigmaMin=${smin}, sigmaMax=${smax}`);
  }
  if (!(rho > 0)) throw new RangeError(`karrasSigmas: rho must be > 0, got ${rho}`);
  const a = smin ** (1 / rho);
  const b = smax ** (1 / rho);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (a + (i / (n - 1)) * (b - a)) ** rho;
  out[0] = smin; // pin the ends against round-off
  out[n - 1] = smax;
  return out;
}
