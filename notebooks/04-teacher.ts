// %% [markdown]
// # 4. The teacher network
//
// Original CT compares the student with a teacher $\theta^-$ that tracks it by an EMA,
// $\theta^- \leftarrow \operatorname{stopgrad}(\mu(k)\,\theta^- + (1-\mu(k))\,\theta)$, with a rate tied to the curriculum:
//
// $$\mu(k) = \exp\left(\frac{s_0 \ln \mu_0}{N(k) - 1}\right),\quad \mu_0 = 0.9,\ s_0 = 2$$
//
// (**source: CM, Song et al. 2023, Sec. 5**; the official code divides by $N(k)-1$, the paper is usually quoted with $N(k)$).
// iCT shows that the EMA teacher makes the objective inconsistent as $N \to \infty$ and drops it: $\mu(k) = 0$,
// i.e. $\theta^- = \operatorname{stopgrad}(\theta)$ (**source: iCT, Song & Dhariwal 2023, Sec. 3.2**). Config field `teacher`.
//
// Cells import the kit from its CommonJS build (`npm run build` first). Run all notebooks headless with `bash scripts/notebooks.sh`.

// %%
import * as ctlab from '../dist/src/index';
import * as nb from '../dist/src/notebook/index';

// %% [markdown]
// μ(k) over the 2,000 training steps of the presets (`ctlab.ctTeacherEma`, both forms), against iCT's 0:

// %%
const K = ctlab.buildConfig('ct').steps;
const ks = Array.from({ length: K + 1 }, (_, k) => k);
await nb.showFigure(ctlab.report.lineFigure([
  { name: 'CT, μ0 = 0.9 (code: N(k) − 1)', x: ks, y: ks.map((k) => ctlab.ctTeacherEma(k, K, { mu0: 0.9, s0: 2, s1: 150, form: 'code' })) },
  { name: 'CT, μ0 = 0.9 (paper: N(k))', x: ks, y: ks.map((k) => ctlab.ctTeacherEma(k, K, { mu0: 0.9, s0: 2, s1: 150, form: 'paper' })), dash: 'dash' },
  { name: 'iCT: no EMA teacher (μ = 0)', x: ks, y: ks.map(() => 0) },
], { title: `Teacher EMA rate μ(k) over ${K} steps`, xTitle: 'training step k', yTitle: 'μ(k)', width: 700, height: 400 }));

// %% [markdown]
// ## Results of this kit
//
// The committed run of `ctlab ablate teacher` (then `ctlab report`), read from `results/ablations/teacher/`: mean ± 95% interval over seeds, with the 1-step SWD over training.

// %%
nb.showAblationResults('teacher');

// %% [markdown]
// ## Paper vs this kit
//
// Built from the ablation's definition (the paper's claim) and the summary's verdict lines; no number here is typed by hand.

// %%
nb.showPaperVsKit('teacher');
