/**
 * One typed training configuration covering every iCT ablation axis, validated with zod before
 * any training starts. Errors name the field and what it expected.
 */
import { z } from 'zod';
import { isImageData } from './data-kind';
import type { DeepPartial } from './merge';

const positive = z.number().finite().positive();
const positiveInt = z.number().int().positive();

export const embeddingSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('fourier'),
    scale: positive, // std of the fixed frequencies: 16 in CM (OAI-C10), 0.02 in iCT (Sec. 3.1)
    dim: positiveInt.refine((d) => d % 2 === 0, 'expected an even number'),
  }),
  z.strictObject({
    kind: z.literal('positional'),
    dim: positiveInt.refine((d) => d % 2 === 0, 'expected an even number'),
  }),
]);

export const modelSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('mlp'),
    hidden: positiveInt, // width of each hidden layer
    depth: positiveInt, // number of hidden layers
    embedding: embeddingSchema,
    dropout: z.number().min(0).lt(1), // 0 in CM, 0.3 on CIFAR-10 in iCT (Sec. 3.1)
  }),
  z.strictObject({
    kind: z.literal('unet'),
    channels: z.array(positiveInt).min(1).max(4), // width per resolution level, e.g. [32, 64]
    numResBlocks: positiveInt, // residual blocks per level
    embedding: embeddingSchema,
    dropout: z.number().min(0).lt(1),
    groups: positiveInt, // GroupNorm groups; must divide every width
    // Self-attention at the lowest resolution (ADM/NCSN++ style); absent = none. The object has no
    // default, so an absent field stays absent and configs (and hashes) without it are unchanged.
    attention: z.strictObject({ heads: positiveInt.default(1) }).optional(), // heads must divide channels[-1]
  }),
]);

export const dataSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('toy2d'),
    name: z.string().min(1),
    trainSize: positiveInt,
    testSize: positiveInt,
  }),
  z.strictObject({
    kind: z.literal('csv'),
    path: z.string().min(1),
    testFraction: z.number().gt(0).lt(1),
  }),
  z.strictObject({
    kind: z.literal('fashion-mnist'),
    /** Folder with the four IDX files; default: Debian's /usr/share/datasets/fashion-mnist. */
    dataDir: z.string().min(1).optional(),
    size: z.number().int().min(4).max(28), // images are area-resized from 28×28 to size×size
    trainSize: positiveInt, // first n of a seeded shuffle of the 60k training images
    testSize: positiveInt, // first n of the 10k test images (the held-out set)
    /** 'class-tint': each image tinted by its class's fixed colour (data/source.ts), 3 channels; absent: grey, 1 channel. */
    color: z.literal('class-tint').optional(),
  }),
]);

/**
 * The consistency target θ⁻ (`config.target`): the network f_θ⁻ the student is pulled towards. Not a
 * teacher: `teacher` means only a pre-trained diffusion model (config.method.teacher, CD). Before
 * this field was renamed, run records spelled it `teacher` with `none` for stopgrad; such records
 * are migrated when read ({@link migrateStoredConfig}), configs written by hand are refused.
 */
export const targetSchema = z.discriminatedUnion('kind', [
  // θ⁻ ← μ(k)θ⁻ + (1 − μ(k))θ with CT's adaptive μ(k) (CM; OAI-CM create_ema_and_scales_fn)
  z.strictObject({
    kind: z.literal('ema'),
    mu0: z.number().gt(0).lt(1), // 0.9 on CIFAR-10 (OAI-C10), 0.95 on ImageNet-64 (OAI-CM)
    s0: z.number().int().min(1), // the s0 in μ(k) = exp(s0 ln μ0 / (N(k) − 1)); 2 in CM
    form: z.enum(['code', 'paper']), // denominator N(k) − 1 (official code) or N(k) (as often quoted)
  }),
  // θ⁻ = stopgrad(θ): iCT Sec. 3.2
  z.strictObject({ kind: z.literal('stopgrad') }),
]);

/**
 * What is trained (absent: consistency training, CT/iCT). `edm`: an EDM diffusion model (Karras et
 * al. 2022), the teacher of consistency distillation; `cd`: consistency distillation (CM Alg. 2)
 * from the EDM run directory `teacher` (a pre-trained diffusion model; never θ⁻, which is
 * config.target). Absent in every CT config, so their hashes are unchanged.
 */
export const methodSchema = z.discriminatedUnion('kind', [
  // ln σ ~ N(pMean, pStd²): −1.2, 1.2 (EDM Table 1)
  z.strictObject({ kind: z.literal('edm'), pMean: z.number().finite(), pStd: positive }),
  z.strictObject({
    kind: z.literal('cd'),
    teacher: z.string().min(1), // the EDM run directory, as given (relative to the working directory)
    n: z.number().int().min(2), // fixed grid size N (CM: 18 on CIFAR-10)
    solver: z.enum(['heun', 'euler']), // the teacher's ODE step (CM: Heun)
    teacherConfigHash: z.string().min(1).optional(), // pinned at the start of a run; a changed teacher is refused on resume
  }),
]);

