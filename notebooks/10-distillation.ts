// %% [markdown]
// # 10. Consistency distillation from an EDM teacher, and CT against CD
//
// **Consistency distillation** (CD, CM Alg. 2; Song et al. 2023) trains a consistency model from a pre-trained
// diffusion model, the *teacher* D_φ: it takes x_{n+1} = x + σ_{n+1}·z, moves it one ODE-solver step of the teacher's
// probability-flow ODE dx/dσ = (x − D_φ(x, σ))/σ down to σ_n, and pulls f_θ(x_{n+1}, σ_{n+1}) towards the target
// f_{θ⁻}(x̂_n, σ_n). **Consistency training** (CT, and iCT) replaces the teacher's step by x + σ_n·z with the *same* z:
// no pre-trained model at all. iCT's claim (**iCT Table 2**: CIFAR-10 1-step FID iCT 2.83, CD 3.55) is that CT with its
// techniques beats distillation, which is capped by its teacher.
//
// In this kit `teacher` means only that pre-trained diffusion model (`ctlab train --preset cd --teacher <edm run>`);
// CT's θ⁻ is the *target* (`--target ema|stopgrad`; openai/consistency_models#53 shows why the two get confused).
//
// The teacher is an EDM model (**Karras et al. 2022, Table 1**): D(x, σ) = c_skip(σ)·x + c_out(σ)·F(c_in(σ)·x, c_noise(σ))
// with c_skip = σd²/(σ²+σd²), c_out = σ·σd/√(σ²+σd²), c_in = 1/√(σ²+σd²), c_noise = ¼·ln σ, trained with
// λ(σ) = (σ²+σd²)/(σ·σd)² on ln σ ~ N(−1.2, 1.2²), and sampled by Heun's method on the Karras grid (**EDM Alg. 1**,
// 18 steps, NFE = 2·18 − 1 = 35).
//
// Cells import the kit from its CommonJS build (`npm run build` first). Run all notebooks headless with `bash scripts/notebooks.sh`.

// %%
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ctlab from '../dist/src/index';
import * as nb from '../dist/src/notebook/index';

// %% [markdown]
// The EDM preconditioning and loss weight at a few σ (σd = 0.5), from `ctlab.edmScalings` and `ctlab.edmLossWeight`.

// %%
nb.showTable(
  [0.002, 0.1, 0.5, 1, 10, 80].map((sigma) => ({ sigma, ...ctlab.edmScalings(sigma), lambda: ctlab.edmLossWeight(sigma) })),
  { digits: 5 },
);

// %% [markdown]
// ## The PF-ODE and the Heun step, drawn live
//
// A small EDM teacher on eight Gaussians, trained here (the trainer's own step in a `TrainingSession`; at
// `CTLAB_NOTEBOOK_SCALE=tiny`, as CI runs it, only a few steps, so its trajectories do not reach the data). The
// committed teachers' numbers are further down. Each line is one deterministic Heun solve from σ = 80 to 0.

// %%
await ctlab.initBackend({ backend: 'wasm', log: false });
const edmCfg = ctlab.buildConfig('edm', {
  steps: nb.byScale(1500, 30),
  batchSize: 256,
  model: { hidden: 64, depth: 2 },
  optimizer: { lr: 2e-3 },
  data: { kind: 'toy2d', name: 'eight-gaussians', trainSize: 4000, testSize: 1000 },
  evalEvery: 0,
});
const toy = ctlab.loadDataset(edmCfg.data, edmCfg.seed);
const session = new ctlab.TrainingSession(edmCfg, { train: toy.train, test: toy.test, shape: [2] });
const t0 = Date.now();
await session.run(edmCfg.steps);
console.log(`EDM teacher: ${edmCfg.steps} steps in ${((Date.now() - t0) / 1000).toFixed(1)} s, last loss ${session.status().loss.toFixed(3)}`);
const teacherNet = ctlab.buildNetwork(edmCfg, [2]);
const teacherWeights = session.emaWeights();

// %%
const grid = ctlab.edmSigmas(18, edmCfg.noise);
const nTraj = 40;
const rngStart = Array.from({ length: nTraj * 2 }, (_, i) => 80 * Math.sin(1.7 * i + 0.3) * Math.cos(0.9 * i)); // spread starts
const denoise: ctlab.Denoiser = (x, s) => ctlab.edmDenoise(teacherNet, teacherWeights, x, s, null, 0.5);
const trajectory: number[][][] = Array.from({ length: nTraj }, () => []);
let xt: tf.Tensor = tf.tensor2d(rngStart, [nTraj, 2]);
for (let i = 0; i + 1 < grid.length; i++) {
  const next = ctlab.pfOdeStep(denoise, xt, tf.fill([nTraj], grid[i]), tf.fill([nTraj], grid[i + 1]), 'heun', grid[i + 1] === 0);
  const v = next.dataSync();
  for (let j = 0; j < nTraj; j++) trajectory[j]?.push([v[2 * j], v[2 * j + 1]]);
  xt.dispose();
  xt = next;
}
// the last part of each path (σ ≤ 3): the first steps from σ = 80 are off the plot's scale
const tail = (tr: number[][]): number[][] => tr.slice(grid.findIndex((s) => s <= 3));
await nb.showFigure(
  ctlab.lineFigure(
    [
      ...trajectory.map((tr) => ({ x: tail(tr).map((p) => p[0]), y: tail(tr).map((p) => p[1]), color: '#1f77b4' })),
      {
        x: Array.from(toy.test.filter((_, i) => i % 2 === 0)).slice(0, 300),
        y: Array.from(toy.test.filter((_, i) => i % 2 === 1)).slice(0, 300),
        name: 'held-out data',
        color: '#d62728',
        markers: true,
        dash: 'dot',
      },
    ],
    { title: 'Heun solves of the teacher PF-ODE (σ ≤ 3 down to 0)', xTitle: 'x', yTitle: 'y', width: 560, height: 520 },
  ),
);

