// %% [markdown]
// # 6. The discretization curriculum N(k)
//
// CT trains on a grid of N(k) noise levels that grows during training. The original CT grows it like a square root,
//
// $$N(k) = \left\lceil \sqrt{\tfrac{k}{K}\big((s_1 + 1)^2 - s_0^2\big) + s_0^2} - 1 \right\rceil + 1,\quad s_0 = 2,\ s_1 = 150$$
//
// (**source: CM, Song et al. 2023, Sec. 5 and its code**). iCT doubles it in stages up to a much finer grid,
//
// $$
// N(k) = \min\left(s_0 2^{\lfloor k / K' \rfloor}, s_1\right) + 1,\quad
// K' = \left\lfloor \frac{K}{\log_2 \lfloor s_1 / s_0 \rfloor + 1} \right\rfloor,\quad s_0 = 10,\ s_1 = 1280
// $$
//
// (**source: iCT, Song & Dhariwal 2023, Sec. 3.4, Eq. 11**). Config field `curriculum`.
//
// Cells import the kit from its CommonJS build (`npm run build` first). Run all notebooks headless with `bash scripts/notebooks.sh`.

// %%
import * as ctlab from '../dist/src/index';
import * as nb from '../dist/src/notebook/index';

// %% [markdown]
// N(k) over the presets' 2,000 steps (`ctlab.ctCurriculum`, `ctlab.ictCurriculum`):

// %%
const K = ctlab.buildConfig('ict').steps;
const ks = Array.from({ length: K + 1 }, (_, k) => k);
await nb.showFigure(
  ctlab.report.lineFigure(
    [
      { name: 'CT: √ schedule, (s0, s1) = (2, 150)', x: ks, y: ks.map((k) => ctlab.ctCurriculum(k, K, { s0: 2, s1: 150 })) },
      { name: 'iCT: exponential, (s0, s1) = (10, 1280)', x: ks, y: ks.map((k) => ctlab.ictCurriculum(k, K, { s0: 10, s1: 1280 })) },
    ],
    { title: `Grid size N(k) over ${K} steps`, xTitle: 'training step k', yTitle: 'N(k)', logY: true, width: 700, height: 420 },
  ),
);

// %% [markdown]
// ## Results of this kit
//
// Two committed suites, read from their `ctlab report` files: the longer suite of issue #19 (`results/ablations-long/curriculum/`,
// from `bash scripts/fidelity-runs.sh`) and the 1,000-step suite kept as it was (`results/ablations/curriculum/`, from
// `ctlab ablate curriculum`): mean ± 95% interval over seeds, with the 1-step SWD over training.

// %%
nb.showAblationResults('curriculum');

// %% [markdown]
// ## Paper vs this kit
//
// Built from the ablation's definition (the paper's claim) and the longer suite's verdicts (`results/ablations-long/verdicts.json`),
// with the other suites' verdicts on the same comparison beneath; no number here is typed by hand.

// %%
nb.showPaperVsKit('curriculum');
