import os
import nbformat
from nbformat.v4 import new_notebook, new_code_cell, new_markdown_cell
M = new_markdown_cell
C = new_code_cell
META = {"kernelspec": {"name": "tslab", "display_name": "TypeScript (tslab)", "language": "typescript"},
        "language_info": {"name": "typescript", "file_extension": ".ts", "mimetype": "text/typescript"}}
IMPORTS = """import * as ctlab from '../dist/src/index';
import * as nb from '../dist/src/notebook/index';"""
RUN_NOTE = "Cells import the kit from its CommonJS build (`npm run build` first). Run all notebooks headless with `bash scripts/notebooks.sh`."

def results_cells(name):
    return [
        M("## Results of this kit\n\nThe committed run of `ctlab ablate %s` (then `ctlab report`), read from `results/ablations/%s/`: mean ± 95%% interval over seeds, with the 1-step SWD over training." % (name, name)),
        C("nb.showAblationResults('%s');" % name),
        M("## Paper vs this kit\n\nBuilt from the ablation's definition (the paper's claim) and the summary's verdict lines; no number here is typed by hand."),
        C("nb.showPaperVsKit('%s');" % name),
    ]

def notebook(cells):
    nb = new_notebook(metadata=META)
    nb.cells = cells
    return nb

NB = {}

NB["00-quickstart"] = [
    M("# ctlab in five cells\n\nA preset config, a short training run, 1-step and 2-step samples against the data, and the committed quickstart results (`npm start`). " + RUN_NOTE + "\n\nAt `CTLAB_NOTEBOOK_SCALE=tiny` (CI) the run is 20 steps, so its samples are noise; the committed quickstart below trained 2,000 steps per recipe."),
    C(IMPORTS + "\nimport * as fs from 'node:fs';\nimport * as os from 'node:os';\nimport * as path from 'node:path';"),
    M("**1. A preset.** `ict` is the iCT recipe (Song & Dhariwal 2023, Table 1) at the 2D toy scale; any field can be overridden."),
    C("""const steps = nb.byScale(300, 20);
const cfg = ctlab.buildConfig('ict', { steps, evalEvery: 0, checkpointEvery: steps });
console.log(`${nb.notebookScale()} scale: ${cfg.steps} steps, batch ${cfg.batchSize}, data ${cfg.data.kind === 'toy2d' ? cfg.data.name : cfg.data.kind}`);
console.log(JSON.stringify({ weighting: cfg.weighting, distance: cfg.distance, teacher: cfg.teacher, curriculum: cfg.curriculum, noiseSampler: cfg.noiseSampler }));"""),
    M("**2. Train** into a temporary run directory (checkpoints, metrics.jsonl, run.json)."),
    C("""const backend = await ctlab.initBackend();
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctlab-notebook-'));
const result = await ctlab.train(cfg, { outDir, progress: false, command: 'notebooks/00-quickstart.ipynb' });
console.log(`${backend.name}: ${result.steps} steps in ${result.wallSec.toFixed(1)} s, final loss ${result.finalLoss.toPrecision(4)}`);"""),
    M("**3. Sample** from the sampling EMA: one step from σ_max = 80, and two steps (80, then 0.821), against held-out data."),
    C("""const data = ctlab.loadDataset(cfg.data, cfg.seed);
const { net, weights } = ctlab.loadRunWeights(outDir, cfg, data.shape);
const common = { n: data.test.length / data.dim, seed: 777, sigmaMin: cfg.noise.sigmaMin, sigmaMax: cfg.noise.sigmaMax, sigmaData: cfg.noise.sigmaData };
const one = ctlab.sampleConsistency(net, weights, { ...common, sigmas: [cfg.noise.sigmaMax] });
const two = ctlab.sampleConsistency(net, weights, { ...common, sigmas: [cfg.noise.sigmaMax, cfg.twoStepSigma] });
weights.forEach((w) => w.dispose());
net.dispose();
const xy = (p: Float32Array) => ({ x: Array.from(p.filter((_, i) => i % 2 === 0)), y: Array.from(p.filter((_, i) => i % 2 === 1)) });
console.log(`SWD to held-out data: 1-step ${ctlab.sampleDistances(one, data.test, 2).swd.toPrecision(3)}, 2-step ${ctlab.sampleDistances(two, data.test, 2).swd.toPrecision(3)}`);
await nb.showFigure(ctlab.report.scatterFigure([
  { ...xy(data.test), name: 'held-out data', color: '#999999', size: 3, opacity: 0.5 },
  { ...xy(one), name: '1-step samples', size: 3 },
  { ...xy(two), name: '2-step samples', size: 3 },
], { title: `iCT, ${result.steps} steps (this notebook)`, equalAxes: true, width: 560, height: 520 }));"""),
    M("**4. The committed quickstart** (`npm start`: original CT and iCT, 2,000 steps each): its table (`results/quickstart/table.csv`) and sample plots."),
    C("""const qs = path.join(nb.repoRoot(), 'results', 'quickstart');
nb.showCsvTable(path.join(qs, 'table.csv'), { title: 'results/quickstart/table.csv (lower is better)' });
nb.showImage(path.join(qs, 'samples-ct.png'));
nb.showImage(path.join(qs, 'samples-ict.png'));"""),
]

