// %% [markdown]
// # 1. Loss weighting λ(σ_i)
//
// Consistency training minimises, over adjacent noise levels σ_i < σ_{i+1} of the Karras grid,
//
// $$
// \mathcal{L}(\theta) = \mathbb{E}\left[\lambda(\sigma_i)\,
// d\big(f_\theta(x + \sigma_{i+1} z, \sigma_{i+1}),\ f_{\theta^-}(x + \sigma_i z, \sigma_i)\big)\right].
// $$
//
// The original CT (Song et al. 2023) used $\lambda \equiv 1$. iCT uses
//
// $$\lambda(\sigma_i) = \frac{1}{\sigma_{i+1} - \sigma_i},$$
//
// which is large where the grid is dense (small σ) and small at high noise, so low-noise pairs dominate the loss
// (**source: iCT, Song & Dhariwal 2023, Sec. 3.1 and Table 1**). Config field `weighting`: `uniform` (CT) or `ict`.
//
// Cells import the kit from its CommonJS build (`npm run build` first). Run all notebooks headless with `bash scripts/notebooks.sh`.

// %%
import * as ctlab from '../dist/src/index';
import * as nb from '../dist/src/notebook/index';

// %% [markdown]
// λ(σ_i) on the final iCT grid, N = 1281 points (σ_min = 0.002, σ_max = 80, ρ = 7), from `ctlab.karrasSigmas` and `ctlab.lossWeight`:

// %%
const sigmas = Array.from(ctlab.karrasSigmas(1281));
const pairs = sigmas.slice(0, -1).map((s, i) => [s, sigmas[i + 1]] as const);
const x = pairs.map(([s]) => s);
await nb.showFigure(
  ctlab.report.lineFigure(
    [
      { x, y: pairs.map(([s, t]) => ctlab.lossWeight('ict', s, t)), name: 'iCT: 1/(σ_{i+1} − σ_i)' },
      { x, y: pairs.map(([s, t]) => ctlab.lossWeight('uniform', s, t)), name: 'CT: λ ≡ 1', dash: 'dash' },
    ],
    { title: 'Loss weight per grid pair, N = 1281', xTitle: 'σ_i', yTitle: 'λ(σ_i)', logX: true, logY: true, width: 700, height: 420 },
  ),
);

// %% [markdown]
// ## Results of this kit
//
// Two committed suites, read from their `ctlab report` files: the longer suite of issue #19 (`results/ablations-long/weighting/`,
// from `bash scripts/fidelity-runs.sh`) and the 1,000-step suite kept as it was (`results/ablations/weighting/`, from
// `ctlab ablate weighting`): mean ± 95% interval over seeds, with the 1-step SWD over training.

// %%
nb.showAblationResults('weighting');

// %% [markdown]
// ## Paper vs this kit
//
// Built from the ablation's definition (the paper's claim) and the longer suite's verdicts (`results/ablations-long/verdicts.json`),
// with the other suites' verdicts on the same comparison beneath; no number here is typed by hand.

// %%
nb.showPaperVsKit('weighting');