export const curriculumSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('ct'), s0: z.number().int().min(2), s1: positiveInt }), // 2, 150 (CM C10)
    z.strictObject({ kind: z.literal('ict'), s0: positiveInt, s1: positiveInt }), // 10, 1280 (iCT Sec. 3.4)
  ])
  .refine((c) => c.s1 >= c.s0, { message: 'expected s1 >= s0', path: ['s1'] });

export const noiseSamplerSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('uniform') }), // i ~ U{1..N−1} (CM)
  z.strictObject({ kind: z.literal('lognormal'), pMean: z.number().finite(), pStd: positive }), // −1.1, 2.0 (iCT Sec. 3.5)
]);

export const distanceSchema = z.strictObject({
  kind: z.enum(['l2', 'l1', 'pseudo-huber', 'lpips']),
  /** pseudo-Huber c; default 0.00054·√d (iCT Sec. 3.3). */
  c: positive.optional(),
  /** lpips: the feature net (a shipped name such as 'fmnist-cnn', or a directory of real LPIPS weights); default fmnist-cnn. */
  net: z.string().min(1).optional(),
});

export const optimizerSchema = z.strictObject({
  kind: z.enum(['adam', 'radam']),
  lr: positive,
  beta1: z.number().min(0).lt(1),
  beta2: z.number().min(0).lt(1),
  eps: positive,
});

export const noiseSchema = z
  .strictObject({
    sigmaMin: positive, // 0.002
    sigmaMax: positive, // 80
    sigmaData: positive, // 0.5
    rho: positive, // 7
  })
  .refine((n) => n.sigmaMax > n.sigmaMin, { message: 'expected sigmaMax > sigmaMin', path: ['sigmaMax'] });

export const trainConfigSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9._-]+$/, 'expected letters, digits, ".", "_" or "-"'),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1),
  steps: positiveInt, // K, total training steps (the curricula are functions of k/K)
  batchSize: positiveInt,
  data: dataSchema,
  model: modelSchema,
  noise: noiseSchema,
  weighting: z.enum(['uniform', 'ict']),
  distance: distanceSchema,
  target: targetSchema,
  /** Absent: consistency training. See {@link methodSchema}. */
  method: methodSchema.optional(),
  curriculum: curriculumSchema,
  noiseSampler: noiseSamplerSchema,
  optimizer: optimizerSchema,
  emaRate: z.number().min(0).lt(1), // EMA of the student used for sampling (iCT C10: 0.99993)
  checkpointEvery: positiveInt,
  evalEvery: z.number().int().min(0), // 0: evaluate only at the end
  logEvery: positiveInt,
  /** 2-step sampling: the intermediate σ (0.821 on CIFAR-10 in iCT; model-specific). */
  twoStepSigma: positive,
});

export type TrainConfig = z.infer<typeof trainConfigSchema>;
export type EmbeddingConfig = z.infer<typeof embeddingSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;
export type DataConfig = z.infer<typeof dataSchema>;
export type TargetConfig = z.infer<typeof targetSchema>;
export type MethodConfig = z.infer<typeof methodSchema>;
export type CurriculumConfig = z.infer<typeof curriculumSchema>;
export type NoiseSamplerConfig = z.infer<typeof noiseSamplerSchema>;
export type DistanceConfig = z.infer<typeof distanceSchema>;
export type OptimizerConfig = z.infer<typeof optimizerSchema>;

/** Deep partial of the config: what an override (an ablation arm, CLI flags, a JSON file) may give. */
export type ConfigOverride = DeepPartial<TrainConfig>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid config:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

function describeValue(root: unknown, path: PropertyKey[]): string {
  let v: unknown = root;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return 'nothing';
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  if (v === undefined) return 'nothing';
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : JSON.stringify(v);
}

/** A config object that still names θ⁻ `teacher` (the spelling before `target`). */
function legacyTeacher(input: unknown): { kind: 'ema' | 'none' } | null {
  if (input === null || typeof input !== 'object' || Array.isArray(input) || !('teacher' in input)) return null;
  const t: unknown = (input as Record<string, unknown>).teacher;
  if (t === null || typeof t !== 'object' || Array.isArray(t)) return null;
  const kind: unknown = (t as Record<string, unknown>).kind;
  return kind === 'ema' || kind === 'none' ? { kind } : null;
}

/** The refusal of a hand-written config that uses the old field, naming the new one. */
function legacyTargetProblem(input: unknown): string | null {
  const t = legacyTeacher(input);
  if (!t) return null;
  const now = t.kind === 'none' ? "{ kind: 'stopgrad' }" : "{ kind: 'ema', mu0, s0, form }";
  return (
    `config.teacher: the consistency target θ⁻ is now config.target (here: target: ${now}); ` +
    '`teacher` means only the pre-trained diffusion model of consistency distillation (config.method.teacher)'
  );
}

