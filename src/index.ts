/**
 * ctlab public API for Node: consistency models (CM, Song et al. 2023) and improved consistency
 * training (iCT, Song & Dhariwal 2023) in TypeScript. Re-exports only: the browser-safe core
 * (`ctlab/core`, src/core.ts) and the Node shell (backends, files, run directories, CLI pieces,
 * reports, notebook helpers).
 */
export * from './core';

// data from files
export { parsePointsCsv, readPointsCsv, CsvError } from './data/csv';
export { loadDataset, type Dataset } from './data/source';
export { writeImageGrid, upscaleFor, readPngImage, readPngMask } from './data/images';
export { FASHION_MNIST_CLASS_COLORS, tintByClass } from './data/source';

// training loop, checkpoint files, run directories
export { train, loadRunWeights, NonFiniteLossError, WriteFailedError, configHash, type TrainOptions, type TrainResult } from './training/trainer';
export { saveCheckpoint, loadCheckpoint, loadLatestCheckpoint } from './training/checkpoint';
export { checkTeacher, loadTeacher, TeacherError, type TeacherProvenance } from './training/teacher';
export {
  DISTILL_EXPERIMENTS,
  findDistillExperiment,
  runDistill,
  summarizeDistill,
  reportDistill,
  type DistillExperiment,
  type DistillSummary,
} from './experiments/distill';
export { runPaths, readRunConfig, readMetrics, type MetricRecord } from './run/run-dir';
export {
  readRunJson,
  tryReadRunJson,
  readEval,
  readImageEval,
  readEvalMetrics,
  readPlan,
  readPlans,
  readJob,
  readAblationSummary,
  readQuickstartRecord,
  runStatus,
  finalEval,
  exportRecords,
  listRunDirs,
  planEntryDir,
} from './run/run-dir';
export { evaluateRunDir, type EvaluateRunOptions, type EvaluateRunResult } from './run/evaluate';

// images: feature nets from disk, FID/KID of image sets, LPIPS weights
export { loadFeatureNet } from './metrics/feature-net';
export { imageFeatures, featureFidKid, fashionMnistSubset, gaussianNoiseImages } from './metrics/image-eval';
export { loadDefaultLpips, loadLpips } from './losses/lpips-weights';
export { evaluateImageRun, type ImageRunEval } from './metrics/image-run-eval';

// ablations
export { ABLATIONS, findAblation, type Ablation, type Arm } from './experiments/ablations';
export { LOSS_NET, INDEPENDENT_NET, biasFit, biasExcess, biasFinding } from './experiments/evaluation-bias';

// zero-shot editing and the steps-vs-quality experiment
export { runEdit, parseMask, EDIT_DEFAULT_SIGMAS, type EditOptions, type EditRecord } from './experiments/edit';
export {
  runNfe,
  parseArm,
  defaultSampler,
  NFE_SAMPLERS,
  NFE_EDM_STEPS,
  type NfeArm,
  type NfeSampler,
  type NfeOptions,
  type NfeArmResult,
} from './experiments/nfe';

// backend, reports, notebooks
export { initBackend, currentBackend, describeBackend, BACKEND_NAMES, type BackendInfo, type BackendRequest } from './backend';
export * as report from './report';
export { runQuickstart } from './quickstart';
export * as notebook from './notebook';
export { runDoctor, type Check as DoctorCheck, type DoctorOptions } from './doctor';
