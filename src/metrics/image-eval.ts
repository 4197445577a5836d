/**
 * FID and KID of image samples with a feature network (./feature-net), and the data floor and
 * noise ceiling to report beside a model's numbers.
 *
 * Features come from batched forward passes of the net (float32 on the backend) and are copied into
 * float64; the Fréchet distance and KID are then computed in float64 (./frechet). Keep featureDim
 * small (the shipped nets: 128 and 96): the Jacobi eigen-solve is O(d³) per sweep.
 *
 * These numbers are FIDs *in the feature space of a small Fashion-MNIST classifier*, not the
 * Inception FIDs of the papers: they rank models on this data set, they are not comparable to
 * published values. For the Inception FID, convert an Inception-v3 to a TF.js graph model and load
 * it with `loadFeatureNet('<dir>#<pool node>')`.
 */
import * as tf from '@tensorflow/tfjs';
import { loadFashionMnist } from '../data/idx';
import { gatherImages, shuffleIndices, toModelRange } from '../data/images';
import { Rng } from '../util/rng';
import type { FeatureNet } from './feature-net';
import { frechetDistance } from './frechet';
import { kidStats, type KidOptions } from './kid';

export interface ImageFeatureOptions {
  /** Images per forward pass (default 250). */
  batchSize?: number;
}

export interface ImageFidKidOptions extends ImageFeatureOptions {
  /** KID subsets (defaults here: 20 subsets of min(1000, n, nRef) rows, seed 0). */
  kid?: KidOptions;
}

export interface ImageFidKidResult {
  fid: number;
  /** KID (mean over subsets of the unbiased cubic-kernel MMD²). */
  kid: number;
  /** Standard deviation of KID over its subsets. */
  kidStd: number;
  /** Number of samples and of reference images. */
  n: number;
  nRef: number;
  /** The evaluator. */
  net: string;
  featureDim: number;
}

/** Default KID options used by this module (fewer subsets than clean-fid's 100: JS is slow at it). */
export const IMAGE_KID_DEFAULTS: Required<Omit<KidOptions, 'maxGramEntries'>> = { subsets: 20, subsetSize: 1000, seed: 0 };

function checkShape(shape: readonly number[]): [number, number, number] {
  if (shape.length !== 3 || shape.some((v) => !Number.isInteger(v) || v <= 0)) {
    throw new RangeError(`image-eval: shape must be [H, W, C] of positive integers, got [${shape.join(', ')}]`);
  }
  return [shape[0] as number, shape[1] as number, shape[2] as number];
}

/**
 * Features of n NHWC images (flat Float32Array in [−1, 1]) as a row-major [n, featureDim]
 * Float64Array. Batched; every intermediate tensor is disposed.
 */
export function imageFeatures(
  images: Float32Array,
  n: number,
  shape: readonly [number, number, number],
  net: FeatureNet,
  opts: ImageFeatureOptions = {},
): Float64Array {
  const [h, w, c] = checkShape(shape);
  const per = h * w * c;
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`imageFeatures: n must be a positive integer, got ${n}`);
  if (images.length !== n * per) throw new RangeError(`imageFeatures: ${images.length} values, expected n·H·W·C = ${n}·${per} = ${n * per}`);
  const bs = opts.batchSize ?? 250;
  if (!Number.isInteger(bs) || bs <= 0) throw new RangeError(`imageFeatures: batchSize must be a positive integer, got ${bs}`);
  const d = net.featureDim;
  const out = new Float64Array(n * d);
  for (let s = 0; s < n; s += bs) {
    const b = Math.min(bs, n - s);
    const f = tf.tidy(() => net.features(tf.tensor4d(images.subarray(s * per, (s + b) * per), [b, h, w, c])));
    const data = f.dataSync();
    f.dispose();
    if (data.length !== b * d) throw new Error(`imageFeatures: net ${net.name} returned ${data.length} values for ${b} images, expected ${b}·${d}`);
    out.set(data, s * d);
  }
  return out;
}

/** FID and KID between two feature sets (rows of length d), in float64. */
export function featureFidKid(a: Float64Array, b: Float64Array, d: number, kidOpts: KidOptions = {}): { fid: number; kid: number; kidStd: number } {
  const fid = frechetDistance(a, b, d);
  const k = kidStats(a, b, d, { ...IMAGE_KID_DEFAULTS, ...kidOpts });
  return { fid, kid: k.mean, kidStd: k.std };
}