NB["01-weighting"] = [
    M("""# 1. Loss weighting λ(σ_i)

Consistency training minimises, over adjacent noise levels σ_i < σ_{i+1} of the Karras grid,

$$\\mathcal{L}(\\theta) = \\mathbb{E}\\left[\\lambda(\\sigma_i)\\, d\\big(f_\\theta(x + \\sigma_{i+1} z, \\sigma_{i+1}),\\ f_{\\theta^-}(x + \\sigma_i z, \\sigma_i)\\big)\\right].$$

The original CT (Song et al. 2023) used $\\lambda \\equiv 1$. iCT uses

$$\\lambda(\\sigma_i) = \\frac{1}{\\sigma_{i+1} - \\sigma_i},$$

which is large where the grid is dense (small σ) and small at high noise, so low-noise pairs dominate the loss
(**source: iCT, Song & Dhariwal 2023, Sec. 3.1 and Table 1**). Config field `weighting`: `uniform` (CT) or `ict`.

""" + RUN_NOTE),
    C(IMPORTS),
    M("λ(σ_i) on the final iCT grid, N = 1281 points (σ_min = 0.002, σ_max = 80, ρ = 7), from `ctlab.karrasSigmas` and `ctlab.lossWeight`:"),
    C("""const sigmas = Array.from(ctlab.karrasSigmas(1281));
const pairs = sigmas.slice(0, -1).map((s, i) => [s, sigmas[i + 1]] as const);
const x = pairs.map(([s]) => s);
await nb.showFigure(ctlab.report.lineFigure([
  { x, y: pairs.map(([s, t]) => ctlab.lossWeight('ict', s, t)), name: 'iCT: 1/(σ_{i+1} − σ_i)' },
  { x, y: pairs.map(([s, t]) => ctlab.lossWeight('uniform', s, t)), name: 'CT: λ ≡ 1', dash: 'dash' },
], { title: 'Loss weight per grid pair, N = 1281', xTitle: 'σ_i', yTitle: 'λ(σ_i)', logX: true, logY: true, width: 700, height: 420 }));"""),
] + results_cells("weighting")

