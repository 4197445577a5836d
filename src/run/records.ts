/**
 * Schemas of every file a run directory (and an ablation's runs root) holds, and of the typed
 * summaries `ctlab report` derives from them. Browser-safe core: zod, src/config/* and
 * src/constants.ts only (no node:*); reading and writing files is src/run/run-dir.ts.
 *
 *   <run>/config.json       the resolved config: {@link trainConfigSchema} (src/config/schema.ts)
 *   <run>/run.json          provenance and status: {@link runJsonSchema}
 *   <run>/metrics.jsonl     one {@link metricRecordSchema} per line (training logs, evaluations)
 *   <run>/eval.json         the evaluation after training: {@link evalFileSchema} (points or images)
 *   <run>/job.json          what the ablation runner asked this worker to do: {@link jobSchema}
 *   <runs>/<data>/ablation-plan.json   arms × seeds → run directories: {@link ablationPlanSchema}
 *   <sweep>/sweep.json, <sweep>/tasks/<i>.jsonl   a Slurm sweep and its tasks' attempts: {@link sweepSchema}, {@link taskEventSchema}
 */
import { z } from 'zod';
import { migrateStoredConfig, trainConfigSchema, validateConfig, type TrainConfig } from '../config/schema';

export { migrateStoredConfig, trainConfigSchema, validateConfig, type TrainConfig };

/** A config inside a record ctlab wrote: either spelling of θ⁻ (`teacher` before the rename, `target` now). */
export const storedConfigSchema = z.preprocess(migrateStoredConfig, trainConfigSchema);

/** A number that may be NaN (a diverged seed), which JSON writes as null: read back as NaN. */
const num = z.union([z.number(), z.nan(), z.null().transform(() => Number.NaN)]);

// ---------------------------------------------------------------- run.json

/** The backend record (src/backend's BackendInfo): the fields readers use; the rest is kept as written. */
export const backendRecordSchema = z.looseObject({
  name: z.string(),
  threads: z.number(),
});

/** run.json: written by the trainer at start, at every checkpoint and at the end. */
export const runJsonSchema = z.looseObject({
  /** 'running', 'completed', 'stopped', 'stopped (SIGINT)', 'failed', ... */
  status: z.string(),
  command: z.string(),
  commit: z.string(),
  dirty: z.boolean(),
  seed: z.number(),
  configHash: z.string(),
  backend: backendRecordSchema,
  node: z.string(),
  tfjs: z.string(),
  data: z.string(),
  params: z.number(),
  step: z.number(),
  totalSteps: z.number(),
  wallSec: z.number(),
  updatedAt: z.string(),
  lastCheckpoint: z.string().nullable().optional(),
  error: z.string().optional(),
});
export type RunJson = z.infer<typeof runJsonSchema>;

// ---------------------------------------------------------------- metrics.jsonl

/** A training log line: mean loss since the previous one, grid size N(k), teacher μ(k), speed. */
export const trainMetricSchema = z.looseObject({
  step: z.number(),
  kind: z.literal('train'),
  loss: num,
  N: z.number(),
  mu: z.number(),
  lr: z.number().optional(),
  stepsPerSec: z.number(),
  numTensors: z.number(),
});
export type TrainMetric = z.infer<typeof trainMetricSchema>;

/** An in-training evaluation (src/metrics/evaluate.ts): SWD and MMD² of 1- and 2-step samples. */
export const evalMetricSchema = z.looseObject({
  step: z.number(),
  kind: z.literal('eval'),
  n: z.number(),
  swd1: num,
  swd2: num,
  mmd1: num,
  mmd2: num,
  twoStepSigma: z.number(),
});
export type EvalMetric = z.infer<typeof evalMetricSchema>;

/** One line of metrics.jsonl. */
export const metricRecordSchema = z.discriminatedUnion('kind', [trainMetricSchema, evalMetricSchema]);
export type MetricRecord = z.infer<typeof metricRecordSchema>;

// ---------------------------------------------------------------- eval.json

