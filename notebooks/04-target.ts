// %% [markdown]
// # 4. The consistency target θ⁻
//
// Original CT compares the student with a target network $\theta^-$ (the papers call it the teacher) that tracks it by an EMA,
// $\theta^- \leftarrow \operatorname{stopgrad}(\mu(k)\,\theta^- + (1-\mu(k))\,\theta)$, with a rate tied to the curriculum:
//
// $$\mu(k) = \exp\left(\frac{s_0 \ln \mu_0}{N(k) - 1}\right),\quad \mu_0 = 0.9,\ s_0 = 2$$
//
// (**source: CM, Song et al. 2023, Sec. 5**; the official code divides by $N(k)-1$, the paper is usually quoted with $N(k)$).
// iCT shows that the EMA target makes the objective inconsistent as $N \to \infty$ and drops it: $\mu(k) = 0$,
// i.e. $\theta^- = \operatorname{stopgrad}(\theta)$ (**source: iCT, Song & Dhariwal 2023, Sec. 3.2**). Config field `target`
// (`ema` or `stopgrad`), CLI flag `--target`. This kit says *teacher* only for a pre-trained diffusion model, the one
// consistency distillation learns from (notebook 10): consistency training has no teacher (openai/consistency_models#53
// is users asking exactly that).
//
// Cells import the kit from its CommonJS build (`npm run build` first). Run all notebooks headless with `bash scripts/notebooks.sh`.

// %%
import * as ctlab from '../dist/src/index';
import * as nb from '../dist/src/notebook/index';

// %% [markdown]
// μ(k) as each arm of the target ablation trained with it. An arm's config is the baseline preset `ict` with the
// arm's override (`ctlab.findAblation('target')`, `ctlab.buildConfig`), and `ctlab.targetEmaAt(cfg, k)` is the μ
// the trainer uses at step k, from that config's own curriculum N(k). So the `ema` arm runs CT's μ0 = 0.9 on iCT's
// exponential curriculum, whose N(0) = 11 gives μ(0) ≈ 0.979, not on CT's (N(0) = 2, μ(0) = 0.81). Original CT's
// recipe (the `ct` preset, both forms of the formula) is drawn for reference. The Fashion-MNIST runs train 1,000
// steps instead of 2,000: about the same curves over k/K. Left μ(k); right 1 − μ(k) on a log scale, where the
// curves near 1 come apart (the `stopgrad` arm's μ = 0 is its line at 1).

// %%
const arms = ctlab.findAblation('target').arms.map((arm) => {
  const cfg = ctlab.buildConfig(arm.preset ?? 'ict', arm.override);
  return { label: `arm ${arm.name} (${cfg.curriculum.kind} curriculum)`, cfg };
});
const reference = [
  { label: 'CT recipe (ct preset)', cfg: ctlab.buildConfig('ct') },
  { label: 'CT recipe, paper form', cfg: ctlab.buildConfig('ct', { target: { kind: 'ema', ...ctlab.CT_TARGET_EMA, form: 'paper' } }) },
];
const describe = (cfg: ctlab.TrainConfig) => {
  const t =
    cfg.target.kind === 'ema' ? `μ0 = ${cfg.target.mu0}, s0 = ${cfg.target.s0}, ÷ ${cfg.target.form === 'code' ? 'N(k) − 1' : 'N(k)'}` : 'stopgrad θ (no EMA)';
  return `${t}; ${cfg.curriculum.kind} curriculum (s0, s1) = (${cfg.curriculum.s0}, ${cfg.curriculum.s1})`;
};
const ks = (cfg: ctlab.TrainConfig) => Array.from({ length: cfg.steps + 1 }, (_, k) => k);
const runs = [...arms, ...reference];
for (const { label, cfg } of runs) {
  console.log(
    `${label}: ${describe(cfg)}: μ(0) = ${ctlab.targetEmaAt(cfg, 0).toFixed(4)}, μ(K) = ${ctlab.targetEmaAt(cfg, cfg.steps).toFixed(4)}, K = ${cfg.steps}`,
  );
}
const dash = (i: number) => (i < arms.length ? undefined : i === arms.length ? ('dot' as const) : ('dash' as const));
const opts = { xTitle: 'training step k', width: 620, height: 420 };
await nb.showFigures([
  ctlab.report.lineFigure(
    runs.map(({ label, cfg }, i) => ({ name: label, x: ks(cfg), y: ks(cfg).map((k) => ctlab.targetEmaAt(cfg, k)), dash: dash(i) })),
    { ...opts, title: 'Target EMA rate μ(k) per arm', yTitle: 'μ(k)' },
  ),
  ctlab.report.lineFigure(
    runs.map(({ label, cfg }, i) => ({ name: label, x: ks(cfg), y: ks(cfg).map((k) => 1 - ctlab.targetEmaAt(cfg, k)), dash: dash(i) })),
    { ...opts, title: 'The same as 1 − μ(k), log scale', yTitle: '1 − μ(k)', logY: true },
  ),
]);

// %% [markdown]
// ## Results of this kit
//
// Two committed suites, read from their `ctlab report` files: the longer suite of issue #19 (`results/ablations-long/target/`,
// from `bash scripts/fidelity-runs.sh`) and the 1,000-step suite kept as it was (`results/ablations/target/`, from
// `ctlab ablate target`): mean ± 95% interval over seeds, with the 1-step SWD over training.

// %%
nb.showAblationResults('target');

// %% [markdown]
// ## Paper vs this kit
//
// Built from the ablation's definition (the paper's claim) and the longer suite's verdicts (`results/ablations-long/verdicts.json`),
// with the other suites' verdicts on the same comparison beneath; no number here is typed by hand.

// %%
nb.showPaperVsKit('target');