NB["02-embedding"] = [
    M("""# 2. Noise embedding

The network sees the noise level through an embedding of $c_\\text{noise}(\\sigma)$. NCSN++ uses Gaussian Fourier features

$$e(\\sigma) = [\\sin(2\\pi W c),\\ \\cos(2\\pi W c)],\\quad W_j \\sim \\mathcal{N}(0, s^2)\\ \\text{fixed},\\quad c = \\tfrac14 \\ln \\sigma,$$

and ADM a positional embedding with $c = 250 \\ln \\sigma$ and frequencies $\\omega_j = 10000^{-j/(d/2)}$.
The original CT used Fourier scale $s = 16$; iCT finds that so large a scale makes the embedding too sensitive to
small changes in σ (neighbouring grid points get unrelated embeddings), and uses $s = 0.02$
(**source: iCT, Song & Dhariwal 2023, Sec. 3.1**; NCSN++ / ADM code). Config field `model.embedding`.

""" + RUN_NOTE),
    C(IMPORTS),
    M("Left: the 16 angular frequencies |ω_j| of each 32-dim embedding (`ctlab.embeddingFrequencies`, seed 0). Right: sensitivity, the distance between the embeddings of adjacent grid points at N = 1281 (`ctlab.embedNoiseLevel`)."),
    C("""type Spec = Parameters<typeof ctlab.embeddingFrequencies>[0];
const specs: [string, Spec][] = [
  ['Fourier s = 16 (CT)', { kind: 'fourier', scale: 16, dim: 32 }],
  ['Fourier s = 0.02 (iCT)', { kind: 'fourier', scale: 0.02, dim: 32 }],
  ['positional (ADM)', { kind: 'positional', dim: 32 }],
];
const sigmas = Array.from(ctlab.karrasSigmas(1281));
const dist = (a: Float64Array, b: Float64Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0));
const freqFig = ctlab.report.lineFigure(specs.map(([name, spec]) => {
  const w = Array.from(ctlab.embeddingFrequencies(spec, 0), Math.abs).sort((a, b) => b - a);
  return { name, x: w.map((_, j) => j), y: w, markers: true };
}), { title: 'Embedding frequencies |ω_j|, sorted', xTitle: 'j', yTitle: '|ω_j|', logY: true, width: 620, height: 400 });
const sensFig = ctlab.report.lineFigure(specs.map(([name, spec]) => {
  const w = ctlab.embeddingFrequencies(spec, 0);
  const e = sigmas.map((s) => ctlab.embedNoiseLevel(s, spec, w));
  return { name, x: sigmas.slice(0, -1), y: e.slice(0, -1).map((v, i) => dist(v, e[i + 1])) };
}), { title: 'Sensitivity: ‖e(σ_{i+1}) − e(σ_i)‖, N = 1281', xTitle: 'σ_i', yTitle: 'embedding distance', logX: true, logY: true, width: 620, height: 400 });
await nb.showFigures([freqFig, sensFig]);"""),
] + results_cells("embedding")

NB["03-dropout"] = [
    M("""# 3. Dropout

iCT adds dropout to the consistency model: with rate $p$, each hidden unit is zeroed with probability $p$ and the
survivors are scaled by $1/(1-p)$ during training (the same mask for the student and, without an EMA teacher, the
stop-gradient teacher). More dropout improved sample quality on CIFAR-10, where iCT uses $p = 0.3$
(**source: iCT, Song & Dhariwal 2023, Sec. 3.1**). The original CT used none. Config field `model.dropout`.
A 3×128 MLP on 2D data is much smaller than NCSN++, so the best rate here may well be lower.

""" + RUN_NOTE),
    C(IMPORTS),
    M("What one training example's 128 hidden units see at the ablation's three rates: the inverted-dropout multiplier per unit (0 or 1/(1−p)), drawn with `ctlab.Rng`:"),
    C("""const units = Array.from({ length: 128 }, (_, j) => j);
await nb.showFigure(ctlab.report.lineFigure([0, 0.1, 0.3].map((p) => {
  const rng = new ctlab.Rng(1);
  return { name: `p = ${p}`, x: units, y: units.map(() => (rng.uniform() < p ? 0 : 1 / (1 - p))), markers: true };
}), { title: 'Dropout multiplier per hidden unit (one example)', xTitle: 'hidden unit', yTitle: 'mask / (1 − p)', width: 700, height: 360 }));"""),
] + results_cells("dropout")