const imageScoreSchema = z.object({ fid: num, kid: num });
export type ImageScoreRecord = z.infer<typeof imageScoreSchema>;

/** Points (`ctlab eval` on 2D data): SWD and MMD² of 1-step and multistep samples against held-out points. */
export const pointsEvalSchema = z.looseObject({
  kind: z.literal('points').default('points'),
  run: z.string(),
  step: z.number(),
  n: z.number(),
  requestedN: z.number().optional(),
  seed: z.number(),
  oneStep: z.object({ sigmas: z.array(z.number()), swd: num, mmd: num, nfe: z.number().optional(), solver: z.string().optional() }),
  multiStep: z.object({ sigmas: z.array(z.number()), swd: num, mmd: num, nfe: z.number().optional(), solver: z.string().optional() }),
  /** EDM runs: the deterministic Heun solve on the Karras grid (EDM Alg. 1). */
  heun: z.object({ steps: z.number(), nfe: z.number(), swd: num, mmd: num }).optional(),
});
export type PointsEval = z.infer<typeof pointsEvalSchema>;

/** Images (`ctlab eval` on Fashion-MNIST): FID/KID per feature net of 1- and 2-step samples, floor and ceiling. */
export const imageEvalSchema = z.looseObject({
  kind: z.literal('images').default('images'),
  run: z.string(),
  step: z.number(),
  n: z.number(),
  /** What --n asked for (eval caps n at the data's sizes); absent when --n was not given. */
  requestedN: z.number().optional(),
  seed: z.number(),
  sigmas: z.object({ oneStep: z.array(z.number()), twoStep: z.array(z.number()) }),
  scores: z.record(
    z.string(),
    z.object({
      oneStep: imageScoreSchema,
      twoStep: imageScoreSchema,
      floor: imageScoreSchema,
      ceiling: imageScoreSchema,
      /** EDM runs: other solves (e.g. 'heun18'), by name. */
      extra: z.record(z.string(), imageScoreSchema).optional(),
    }),
  ),
  /** EDM runs: the denoiser calls behind oneStep, twoStep and each extra solve. */
  nfe: z.record(z.string(), z.number()).optional(),
  /** Sample grids written beside it (paths as written; readers look in <run>/samples/ by file name). */
  grids: z.object({ oneStep: z.string(), twoStep: z.string() }).partial().optional(),
  /** [H, W, C] of the samples (absent in files written before it was recorded: then the config's). */
  shape: z.array(z.number().int().positive()).optional(),
  /** Who evaluated: the command, its commit and its wall time (absent in files written before it was recorded). */
  evaluation: z.object({ command: z.string(), commit: z.string(), dirty: z.boolean(), wallSec: z.number() }).optional(),
});
export type ImageEval = z.infer<typeof imageEvalSchema>;

/**
 * eval.json, either kind. Files written before the `kind` field existed are told apart by their
 * shape (`scores`: images; `oneStep`/`multiStep`: points), so they read as they were written.
 */
export const evalFileSchema = z.preprocess(
  (v) => (typeof v === 'object' && v !== null && !('kind' in v) ? { ...v, kind: 'scores' in v ? 'images' : 'points' } : v),
  z.discriminatedUnion('kind', [pointsEvalSchema, imageEvalSchema]),
);
export type EvalFile = PointsEval | ImageEval;

// ---------------------------------------------------------------- ablation plans and jobs

/**
 * Ablations renamed since records were written: old name → new name and old arm → new arm names. The
 * θ⁻ ablation was `teacher` with arms `ema` / `none`; it is `target` with `ema` / `stopgrad` (`teacher`
 * now means only a CD teacher). Plan entries and jobs read from disk are mapped; their run
 * directories (named `teacher-ema-<hash>`) keep their names and are reused by the runner.
 */
export const RENAMED_ABLATIONS: Readonly<Record<string, { name: string; arms: Readonly<Record<string, string>> }>> = {
  teacher: { name: 'target', arms: { none: 'stopgrad' } },
};