/**
 * A config as ctlab wrote it into a run record (config.json, job.json), in either spelling: records
 * written before the rename name θ⁻ `teacher`, with `none` for stopgrad. Returns the input with that
 * field renamed in place (key order kept, so {@link configHash} of the result is the record's), or the
 * input unchanged. Only for files ctlab wrote; a hand-written config with the old field is refused.
 */
export function migrateStoredConfig(input: unknown): unknown {
  const t = legacyTeacher(input);
  if (!t || 'target' in (input as Record<string, unknown>)) return input;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
    if (k === 'teacher') out.target = t.kind === 'none' ? { kind: 'stopgrad' } : v;
    else out[k] = v;
  }
  return out;
}

/**
 * The form a config is hashed in (run directories are keyed by the hash, checkpoints store it): the
 * spelling of the records written before θ⁻ was renamed (`teacher`, `none` for stopgrad), so every
 * run directory made before the rename keeps its name, resumes and is found by the ablation runner.
 */
export function hashForm(cfg: TrainConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) {
    if (k === 'target') out.teacher = cfg.target.kind === 'stopgrad' ? { kind: 'none' } : v;
    else out[k] = v;
  }
  return out;
}

/** Validate a whole config: returns it typed, or throws ConfigError naming each bad field. */
export function validateConfig(input: unknown): TrainConfig {
  const legacy = legacyTargetProblem(input);
  if (legacy) throw new ConfigError([legacy]);
  const parsed = trainConfigSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const field = ['config', ...issue.path.map(String)].join('.');
      const got = issue.code === 'unrecognized_keys' ? '' : ` (got ${describeValue(input, issue.path)})`;
      return `${field}: ${issue.message}${got}`;
    });
    throw new ConfigError(problems);
  }
  const cfg = parsed.data;
  const problems: string[] = [];
  // Combinations that no schema field alone can refuse.
  const imageData = isImageData(cfg.data);
  if (imageData !== (cfg.model.kind === 'unet')) {
    problems.push(`config.model.kind: '${cfg.model.kind}' does not fit data '${cfg.data.kind}' (points need 'mlp', images need 'unet')`);
  }
  if (cfg.model.kind === 'unet') {
    const m = cfg.model;
    const bad = m.channels.filter((c) => c % m.groups !== 0);
    if (bad.length) problems.push(`config.model.groups: ${m.groups} must divide every width in channels [${m.channels}]`);
    const last = m.channels[m.channels.length - 1] as number;
    if (m.attention && last % m.attention.heads !== 0) {
      problems.push(
        `config.model.attention.heads: expected a divisor of the lowest-resolution width channels[${m.channels.length - 1}] = ${last} (got ${m.attention.heads})`,
      );
    }
    const down = 2 ** (m.channels.length - 1);
    if (cfg.data.kind === 'fashion-mnist' && cfg.data.size % down !== 0) {
      problems.push(`config.data.size: ${cfg.data.size} must be divisible by ${down} for a U-Net with ${m.channels.length} levels`);
    }
  }
  if (cfg.distance.kind === 'lpips' && cfg.model.kind === 'mlp') {
    problems.push("config.distance.kind: 'lpips' needs image data and a feature network; for 2D data use l2, l1 or pseudo-huber");
  }
  if (cfg.distance.net !== undefined && cfg.distance.kind !== 'lpips') {
    problems.push(`config.distance.net: only used by lpips, but distance.kind is '${cfg.distance.kind}'`);
  }
  if (cfg.distance.c !== undefined && cfg.distance.kind !== 'pseudo-huber') {
    problems.push(`config.distance.c: only used by pseudo-huber, but distance.kind is '${cfg.distance.kind}'`);
  }
  if (cfg.twoStepSigma <= cfg.noise.sigmaMin || cfg.twoStepSigma >= cfg.noise.sigmaMax) {
    problems.push(`config.twoStepSigma: expected a value in (sigmaMin, sigmaMax) = (${cfg.noise.sigmaMin}, ${cfg.noise.sigmaMax}), got ${cfg.twoStepSigma}`);
  }
  if (cfg.method?.kind === 'edm' && cfg.target.kind !== 'stopgrad') {
    problems.push("config.target: an EDM diffusion run has no consistency target θ⁻; expected { kind: 'stopgrad' }");
  }
  if (cfg.method?.kind === 'edm' && cfg.distance.kind === 'lpips') {
    problems.push("config.distance.kind: EDM training uses the weighted ℓ2 loss of EDM; 'lpips' does not apply");
  }
  if (problems.length) throw new ConfigError(problems);
  return cfg;
}
