/**
 * The target EMA rate μ(k) of original consistency training (CM Sec. 5; OAI-CM
 * `create_ema_and_scales_fn`): θ⁻ ← μ(k)·θ⁻ + (1 − μ(k))·θ, with μ(k) a function of the grid size N(k)
 * the curriculum gives at step k. The one implementation: the trainer, the notebooks and the reports
 * call {@link targetEma} (or {@link targetEmaAt} with a config, in src/training/ct-step.ts).
 */

/**
 * The consistency target θ⁻ of a config (`config.target`): an EMA of the student (CT) or the student
 * itself without gradient (iCT Sec. 3.2: θ⁻ = stopgrad θ). Not a teacher: in this kit a teacher is only
 * the pre-trained diffusion model consistency distillation learns from (config.method.teacher).
 */
export type TargetSpec =
  | {
      kind: 'ema';
      mu0: number; // μ0: 0.9 on CIFAR-10 (OAI-C10), 0.95 on ImageNet-64 (OAI-CM launch.sh)
      s0: number; // the s0 in the formula; 2 in CM (the curriculum's initial N)
      /**
       * 'code': μ = exp(s0·ln μ0 / (N − 1)), as OAI-CM and OAI-C10 compute it.
       * 'paper': μ = exp(s0·ln μ0 / N), as the CM paper is usually quoted (e.g. Kinyugo's port);
       * its exact typography is UNCONFIRMED (ict-facts.md §2).
       */
      form: 'code' | 'paper';
    }
  | { kind: 'stopgrad' };

/**
 * μ for a grid of n points: exp(s0·ln μ0 / (n − 1)) ('code') or exp(s0·ln μ0 / n) ('paper');
 * 0 when the target is stopgrad θ (iCT Sec. 3.2).
 */
export function targetEma(target: TargetSpec, n: number): number {
  if (target.kind === 'stopgrad') return 0;
  const { mu0, s0, form } = target;
  if (!(mu0 > 0 && mu0 < 1)) throw new RangeError(`targetEma: mu0 must be in (0, 1), got ${mu0}`);
  if (!Number.isInteger(s0) || s0 < 1) throw new RangeError(`targetEma: s0 must be an integer >= 1, got ${s0}`);
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`targetEma: n (the grid size N(k)) must be an integer >= 2, got ${n}`);
  return Math.exp((s0 * Math.log(mu0)) / (form === 'code' ? n - 1 : n));
}
