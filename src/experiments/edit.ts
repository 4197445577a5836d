/**
 * `ctlab edit`: zero-shot editing of test images or a PNG with a trained image run (CM Alg. 4 via
 * src/sampling/edit.ts), writing a labelled PNG grid (reference, degraded input, result), the task's
 * Ω drawn as an image, and a metrics JSON (PSNR and SSIM against the reference where there is one;
 * for inpainting also FID/KID of an edited set against other test images) with its provenance.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendRequest } from '../backend';
import type { TrainConfig } from '../config/schema';
import { readPngImage, readPngMask, upscaleFor, writeImageGrid } from '../data/images';
import { exampleShape, loadDataset } from '../data/source';
import { psnr, ssim } from '../metrics/image-quality';
import { featureFidKid, imageFeatures } from '../metrics/image-eval';
import { loadFeatureNet } from '../metrics/feature-net';
import type { Network } from '../models/types';
import { gitInfo, readRunConfig, writeJson } from '../run/run-dir';
import { editProblem, EDIT_TASKS, interpolationNoise, makeMask, type EditProblem, type EditSpec, type EditTask, type MaskSpec } from '../sampling/edit';
import { sampleConsistencyAsync, validateSigmas } from '../sampling/multistep';
import { loadRunWeights } from '../training/trainer';

/** Default σ lists (descending; the first is where the chain starts). Not tuned: override with --sigmas. */
export const EDIT_DEFAULT_SIGMAS: Readonly<Record<EditTask, readonly number[]>> = {
  inpaint: [80, 20, 5, 2, 1, 0.5, 0.2],
  superres: [80, 20, 5, 2, 1, 0.5, 0.2],
  colorize: [80, 20, 5, 2, 1, 0.5, 0.2],
  denoise: [], // [--noise-sigma]
  interpolate: [80],
  stroke: [1.5, 0.7, 0.3], // SDEdit: a moderate σ keeps the stroke's layout (at σ 5 little of it survives)
};

export interface EditOptions {
  run: string;
  task: string;
  /** 'test:<i>', 'test:<a>-<b>' (inclusive) or a PNG file; default test:0-7. */
  input?: string;
  /** Inpainting: box | box:x,y,w,h | half | random:<rate> | a PNG (white = regenerate). */
  mask?: string;
  factor?: number;
  noiseSigma?: number;
  sigmas?: number[];
  alpha?: number[];
  /** Interpolation: pairs of noise vectors. */
  pairs?: number;
  seed?: number;
  /** Inpainting: size of the edited set for FID/KID (0: none). */
  fidN?: number;
  featureNet?: string;
  out: string;
  backend?: BackendRequest;
  command?: string;
}

export interface EditRecord {
  task: EditTask;
  run: string;
  step: number;
  input: string;
  n: number;
  sigmas: number[];
  params: Record<string, unknown>;
  /** Against the reference (absent without one): the degraded input's and the result's scores. */
  metrics?: { psnr: { degraded: number; result: number }; ssim: { degraded: number; result: number } };
  fid?: {
    net: string;
    n: number;
    reference: string;
    edited: { fid: number; kid: number };
    degraded: { fid: number; kid: number };
    originals: { fid: number; kid: number };
  };
  files: string[];
  command: string;
  commit: string;
  dirty: boolean;
  backend: string;
  seed: number;
  wallSec: number;
}

/** Parse --mask. */
export function parseMask(spec: string, shape: readonly number[]): Float32Array {
  const [h, w, c] = shape as [number, number, number];
  if (spec === 'box' || spec === 'half') return makeMask({ kind: spec }, shape);
  if (spec.startsWith('box:')) {
    const v = spec.slice(4).split(',').map(Number);
    if (v.length !== 4 || v.some((x) => !Number.isInteger(x))) throw new RangeError(`--mask: expected box:x,y,width,height with integers, got '${spec}'`);
    const box: MaskSpec = { kind: 'box', x: v[0] as number, y: v[1] as number, width: v[2] as number, height: v[3] as number };
    return makeMask(box, shape);
  }
  if (spec.startsWith('random:')) {
    const rate = Number(spec.slice(7));
    return makeMask({ kind: 'random', rate: Number.isFinite(rate) ? rate : Number.NaN }, shape);
  }
  if (spec.toLowerCase().endsWith('.png')) return readPngMask(spec, h, w, c);
  throw new RangeError(`--mask: expected box, box:x,y,width,height, half, random:<rate> or a PNG file, got '${spec}'`);
}