NB["04-teacher"] = [
    M("""# 4. The teacher network

Original CT compares the student with a teacher $\\theta^-$ that tracks it by an EMA,
$\\theta^- \\leftarrow \\operatorname{stopgrad}(\\mu(k)\\,\\theta^- + (1-\\mu(k))\\,\\theta)$, with a rate tied to the curriculum:

$$\\mu(k) = \\exp\\left(\\frac{s_0 \\ln \\mu_0}{N(k) - 1}\\right),\\quad \\mu_0 = 0.9,\\ s_0 = 2$$

(**source: CM, Song et al. 2023, Sec. 5**; the official code divides by $N(k)-1$, the paper is usually quoted with $N(k)$).
iCT shows that the EMA teacher makes the objective inconsistent as $N \\to \\infty$ and drops it: $\\mu(k) = 0$,
i.e. $\\theta^- = \\operatorname{stopgrad}(\\theta)$ (**source: iCT, Song & Dhariwal 2023, Sec. 3.2**). Config field `teacher`.

""" + RUN_NOTE),
    C(IMPORTS),
    M("μ(k) over the 2,000 training steps of the presets (`ctlab.ctTeacherEma`, both forms), against iCT's 0:"),
    C("""const K = ctlab.buildConfig('ct').steps;
const ks = Array.from({ length: K + 1 }, (_, k) => k);
await nb.showFigure(ctlab.report.lineFigure([
  { name: 'CT, μ0 = 0.9 (code: N(k) − 1)', x: ks, y: ks.map((k) => ctlab.ctTeacherEma(k, K, { mu0: 0.9, s0: 2, s1: 150, form: 'code' })) },
  { name: 'CT, μ0 = 0.9 (paper: N(k))', x: ks, y: ks.map((k) => ctlab.ctTeacherEma(k, K, { mu0: 0.9, s0: 2, s1: 150, form: 'paper' })), dash: 'dash' },
  { name: 'iCT: no EMA teacher (μ = 0)', x: ks, y: ks.map(() => 0) },
], { title: `Teacher EMA rate μ(k) over ${K} steps`, xTitle: 'training step k', yTitle: 'μ(k)', width: 700, height: 400 }));"""),
] + results_cells("teacher")

NB["05-distance"] = [
    M("""# 5. The distance d(x, y)

Original CT used squared ℓ2 or LPIPS. LPIPS needs an ImageNet-trained feature network (a bias in FID), so iCT
uses the pseudo-Huber metric over the whole example,

$$d(x, y) = \\sqrt{\\lVert x - y \\rVert_2^2 + c^2} - c,\\qquad c = 0.00054\\sqrt{d},$$

which behaves like squared ℓ2 (divided by 2c) for differences much smaller than c and like ℓ2 (robust to
outliers) beyond it (**source: iCT, Song & Dhariwal 2023, Sec. 3.3**). For CIFAR-10, d = 3072 gives c ≈ 0.03;
for 2D data c ≈ 0.00076. Config field `distance`.

""" + RUN_NOTE),
    C(IMPORTS + "\nimport * as tf from '@tensorflow/tfjs';"),
    M("**LPIPS here.** The kit's `lpips` distance is LPIPS-*style*: normalised activations of a shipped Fashion-MNIST classifier "
      "(`data/feature-nets/`) compared with **uniform channel weights**. The real LPIPS weights (VGG/AlexNet plus learned linear heads) "
      "are **not shipped** and cannot be fetched here; `src/losses/lpips.ts` loads them from a directory if you have them converted "
      "(`distance.net`). The LPIPS arm has no 2D counterpart, so it is skipped on toy data; and a loss built on the evaluator's own "
      "features biases that evaluator's FID, which is why image runs are scored with both shipped feature nets."),
    M("The kit's `ctlab.distance` (the loss code itself) on differences of norm r = ‖x − y‖, spread evenly over the d = 2 coordinates, with `ctlab.pseudoHuberC`; squared ℓ2 and ℓ1 are the kit's per-dimension means:"),
    C("""await ctlab.initBackend();
const dim = 2;
const r = Array.from({ length: 121 }, (_, i) => 10 ** (-5 + i / 20));
const diff = tf.tensor2d(r.flatMap((v) => Array(dim).fill(v / Math.sqrt(dim))), [r.length, dim]);
const zero = tf.zerosLike(diff);
const curve = (kind: ctlab.DistanceKind, c?: number) => Array.from(tf.tidy(() => ctlab.distance(kind, diff, zero, c === undefined ? {} : { c })).dataSync());
const c2 = ctlab.pseudoHuberC(dim), cCifar = ctlab.pseudoHuberC(3072);
const series = [
  { name: `pseudo-Huber, c = ${c2.toPrecision(2)} (d = 2)`, x: r, y: curve('pseudo-huber') },
  { name: `pseudo-Huber, c = ${cCifar.toPrecision(2)} (CIFAR-10 d)`, x: r, y: curve('pseudo-huber', cCifar), dash: 'dot' as const },
  { name: 'squared ℓ2 (mean over dims)', x: r, y: curve('l2'), dash: 'dash' as const },
  { name: 'ℓ1 (mean over dims)', x: r, y: curve('l1'), dash: 'dashdot' as const },
];
tf.dispose([diff, zero]);
await nb.showFigure(ctlab.report.lineFigure(series, { title: 'Distances as functions of ‖x − y‖', xTitle: '‖x − y‖₂', yTitle: 'd(x, y)', logX: true, logY: true, width: 700, height: 440 }));"""),
] + results_cells("distance")

