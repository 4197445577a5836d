// %% [markdown]
// # 3. Dropout
//
// iCT adds dropout to the consistency model: with rate $p$, each hidden unit is zeroed with probability $p$ and the
// survivors are scaled by $1/(1-p)$ during training (the same mask for the student and for the target θ⁻, which
// without an EMA is the stop-gradient student). More dropout improved sample quality on CIFAR-10, where iCT uses $p = 0.3$
// (**source: iCT, Song & Dhariwal 2023, Sec. 3.1**). The original CT used none. Config field `model.dropout`.
// A 3×128 MLP on 2D data is much smaller than NCSN++, so the best rate here may well be lower.
//
// Cells import the kit from its CommonJS build (`npm run build` first). Run all notebooks headless with `bash scripts/notebooks.sh`.

// %%
import * as ctlab from '../dist/src/index';
import * as nb from '../dist/src/notebook/index';

// %% [markdown]
// What one training example's 128 hidden units see at the ablation's three rates: the inverted-dropout multiplier per unit (0 or 1/(1−p)), drawn with
// `ctlab.Rng`:

// %%
const units = Array.from({ length: 128 }, (_, j) => j);
await nb.showFigure(
  ctlab.report.lineFigure(
    [0, 0.1, 0.3].map((p) => {
      const rng = new ctlab.Rng(1);
      return { name: `p = ${p}`, x: units, y: units.map(() => (rng.uniform() < p ? 0 : 1 / (1 - p))), markers: true };
    }),
    { title: 'Dropout multiplier per hidden unit (one example)', xTitle: 'hidden unit', yTitle: 'mask / (1 − p)', width: 700, height: 360 },
  ),
);

// %% [markdown]
// ## Results of this kit
//
// Two committed suites, read from their `ctlab report` files: the longer suite of issue #19 (`results/ablations-long/dropout/`,
// from `bash scripts/fidelity-runs.sh`) and the 1,000-step suite kept as it was (`results/ablations/dropout/`, from
// `ctlab ablate dropout`): mean ± 95% interval over seeds, with the 1-step SWD over training.

// %%
nb.showAblationResults('dropout');

// %% [markdown]
// ## Paper vs this kit
//
// Built from the ablation's definition (the paper's claim) and the longer suite's verdicts (`results/ablations-long/verdicts.json`),
// with the other suites' verdicts on the same comparison beneath; no number here is typed by hand.

// %%
nb.showPaperVsKit('dropout');
