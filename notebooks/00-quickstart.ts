// %% [markdown]
// # ctlab in five cells
//
// A preset config, a short training run, 1-step and 2-step samples against the data, and the committed quickstart results (`npm start`). Cells import the kit
// from its CommonJS build (`npm run build` first). Run all notebooks headless with `bash scripts/notebooks.sh`.
//
// At `CTLAB_NOTEBOOK_SCALE=tiny` (CI) the run is 20 steps, so its samples are noise; the committed quickstart below trained 2,000 steps per recipe.

// %%
import * as ctlab from '../dist/src/index';
import * as nb from '../dist/src/notebook/index';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// %% [markdown]
// **1. A preset.** `ict` is the iCT recipe (Song & Dhariwal 2023, Table 1) at the 2D toy scale; any field can be overridden.

// %%
const steps = nb.byScale(300, 20);
const cfg = ctlab.buildConfig('ict', { steps, evalEvery: 0, checkpointEvery: steps });
console.log(`${nb.notebookScale()} scale: ${cfg.steps} steps, batch ${cfg.batchSize}, data ${cfg.data.kind === 'toy2d' ? cfg.data.name : cfg.data.kind}`);
console.log(
  JSON.stringify({ weighting: cfg.weighting, distance: cfg.distance, target: cfg.target, curriculum: cfg.curriculum, noiseSampler: cfg.noiseSampler }),
);

// %% [markdown]
// **2. Train** into a temporary run directory (checkpoints, metrics.jsonl, run.json).

// %%
const backend = await ctlab.initBackend();
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctlab-notebook-'));
const result = await ctlab.train(cfg, { outDir, progress: false, command: 'notebooks/00-quickstart.ipynb' });
console.log(`${backend.name}: ${result.steps} steps in ${result.wallSec.toFixed(1)} s, final loss ${result.finalLoss.toPrecision(4)}`);

// %% [markdown]
// **3. Sample** from the sampling EMA: one step from σ_max = 80, and two steps (80, then 0.821), against held-out data.

// %%
const data = ctlab.loadDataset(cfg.data, cfg.seed);
const { net, weights } = ctlab.loadRunWeights(outDir, cfg, data.shape);
const common = { n: data.test.length / data.dim, seed: 777, sigmaMin: cfg.noise.sigmaMin, sigmaMax: cfg.noise.sigmaMax, sigmaData: cfg.noise.sigmaData };
const one = ctlab.sampleConsistency(net, weights, { ...common, sigmas: [cfg.noise.sigmaMax] });
const two = ctlab.sampleConsistency(net, weights, { ...common, sigmas: [cfg.noise.sigmaMax, cfg.twoStepSigma] });
weights.forEach((w) => w.dispose());
net.dispose();
const xy = (p: Float32Array) => ({ x: Array.from(p.filter((_, i) => i % 2 === 0)), y: Array.from(p.filter((_, i) => i % 2 === 1)) });
console.log(
  `SWD to held-out data: 1-step ${ctlab.sampleDistances(one, data.test, 2).swd.toPrecision(3)}, 2-step ${ctlab.sampleDistances(two, data.test, 2).swd.toPrecision(3)}`,
);
await nb.showFigure(
  ctlab.report.scatterFigure(
    [
      { ...xy(data.test), name: 'held-out data', color: '#999999', size: 3, opacity: 0.5 },
      { ...xy(one), name: '1-step samples', size: 3 },
      { ...xy(two), name: '2-step samples', size: 3 },
    ],
    { title: `iCT, ${result.steps} steps (this notebook)`, equalAxes: true, width: 560, height: 520 },
  ),
);

// %% [markdown]
// **4. The committed quickstart** (`npm start`: original CT and iCT, 2,000 steps each): its table (`results/quickstart/table.csv`) and sample plots.

// %%
const qs = path.join(nb.repoRoot(), 'results', 'quickstart');
nb.showCsvTable(path.join(qs, 'table.csv'), { title: 'results/quickstart/table.csv (lower is better)' });
nb.showImage(path.join(qs, 'samples-ct.png'));
nb.showImage(path.join(qs, 'samples-ict.png'));