/**
 * FID and KID of n sample images against reference images (the reference count is
 * ref.length / (H·W·C)), both NHWC flat Float32Arrays in [−1, 1] of shape [H, W, C]; images of
 * another size than the net's input are resized by the net.
 */
export function imageFidKid(
  samples: Float32Array,
  ref: Float32Array,
  n: number,
  shape: readonly [number, number, number],
  net: FeatureNet,
  opts: ImageFidKidOptions = {},
): ImageFidKidResult {
  const [h, w, c] = checkShape(shape);
  const per = h * w * c;
  if (ref.length % per !== 0 || ref.length === 0)
    throw new RangeError(`imageFidKid: reference has ${ref.length} values, not a positive multiple of H·W·C = ${per}`);
  const nRef = ref.length / per;
  if (n < 2 || nRef < 2) throw new RangeError(`imageFidKid: need at least 2 samples and 2 reference images, got ${n} and ${nRef}`);
  const fa = imageFeatures(samples, n, shape, net, opts);
  const fb = imageFeatures(ref, nRef, shape, net, opts);
  const r = featureFidKid(fa, fb, net.featureDim, opts.kid);
  return { ...r, n, nRef, net: net.name, featureDim: net.featureDim };
}

// ---------------------------------------------------------------------------------------------
// Floor and ceiling

export interface FashionSubsetOptions {
  /** Folder with the Fashion-MNIST files (default: Debian's). */
  dataDir?: string;
}

/**
 * n Fashion-MNIST images of a split in [−1, 1], NHWC [n, 28, 28, 1] flat: the first n of the
 * seeded permutation shuffleIndices(splitSize, seed) — a pure function of (split, n, seed).
 */
export function fashionMnistSubset(split: 'train' | 'test', n: number, seed: number, opts: FashionSubsetOptions = {}): Float32Array {
  const ds = loadFashionMnist({ split, ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}) });
  if (!Number.isInteger(n) || n <= 0 || n > ds.n) throw new RangeError(`fashionMnistSubset: n must be in 1..${ds.n}, got ${n}`);
  const idx = shuffleIndices(ds.n, seed).subarray(0, n);
  return toModelRange(gatherImages(ds.images, 784, idx));
}

/** n images of i.i.d. N(0, 1) pixels clipped to [−1, 1] (seeded). */
export function gaussianNoiseImages(n: number, shape: readonly [number, number, number], seed: number): Float32Array {
  const [h, w, c] = checkShape(shape);
  const out = new Rng(seed, 0x9a55).fillNormal(new Float32Array(n * h * w * c));
  for (let i = 0; i < out.length; i++) out[i] = Math.max(-1, Math.min(1, out[i] as number));
  return out;
}

export interface FloorCeilingOptions extends ImageFidKidOptions, FashionSubsetOptions {
  /** Images per set (default 1000; use the sample count of the model FIDs it is reported beside). */
  n?: number;
  /** Seed of the subsets and of the noise (default 0). */
  seed?: number;
}

export interface FloorCeilingResult {
  n: number;
  net: string;
  featureDim: number;
  /** n test images against n training images: what a perfect model would score at this n. */
  floor: { fid: number; kid: number; kidStd: number };
  /** n test images against n Gaussian-noise images (N(0,1) clipped to [−1, 1]). */
  ceiling: { fid: number; kid: number; kidStd: number };
}

/**
 * The FID/KID floor and ceiling for Fashion-MNIST at a sample count n with a net: the reference is
 * n images of the test split; the floor compares it with n images of the training split (disjoint
 * from the test split, so this is the sampling noise plus the train/test gap a perfect generator
 * would still show), the ceiling with n noise images. Report both beside model FIDs computed at
 * the same n against the same reference.
 */
export function dataFloorCeiling(net: FeatureNet, opts: FloorCeilingOptions = {}): FloorCeilingResult {
  const n = opts.n ?? 1000;
  const seed = opts.seed ?? 0;
  const shape: [number, number, number] = [28, 28, 1];
  const sub = opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {};
  const ref = imageFeatures(fashionMnistSubset('test', n, seed, sub), n, shape, net, opts);
  const train = imageFeatures(fashionMnistSubset('train', n, seed + 1, sub), n, shape, net, opts);
  const noise = imageFeatures(gaussianNoiseImages(n, shape, seed), n, shape, net, opts);
  const d = net.featureDim;
  return {
    n,
    net: net.name,
    featureDim: d,
    floor: featureFidKid(train, ref, d, opts.kid),
    ceiling: featureFidKid(noise, ref, d, opts.kid),
  };
}
