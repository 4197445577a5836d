/**
 * Loss weighting λ(σ_i) of the CT objective (iCT Sec. 3.1 and Table 1): CM used λ ≡ 1; iCT uses
 * λ(σ_i) = 1/(σ_{i+1} − σ_i), which shrinks as σ grows so that low-noise pairs dominate.
 */
export type WeightingKind = 'uniform' | 'ict';

/** iCT weighting 1/(σ_{i+1} − σ_i) for an adjacent pair. */
export function ictWeight(sigma: number, sigmaNext: number): number {
  if (!(sigmaNext > sigma)) {
    throw new RangeError(`ictWeight: need sigmaNext > sigma, got sigma=${sigma}, sigmaNext=${sigmaNext}`);
  }
  return 1 / (sigmaNext - sigma);
}

/** λ for the pair (σ_i, σ_{i+1}) under the chosen weighting. */
export function lossWeight(kind: WeightingKind, sigma: number, sigmaNext: number): number {
  return kind === 'uniform' ? 1 : ictWeight(sigma, sigmaNext);
}