/** An {ablation, arm} record in either naming, mapped to today's names (other fields unchanged). */
export function migrateAblationNames(input: unknown): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const r = input as Record<string, unknown>;
  const renamed = typeof r.ablation === 'string' ? RENAMED_ABLATIONS[r.ablation] : undefined;
  if (!renamed) return input;
  const arm = typeof r.arm === 'string' ? (renamed.arms[r.arm] ?? r.arm) : r.arm;
  return { ...r, ablation: renamed.name, arm };
}

/** One (ablation, arm, seed) of a plan and the run directory that holds it (read under today's ablation names). */
export const planEntrySchema = z.preprocess(
  migrateAblationNames,
  z.object({
    ablation: z.string(),
    arm: z.string(),
    seed: z.number().int(),
    /** As written by `ctlab ablate` (absolute or relative); readers take its last three parts, <data>/<arm-hash>/seed<k>, under the runs root. */
    dir: z.string(),
  }),
);
export type PlanEntry = z.infer<typeof planEntrySchema>;

/** <runs>/<data>/ablation-plan.json: every entry `ctlab ablate` planned on one data set (merged across invocations). */
export const ablationPlanSchema = z.object({
  data: z.string(),
  steps: z.number().int(),
  seeds: z.number().int(),
  command: z.string(),
  skipped: z.array(z.string()),
  entries: z.array(planEntrySchema),
});
export type AblationPlan = z.infer<typeof ablationPlanSchema>;

/** <run>/job.json: what one worker of `ctlab ablate` does (train to the end, then evaluate images). */
export const jobSchema = z.preprocess(
  migrateAblationNames,
  z.object({
    ablation: z.string(),
    arm: z.string(),
    seed: z.number().int(),
    config: storedConfigSchema,
    dir: z.string(),
    /** Images: evaluate (FID/KID with both shipped feature nets) with this many samples after training. */
    evalN: z.number().int().optional(),
  }),
);
export type Job = z.infer<typeof jobSchema>;

// ---------------------------------------------------------------- Slurm sweeps

/** One `sbatch` of a sweep's job array: which jobs.jsonl lines (array indices) it ran, and its report job. */
export const sweepSubmissionSchema = z.object({
  jobId: z.string(),
  indices: z.array(z.number().int()),
  /** The --array value given to sbatch ("0-3%2"). */
  array: z.string(),
  submittedAt: z.string(),
  kind: z.enum(['submit', 'resubmit']),
  reportJobId: z.string().optional(),
});
export type SweepSubmission = z.infer<typeof sweepSubmissionSchema>;

/**
 * <sweep>/sweep.json: a planned ablation sweep run as a Slurm job array (`ctlab ablate --executor slurm`).
 * Array index i runs line i of <sweep>/jobs.jsonl ({@link jobSchema}); every path is absolute except
 * the report's, which are as the user gave them, relative to `cwd` (the tasks' working directory).
 */
export const sweepSchema = z.object({
  name: z.string(),
  command: z.string(),
  createdAt: z.string(),
  cwd: z.string(),
  runsRoot: z.string(),
  data: z.string(),
  jobs: z.number().int(),
  /** Absolute paths of the Node binary and of dist/src/cli.js that the tasks run (the nodes share the filesystem). */
  node: z.string(),
  cli: z.string(),
  /** Environment set in the task script (CTLAB_THREADS, CTLAB_BACKEND): the same backend and threads as a local run. */
  env: z.record(z.string(), z.string()),
  slurm: z.object({
    partition: z.string().optional(),
    time: z.string().optional(),
    cpusPerTask: z.number().int(),
    mem: z.string().optional(),
    maxParallel: z.number().int().optional(),
    /** --signal given to sbatch (B:TERM@60: SIGTERM to the task 60 s before its time limit), or null for none. */
    signal: z.string().nullable(),
    extra: z.array(z.string()),
  }),
  /** The dependent report job (`ctlab report` after every task, --dependency=afterany), or null. */
  report: z.object({ runs: z.string(), out: z.string(), summary: z.string().optional() }).nullable(),
  submissions: z.array(sweepSubmissionSchema),
});
export type Sweep = z.infer<typeof sweepSchema>;

