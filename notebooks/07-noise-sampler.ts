// %% [markdown]
// # 7. Noise-level sampling
//
// Each training example uses one adjacent pair $(\sigma_i, \sigma_{i+1})$ of the grid. The original CT draws $i$
// uniformly. iCT draws it from a discretized lognormal that puts most mass on small and medium σ:
//
// $$
// p(\sigma_i) \propto \operatorname{erf}\left(\frac{\ln \sigma_{i+1} - P_\text{mean}}{\sqrt 2 P_\text{std}}\right)
// - \operatorname{erf}\left(\frac{\ln \sigma_i - P_\text{mean}}{\sqrt 2 P_\text{std}}\right),\quad P_\text{mean} = -1.1,\ P_\text{std} = 2.0
// $$
//
// (**source: iCT, Song & Dhariwal 2023, Sec. 3.5**). Every pair is equally likely under the uniform choice, but the
// Karras grid (ρ = 7) is sparse in ln σ at small σ, so per unit of ln σ uniform sampling favours high noise; the
// lognormal peaks near $\sigma = e^{P_	ext{mean}} pprox 0.33$ and takes mass from both ends. Config field `noiseSampler`.
//
// Cells import the kit from its CommonJS build (`npm run build` first). Run all notebooks headless with `bash scripts/notebooks.sh`.

// %%
import * as ctlab from '../dist/src/index';
import * as nb from '../dist/src/notebook/index';

// %% [markdown]
// Pair probabilities on the final grid, N = 1281, and as a density per unit of ln σ (probability ÷ Δln σ), from `ctlab.lognormalNoiseProbs` and
// `ctlab.uniformNoiseProbs`:

// %%
const sigmas = ctlab.karrasSigmas(1281);
const x = Array.from(sigmas.slice(0, -1));
const logn = Array.from(ctlab.lognormalNoiseProbs(sigmas, { pMean: -1.1, pStd: 2.0 }));
const unif = Array.from(ctlab.uniformNoiseProbs(sigmas));
const perLn = (p: number[]) => p.map((v, i) => v / Math.log(sigmas[i + 1] / sigmas[i]));
const opts = { xTitle: 'σ_i', logX: true, width: 620, height: 400 };
await nb.showFigures([
  ctlab.report.lineFigure(
    [
      { name: 'iCT: lognormal', x, y: logn },
      { name: 'CT: uniform', x, y: unif, dash: 'dash' },
    ],
    { ...opts, title: 'Probability of pair i, N = 1281', yTitle: 'p(i)', logY: true },
  ),
  ctlab.report.lineFigure(
    [
      { name: 'iCT: lognormal', x, y: perLn(logn) },
      { name: 'CT: uniform', x, y: perLn(unif), dash: 'dash' },
    ],
    { ...opts, title: 'Density per unit of ln σ', yTitle: 'p(i) / Δln σ' },
  ),
]);

// %% [markdown]
// ## Results of this kit
//
// Two committed suites, read from their `ctlab report` files: the longer suite of issue #19 (`results/ablations-long/noise-sampler/`,
// from `bash scripts/fidelity-runs.sh`) and the 1,000-step suite kept as it was (`results/ablations/noise-sampler/`, from
// `ctlab ablate noise-sampler`): mean ± 95% interval over seeds, with the 1-step SWD over training.

// %%
nb.showAblationResults('noise-sampler');

// %% [markdown]
// ## Paper vs this kit
//
// Built from the ablation's definition (the paper's claim) and the longer suite's verdicts (`results/ablations-long/verdicts.json`),
// with the other suites' verdicts on the same comparison beneath; no number here is typed by hand.

// %%
nb.showPaperVsKit('noise-sampler');
