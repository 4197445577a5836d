/**
 * Optimizers for training: Adam (Kingma & Ba 2015, as `tf.train.adam` computes it) and RAdam
 * (rectified Adam, Liu et al. 2020, as `torch.optim.RAdam` computes it), plus the EMA of weights.
 *
 * Every update writes NEW buffers (`Variable.assign` of a fresh tensor), never the old buffer in
 * place: the wasm backend's XNNPACK caches packed weights by buffer id.
 *
 * Two implementations with one result: plain tf ops (any backend), and a fused path (one kernel call
 * for all variables) used when the backend has the `CtlabAdamStep` / `CtlabEmaStep` kernels
 * registered (src/backend/wasm registers them for wasm). `fused: false` forces the tf-op path.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_KERNEL, EMA_KERNEL, type FusedAdamAttrs } from '../kernels';

export type OptimizerKind = 'adam' | 'radam';

export interface OptimizerConfig {
  kind: OptimizerKind;
  /** Learning rate (can be overridden per step). */
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** L2 weight decay added to the gradient (torch's `weight_decay`, not decoupled); default 0. */
  weightDecay?: number;
  /** Use the fused kernel when the backend has it (default true). */
  fused?: boolean;
}

export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

export interface Optimizer {
  readonly config: Readonly<Required<OptimizerConfig>>;
  /** Updates applied so far. */
  readonly iterations: number;
  /** Whether the fused kernel path is in use on the current backend. */
  readonly fusedActive: boolean;
  /** One update of every variable from its gradient (same order as `vars`). `lr` overrides config.lr. */
  step(grads: readonly tf.Tensor[], lr?: number): void;
  /** target ← rate·target + (1 − rate)·source, for each pair (new buffers). */
  emaUpdate(target: readonly tf.Variable[], source: readonly tf.Variable[], rate: number): void;
  /** Optimizer state for checkpoints: `iterations`, `m/<i>`, `v/<i>` (copies; caller disposes). */
  state(): NamedTensor[];
  /** Restore what `state()` returned (takes copies; the caller keeps ownership of its tensors). */
  load(state: readonly NamedTensor[]): void;
  dispose(): void;
}

export { ADAM_KERNEL, EMA_KERNEL, type FusedAdamAttrs } from '../kernels';

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/**
 * Per-step scalars (float64) for step number t (1-based); the update is
 * p ← p − stepSize·m / (sqrt(v)·vScale + eps) when `adaptive`, else p ← p − stepSize·m.
 * Adam (tf.train.adam): p −= lr·(m/(1−β1^t)) / (sqrt(v/(1−β2^t)) + eps),
 *   so stepSize = lr/(1−β1^t), vScale = 1/sqrt(1−β2^t).
 * RAdam (torch.optim.RAdam): ρ∞ = 2/(1−β2) − 1, ρ_t = ρ∞ − 2tβ2^t/(1−β2^t); if ρ_t > 5,
 *   p −= lr·(m/(1−β1^t))·r_t·sqrt(1−β2^t)/(sqrt(v) + eps), r_t = sqrt((ρ_t−4)(ρ_t−2)ρ∞/((ρ∞−4)(ρ∞−2)ρ_t)),
 *   so stepSize = lr·r_t·sqrt(1−β2^t)/(1−β1^t), vScale = 1; else p −= lr·m/(1−β1^t) (not adaptive).
 */
export function stepScalars(
  kind: OptimizerKind,
  t: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
): { stepSize: number; vScale: number; eps: number; adaptive: boolean } {
  const bc1 = 1 - Math.pow(beta1, t);
  const bc2 = 1 - Math.pow(beta2, t);
  if (kind === 'adam') return { stepSize: lr / bc1, vScale: 1 / Math.sqrt(bc2), eps, adaptive: true };
  const rhoInf = 2 / (1 - beta2) - 1;
  const rhoT = rhoInf - (2 * t * Math.pow(beta2, t)) / bc2;
  if (rhoT > 5) {
    const rect = Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
    return { stepSize: (lr * rect * Math.sqrt(bc2)) / bc1, vScale: 1, eps, adaptive: true };
  }
  return { stepSize: lr / bc1, vScale: 1, eps, adaptive: false };
}