/** One line of <sweep>/tasks/<i>.jsonl, written by `ctlab run-job` when an attempt starts and when it ends. */
export const taskEventSchema = z.object({
  index: z.number().int(),
  event: z.enum(['start', 'end']),
  at: z.string(),
  host: z.string(),
  pid: z.number().int(),
  /** SLURM_ARRAY_JOB_ID_SLURM_ARRAY_TASK_ID (or SLURM_JOB_ID) of the attempt; absent outside Slurm. */
  slurmJobId: z.string().optional(),
  /** end: what the attempt did and the exit status it gave Slurm. */
  outcome: z.enum(['completed', 'already complete', 'stopped', 'failed']).optional(),
  exitCode: z.number().int().optional(),
  step: z.number().int().optional(),
  error: z.string().optional(),
});
export type TaskEvent = z.infer<typeof taskEventSchema>;

// ---------------------------------------------------------------- quickstart

/** <runs>/quickstart.json (and results/quickstart/provenance.json): how `ctlab quickstart` ran its two runs. */
export const quickstartRecordSchema = z.looseObject({
  command: z.string(),
  commit: z.string(),
  dirty: z.boolean(),
  /** "wasm (2 thread(s))" */
  backend: z.string(),
  seed: z.number().int(),
  data: z.string(),
  stepsPerRun: z.number().int(),
  evalSamples: z.number().int(),
  wallSec: z.number(),
  date: z.string(),
  /** Where the runs were, and which presets reused a run completed earlier (absent in files written before these fields). */
  runs: z.string().optional(),
  reused: z.array(z.string()).optional(),
});
export type QuickstartRecord = z.infer<typeof quickstartRecordSchema>;

// ---------------------------------------------------------------- summaries and verdicts

/** Mean, 95% Student-t half-width and count over seeds; the values themselves, so any text can be rebuilt. */
export const meanCiSchema = z.object({ mean: num, halfWidth: num, n: z.number().int(), values: z.array(num) });
export type MeanCiRecord = z.infer<typeof meanCiSchema>;

/**
 * A seed-paired comparison of the paper's preferred arm with another (lower is better):
 * diff = worse − best. 'agrees' / 'disagrees' / 'inconclusive' from the 95% interval (2+ pairs);
 * 'same direction' / 'opposite direction' from the sign alone (1 pair); 'too few seeds' (0 pairs).
 */
export const verdictSchema = z.object({
  metric: z.string(),
  data: z.string(),
  steps: z.number().int(),
  best: z.string(),
  worse: z.string(),
  diff: meanCiSchema,
  outcome: z.enum(['agrees', 'disagrees', 'inconclusive', 'same direction', 'opposite direction', 'too few seeds']),
});
export type Verdict = z.infer<typeof verdictSchema>;
export type VerdictOutcome = Verdict['outcome'];

/** Whether a verdict points the paper's way (significantly, or by sign with one seed). */
export function verdictAgrees(v: Pick<Verdict, 'outcome'>): boolean {
  return v.outcome === 'agrees' || v.outcome === 'same direction';
}

/** One (data set, arm) row of an ablation summary: per metric mean ± interval over seeds. */
export const summaryRowSchema = z.object({
  data: z.string(),
  arm: z.string(),
  image: z.boolean(),
  /** Column label ("SWD 1-step", "FID 1-step (fmnist-strided)", ...) → statistics. */
  metrics: z.record(z.string(), meanCiSchema),
  n: z.number().int(),
  steps: z.number().int(),
  wallMean: z.number().nullable(),
  incomplete: z.number().int(),
});
export type SummaryRow = z.infer<typeof summaryRowSchema>;

/** <out>/<ablation>/summary.json: what summary.{csv,md} show, as data (notebooks and the README table read it). */
export const ablationSummarySchema = z.object({
  ablation: z.string(),
  title: z.string(),
  paper: z.string(),
  paperBest: z.string(),
  paperWorse: z.array(z.string()),
  rows: z.array(summaryRowSchema),
  /** Per data set: the 1-step and 2-step verdicts (one per arm compared with the paper's). */
  verdicts: z.array(
    z.object({ data: z.string(), image: z.boolean(), metricLabel: z.string(), oneStep: z.array(verdictSchema), twoStep: z.array(verdictSchema) }),
  ),
  skipped: z.array(z.string()),
});
export type AblationSummary = z.infer<typeof ablationSummarySchema>;

