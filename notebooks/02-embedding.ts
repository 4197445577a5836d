// %% [markdown]
// # 2. Noise embedding
//
// The network sees the noise level through an embedding of $c_\text{noise}(\sigma)$. NCSN++ uses Gaussian Fourier features
//
// $$e(\sigma) = [\sin(2\pi W c),\ \cos(2\pi W c)],\quad W_j \sim \mathcal{N}(0, s^2)\ \text{fixed},\quad c = \tfrac14 \ln \sigma,$$
//
// and ADM a positional embedding with $c = 250 \ln \sigma$ and frequencies $\omega_j = 10000^{-j/(d/2)}$.
// The original CT used Fourier scale $s = 16$; iCT finds that so large a scale makes the embedding too sensitive to
// small changes in σ (neighbouring grid points get unrelated embeddings), and uses $s = 0.02$
// (**source: iCT, Song & Dhariwal 2023, Sec. 3.1**; NCSN++ / ADM code). Config field `model.embedding`.
//
// Cells import the kit from its CommonJS build (`npm run build` first). Run all notebooks headless with `bash scripts/notebooks.sh`.

// %%
import * as ctlab from '../dist/src/index';
import * as nb from '../dist/src/notebook/index';

// %% [markdown]
// Left: the 16 angular frequencies |ω_j| of each 32-dim embedding (`ctlab.embeddingFrequencies`, seed 0). Right: sensitivity, the distance between the
// embeddings of adjacent grid points at N = 1281 (`ctlab.embedNoiseLevel`).

// %%
type Spec = Parameters<typeof ctlab.embeddingFrequencies>[0];
const specs: [string, Spec][] = [
  ['Fourier s = 16 (CT)', { kind: 'fourier', scale: 16, dim: 32 }],
  ['Fourier s = 0.02 (iCT)', { kind: 'fourier', scale: 0.02, dim: 32 }],
  ['positional (ADM)', { kind: 'positional', dim: 32 }],
];
const sigmas = Array.from(ctlab.karrasSigmas(1281));
const dist = (a: Float64Array, b: Float64Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0));
const freqFig = ctlab.report.lineFigure(
  specs.map(([name, spec]) => {
    const w = Array.from(ctlab.embeddingFrequencies(spec, 0), Math.abs).sort((a, b) => b - a);
    return { name, x: w.map((_, j) => j), y: w, markers: true };
  }),
  { title: 'Embedding frequencies |ω_j|, sorted', xTitle: 'j', yTitle: '|ω_j|', logY: true, width: 620, height: 400 },
);
const sensFig = ctlab.report.lineFigure(
  specs.map(([name, spec]) => {
    const w = ctlab.embeddingFrequencies(spec, 0);
    const e = sigmas.map((s) => ctlab.embedNoiseLevel(s, spec, w));
    return { name, x: sigmas.slice(0, -1), y: e.slice(0, -1).map((v, i) => dist(v, e[i + 1])) };
  }),
  { title: 'Sensitivity: ‖e(σ_{i+1}) − e(σ_i)‖, N = 1281', xTitle: 'σ_i', yTitle: 'embedding distance', logX: true, logY: true, width: 620, height: 400 },
);
await nb.showFigures([freqFig, sensFig]);

// %% [markdown]
// ## Results of this kit
//
// Two committed suites, read from their `ctlab report` files: the longer suite of issue #19 (`results/ablations-long/embedding/`,
// from `bash scripts/fidelity-runs.sh`) and the 1,000-step suite kept as it was (`results/ablations/embedding/`, from
// `ctlab ablate embedding`): mean ± 95% interval over seeds, with the 1-step SWD over training.

// %%
nb.showAblationResults('embedding');

// %% [markdown]
// ## Paper vs this kit
//
// Built from the ablation's definition (the paper's claim) and the longer suite's verdicts (`results/ablations-long/verdicts.json`),
// with the other suites' verdicts on the same comparison beneath; no number here is typed by hand.

// %%
nb.showPaperVsKit('embedding');