export function createOptimizer(config: OptimizerConfig, vars: readonly tf.Variable[]): Optimizer {
  const cfg: Required<OptimizerConfig> = {
    kind: config.kind,
    lr: config.lr,
    beta1: config.beta1 ?? 0.9,
    beta2: config.beta2 ?? 0.999,
    eps: config.eps ?? 1e-8,
    weightDecay: config.weightDecay ?? 0,
    fused: config.fused ?? true,
  };
  if (cfg.kind !== 'adam' && cfg.kind !== 'radam') throw new RangeError(`optimizer kind must be adam or radam, got ${String(cfg.kind)}`);
  if (!(cfg.lr >= 0)) throw new RangeError(`lr must be >= 0, got ${cfg.lr}`);
  if (!(cfg.beta1 >= 0 && cfg.beta1 < 1) || !(cfg.beta2 >= 0 && cfg.beta2 < 1)) throw new RangeError('betas must lie in [0, 1)');
  if (!(cfg.eps >= 0)) throw new RangeError(`eps must be >= 0, got ${cfg.eps}`);

  const params = vars.slice();
  let m: tf.Tensor[] = params.map((p) => tf.keep(tf.zerosLike(p)));
  let v: tf.Tensor[] = params.map((p) => tf.keep(tf.zerosLike(p)));
  let t = 0;
  let disposed = false;

  const useFused = (): boolean => cfg.fused && hasKernel(ADAM_KERNEL);

  function stepOps(grads: readonly tf.Tensor[], s: ReturnType<typeof stepScalars>): void {
    const newM: tf.Tensor[] = [];
    const newV: tf.Tensor[] = [];
    tf.tidy(() => {
      params.forEach((p, i) => {
        let g = grads[i] as tf.Tensor;
        if (cfg.weightDecay !== 0) g = tf.add(g, tf.mul(p, cfg.weightDecay));
        const mi = tf.add(tf.mul(m[i] as tf.Tensor, cfg.beta1), tf.mul(g, 1 - cfg.beta1));
        const vi = tf.add(tf.mul(v[i] as tf.Tensor, cfg.beta2), tf.mul(tf.square(g), 1 - cfg.beta2));
        const upd = s.adaptive ? tf.div(tf.mul(mi, s.stepSize), tf.add(tf.mul(tf.sqrt(vi), s.vScale), s.eps)) : tf.mul(mi, s.stepSize);
        p.assign(tf.sub(p, upd));
        newM.push(tf.keep(mi));
        newV.push(tf.keep(vi));
      });
    });
    tf.dispose(m);
    tf.dispose(v);
    m = newM;
    v = newV;
  }

  function stepFused(grads: readonly tf.Tensor[], s: ReturnType<typeof stepScalars>): void {
    const n = params.length;
    const inputs: Record<string, tf.Tensor> = {};
    for (let i = 0; i < n; i++) {
      inputs[`p${i}`] = params[i] as tf.Tensor;
      inputs[`g${i}`] = grads[i] as tf.Tensor;
      inputs[`m${i}`] = m[i] as tf.Tensor;
      inputs[`v${i}`] = v[i] as tf.Tensor;
    }
    const attrs: FusedAdamAttrs = {
      n,
      beta1: cfg.beta1,
      beta2: cfg.beta2,
      stepSize: s.stepSize,
      vScale: s.vScale,
      eps: s.eps,
      weightDecay: cfg.weightDecay,
      adaptive: s.adaptive,
    };
    // outputs: [p0..pn-1, m0.., v0..]
    const out = tf.engine().runKernel(ADAM_KERNEL, inputs, attrs) as unknown as tf.Tensor[];
    tf.dispose(m);
    tf.dispose(v);
    // keep: step() may run inside a caller's tf.tidy
    m = out.slice(n, 2 * n).map((x) => tf.keep(x));
    v = out.slice(2 * n, 3 * n).map((x) => tf.keep(x));
    for (let i = 0; i < n; i++) {
      const np = out[i] as tf.Tensor;
      (params[i] as tf.Variable).assign(np);
      np.dispose();
    }
  }

  const opt: Optimizer = {
    config: cfg,
    get iterations() {
      return t;
    },
    get fusedActive() {
      return useFused();
    },
    step(grads, lr) {
      if (disposed) throw new Error('optimizer was disposed');
      if (grads.length !== params.length) {
        throw new RangeError(`step: expected ${params.length} gradients, got ${grads.length}`);
      }
      grads.forEach((g, i) => {
        const p = params[i] as tf.Variable;
        if (!tf.util.arraysEqual(g.shape, p.shape)) {
          throw new RangeError(`step: gradient ${i} has shape [${g.shape}], variable ${p.name} has [${p.shape}]`);
        }
      });
      t += 1;
      const s = stepScalars(cfg.kind, t, lr ?? cfg.lr, cfg.beta1, cfg.beta2, cfg.eps);
      if (useFused()) stepFused(grads, s);
      else stepOps(grads, s);
    },
    emaUpdate(target, source, rate) {
      emaUpdate(target, source, rate, cfg.fused);
    },
    state() {
      const out: NamedTensor[] = [{ name: 'iterations', tensor: tf.scalar(t, 'float32') }];
      m.forEach((x, i) => out.push({ name: `m/${i}`, tensor: tf.clone(x) }));
      v.forEach((x, i) => out.push({ name: `v/${i}`, tensor: tf.clone(x) }));
      return out;
    },
    load(state) {
      const byName = new Map(state.map((s) => [s.name, s.tensor]));
      const it = byName.get('iterations');
      if (!it) throw new Error('optimizer state lacks "iterations"');
      const newM: tf.Tensor[] = [];
      const newV: tf.Tensor[] = [];
      try {
        params.forEach((p, i) => {
          for (const [key, list] of [
            ['m', newM],
            ['v', newV],
          ] as const) {
            const x = byName.get(`${key}/${i}`);
            if (!x) throw new Error(`optimizer state lacks "${key}/${i}"`);
            if (!tf.util.arraysEqual(x.shape, p.shape)) {
              throw new RangeError(`optimizer state ${key}/${i} has shape [${x.shape}], variable has [${p.shape}]`);
            }
            list.push(tf.keep(tf.clone(x)));
          }
        });
      } catch (e) {
        tf.dispose(newM);
        tf.dispose(newV);
        throw e;
      }
      tf.dispose(m);
      tf.dispose(v);
      m = newM;
      v = newV;
      t = Math.round(it.dataSync()[0] as number);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      tf.dispose(m);
      tf.dispose(v);
      m = [];
      v = [];
    },
  };
  return opt;
}