/** One row of the power analysis (src/experiments/power.ts): a comparison's spread and the seeds that would decide it. */
export const powerRowSchema = z.object({
  ablation: z.string(),
  data: z.string(),
  metric: z.string(),
  steps: z.number().int(),
  best: z.string(),
  worse: z.string(),
  /** Seeds in the committed comparison. */
  n: z.number().int(),
  meanDiff: num,
  /** Sample standard deviation of the paired differences (n − 1 denominator). */
  sdDiff: num,
  halfWidth: num,
  outcome: verdictSchema.shape.outcome,
  /** Mean of the paper's best arm on this metric (the scale of the minimal effect). */
  bestMean: num,
  /** Seeds for a 95% interval narrower than |meanDiff| (null: more than MAX_SEEDS or no spread to go on). */
  seedsForSeen: z.number().int().nullable(),
  /** Seeds for a 95% interval narrower than minEffect·|bestMean|. */
  seedsForMinEffect: z.number().int().nullable(),
  minEffect: z.number(),
});
export type PowerRow = z.infer<typeof powerRowSchema>;

/** One technique on one data set in one suite: its paired differences and what they decide. */
export const techniqueVerdictSchema = z.object({
  ablation: z.string(),
  title: z.string(),
  data: z.string(),
  /** The suite's label ("longer suite", "28×28 check"). */
  suite: z.string(),
  best: z.string(),
  worse: z.string(),
  steps: z.number().int(),
  /** Paired seeds (the fewer of the two metrics). */
  seeds: z.number().int(),
  /** The comparisons at 1 and 2 sampling steps (absent: not in the summary). */
  oneStep: powerRowSchema.optional(),
  twoStep: powerRowSchema.optional(),
  word: z.enum(['agrees', 'agrees in part', 'disagrees', 'disagrees in part', 'mixed', 'undecided', 'not run']),
  /** Seeds that would decide every undecided comparison at this step count, if difference and spread held (null: > MAX_SEEDS, or nothing to go on). */
  seedsToDecide: z.number().int().nullable(),
  /** Seeds that would resolve the minimal effect on every undecided comparison. */
  seedsForMinEffect: z.number().int().nullable(),
});
export type TechniqueVerdict = z.infer<typeof techniqueVerdictSchema>;
export type TechniqueWord = TechniqueVerdict['word'];

/** <out>/verdicts.json: a suite's technique verdicts and those of the suites it quotes (dirs relative to <out>). */
export const verdictsFileSchema = z.object({
  command: z.string(),
  commit: z.string(),
  suites: z.array(z.object({ label: z.string(), dir: z.string() })),
  verdicts: z.array(techniqueVerdictSchema),
});
export type VerdictsFile = z.infer<typeof verdictsFileSchema>;

// ---------------------------------------------------------------- errors

/** A run file that does not match its schema: names the file and each bad field. */
export class RecordError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.length === 1 ? problems[0] : `\n  ${problems.join('\n  ')}`}`);
    this.name = 'RecordError';
  }
}

function describeAt(root: unknown, path: readonly PropertyKey[]): string {
  let v: unknown = root;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return 'nothing';
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v === undefined ? 'nothing' : JSON.stringify(v);
}

/** Validate `value` read from `file` against `schema`; throws {@link RecordError} naming the file and fields. */
export function parseRecord<S extends z.ZodType>(schema: S, value: unknown, file: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new RecordError(
    file,
    r.error.issues.map(
      (i) =>
        `${i.path.length ? i.path.map(String).join('.') : '(top level)'}: ${i.message}${i.code === 'unrecognized_keys' ? '' : ` (got ${describeAt(value, i.path)})`}`,
    ),
  );
}