NB["06-curriculum"] = [
    M("""# 6. The discretization curriculum N(k)

CT trains on a grid of N(k) noise levels that grows during training. The original CT grows it like a square root,

$$N(k) = \\left\\lceil \\sqrt{\\tfrac{k}{K}\\big((s_1 + 1)^2 - s_0^2\\big) + s_0^2} - 1 \\right\\rceil + 1,\\quad s_0 = 2,\\ s_1 = 150$$

(**source: CM, Song et al. 2023, Sec. 5 and its code**). iCT doubles it in stages up to a much finer grid,

$$N(k) = \\min\\left(s_0 2^{\\lfloor k / K' \\rfloor}, s_1\\right) + 1,\\quad K' = \\left\\lfloor \\frac{K}{\\log_2 \\lfloor s_1 / s_0 \\rfloor + 1} \\right\\rfloor,\\quad s_0 = 10,\\ s_1 = 1280$$

(**source: iCT, Song & Dhariwal 2023, Sec. 3.4, Eq. 11**). Config field `curriculum`.

""" + RUN_NOTE),
    C(IMPORTS),
    M("N(k) over the presets' 2,000 steps (`ctlab.ctCurriculum`, `ctlab.ictCurriculum`):"),
    C("""const K = ctlab.buildConfig('ict').steps;
const ks = Array.from({ length: K + 1 }, (_, k) => k);
await nb.showFigure(ctlab.report.lineFigure([
  { name: 'CT: √ schedule, (s0, s1) = (2, 150)', x: ks, y: ks.map((k) => ctlab.ctCurriculum(k, K, { s0: 2, s1: 150 })) },
  { name: 'iCT: exponential, (s0, s1) = (10, 1280)', x: ks, y: ks.map((k) => ctlab.ictCurriculum(k, K, { s0: 10, s1: 1280 })) },
], { title: `Grid size N(k) over ${K} steps`, xTitle: 'training step k', yTitle: 'N(k)', logY: true, width: 700, height: 420 }));"""),
] + results_cells("curriculum")

NB["07-noise-sampler"] = [
    M("""# 7. Noise-level sampling

Each training example uses one adjacent pair $(\\sigma_i, \\sigma_{i+1})$ of the grid. The original CT draws $i$
uniformly. iCT draws it from a discretized lognormal that puts most mass on small and medium σ:

$$p(\\sigma_i) \\propto \\operatorname{erf}\\left(\\frac{\\ln \\sigma_{i+1} - P_\\text{mean}}{\\sqrt 2 P_\\text{std}}\\right) - \\operatorname{erf}\\left(\\frac{\\ln \\sigma_i - P_\\text{mean}}{\\sqrt 2 P_\\text{std}}\\right),\\quad P_\\text{mean} = -1.1,\\ P_\\text{std} = 2.0$$

(**source: iCT, Song & Dhariwal 2023, Sec. 3.5**). Every pair is equally likely under the uniform choice, but the
Karras grid (ρ = 7) is sparse in ln σ at small σ, so per unit of ln σ uniform sampling favours high noise; the
lognormal peaks near $\sigma = e^{P_\text{mean}} \approx 0.33$ and takes mass from both ends. Config field `noiseSampler`.

""" + RUN_NOTE),
    C(IMPORTS),
    M("Pair probabilities on the final grid, N = 1281, and as a density per unit of ln σ (probability ÷ Δln σ), from `ctlab.lognormalNoiseProbs` and `ctlab.uniformNoiseProbs`:"),
    C("""const sigmas = ctlab.karrasSigmas(1281);
const x = Array.from(sigmas.slice(0, -1));
const logn = Array.from(ctlab.lognormalNoiseProbs(sigmas, { pMean: -1.1, pStd: 2.0 }));
const unif = Array.from(ctlab.uniformNoiseProbs(sigmas));
const perLn = (p: number[]) => p.map((v, i) => v / Math.log(sigmas[i + 1] / sigmas[i]));
const opts = { xTitle: 'σ_i', logX: true, width: 620, height: 400 };
await nb.showFigures([
  ctlab.report.lineFigure([{ name: 'iCT: lognormal', x, y: logn }, { name: 'CT: uniform', x, y: unif, dash: 'dash' }],
    { ...opts, title: 'Probability of pair i, N = 1281', yTitle: 'p(i)', logY: true }),
  ctlab.report.lineFigure([{ name: 'iCT: lognormal', x, y: perLn(logn) }, { name: 'CT: uniform', x, y: perLn(unif), dash: 'dash' }],
    { ...opts, title: 'Density per unit of ln σ', yTitle: 'p(i) / Δln σ' }),
]);"""),
] + results_cells("noise-sampler")