/**
 * EMA of weights: target ← rate·target + (1 − rate)·source (new buffers). rate = 0 copies source.
 * Uses the fused kernel when the backend has it and `fused` is not false.
 */
export function emaUpdate(target: readonly tf.Variable[], source: readonly tf.Variable[], rate: number, fused = true): void {
  if (target.length !== source.length) throw new RangeError(`emaUpdate: ${target.length} targets, ${source.length} sources`);
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`emaUpdate: rate must lie in [0, 1], got ${rate}`);
  target.forEach((x, i) => {
    const s = source[i] as tf.Variable;
    if (!tf.util.arraysEqual(x.shape, s.shape)) throw new RangeError(`emaUpdate: shape mismatch at ${i}`);
  });
  const n = target.length;
  if (n === 0) return;
  if (fused && hasKernel(EMA_KERNEL)) {
    const inputs: Record<string, tf.Tensor> = {};
    for (let i = 0; i < n; i++) {
      inputs[`t${i}`] = target[i] as tf.Tensor;
      inputs[`s${i}`] = source[i] as tf.Tensor;
    }
    const out = tf.engine().runKernel(EMA_KERNEL, inputs, { n, rate }) as unknown as tf.Tensor[];
    out.forEach((x, i) => {
      (target[i] as tf.Variable).assign(x);
      x.dispose();
    });
    return;
  }
  tf.tidy(() => {
    target.forEach((x, i) => {
      const s = source[i] as tf.Variable;
      x.assign(rate === 0 ? tf.clone(s) : tf.add(tf.mul(x, rate), tf.mul(s, 1 - rate)));
    });
  });
}
