/**
 * Evaluation of a 2D run: 1-step and 2-step samples from the sampling EMA, compared with the
 * held-out set by sliced Wasserstein-2 (256 directions) and MMD² (multi-scale Gaussian kernel).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from '../config/schema';
import type { Network } from '../models/types';
import { sampleConsistency, sampleConsistencyAsync, type SampleOptions } from '../sampling/multistep';
import { mmdSquared } from './mmd';
import { slicedWasserstein } from './sliced-wasserstein';
import { edmNfe, edmSigmas, sampleEdm, type OdeSolver } from '../training/edm-step';
import { EDM_HEUN_STEPS } from '../constants';

export const EVAL_SAMPLE_SEED = 777;

export interface EvalResult {
  n: number;
  swd1: number;
  swd2: number;
  mmd1: number;
  mmd2: number;
  twoStepSigma: number;
  /** Denoiser / network calls behind swd1 and swd2 (1 and 2 for a consistency model). */
  nfe1?: number;
  nfe2?: number;
  /** EDM runs: the deterministic Heun sampler on the Karras grid (EDM Alg. 1). */
  heun?: { steps: number; nfe: number; swd: number; mmd: number };
}

/**
 * The σ lists an EDM run is scored on: Euler [σ_max, 0] (NFE 1) and [σ_max, twoStepSigma, 0] (NFE 2),
 * the same levels as a consistency model's 1- and 2-step samples, and Heun on EDM's own grid.
 */
export function edmEvalLists(cfg: TrainConfig, heunSteps = EDM_HEUN_STEPS): { euler1: number[]; euler2: number[]; heun: number[] } {
  return { euler1: [cfg.noise.sigmaMax, 0], euler2: [cfg.noise.sigmaMax, cfg.twoStepSigma, 0], heun: edmSigmas(heunSteps, cfg.noise) };
}

/** EDM samples along a σ list ending at 0, with the options of an evaluation. */
export function sampleEdmFor(
  cfg: TrainConfig,
  net: Network,
  weights: readonly tf.Tensor[],
  sigmas: number[],
  solver: OdeSolver,
  n: number,
  shape: readonly number[],
  seed = EVAL_SAMPLE_SEED,
): Promise<Float32Array> {
  return sampleEdm(net, weights, { sigmas, solver, n, seed, shape, sigmaData: cfg.noise.sigmaData });
}

/** Sliced Wasserstein-2 of samples against held-out data, as every evaluation of the kit computes it (256 directions). */
export function sampleSwd(samples: Float32Array, test: Float32Array, dim: number): number {
  return slicedWasserstein(samples, test, { dim, projections: 256, p: 2, seed: 0 });
}

/** Sample-vs-data distances for one set of samples. */
export function sampleDistances(samples: Float32Array, test: Float32Array, dim: number): { swd: number; mmd: number } {
  return { swd: sampleSwd(samples, test, dim), mmd: mmdSquared(samples, test, { dim }) };
}

/** The two σ lists evaluated: [σ_max] and [σ_max, σ_mid]. */
export function evalSigmaLists(cfg: TrainConfig): { oneStep: number[]; twoStep: number[] } {
  return { oneStep: [cfg.noise.sigmaMax], twoStep: [cfg.noise.sigmaMax, cfg.twoStepSigma] };
}

/**
 * In-training evaluation. Points: SWD and MMD² against the held-out set. Images: the same two
 * distances on raw pixels (cheap, for curves; FID/KID with feature networks is `ctlab eval`),
 * on at most 1000 held-out images.
 */
export function evaluateRun(
  cfg: TrainConfig,
  net: Network,
  weights: readonly tf.Tensor[],
  testAll: Float32Array,
  shape: readonly number[] = [net.dataDim],
): EvalResult {
  if (cfg.method?.kind === 'edm') throw new Error('evaluateRun: an EDM run samples asynchronously; use evaluateRunAsync');
  const e = evalSetup(cfg, net, testAll, shape);
  return evalDistances(cfg, net, e, sampleConsistency(net, weights, e.one), sampleConsistency(net, weights, e.two));
}

/** `evaluateRun` with the samples read back asynchronously (the trainer's form: webgpu in Node has no synchronous readback). */
export async function evaluateRunAsync(
  cfg: TrainConfig,
  net: Network,
  weights: readonly tf.Tensor[],
  testAll: Float32Array,
  shape: readonly number[] = [net.dataDim],
): Promise<EvalResult> {
  const e = evalSetup(cfg, net, testAll, shape);
  if (cfg.method?.kind === 'edm') {
    const l = edmEvalLists(cfg);
    const s1 = await sampleEdmFor(cfg, net, weights, l.euler1, 'euler', e.n, shape);
    const s2 = await sampleEdmFor(cfg, net, weights, l.euler2, 'euler', e.n, shape);
    const h = sampleDistances(await sampleEdmFor(cfg, net, weights, l.heun, 'heun', e.n, shape), e.test, net.dataDim);
    return { ...evalDistances(cfg, net, e, s1, s2), nfe1: 1, nfe2: 2, heun: { steps: EDM_HEUN_STEPS, nfe: edmNfe(l.heun, 'heun'), swd: h.swd, mmd: h.mmd } };
  }
  const s1 = await sampleConsistencyAsync(net, weights, e.one);
  return evalDistances(cfg, net, e, s1, await sampleConsistencyAsync(net, weights, e.two));
}

interface EvalSetup {
  n: number;
  test: Float32Array;
  one: SampleOptions;
  two: SampleOptions;
}

function evalSetup(cfg: TrainConfig, net: Network, testAll: Float32Array, shape: readonly number[]): EvalSetup {
  const maxN = net.dataDim > 2 ? 1000 : Infinity;
  const n = Math.min(testAll.length / net.dataDim, maxN);
  const test = testAll.subarray(0, n * net.dataDim);
  const common = { n, shape, seed: EVAL_SAMPLE_SEED, sigmaMin: cfg.noise.sigmaMin, sigmaMax: cfg.noise.sigmaMax, sigmaData: cfg.noise.sigmaData };
  const lists = evalSigmaLists(cfg);
  return { n, test, one: { ...common, sigmas: lists.oneStep }, two: { ...common, sigmas: lists.twoStep } };
}

function evalDistances(cfg: TrainConfig, net: Network, e: EvalSetup, s1: Float32Array, s2: Float32Array): EvalResult {
  const d1 = sampleDistances(s1, e.test, net.dataDim);
  const d2 = sampleDistances(s2, e.test, net.dataDim);
  return { n: e.n, swd1: d1.swd, swd2: d2.swd, mmd1: d1.mmd, mmd2: d2.mmd, twoStepSigma: cfg.twoStepSigma };
}
