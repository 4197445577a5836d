// %% [markdown]
// # 9. Evaluation bias: a loss built on the evaluator's features
//
// FID compares Inception features of samples and data. LPIPS, CM's best distance for consistency training,
// compares features of ImageNet-trained networks too. A model trained to match one network's features can look
// better to an evaluator that sees the world through similar features than it really is. iCT gives this as one
// reason to replace LPIPS by the pseudo-Huber distance, which uses no learned features (**iCT, Song & Dhariwal
// 2023, Sec. 3.3**, paraphrased: `ict-facts.md` records the switch and its result, not the sentence, so the exact
// wording is UNCONFIRMED here).
//
// The kit can show the effect on Fashion-MNIST because it ships two independent feature networks
// (`data/feature-nets/`, trained by `node dist/bench/train-classifiers.js`):
//
// - **fmnist-cnn** (85.45% test accuracy): the LPIPS-style distance of the kit compares its normalised
//   activations (uniform channel weights; the real LPIPS weights are **not shipped**), so a run with
//   `distance: { kind: 'lpips' }` is trained *on its features*;
// - **fmnist-strided** (87.49%): another architecture and seed, which no loss of the kit uses.
//
// For each layer l with unit-normalised activations $\hat y^l$ of shape $H_l \times W_l \times C_l$,
//
// $$d(x, y) = \sum_l \frac{1}{H_l W_l} \sum_{h,w} \big\lVert w_l \odot (\hat y^l_{hw}(x) - \hat y^l_{hw}(y)) \big\rVert_2^2,$$
//
// with $w_l = 1$ here (LPIPS learns $w_l$). Every image run is scored by FID in both feature spaces (`ctlab eval`).
//
// Cells import the kit from its CommonJS build (`npm run build` first). Run all notebooks headless with `bash scripts/notebooks.sh`.

// %%
import * as ctlab from '../dist/src/index';
import * as nb from '../dist/src/notebook/index';
import * as tf from '@tensorflow/tfjs';
import * as path from 'node:path';

// %% [markdown]
// **The mechanism, live.** Start from test images buried in noise (σ = 0.5) and descend the LPIPS-style distance *of fmnist-cnn* to the clean images, pixel by
// pixel (Adam, lr 0.01). Both nets' distances are tracked, each relative to its starting value: the optimised net's distance falls further than the independent
// net's, and the pixel error says how much of the image was actually restored. A generator trained on one net's features gets the same push.

// %%
await ctlab.initBackend();
const n = 64;
const real = tf.tensor4d(ctlab.fashionMnistSubset('test', n, 0), [n, 28, 28, 1]);
const onLoss = await ctlab.loadDefaultLpips(ctlab.LOSS_NET);
const onOther = await ctlab.loadDefaultLpips(ctlab.INDEPENDENT_NET);
const noise = tf.tensor4d(new ctlab.Rng(1, 0).fillNormal(new Float32Array(n * 28 * 28)), [n, 28, 28, 1]);
const x = tf.variable(tf.tidy(() => tf.clipByValue(real.add(noise.mul(0.5)), -1, 1))) as tf.Variable<tf.Rank.R4>;
const opt = tf.train.adam(0.01);
const steps = nb.byScale(60, 3);
const hist: { step: number[]; loss: number[]; other: number[]; pixel: number[] } = { step: [], loss: [], other: [], pixel: [] };
for (let k = 0; k <= steps; k++) {
  const [a, b, p] = tf.tidy(() => [onLoss.distance(x, real).mean(), onOther.distance(x, real).mean(), x.sub(real).square().mean()].map((t) => t.dataSync()[0]));
  hist.step.push(k);
  hist.loss.push(a);
  hist.other.push(b);
  hist.pixel.push(p);
  if (k < steps) opt.minimize(() => onLoss.distance(x, real).mean<tf.Scalar>(), false, [x]);
}
const rel = (v: number[]) => v.map((y) => y / v[0]);
await nb.showFigure(
  ctlab.report.lineFigure(
    [
      { name: `LPIPS-style on ${ctlab.LOSS_NET} (optimised)`, x: hist.step, y: rel(hist.loss) },
      { name: `LPIPS-style on ${ctlab.INDEPENDENT_NET} (independent)`, x: hist.step, y: rel(hist.other), dash: 'dash' },
      { name: 'pixel mean squared error', x: hist.step, y: rel(hist.pixel), dash: 'dot' },
    ],
    { title: "Descending one net's LPIPS-style distance", xTitle: 'Adam step on the pixels', yTitle: 'distance / distance at step 0', width: 700, height: 420 },
  ),
);
console.log(
  `after ${steps} steps: ${ctlab.LOSS_NET} ×${rel(hist.loss).at(-1)!.toFixed(3)}, ${ctlab.INDEPENDENT_NET} ×${rel(hist.other).at(-1)!.toFixed(3)}, pixels ×${rel(hist.pixel).at(-1)!.toFixed(3)}`,
);
tf.dispose([real, noise, x]);
opt.dispose();
onLoss.dispose();
onOther.dispose();

// %% [markdown]
// ## The committed image ablations under both evaluators
//
// `ctlab report` collects every completed Fashion-MNIST run of `ctlab ablate all --data fashion-mnist` (one seed each, 1,000 steps, a [16, 32] U-Net) and
// compares FID in the two feature spaces. The ratio of the two FIDs moves with sample quality, so the pixel-loss runs (ℓ2, pseudo-Huber) define the expected
// relation and each run is measured against it; the LPIPS-style runs are `distance-lpips` and `ct-vs-ict-ct` (the original CT recipe, as CM, uses LPIPS).

// %%
nb.showEvaluationBias();

// %% [markdown]
// 1-step samples of the distance ablation's arms (from `results/ablations/distance/`): squared ℓ2, pseudo-Huber, LPIPS-style.

// %%
const dist = path.join(nb.repoRoot(), 'results', 'ablations', 'distance');
for (const arm of ['l2', 'pseudo-huber', 'lpips']) {
  nb.showMarkdown(`**${arm}**`);
  nb.showImage(path.join(dist, `fashion-mnist-samples-1step-${arm}.png`));
}

// %% [markdown]
// ## The longer image run
//
// The kit's documented image run (`ctlab train --preset ict --data fashion-mnist`: 6,000 steps, a [32, 64] U-Net, pseudo-Huber) scored by both evaluators, with
// the floor (training images) and the ceiling (noise) at the same n. Trained on pixels, it is the reference for how the two feature nets rate a run no loss was
// built on.

// %%
nb.showImageRun();