NB["08-ct-vs-ict"] = [
    M("""# 8. All together: original CT vs iCT

iCT combines the changes of notebooks 01–07: λ(σ) = 1/(σ_{i+1} − σ_i), Fourier scale 0.02, dropout 0.3, no EMA
teacher, pseudo-Huber distance, the exponential curriculum (10 → 1280) and lognormal noise sampling. Together they
improve CT's FID 3.5× on CIFAR-10 and 4× on ImageNet 64×64 (**source: iCT, Song & Dhariwal 2023, abstract and Sec. 5**).

""" + RUN_NOTE),
    C(IMPORTS),
    M("The two presets, field by field (`ctlab.buildConfig`): only the method axes differ; the scale is shared."),
    C("""const ct = ctlab.buildConfig('ct') as unknown as Record<string, unknown>;
const ict = ctlab.buildConfig('ict') as unknown as Record<string, unknown>;
const show = (v: unknown) => (typeof v === 'object' ? JSON.stringify(v) : String(v));
nb.showTable(['weighting', 'model', 'teacher', 'distance', 'curriculum', 'noiseSampler', 'optimizer', 'steps', 'batchSize']
  .map((k) => ({ field: k, 'original CT (ct)': show(ct[k]), 'iCT (ict)': show(ict[k]), differs: show(ct[k]) === show(ict[k]) ? '' : 'yes' })));"""),
    M("The committed quickstart (`npm start`, one seed, 2,000 steps each) as a first look; the ablation below has seeds and intervals."),
    C("""import * as path from 'node:path';
const qs = path.join(nb.repoRoot(), 'results', 'quickstart');
nb.showImage(path.join(qs, 'samples-ct.png'));
nb.showImage(path.join(qs, 'samples-ict.png'));"""),
] + results_cells("ct-vs-ict")

