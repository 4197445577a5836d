// %% [markdown]
// # 5. The distance d(x, y)
//
// Original CT used squared ℓ2 or LPIPS. LPIPS needs an ImageNet-trained feature network (a bias in FID), so iCT
// uses the pseudo-Huber metric over the whole example,
//
// $$d(x, y) = \sqrt{\lVert x - y \rVert_2^2 + c^2} - c,\qquad c = 0.00054\sqrt{d},$$
//
// which behaves like squared ℓ2 (divided by 2c) for differences much smaller than c and like ℓ2 (robust to
// outliers) beyond it (**source: iCT, Song & Dhariwal 2023, Sec. 3.3**). For CIFAR-10, d = 3072 gives c ≈ 0.03;
// for 2D data c ≈ 0.00076. Config field `distance`.
//
// Cells import the kit from its CommonJS build (`npm run build` first). Run all notebooks headless with `bash scripts/notebooks.sh`.

// %% [markdown]
// **LPIPS here.** The kit's `lpips` distance is LPIPS-*style*: normalised activations of a shipped Fashion-MNIST classifier (`data/feature-nets/`) compared
// with **uniform channel weights**. The real LPIPS weights (VGG/AlexNet plus learned linear heads) are **not shipped** and cannot be fetched here;
// `src/losses/lpips.ts` loads them from a directory if you have them converted (`distance.net`). The LPIPS arm has no 2D counterpart, so it is skipped on toy
// data; and a loss built on the evaluator's own features biases that evaluator's FID, which is why image runs are scored with both shipped feature nets.

// %%
import * as ctlab from '../dist/src/index';
import * as nb from '../dist/src/notebook/index';
import * as tf from '@tensorflow/tfjs';

// %% [markdown]
// The kit's `ctlab.distance` (the loss code itself) on differences of norm r = ‖x − y‖, spread evenly over the d = 2 coordinates, with `ctlab.pseudoHuberC`;
// squared ℓ2 and ℓ1 are the kit's per-dimension means:

// %%
await ctlab.initBackend();
const dim = 2;
const r = Array.from({ length: 121 }, (_, i) => 10 ** (-5 + i / 20));
const diff = tf.tensor2d(
  r.flatMap((v) => Array.from({ length: dim }, () => v / Math.sqrt(dim))),
  [r.length, dim],
);
const zero = tf.zerosLike(diff);
const curve = (kind: ctlab.DistanceKind, c?: number) => Array.from(tf.tidy(() => ctlab.distance(kind, diff, zero, c === undefined ? {} : { c })).dataSync());
const c2 = ctlab.pseudoHuberC(dim),
  cCifar = ctlab.pseudoHuberC(3072);
const series = [
  { name: `pseudo-Huber, c = ${c2.toPrecision(2)} (d = 2)`, x: r, y: curve('pseudo-huber') },
  { name: `pseudo-Huber, c = ${cCifar.toPrecision(2)} (CIFAR-10 d)`, x: r, y: curve('pseudo-huber', cCifar), dash: 'dot' as const },
  { name: 'squared ℓ2 (mean over dims)', x: r, y: curve('l2'), dash: 'dash' as const },
  { name: 'ℓ1 (mean over dims)', x: r, y: curve('l1'), dash: 'dashdot' as const },
];
tf.dispose([diff, zero]);
await nb.showFigure(
  ctlab.report.lineFigure(series, {
    title: 'Distances as functions of ‖x − y‖',
    xTitle: '‖x − y‖₂',
    yTitle: 'd(x, y)',
    logX: true,
    logY: true,
    width: 700,
    height: 440,
  }),
);

// %% [markdown]
// ## Results of this kit
//
// Two committed suites, read from their `ctlab report` files: the longer suite of issue #19 (`results/ablations-long/distance/`,
// from `bash scripts/fidelity-runs.sh`) and the 1,000-step suite kept as it was (`results/ablations/distance/`, from
// `ctlab ablate distance`): mean ± 95% interval over seeds, with the 1-step SWD over training.

// %%
nb.showAblationResults('distance');

// %% [markdown]
// ## Paper vs this kit
//
// Built from the ablation's definition (the paper's claim) and the longer suite's verdicts (`results/ablations-long/verdicts.json`),
// with the other suites' verdicts on the same comparison beneath; no number here is typed by hand.

// %%
nb.showPaperVsKit('distance');