function parseTestRange(input: string, testSize: number): number[] {
  const m = /^test:(\d+)(?:-(\d+))?$/.exec(input);
  if (!m) throw new RangeError(`--input: expected test:<index>, test:<first>-<last> or a PNG file, got '${input}'`);
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (b < a || b >= testSize) throw new RangeError(`--input: test indices must satisfy first <= last < ${testSize} (the run's test set), got '${input}'`);
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

function isTask(t: string): t is EditTask {
  return (EDIT_TASKS as readonly string[]).includes(t);
}

interface Loaded {
  cfg: TrainConfig;
  shape: [number, number, number];
  net: Network & { dispose(): void };
  weights: tf.Tensor[];
  step: number;
}

/** Build the task's problem from options (the checks that need no model happen here). */
export function editSpecFromOptions(task: EditTask, opts: EditOptions, shape: readonly [number, number, number]): EditSpec {
  switch (task) {
    case 'inpaint':
      return { task, mask: parseMask(opts.mask ?? 'box', shape) };
    case 'superres': {
      const factor = opts.factor ?? 2;
      if (factor !== 2 && factor !== 4) throw new RangeError(`--factor: expected 2 or 4, got ${factor}`);
      return { task, factor };
    }
    case 'colorize':
      if (shape[2] !== 3) {
        throw new RangeError(
          `--task colorize: needs an RGB model (3 channels), but ${opts.run} has ${shape[2]} channel(s); train one with --data fashion-mnist-color`,
        );
      }
      return { task };
    case 'denoise':
      return { task, sigma: opts.noiseSigma ?? 0.5, seed: opts.seed ?? 0 };
    case 'stroke':
      return { task };
    case 'interpolate':
      throw new RangeError('interpolate has no EditSpec (it starts from noise)');
  }
}

/** Run one editing task; writes `<out>/<task>.png`, `<out>/<task>-omega.png` (where there is Ω) and `<out>/<task>.json`. */
export async function runEdit(opts: EditOptions): Promise<EditRecord> {
  const t0 = Date.now();
  if (!isTask(opts.task)) throw new RangeError(`--task: expected one of ${EDIT_TASKS.join(', ')}, got '${opts.task}'`);
  const task = opts.task;
  const cfg = readRunConfig(opts.run);
  const shape = exampleShape(cfg.data);
  if (shape.length !== 3) throw new RangeError(`--run ${opts.run}: editing needs an image run, this one has ${cfg.data.kind} data`);
  const [h, w, c] = shape as [number, number, number];
  const sigmaMax = cfg.noise.sigmaMax;
  const sigmaMin = cfg.noise.sigmaMin;
  // checks that need no model first
  const spec = task === 'interpolate' ? null : editSpecFromOptions(task, opts, [h, w, c]);
  let sigmas = opts.sigmas ?? (task === 'denoise' ? [opts.noiseSigma ?? 0.5] : [...EDIT_DEFAULT_SIGMAS[task]]);
  if (task === 'interpolate' && !opts.sigmas) sigmas = [sigmaMax];
  validateSigmas(sigmas, sigmaMin, sigmaMax);
  if (task === 'denoise' && sigmas[0] !== (opts.noiseSigma ?? 0.5)) {
    throw new RangeError(
      `--sigmas: for denoising the chain starts at the input's noise level, so sigmas[0] must be --noise-sigma ${opts.noiseSigma ?? 0.5}, got ${sigmas[0]}`,
    );
  }
  const alphas = opts.alpha ?? [0, 0.25, 0.5, 0.75, 1];
  alphas.forEach((a, i) => {
    if (!(a >= 0 && a <= 1)) throw new RangeError(`--alpha[${i}]: expected an interpolation weight in [0, 1], got ${a}`);
  });
  const seed = opts.seed ?? 0;

  const backend = await initBackend(opts.backend ? { backend: opts.backend } : {});
  const loaded: Loaded = { cfg, shape: [h, w, c], ...loadRunWeights(opts.run, cfg, shape, 'ema') };
  const d = h * w * c;
  const input = opts.input ?? 'test:0-7';
  let reference: Float32Array | null = null;
  let given: Float32Array | null = null;
  let test: Float32Array | null = null;
  const needTest = input.startsWith('test:') || (task === 'inpaint' && (opts.fidN ?? 0) > 0);
  if (needTest) test = loadDataset(cfg.data, cfg.seed).test;
  if (task !== 'interpolate') {
    if (input.startsWith('test:')) {
      const idx = parseTestRange(input, (test as Float32Array).length / d);
      reference = new Float32Array(idx.length * d);
      idx.forEach((i, k) => (reference as Float32Array).set((test as Float32Array).subarray(i * d, (i + 1) * d), k * d));
    } else {
      // a PNG: the reference itself, except for colorization (a grey PNG is the degraded input) and strokes (the stroke)
      const img = readPngImage(input, h, w, c, { allowGrey: task === 'colorize' });
      if (task === 'stroke') given = img;
      else reference = img;
    }
  }
  const files: string[] = [];
  const common = { seed, shape, sigmaMin, sigmaMax, sigmaData: cfg.noise.sigmaData, sigmas };
  const step = loaded.step;
  const record: Omit<EditRecord, 'command' | 'commit' | 'dirty' | 'backend' | 'seed' | 'wallSec' | 'files'> = {
    task,
    run: opts.run,
    step,
    input: task === 'interpolate' ? `noise (seed ${seed})` : input,
    n: 0,
    sigmas,
    params: {},
  };
  fs.mkdirSync(opts.out, { recursive: true });
  const grid = path.join(opts.out, `${task}.png`);
  try {
    if (task === 'interpolate') {
      const pairs = opts.pairs ?? 4;
      const z = interpolationNoise(pairs, alphas, d, seed);
      const n = pairs * alphas.length;
      const x = await sampleConsistencyAsync(loaded.net, loaded.weights, { ...common, n, init: { kind: 'noise', z } });
      writeImageGrid(grid, x, n, h, w, c, alphas.length, {
        scale: upscaleFor(h),
        colLabels: alphas.map((a) => `α ${a}`),
        rowLabels: Array.from({ length: pairs }, (_, i) => `pair ${i + 1}`),
      });
      files.push(grid);
      record.n = n;
      record.params = { alpha: alphas, pairs };
    } else {
      const y = (reference ?? given) as Float32Array;
      const n = y.length / d;
      const problem: EditProblem =
        task === 'stroke' && given ? editProblem({ task: 'stroke', stroke: given }, given, shape) : editProblem(spec as EditSpec, y, shape);
      const x = await sampleConsistencyAsync(loaded.net, loaded.weights, {
        ...common,
        n,
        init: problem.init,
        ...(problem.project ? { project: problem.project } : {}),
      });
      const cols = reference ? 3 : 2;
      const tiles = new Float32Array(n * cols * d);
      for (let k = 0; k < n; k++) {
        const row = reference ? [reference, problem.degraded, x] : [problem.degraded, x];
        row.forEach((src, j) => tiles.set(src.subarray(k * d, (k + 1) * d), (k * cols + j) * d));
      }
      const degradedName = {
        inpaint: 'masked',
        superres: `low-res ×${(spec as { factor?: number }).factor ?? ''}`,
        colorize: 'grey',
        denoise: 'noisy',
        stroke: 'stroke',
      }[task];
      writeImageGrid(grid, tiles, n * cols, h, w, c, cols, {
        scale: upscaleFor(h),
        colLabels: reference ? ['reference', degradedName, 'result'] : [degradedName, 'result'],
        rowLabels: reference && input.startsWith('test:') ? parseTestRange(input, Number.MAX_SAFE_INTEGER).map((i) => `test ${i}`) : [path.basename(input)],
      });
      files.push(grid);
      if (problem.mask) {
        // Ω drawn in A's coefficient layout (white = regenerated), first image's mask
        const om = problem.mask.subarray(0, d).map((v) => 2 * v - 1);
        const omFile = path.join(opts.out, `${task}-omega.png`);
        writeImageGrid(omFile, om, 1, h, w, c, 1, { scale: upscaleFor(h), colLabels: [`Ω (${problem.map?.name})`] });
        files.push(omFile);
      }
      record.n = n;
      record.params =
        task === 'inpaint'
          ? { mask: opts.mask ?? 'box' }
          : task === 'superres'
            ? { factor: opts.factor ?? 2 }
            : task === 'denoise'
              ? { noiseSigma: opts.noiseSigma ?? 0.5 }
              : task === 'colorize'
                ? { map: 'orthogonal 3×3, first row = (0.2989, 0.5870, 0.1140) normalised' }
                : { stroke: given ? input : 'strokeImage(reference): 4×4 block means quantised to 4 levels' };
      if (reference) {
        record.metrics = {
          psnr: { degraded: psnr(problem.degraded, reference, shape), result: psnr(x, reference, shape) },
          ssim: { degraded: ssim(problem.degraded, reference, shape), result: ssim(x, reference, shape) },
        };
      }
      const fidN = opts.fidN ?? 0;
      if (task === 'inpaint' && fidN > 0 && test) {
        const nTest = test.length / d;
        if (2 * fidN > nTest) throw new RangeError(`--fid-n: at most ${Math.floor(nTest / 2)} (half the run's ${nTest} test images), got ${fidN}`);
        const originals = test.subarray(0, fidN * d);
        const ref = test.subarray((nTest - fidN) * d, nTest * d);
        const p = editProblem(spec as EditSpec, originals, shape);
        const edited = await sampleConsistencyAsync(loaded.net, loaded.weights, {
          ...common,
          n: fidN,
          init: p.init,
          ...(p.project ? { project: p.project } : {}),
        });
        const netName = opts.featureNet ?? 'fmnist-strided';
        const fnet = await loadFeatureNet(netName);
        try {
          const fr = imageFeatures(ref, fidN, [h, w, c], fnet);
          const score = (imgs: Float32Array): { fid: number; kid: number } => {
            const r = featureFidKid(imageFeatures(imgs, fidN, [h, w, c], fnet), fr, fnet.featureDim);
            return { fid: r.fid, kid: r.kid };
          };
          record.fid = {
            net: netName,
            n: fidN,
            reference: `the last ${fidN} test images`,
            edited: score(edited),
            degraded: score(p.degraded),
            originals: score(originals),
          };
        } finally {
          fnet.dispose();
        }
      }
    }
  } finally {
    loaded.net.dispose();
  }
  const git = gitInfo();
  const full: EditRecord = {
    ...record,
    files: files.map((f) => path.basename(f)),
    command: opts.command ?? `ctlab ${process.argv.slice(2).join(' ')}`,
    commit: git.commit,
    dirty: git.dirty,
    backend: backend.name,
    seed,
    wallSec: Math.round((Date.now() - t0) / 100) / 10,
  };
  writeJson(path.join(opts.out, `${task}.json`), full);
  return full;
}

/**
 * results/edit/README.md from the records under `root`: one row per `<data>/<case>/<task>.json`
 * (PSNR, SSIM, inpainting FID), links to the grids, and the NFE tables (`nfe-*`/table.md).
 */
export function writeEditSummary(root: string): string {
  const lines = ['# Zero-shot editing and steps against quality', ''];
  lines.push(
    'Built by `ctlab report --edit ' + root + '` from the records beside it; each record names its command, commit, backend, seed and wall time.',
    'PSNR and SSIM are against the reference test image, for the degraded input and for the result (images in [0, 1]; SSIM with a 7×7 Gaussian window).',
    '',
    '| data | case | σ list | PSNR degraded → result (dB) | SSIM degraded → result | FID (fmnist-strided): edited / degraded / originals | grid | record |',
    '|:-|:-|:-|-:|-:|:-|:-|:-|',
  );
  const dirs = fs.existsSync(root) ? fs.readdirSync(root).filter((d) => !d.startsWith('nfe') && fs.statSync(path.join(root, d)).isDirectory()) : [];
  for (const data of dirs.sort()) {
    for (const name of fs.readdirSync(path.join(root, data)).sort()) {
      const sub = path.join(root, data, name);
      if (!fs.statSync(sub).isDirectory()) continue;
      for (const f of fs.readdirSync(sub).filter((x) => x.endsWith('.json'))) {
        const r = JSON.parse(fs.readFileSync(path.join(sub, f), 'utf8')) as EditRecord;
        const m = r.metrics;
        const fid = r.fid ? `${r.fid.edited.fid.toFixed(1)} / ${r.fid.degraded.fid.toFixed(1)} / ${r.fid.originals.fid.toFixed(1)} (n ${r.fid.n})` : '';
        const rel = `${data}/${name}`;
        lines.push(
          `| ${data} | ${name} | ${r.sigmas.join(', ')} | ${m ? `${m.psnr.degraded.toFixed(2)} → ${m.psnr.result.toFixed(2)}` : '-'} | ${m ? `${m.ssim.degraded.toFixed(3)} → ${m.ssim.result.toFixed(3)}` : '-'} | ${fid} | [png](${rel}/${r.task}.png) | [json](${rel}/${f}) |`,
        );
      }
    }
  }
  for (const nfe of fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((d) => d.startsWith('nfe'))
        .sort()
    : []) {
    const md = path.join(root, nfe, 'table.md');
    if (!fs.existsSync(md)) continue;
    lines.push(
      '',
      `## ${nfe} ([curve](${nfe}/nfe.png), [interactive](${nfe}/nfe.html), [record](${nfe}/record.json))`,
      '',
      fs
        .readFileSync(md, 'utf8')
        .replace(/^## .*\n/, '')
        .trim(),
    );
  }
  const out = path.join(root, 'README.md');
  fs.writeFileSync(out, lines.join('\n') + '\n');
  return out;
}