NB["09-evaluation-bias"] = [
    M("""# 9. Evaluation bias: a loss built on the evaluator's features

FID compares Inception features of samples and data. LPIPS, CM's best distance for consistency training,
compares features of ImageNet-trained networks too. A model trained to match one network's features can look
better to an evaluator that sees the world through similar features than it really is. iCT gives this as one
reason to replace LPIPS by the pseudo-Huber distance, which uses no learned features (**iCT, Song & Dhariwal
2023, Sec. 3.3**, paraphrased: `ict-facts.md` records the switch and its result, not the sentence, so the exact
wording is UNCONFIRMED here).

The kit can show the effect on Fashion-MNIST because it ships two independent feature networks
(`data/feature-nets/`, trained by `node dist/bench/train-classifiers.js`):

- **fmnist-cnn** (85.45% test accuracy): the LPIPS-style distance of the kit compares its normalised
  activations (uniform channel weights; the real LPIPS weights are **not shipped**), so a run with
  `distance: { kind: 'lpips' }` is trained *on its features*;
- **fmnist-strided** (87.49%): another architecture and seed, which no loss of the kit uses.

For each layer l with unit-normalised activations $\\hat y^l$ of shape $H_l \\times W_l \\times C_l$,

$$d(x, y) = \\sum_l \\frac{1}{H_l W_l} \\sum_{h,w} \\big\\lVert w_l \\odot (\\hat y^l_{hw}(x) - \\hat y^l_{hw}(y)) \\big\\rVert_2^2,$$

with $w_l = 1$ here (LPIPS learns $w_l$). Every image run is scored by FID in both feature spaces (`ctlab eval`).

""" + RUN_NOTE),
    C(IMPORTS + "\nimport * as tf from '@tensorflow/tfjs';\nimport * as path from 'node:path';"),
    M("**The mechanism, live.** Start from test images buried in noise (σ = 0.5) and descend the LPIPS-style distance "
      "*of fmnist-cnn* to the clean images, pixel by pixel (Adam, lr 0.01). Both nets' distances are tracked, each relative "
      "to its starting value: the optimised net's distance falls further than the independent net's, and the pixel "
      "error says how much of the image was actually restored. A generator trained on one net's features gets the same push."),
    C("""await ctlab.initBackend();
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
  const [a, b, p] = tf.tidy(() => [onLoss.distance(x, real).mean(), onOther.distance(x, real).mean(), x.sub(real).square().mean()].map((t) => t.dataSync()[0] as number));
  hist.step.push(k); hist.loss.push(a); hist.other.push(b); hist.pixel.push(p);
  if (k < steps) opt.minimize(() => onLoss.distance(x, real).mean() as tf.Scalar, false, [x]);
}
const rel = (v: number[]) => v.map((y) => y / (v[0] as number));
await nb.showFigure(ctlab.report.lineFigure([
  { name: `LPIPS-style on ${ctlab.LOSS_NET} (optimised)`, x: hist.step, y: rel(hist.loss) },
  { name: `LPIPS-style on ${ctlab.INDEPENDENT_NET} (independent)`, x: hist.step, y: rel(hist.other), dash: 'dash' },
  { name: 'pixel mean squared error', x: hist.step, y: rel(hist.pixel), dash: 'dot' },
], { title: 'Descending one net\\'s LPIPS-style distance', xTitle: 'Adam step on the pixels', yTitle: 'distance / distance at step 0', width: 700, height: 420 }));
console.log(`after ${steps} steps: ${ctlab.LOSS_NET} ×${rel(hist.loss).at(-1)!.toFixed(3)}, ${ctlab.INDEPENDENT_NET} ×${rel(hist.other).at(-1)!.toFixed(3)}, pixels ×${rel(hist.pixel).at(-1)!.toFixed(3)}`);
tf.dispose([real, noise, x]); opt.dispose(); onLoss.dispose(); onOther.dispose();"""),
    M("## The committed image ablations under both evaluators\n\n`ctlab report` collects every completed Fashion-MNIST run of `ctlab ablate all --data fashion-mnist` "
      "(one seed each, 1,000 steps, a [16, 32] U-Net) and compares FID in the two feature spaces. The ratio of the two FIDs moves with "
      "sample quality, so the pixel-loss runs (ℓ2, pseudo-Huber) define the expected relation and each run is measured against it; "
      "the LPIPS-style runs are `distance-lpips` and `ct-vs-ict-ct` (the original CT recipe, as CM, uses LPIPS)."),
    C("nb.showEvaluationBias();"),
    M("1-step samples of the distance ablation's arms (from `results/ablations/distance/`): squared ℓ2, pseudo-Huber, LPIPS-style."),
    C("""const dist = path.join(nb.repoRoot(), 'results', 'ablations', 'distance');
for (const arm of ['l2', 'pseudo-huber', 'lpips']) {
  nb.showMarkdown(`**${arm}**`);
  nb.showImage(path.join(dist, `fashion-mnist-samples-1step-${arm}.png`));
}"""),
    M("## The longer image run\n\nThe kit's documented image run (`ctlab train --preset ict --data fashion-mnist`: 6,000 steps, a [32, 64] U-Net, "
      "pseudo-Huber) scored by both evaluators, with the floor (training images) and the ceiling (noise) at the same n. Trained on "
      "pixels, it is the reference for how the two feature nets rate a run no loss was built on."),
    C("nb.showImageRun();"),
]

if __name__ == "__main__":
    import sys
    for name, cells in NB.items():
        if len(sys.argv) > 1 and name not in sys.argv[1:]: continue
        nbformat.write(notebook(cells), os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "notebooks", "%s.ipynb" % name))
    print("wrote", len(NB))
