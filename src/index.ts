/**
 * ctlab public API: consistency models (CM, Song et al. 2023) and improved consistency training
 * (iCT, Song & Dhariwal 2023) in TypeScript. Re-exports only.
 */
// formulas: pure functions of numbers
export { karrasSigmas, type KarrasOptions } from './schedules/karras';
export { ctCurriculum, ictCurriculum, curriculumSize, type CtCurriculumOptions, type IctCurriculumOptions, type CurriculumSpec } from './schedules/curriculum';
export { teacherEma, type TeacherEmaSpec } from './schedules/teacher-ema';
export { gridSize, teacherEmaAt } from './training/ct-step';
export { lognormalNoiseProbs, uniformNoiseProbs, type LognormalOptions } from './schedules/noise-levels';
export { pseudoHuberC, distance, type DistanceKind } from './losses/distance';
export * from './constants';
export { isImageData, IMAGE_DATA_KINDS, type ImageDataKind } from './config/data-kind';
export { consistencyScalings, consistencyScalingsTensor, type Scalings, type ScalingOptions } from './consistency/scalings';
export { ictWeight, lossWeight, type WeightingKind } from './consistency/weighting';
export { consistencyFunction } from './consistency/model';
export { erf } from './util/erf';
export { Rng } from './util/rng';

// models
export { cNoise, embeddingFrequencies, embedNoiseLevel, embedNoise, type NoiseEmbeddingSpec } from './models/embedding';
export { Mlp, type MlpSpec } from './models/mlp';
export { buildNetwork } from './models/build';
export type { Network, ParamSpec, DropoutMasks } from './models/types';

// configuration
export * from './config';

// data
export { toy2d, TOY2D_NAMES, isToy2dName, describeToy2d, type Toy2dName, type Points2D } from './data/toy2d';
export { parsePointsCsv, readPointsCsv, CsvError } from './data/csv';
export { loadDataset, type Dataset } from './data/source';

// training, sampling, evaluation
export { train, createModelState, loadRunWeights, NonFiniteLossError, configHash, type TrainOptions, type TrainResult } from './training/trainer';
export { saveCheckpoint, loadCheckpoint, loadLatestCheckpoint, CheckpointError } from './training/checkpoint';
export { runPaths, readRunConfig, readMetrics, type MetricRecord } from './run/run-dir';
export { readRunJson, tryReadRunJson, readEval, readImageEval, readEvalMetrics, readPlan, readPlans, readJob, readAblationSummary, readQuickstartRecord, runStatus, finalEval, exportRecords, listRunDirs, planEntryDir } from './run/run-dir';
export { runJsonSchema, metricRecordSchema, trainMetricSchema, evalMetricSchema, evalFileSchema, pointsEvalSchema, imageEvalSchema, ablationPlanSchema, jobSchema, verdictSchema, ablationSummarySchema, quickstartRecordSchema, parseRecord, RecordError, verdictAgrees } from './run/records';
export type { RunJson, TrainMetric, EvalMetric, EvalFile, PointsEval, ImageEval, AblationPlan, PlanEntry, Job, Verdict, VerdictOutcome, AblationSummary, SummaryRow, MeanCiRecord, QuickstartRecord } from './run/records';
export { evaluateRunDir, type EvaluateRunOptions, type EvaluateRunResult } from './run/evaluate';
export { sampleConsistency, validateSigmas, type SampleOptions } from './sampling/multistep';
export { slicedWasserstein } from './metrics/sliced-wasserstein';
export { mmd, mmdSquared } from './metrics/mmd';
export { evaluateRun, sampleDistances, type EvalResult } from './metrics/evaluate';

// images: feature nets, FID/KID, the LPIPS-style distance, grids
export { loadFeatureNet, DEFAULT_FEATURE_NET, type FeatureNet } from './metrics/feature-net';
export { imageFeatures, featureFidKid, fashionMnistSubset, gaussianNoiseImages } from './metrics/image-eval';
export { frechetDistance } from './metrics/frechet';
export { kid, kidStats, polyMmd2, type KidOptions, type KidResult } from './metrics/kid';
export { createLpips, type PerceptualDistance } from './losses/lpips';
export { loadDefaultLpips, loadLpips } from './losses/lpips-weights';
export { writeImageGrid } from './data/images';
export { evaluateImageRun, type ImageRunEval } from './metrics/image-run-eval';

// ablations
export { ABLATIONS, findAblation, type Ablation, type Arm } from './experiments/ablations';
export { LOSS_NET, INDEPENDENT_NET, biasFit, biasExcess, biasFinding } from './experiments/evaluation-bias';

// backend, optimizers, reports
export { initBackend, currentBackend, describeBackend, BACKEND_NAMES, type BackendInfo, type BackendRequest } from './backend';
export { createOptimizer, type Optimizer } from './optim';
export * as report from './report';
export { runQuickstart } from './quickstart';
export * as notebook from './notebook';
