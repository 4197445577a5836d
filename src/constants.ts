/**
 * The paper constants of CM (Song et al. 2023) and iCT (Song & Dhariwal 2023), in one module that
 * imports nothing: schedules, scalings, presets, the CLI and the samplers read them from here.
 * Sources: ict-facts.md §1-§3 (EDM Table 1 / CM Sec. 5 / iCT Sec. 2 and Table 1).
 */

/** σ_min: the boundary noise level where f_θ(x, σ_min) = x (CM Sec. 3; iCT keeps 0.002). */
export const SIGMA_MIN = 0.002;
/** σ_max: the largest noise level, where 1-step sampling starts (CM/iCT: 80). */
export const SIGMA_MAX = 80;
/** σ_data: the data's standard deviation the scalings assume (CM/iCT/EDM: 0.5). */
export const SIGMA_DATA = 0.5;
/** ρ: the exponent of the Karras grid (EDM Eq. 5; CM/iCT: 7). */
export const RHO = 7;
/** The intermediate σ of 2-step sampling: iCT's CIFAR-10 value (ict-facts.md §3, from the iCT authors' notes; model-specific, not tuned here). */
export const TWO_STEP_SIGMA = 0.821;

/** The noise constants as one object, in the config's field names (`config.noise`). */
export const PAPER_NOISE = { sigmaMin: SIGMA_MIN, sigmaMax: SIGMA_MAX, sigmaData: SIGMA_DATA, rho: RHO } as const;

/** Original CT's curriculum N(k): s0 = 2, s1 = 150 (OAI-CM cifar10 CT launch; CM Sec. 5). */
export const CT_CURRICULUM = { s0: 2, s1: 150 } as const;
/** iCT's exponential curriculum: s0 = 10, s1 = 1280 (iCT Sec. 3.4, Table 1). */
export const ICT_CURRICULUM = { s0: 10, s1: 1280 } as const;
/** CT's target EMA μ(k) (θ⁻ ← μθ⁻ + (1 − μ)θ) = exp(s0·ln μ0 / (N(k) − 1)): μ0 = 0.9, s0 = 2 on CIFAR-10 (OAI-C10). */
export const CT_TARGET_EMA = { mu0: 0.9, s0: 2 } as const;
/** iCT's lognormal noise-level sampler: ln σ ~ N(P_mean, P_std²) with P_mean = −1.1, P_std = 2.0 (iCT Sec. 3.5). */
export const ICT_LOGNORMAL = { pMean: -1.1, pStd: 2.0 } as const;
/** iCT's pseudo-Huber constant: c = 0.00054·√d (iCT Sec. 3.3). */
export const PSEUDO_HUBER_C_PER_SQRT_DIM = 0.00054;
/** Fourier noise-embedding scale: 16 in CM (OAI-C10), 0.02 in iCT (Sec. 3.1). */
export const FOURIER_SCALE = { ct: 16, ict: 0.02 } as const;
/** iCT's dropout rate on CIFAR-10 (iCT Sec. 3.1). */
export const ICT_DROPOUT = 0.3;

/** EDM training's noise distribution ln σ ~ N(P_mean, P_std²): −1.2, 1.2 (EDM Table 1; ict-facts §1). */
export const EDM_LOGNORMAL = { pMean: -1.2, pStd: 1.2 } as const;
/** EDM's deterministic sampler: 18 Heun steps on the Karras grid (NFE 35; EDM Table 1, CIFAR-10). */
export const EDM_HEUN_STEPS = 18;
/** CD's fixed grid size N and its ODE solver (CM Sec. 6 / ict-facts: N = 18, Heun on CIFAR-10). */
export const CD_GRID = { n: 18, solver: 'heun' } as const;
