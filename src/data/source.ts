/**
 * Resolve a data config into a training set and a held-out set of 2D points.
 * Toy sets: the training set is drawn with the run's seed; the held-out set with a fixed seed of
 * its own, so every run and seed is evaluated against the same points. CSV: a seeded split.
 */
import type { DataConfig } from '../config/schema';
import { Rng } from '../util/rng';
import { readPointsCsv } from './csv';
import { describeToy2d, isToy2dName, TOY2D_NAMES, TOY2D_TEST_SEED, toy2d } from './toy2d';

export { TOY2D_TEST_SEED } from './toy2d';
import { loadFashionMnist } from './idx';
import { resizeImages, shuffleIndices, toModelRange } from './images';

/** Seed of every toy set's held-out split (independent of the runs' seeds). */
const SPLIT_STREAM = 0x5917;

export interface Dataset {
  /** Row-major examples: [n, ...shape]. Points as-is; images in [−1, 1] (the range σ_data = 0.5 assumes). */
  train: Float32Array;
  test: Float32Array;
  /** Values per example (2 for points, H·W·C for images). */
  dim: number;
  /** Shape of one example: [2] for points, [H, W, C] for images. */
  shape: number[];
  description: string;
}

/**
 * The fixed class colours of `--data fashion-mnist-color` (RGB u8, chosen by hand to be distinct and
 * bright enough to see): pixel u of a class-k image becomes round(u·colour_k/255) per channel, so the
 * black background stays black and the garment's grey level scales its colour.
 */
export const FASHION_MNIST_CLASS_COLORS: readonly { name: string; rgb: readonly [number, number, number] }[] = [
  { name: 'T-shirt/top: red', rgb: [230, 60, 50] },
  { name: 'Trouser: blue', rgb: [60, 110, 230] },
  { name: 'Pullover: green', rgb: [60, 190, 70] },
  { name: 'Dress: magenta', rgb: [210, 70, 200] },
  { name: 'Coat: orange', rgb: [240, 150, 40] },
  { name: 'Sandal: cyan', rgb: [50, 200, 210] },
  { name: 'Shirt: yellow', rgb: [230, 220, 60] },
  { name: 'Sneaker: purple', rgb: [140, 90, 230] },
  { name: 'Bag: brown', rgb: [170, 110, 60] },
  { name: 'Ankle boot: pink', rgb: [250, 150, 170] },
];

/** Grey u8 images [n, h, w, 1] and their classes → RGB u8 [n, h, w, 3], each tinted by its class colour. */
export function tintByClass(grey: Uint8Array, labels: ArrayLike<number>, n: number, hw: number): Uint8Array {
  if (grey.length !== n * hw) throw new RangeError(`tintByClass: ${grey.length} pixels, expected n·h·w = ${n * hw}`);
  const out = new Uint8Array(n * hw * 3);
  for (let k = 0; k < n; k++) {
    const color = FASHION_MNIST_CLASS_COLORS[labels[k] as number];
    if (!color) throw new RangeError(`tintByClass: label ${labels[k]} of image ${k} is not a class in 0..9`);
    for (let p = 0; p < hw; p++) {
      const u = grey[k * hw + p] as number;
      for (let ch = 0; ch < 3; ch++) out[(k * hw + p) * 3 + ch] = Math.round((u * (color.rgb[ch] as number)) / 255);
    }
  }
  return out;
}

