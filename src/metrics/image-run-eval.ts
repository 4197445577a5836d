/**
 * Evaluation of an image run: FID and KID of 1-step and 2-step samples against the held-out test
 * images, with each feature network (the two shipped Fashion-MNIST classifiers by default, so the
 * bias of a loss built on one evaluator's features shows against the other), beside the floor
 * (training images vs the same reference) and the ceiling (Gaussian noise) at the same n and size.
 */
import type * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../config/schema';
import type { Dataset } from '../data/source';
import type { Network } from '../models/types';
import { sampleConsistency } from '../sampling/multistep';
import { Rng } from '../util/rng';
import { loadFeatureNet } from './feature-net';
import { featureFidKid, imageFeatures } from './image-eval';

export const DEFAULT_EVAL_NETS = ['fmnist-cnn', 'fmnist-strided'];

export interface ImageScore {
  fid: number;
  kid: number;
}

export interface ImageRunEval {
  n: number;
  shape: [number, number, number];
  nets: string[];
  sigmas: { oneStep: number[]; twoStep: number[] };
  /** Per feature net: FID/KID of the 1-step and 2-step samples, of training images (floor) and of noise (ceiling). */
  scores: Record<string, { oneStep: ImageScore; twoStep: ImageScore; floor: ImageScore; ceiling: ImageScore; extra?: Record<string, ImageScore> }>;
  /** The samples themselves (for grids), row-major [n, H, W, C] in [−1, 1]. */
  samples: { oneStep: Float32Array; twoStep: Float32Array };
}

export async function evaluateImageRun(
  cfg: TrainConfig,
  net: Network,
  weights: readonly tf.Tensor[],
  data: Dataset,
  opts: {
    n?: number;
    nets?: string[];
    twoStep?: number[];
    seed?: number;
    /** Samples drawn by another sampler (an EDM run's ODE solves): given n images each, scored instead of consistency samples. */
    sampler?: (n: number) => Promise<{ oneStep: Float32Array; twoStep: Float32Array; extra?: Record<string, Float32Array> }>;
  } = {},
): Promise<ImageRunEval> {
  const shape = data.shape as [number, number, number];
  const per = data.dim;
  const n = Math.min(opts.n ?? 2000, data.test.length / per, data.train.length / per);
  const common = { n, shape, seed: opts.seed ?? 777, sigmaMin: cfg.noise.sigmaMin, sigmaMax: cfg.noise.sigmaMax, sigmaData: cfg.noise.sigmaData };
  const sigmas = { oneStep: [cfg.noise.sigmaMax], twoStep: opts.twoStep ?? [cfg.noise.sigmaMax, cfg.twoStepSigma] };
  const given = opts.sampler ? await opts.sampler(n) : null;
  const oneStep = given ? given.oneStep : sampleConsistency(net, weights, { ...common, sigmas: sigmas.oneStep });
  const twoStep = given ? given.twoStep : sampleConsistency(net, weights, { ...common, sigmas: sigmas.twoStep });
  const ref = data.test.subarray(0, n * per);
  const floorImages = data.train.subarray(0, n * per); // training images: what a perfect generator would score
  const noise = new Rng(4242, 1).fillNormal(new Float32Array(n * per)).map((v) => Math.max(-1, Math.min(1, v)));
  const nets = opts.nets ?? DEFAULT_EVAL_NETS;
  const scores: ImageRunEval['scores'] = {};
  for (const name of nets) {
    const fnet = await loadFeatureNet(name);
    try {
      const d = fnet.featureDim;
      const fr = imageFeatures(ref, n, shape, fnet);
      const score = (x: Float32Array): ImageScore => {
        const r = featureFidKid(imageFeatures(x, n, shape, fnet), fr, d);
        return { fid: r.fid, kid: r.kid };
      };
      scores[name] = { oneStep: score(oneStep), twoStep: score(twoStep), floor: score(floorImages), ceiling: score(noise) };
      if (given?.extra) scores[name].extra = Object.fromEntries(Object.entries(given.extra).map(([k, v]) => [k, score(v)]));
    } finally {
      fnet.dispose();
    }
  }
  return { n, shape, nets, sigmas, scores, samples: { oneStep, twoStep } };
}