// %% [markdown]
// ## The CD target, step by step
//
// One training example: x from the data, z ~ N(0, I), a pair (σ_n, σ_{n+1}) of CD's fixed N = 18 grid. CT's target
// input is x + σ_n·z (same z); CD's is the teacher's Heun step from x_{n+1} (`ctlab.cdTeacherStep`). Where the teacher
// is good the two agree in distribution; CD's is deterministic given x_{n+1}, which is why it has lower variance.

// %%
const cdGrid = Array.from(ctlab.karrasSigmas(18, edmCfg.noise));
const x0 = [toy.train[0], toy.train[1]];
const z0 = [0.8, -1.1];
const rows = [3, 8, 12, 16].map((n) => {
  const sN = cdGrid[n];
  const sNext = cdGrid[n + 1];
  const xNext = tf.tensor2d([[x0[0] + sNext * z0[0], x0[1] + sNext * z0[1]]]);
  const teacher: ctlab.DistillTeacher = { net: teacherNet, weights: teacherWeights, sigmaData: 0.5, solver: 'heun' };
  const xHat = ctlab.cdTeacherStep(teacher, xNext, tf.tensor1d([sNext]), tf.tensor1d([sN])).dataSync();
  return {
    n,
    'σ_{n+1}': sNext,
    σ_n: sN,
    'x_{n+1}': `(${xNext.dataSync()[0]?.toFixed(3)}, ${xNext.dataSync()[1]?.toFixed(3)})`,
    'CD x̂_n (teacher Heun)': `(${xHat[0]?.toFixed(3)}, ${xHat[1]?.toFixed(3)})`,
    'CT x + σ_n z': `(${(x0[0] + sN * z0[0]).toFixed(3)}, ${(x0[1] + sN * z0[1]).toFixed(3)})`,
  };
});
nb.showTable(rows);

// %% [markdown]
// ## Results of this kit
//
// The committed runs of `ctlab distill run <experiment> --data <data>` and `ctlab distill report ...`, read from
// `results/distill/` (records of every run in `results/runs/distill/`). Students train for the same steps, batch and
// network; the teachers' own training cost is in the wall-time column.

// %%
const distillDir = path.join(nb.repoRoot(), 'results', 'distill');
const reports = ['ct-vs-cd-eight-gaussians', 'cd-teacher-cap-eight-gaussians', 'ct-vs-cd-fashion-mnist'];
for (const r of reports) {
  const md = path.join(distillDir, `${r}.md`);
  if (!fs.existsSync(md)) {
    nb.showMarkdown(
      `**${r}**: not run yet (\`ctlab distill run ${r.replace(/-(eight-gaussians|fashion-mnist)$/, '')} --data ${r.endsWith('fashion-mnist') ? 'fashion-mnist' : 'eight-gaussians'}\`).`,
    );
    continue;
  }
  const text = fs.readFileSync(md, 'utf8');
  nb.showMarkdown(text.slice(0, text.indexOf('Runs (their')));
  const png = path.join(distillDir, `${r}.png`);
  if (fs.existsSync(png)) nb.showImage(png);
}

// %% [markdown]
// ## Paper vs this kit
//
// Built from the summaries (`<experiment>-<data>.summary.json`: seed-paired 1-step differences with 95% intervals); no number here is typed by hand.

// %%
for (const r of reports) {
  const file = path.join(distillDir, `${r}.summary.json`);
  if (!fs.existsSync(file)) continue;
  const s = JSON.parse(fs.readFileSync(file, 'utf8')) as ctlab.DistillSummary;
  const exp = ctlab.findDistillExperiment(s.experiment);
  const lines = s.comparisons.map((c) => {
    if (c.diff.n < 2) return `- ${c.name}: too few pairs (${c.diff.n})`;
    const word = c.diff.lo > 0 ? 'the second is better' : c.diff.hi < 0 ? 'the first is better' : 'no significant difference';
    return `- ${c.name} = ${c.diff.text} (${s.metric}, ${c.diff.n} seeds): ${word}`;
  });
  nb.showMarkdown([`**${r}**. Paper: ${exp.paper}.`, '', ...lines].join('\n'));
}