/** Fashion-MNIST at size×size in [−1, 1]: a seeded subset of the training split, the first n test images; tinted by class with `color`. */
function loadFashionMnistDataset(cfg: Extract<DataConfig, { kind: 'fashion-mnist' }>, seed: number): Dataset {
  const opts = cfg.dataDir ? { dataDir: cfg.dataDir } : {};
  const train = loadFashionMnist({ split: 'train', ...opts });
  const test = loadFashionMnist({ split: 'test', ...opts });
  if (cfg.trainSize > train.n) throw new RangeError(`config.data.trainSize: at most ${train.n}, got ${cfg.trainSize}`);
  if (cfg.testSize > test.n) throw new RangeError(`config.data.testSize: at most ${test.n}, got ${cfg.testSize}`);
  const s = cfg.size;
  const px = 28 * 28;
  const perm = shuffleIndices(train.n, seed);
  const pickTrain = new Uint8Array(cfg.trainSize * px);
  for (let i = 0; i < cfg.trainSize; i++) pickTrain.set(train.images.subarray((perm[i] as number) * px, ((perm[i] as number) + 1) * px), i * px);
  const pickTest = test.images.subarray(0, cfg.testSize * px);
  const c = cfg.color === 'class-tint' ? 3 : 1;
  const prep = (u8: Uint8Array, n: number, labels: ArrayLike<number>): Float32Array => {
    const small = s === 28 ? u8 : resizeImages(u8, n, 28, 28, 1, s, s, 'area');
    return toModelRange(c === 3 ? tintByClass(small, labels, n, s * s) : small);
  };
  const trainLabels = Array.from({ length: cfg.trainSize }, (_, i) => train.labels[perm[i] as number] as number);
  return {
    train: prep(pickTrain, cfg.trainSize, trainLabels),
    test: prep(pickTest, cfg.testSize, test.labels.subarray(0, cfg.testSize)),
    dim: s * s * c,
    shape: [s, s, c],
    description: `Fashion-MNIST ${s}×${s}${c === 3 ? ' tinted by class (RGB)' : ''} (${cfg.trainSize} training images by seed ${seed}, first ${cfg.testSize} test images)`,
  };
}

export function loadDataset(cfg: DataConfig, seed: number): Dataset {
  if (cfg.kind === 'toy2d') {
    if (!isToy2dName(cfg.name)) {
      throw new Error(`config.data.name: unknown toy set '${cfg.name}', expected one of ${TOY2D_NAMES.join(', ')} (or give a CSV file)`);
    }
    return {
      train: toy2d(cfg.name, cfg.trainSize, seed),
      test: toy2d(cfg.name, cfg.testSize, TOY2D_TEST_SEED),
      dim: 2,
      shape: [2],
      description: describeToy2d(cfg.name),
    };
  }
  if (cfg.kind === 'fashion-mnist') return loadFashionMnistDataset(cfg, seed);
  const all = readPointsCsv(cfg.path);
  const n = all.length / 2;
  const nTest = Math.max(1, Math.round(n * cfg.testFraction));
  if (n - nTest < 1) throw new Error(`config.data.path: ${cfg.path} has ${n} points, too few to split off a test set`);
  const perm = new Rng(seed, SPLIT_STREAM).permutation(n);
  const pick = (from: number, to: number): Float32Array => {
    const out = new Float32Array(2 * (to - from));
    for (let i = from; i < to; i++) {
      const j = perm[i] as number;
      out[2 * (i - from)] = all[2 * j] as number;
      out[2 * (i - from) + 1] = all[2 * j + 1] as number;
    }
    return out;
  };
  return {
    train: pick(nTest, n),
    test: pick(0, nTest),
    dim: 2,
    shape: [2],
    description: `${n} points from ${cfg.path} (${n - nTest} train / ${nTest} test, split by seed ${seed})`,
  };
}

/**
 * The data config for a `--data` value: a toy set's name, or a path ending in .csv.
 */
export function dataConfigFromArg(arg: string, base: DataConfig): DataConfig {
  if (arg.toLowerCase().endsWith('.csv')) return { kind: 'csv', path: arg, testFraction: 0.1 };
  if (arg === 'fashion-mnist' || arg === 'fashion-mnist-color') {
    const grey: Extract<DataConfig, { kind: 'fashion-mnist' }> = { kind: 'fashion-mnist', size: 16, trainSize: 60000, testSize: 10000 };
    if (base.kind === 'fashion-mnist') {
      Object.assign(grey, base);
      delete grey.color;
    }
    return arg === 'fashion-mnist' ? grey : { ...grey, color: 'class-tint' };
  }
  if (!isToy2dName(arg)) {
    throw new Error(`--data: expected a toy set (${TOY2D_NAMES.join(', ')}), fashion-mnist, fashion-mnist-color, or a .csv file of x,y points, got '${arg}'`);
  }
  const sizes = base.kind === 'toy2d' ? { trainSize: base.trainSize, testSize: base.testSize } : { trainSize: 20000, testSize: 2000 };
  return { kind: 'toy2d', name: arg, ...sizes };
}

/** Shape of one example of a data config, without loading the data. */
export function exampleShape(cfg: DataConfig): number[] {
  return cfg.kind === 'fashion-mnist' ? [cfg.size, cfg.size, cfg.color === 'class-tint' ? 3 : 1] : [2];
}
