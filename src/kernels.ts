/**
 * The TF.js kernels the kit declares itself: their names and attributes. The core calls them where
 * the active backend registers them and runs composite forms otherwise (src/models/groupnorm.ts,
 * src/optim); the Node shell's backends implement them (src/backend/wasm, src/backend/native). So the
 * backends depend on these declarations, never on the models or the optimizers.
 */

/** The fused GroupNorm (outputs y, mean [B, G], rstd [B, G]) and its gradient (outputs dx, dγ, dβ). */
export const GROUP_NORM_KERNEL = 'CtlabGroupNorm';
export const GROUP_NORM_GRAD_KERNEL = 'CtlabGroupNormGrad';

/** Attributes of both GroupNorm kernels. */
export interface GroupNormAttrs {
  [key: string]: number | boolean;
  groups: number;
  eps: number;
  /** Apply SiLU (x·sigmoid(x)) to the normalized output; the gradient kernel includes its derivative. */
  silu: boolean;
}

/**
 * SiLU times an optional dropout mask, y = x·σ(x)·m (inputs x [, mask] of x's shape), and its
 * gradient (inputs dy, x [, mask]; output dx).
 */
export const SILU_KERNEL = 'CtlabSilu';
export const SILU_GRAD_KERNEL = 'CtlabSiluGrad';

/** The fused Adam/RAdam update of one variable (inputs p, m, v, g) and the fused EMA update (target, source). */
export const ADAM_KERNEL = 'CtlabAdamStep';
export const EMA_KERNEL = 'CtlabEmaStep';

/** Attributes of the fused Adam/RAdam kernel: per-step scalars computed in float64 by src/optim. */
export interface FusedAdamAttrs {
  [key: string]: number | boolean;
  n: number;
  beta1: number;
  beta2: number;
  /** p ← p − stepSize·m/(sqrt(v)·vScale + eps) when `adaptive`, else p ← p − stepSize·m. */
  stepSize: number;
  /** Multiplies sqrt(v) before eps is added (Adam: 1/sqrt(1−β2^t); RAdam: 1/sqrt(1−β2^t) too). */
  vScale: number;
  eps: number;
  weightDecay: number;
  adaptive: boolean;
}
