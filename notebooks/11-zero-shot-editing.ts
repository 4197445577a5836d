// %% [markdown]
// # 11. Zero-shot editing and the steps-vs-quality trade
//
// A consistency model maps any noisy point of a trajectory to its start, so it can edit data it was never trained to edit
// (**CM paper, Song et al. 2023, Alg. 4**; `ict-facts.md` §5). Given a reference $y$, an orthogonal linear map $A$ and a
// binary mask $\Omega$ in $A$'s coefficient space (1 = regenerate):
//
// $$y \leftarrow A^{-1}\big[(Ay)\odot(1-\Omega)\big],\qquad x \leftarrow f_\theta(y + \sigma_1 z, \sigma_1),\qquad
// x \leftarrow A^{-1}\big[(Ay)\odot(1-\Omega) + (Ax)\odot\Omega\big]$$
//
// after every $f_\theta$ call, re-noising to the next $\sigma$ as in multistep sampling (Alg. 1:
// $\hat x = x + \sqrt{\tau^2-\sigma_{\min}^2}\,z$). The kit's tasks and their $A$, $\Omega$:
//
// | task | $A$ | $\Omega$ (regenerated) |
// |---|---|---|
// | inpainting | identity | the masked pixels (box, half, random, or a PNG) |
// | super-resolution ×k | per k×k block, an orthogonal basis whose first vector is the block average | every coefficient but the average |
// | colorization | per pixel, an orthogonal 3×3 colour basis whose first row is (0.2989, 0.5870, 0.1140) normalised | the two chroma coefficients |
// | denoising | — | — (start at the noisy input as a point at its σ: $f_\theta(y, \sigma)$, or multistep from there) |
// | interpolation | — | — (slerp between two noise vectors, then one step) |
// | stroke-guided (SDEdit-like) | — | — (noise a rough painting to σ, then multistep) |
//
// The same sampler does all of it (`sampleConsistency` with `init` and `project`), and `ctlab edit` writes the grids
// below. Cells import the kit from its CommonJS build (`npm run build` first).

// %%
import * as ctlab from '../dist/src/index';
import * as nb from '../dist/src/notebook/index';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// %%
await ctlab.initBackend();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nb11-'));
const root = nb.repoRoot();

// %% [markdown]
// ## The maps A, drawn
//
// Super-resolution ×4: the 16 basis vectors of a 4×4 block (rows of $A$), each drawn as a 4×4 image (grey = 0). The first is
// flat: the block average, which the low-resolution image keeps. Colorization: the 3×3 matrix, first row the luminance
// direction. Each is orthogonal: $A A^\top = I$ to float64 precision.

// %%
const block = ctlab.orthogonalBasis(new Array<number>(16).fill(1));
const scaleTo = (v: number[]) => {
  const m = Math.max(...v.map(Math.abs));
  return v.map((x) => x / m);
};
const basisFile = path.join(tmp, 'block4-basis.png');
ctlab.writeImageGrid(basisFile, Float32Array.from(block.flatMap(scaleTo)), 16, 4, 4, 1, 8, {
  scale: 16,
  colLabels: Array.from({ length: 8 }, (_, i) => `${i}`),
  rowLabels: ['0-7', '8-15'],
});
nb.showImage(basisFile);
const colour = ctlab.orthogonalBasis([...ctlab.LUMINANCE]);
nb.showTable(
  colour.map((r, i) => ({ row: i, R: r[0] ?? null, G: r[1] ?? null, B: r[2] ?? null })),
  { title: 'colorization A (rows: luminance, then two chroma directions)' },
);
const err = Math.max(...colour.flatMap((r, i) => colour.map((q, j) => Math.abs(r.reduce((a, v, k) => a + v * q[k], 0) - (i === j ? 1 : 0)))));
console.log(`max |A Aᵀ − I| (colour) = ${err.toExponential(2)}`);

// %% [markdown]
// ## The masks Ω, drawn, and what each task keeps of a test image
//
// Row 1: $\Omega$ for each task on a 16×16 image (white = regenerated; super-resolution and colorization in $A$'s coefficient
// layout: a block's coefficient p sits at the block's pixel p, a pixel's colour coefficient j in channel j). Row 2: the
// degraded input $A^{-1}[(Ay)\odot(1-\Omega)]$ of a Fashion-MNIST test image (the grey image for colorization, shown on a tinted
// test image of `--data fashion-mnist-color`). No model is needed for this: it is the projection alone.

// %%
const grey = ctlab.loadDataset({ kind: 'fashion-mnist', size: 16, trainSize: 1, testSize: 8 }, 0);
const tinted = ctlab.loadDataset({ kind: 'fashion-mnist', size: 16, trainSize: 1, testSize: 8, color: 'class-tint' }, 0);
const shapeG = [16, 16, 1];
const shapeC = [16, 16, 3];
const yG = grey.test.subarray(0, 256);
const yC = tinted.test.subarray(0, 768);
const toRgb = (g: Float32Array) => Float32Array.from({ length: g.length * 3 }, (_, i) => g[Math.floor(i / 3)]);
const cases: { label: string; mask: Float32Array; degraded: Float32Array }[] = [];
for (const [label, spec] of [
  ['box', { kind: 'box' }],
  ['half', { kind: 'half' }],
  ['random 50%', { kind: 'random', rate: 0.5 }],
] as const) {
  const mask = ctlab.makeMask(spec, shapeG);
  cases.push({ label, mask: toRgb(mask), degraded: toRgb(ctlab.keptPart(ctlab.identityMap(shapeG), yG, mask)) });
}
for (const k of [2, 4]) {
  const map = ctlab.blockMap(shapeG, k);
  const mask = ctlab.blockDetailMask(map);
  cases.push({ label: `superres ×${k}`, mask: toRgb(mask), degraded: toRgb(ctlab.keptPart(map, yG, mask)) });
}
cases.push({ label: 'colorize', mask: ctlab.chromaMask(shapeC), degraded: ctlab.toGrey(yC, 3) });
const tiles = new Float32Array(2 * cases.length * 768);
cases.forEach((c, j) => {
  tiles.set(
    c.mask.map((v) => 2 * v - 1),
    j * 768,
  );
  tiles.set(c.degraded, (cases.length + j) * 768);
});
const omegaFile = path.join(tmp, 'omegas.png');
ctlab.writeImageGrid(omegaFile, tiles, 2 * cases.length, 16, 16, 3, cases.length, {
  scale: ctlab.upscaleFor(16),
  colLabels: cases.map((c) => c.label),
  rowLabels: ['Ω', 'kept'],
});
nb.showImage(omegaFile);

