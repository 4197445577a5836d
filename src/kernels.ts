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

/**
 * The MLP consistency network of src/models/mlp.ts whole, one kernel each way. Forward inputs: x
 * [B, Dx] (the network input c_in·x), sigma [B], freqs [E/2] (the embedding's ω), w0, b0, …,
 * w{L−1}, b{L−1} (L = depth + 1 dense layers) and, with dropout, masks m0 … m{L−2} of the hidden
 * layers' shapes; outputs y [B, Dout] and, with `save`, what the gradient needs of each hidden
 * layer: its output h0 … h{L−2} (silu(z)·mask) and then its SiLU factor f0 … f{L−2}
 * (mask·silu'(z)), all [B, H_l]. Gradient inputs: dy, x, sigma, freqs, w0 … w{L−1}, h0 … h{L−2},
 * f0 … f{L−2} (the masks are inside h and f); outputs dx, dsigma, dw0, db0, …, dw{L−1}, db{L−1}.
 * With `affine` the call is the whole consistency function f_θ = c_skip·x + c_out·F_θ: two more
 * inputs, skip [B, Dout] and cOut (B numbers, any shape), and the output is skip + cOut·F; with
 * `save` the network's own output F [B, Dout] is the last saved output. Its gradient then also takes
 * cOut and F (after the f's) and also outputs dskip and dcOut (cOut's shape) last.
 */
export const MLP_KERNEL = 'CtlabMlp';
export const MLP_GRAD_KERNEL = 'CtlabMlpGrad';

/** Attributes of both MLP kernels. */
export interface MlpAttrs {
  [key: string]: number | boolean | string;
  /** Dense layers, hidden and output (depth + 1). */
  layers: number;
  embedding: 'fourier' | 'positional';
  /** Whether dropout masks m0 … m{layers−2} are inputs. */
  masks: boolean;
  /** Forward only: also output the hidden layers' h and f that the gradient needs. */
  save: boolean;
  /** Inputs skip and cOut; the output is skip + cOut·F (see above). */
  affine: boolean;
}

/**
 * The weighted mean distance L = mean_b w_b·d(x_b, y_b) of the CT loss (src/losses/distance.ts
 * `weightedDistance`): inputs x, y [B, ...], weight [B]; output the scalar L. Its gradient: inputs
 * g (the upstream scalar), x, y, weight; outputs dx, dy, dweight.
 */
export const WEIGHTED_DISTANCE_KERNEL = 'CtlabWeightedDistance';
export const WEIGHTED_DISTANCE_GRAD_KERNEL = 'CtlabWeightedDistanceGrad';

/** Attributes of both weighted-distance kernels. */
export interface WeightedDistanceAttrs {
  [key: string]: number | string;
  kind: 'l2' | 'l1' | 'pseudo-huber';
  /** The pseudo-Huber constant (ignored by the others). */
  c: number;
}
