/**
 * ctlab/core: the browser-safe half of the kit. Everything here depends only on TF.js's core API
 * (`@tensorflow/tfjs-core`), zod and @noble/hashes: no node: module, no file, no backend choice.
 * A page registers a backend itself (wasm, webgl, webgpu) and calls the same schedules, config
 * schema, networks, CT step, sampler and metric math as the CLI. The Node shell (`ctlab`) re-exports
 * all of it and adds backends, files and run directories, the CLI, reports and notebook helpers.
 *
 * In a page: import a backend ('@tensorflow/tfjs-backend-wasm', '-webgl', '-cpu') and, for training,
 * TF.js's gradients ('@tensorflow/tfjs-core/dist/register_all_gradients'; tfjs-core alone registers
 * none, the '@tensorflow/tfjs' package does) before calling trainStep.
 */
// paper constants and schedules: pure functions of numbers
export * from './constants';
export { karrasSigmas, type KarrasOptions } from './schedules/karras';
export { ctCurriculum, ictCurriculum, curriculumSize, type CtCurriculumOptions, type IctCurriculumOptions, type CurriculumSpec } from './schedules/curriculum';
export { targetEma, type TargetSpec } from './schedules/target-ema';
export { lognormalNoiseProbs, uniformNoiseProbs, type LognormalOptions } from './schedules/noise-levels';
export { erf } from './util/erf';
export { Rng } from './util/rng';
export { ADAM_KERNEL, EMA_KERNEL, GROUP_NORM_KERNEL, GROUP_NORM_GRAD_KERNEL, type FusedAdamAttrs, type GroupNormAttrs } from './kernels';

// configuration and the run records' schemas
export * from './config';
export * from './run/records';

// the CM parametrization, weighting, distances
export { consistencyScalings, consistencyScalingsTensor, type Scalings, type ScalingOptions } from './consistency/scalings';
export { ictWeight, lossWeight, type WeightingKind } from './consistency/weighting';
export { consistencyFunction } from './consistency/model';
export { pseudoHuberC, distance, type DistanceKind } from './losses/distance';
export { createLpips, lpipsFromLayers, LpipsBackbone, type PerceptualDistance, type CreateLpipsOptions } from './losses/lpips';

// networks and optimizers
export { cNoise, embeddingFrequencies, embedNoiseLevel, embedNoise, type NoiseEmbeddingSpec } from './models/embedding';
export { Mlp, type MlpSpec } from './models/mlp';
export { UNetNetwork, type UNetConfig, type UNetNetworkSpec } from './models/unet';
export { groupNorm, groupNormSilu, groupNormReference, hasFusedGroupNorm } from './models/groupnorm';
export { buildNetwork } from './models/build';
export type { Network, ParamSpec, DropoutMasks } from './models/types';
export { createOptimizer, type Optimizer, type OptimizerConfig } from './optim';

// training step, checkpoint bytes, sampling
export {
  trainStep,
  stepContext,
  drawStep,
  ctLossAndGrads,
  gridSize,
  targetEmaAt,
  NoiseLevelTable,
  type StepContext,
  type StepResult,
  type StepDraw,
} from './training/ct-step';
export { createModelState, type ModelState } from './training/model-state';
export {
  edmScalings,
  edmLossWeight,
  edmDenoise,
  edmSigmas,
  edmNfe,
  pfOdeStep,
  sampleEdm,
  cdTeacherStep,
  drawEdmStep,
  edmLossAndGrads,
  edmTrainStep,
  type EdmScalings,
  type Denoiser,
  type OdeSolver,
  type DistillTeacher,
  type EdmSampleOptions,
} from './training/edm-step';
export { TrainingSession, NonFiniteSessionLoss, type SessionData, type SessionStatus } from './training/session';
export { encodeCheckpoint, decodeCheckpoint, CheckpointError, type Checkpoint, type CheckpointTensor } from './training/checkpoint-codec';
export { sampleConsistency, sampleConsistencyAsync, validateSigmas, type SampleOptions, type SampleInit, type ProjectHook } from './sampling/multistep';
export * from './sampling/edit';
export { greedySigmaSearch, type SigmaSearchOptions, type SigmaSearchResult } from './sampling/sigma-search';
export { psnr, ssim } from './metrics/image-quality';

// data that needs no file, metric math, feature nets on given weights
export { toy2d, TOY2D_NAMES, isToy2dName, describeToy2d, type Toy2dName, type Points2D } from './data/toy2d';
export { slicedWasserstein, type SlicedWassersteinOptions } from './metrics/sliced-wasserstein';
export { mmd, mmdSquared, type MmdOptions } from './metrics/mmd';
export { evaluateRun, evaluateRunAsync, sampleDistances, sampleSwd, type EvalResult } from './metrics/evaluate';
export { frechetDistance } from './metrics/frechet';
export { kid, kidStats, polyMmd2, type KidOptions, type KidResult } from './metrics/kid';
export { ClassifierFeatureNet, DEFAULT_FEATURE_NET, prepareImages, type FeatureNet } from './metrics/features';
export { SHIPPED_FEATURE_NETS, type ShippedFeatureNetName } from './metrics/classifiers';

// figure specs (plain plotly.js objects)
export { scatterFigure, lineFigure, barFigure, PALETTE, type Figure, type PointSeries, type LineSeries, type BarSeries } from './report/figures';