// %% [markdown]
// ## The committed results
//
// `bash scripts/edit-train.sh && bash scripts/edit-results.sh` trains the runs (2D CT/iCT, Fashion-MNIST CT/iCT at 1,000 steps
// as in the ablations, and 4,000-step iCT runs on grey and class-tinted Fashion-MNIST for the grids) and writes
// `results/edit/`. Each grid: reference, degraded input, result; each task's JSON holds PSNR and SSIM of the degraded input
// and of the result against the reference, its σ list, command, commit, backend, seed and wall time.

// %%
const editRoot = path.join(root, 'results', 'edit');
const rows: ctlab.report.Row[] = [];
for (const data of ['fashion-mnist', 'fashion-mnist-color']) {
  const dir = path.join(editRoot, data);
  if (!fs.existsSync(dir)) continue;
  for (const name of fs.readdirSync(dir).sort()) {
    const sub = path.join(dir, name);
    for (const f of fs.readdirSync(sub).filter((x) => x.endsWith('.json'))) {
      const r = JSON.parse(fs.readFileSync(path.join(sub, f), 'utf8')) as ctlab.EditRecord;
      rows.push({
        data,
        case: name,
        σ: r.sigmas.join(', '),
        'PSNR degraded': r.metrics?.psnr.degraded ?? null,
        'PSNR result': r.metrics?.psnr.result ?? null,
        'SSIM degraded': r.metrics?.ssim.degraded ?? null,
        'SSIM result': r.metrics?.ssim.result ?? null,
        'FID edited': r.fid?.edited.fid ?? null,
        'FID degraded': r.fid?.degraded.fid ?? null,
        'FID originals': r.fid?.originals.fid ?? null,
        'wall s': r.wallSec,
      });
    }
  }
}
if (rows.length) nb.showTable(rows, { title: 'zero-shot editing (results/edit)', digits: 3 });
else nb.showMarkdown('not run yet: `bash scripts/edit-train.sh && bash scripts/edit-results.sh`');

// %%
for (const [data, name, task] of [
  ['fashion-mnist', 'inpaint-box', 'inpaint'],
  ['fashion-mnist', 'superres-x4', 'superres'],
  ['fashion-mnist-color', 'colorize', 'colorize'],
  ['fashion-mnist', 'denoise-1step', 'denoise'],
  ['fashion-mnist', 'interpolate', 'interpolate'],
  ['fashion-mnist', 'stroke', 'stroke'],
] as const) {
  const file = path.join(editRoot, data, name, `${task}.png`);
  if (!fs.existsSync(file)) continue;
  nb.showMarkdown(`**${data} / ${name}**`);
  nb.showImage(file);
}

// %% [markdown]
// ## Steps against quality
//
// More sampling steps trade compute for quality. For each run, σ_1 = σ_max and every next σ is chosen greedily by a ternary
// search over log σ on one half of the held-out data (the CM paper's procedure; the k-step list is a prefix of the
// (k+1)-step one), then each list is scored on held-out data the search did not see: sliced Wasserstein on eight Gaussians,
// FID in the independent feature net (fmnist-strided) on Fashion-MNIST. The fixed iCT 2-step σ (80, 0.821) is shown beside
// it. A CD student (distilled from an EDM teacher, \`ctlab train --preset cd\`) is a consistency model and gets the same
// search. The EDM teacher itself is solved on its Karras grid of N steps with Heun (NFE 2N − 1) or Euler (NFE N), no search,
// scored on the same held-out data: the x axis is NFE (log scale), so every arm shares it.

// %%
for (const name of ['nfe-2d', 'nfe-fashion-mnist']) {
  const dir = path.join(editRoot, name);
  if (!fs.existsSync(path.join(dir, 'table.csv'))) {
    nb.showMarkdown(`${name}: not run yet (\`bash scripts/edit-results.sh nfe\`)`);
    continue;
  }
  nb.showCsvTable(path.join(dir, 'table.csv'), { title: name, digits: 4 });
  const rec = JSON.parse(fs.readFileSync(path.join(dir, 'record.json'), 'utf8')) as { arms: ctlab.NfeArmResult[] };
  await nb.showFigure(
    ctlab.report.lineFigure(
      rec.arms.map((a) => ({ name: `${a.arm.name} (${a.arm.sampler})`, x: a.rows.map((r) => r.nfe), y: a.rows.map((r) => r.score), markers: true })),
      {
        title: `${name}: ${rec.arms[0]?.metric ?? ''}`,
        xTitle: 'NFE (log scale)',
        yTitle: 'lower is better (log scale)',
        logX: true,
        logY: true,
        width: 640,
        height: 380,
      },
    ),
  );
}
fs.rmSync(tmp, { recursive: true, force: true });
