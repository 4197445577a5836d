/**
 * Discretization curricula N(k): how many grid points the CT loss uses at training step k of K.
 */
import { CT_CURRICULUM, ICT_CURRICULUM } from '../constants';

function checkStep(fn: string, k: number, totalSteps: number): void {
  if (!Number.isInteger(totalSteps) || totalSteps < 1) {
    throw new RangeError(`${fn}: totalSteps must be an integer >= 1, got ${totalSteps}`);
  }
  if (!Number.isInteger(k) || k < 0 || k > totalSteps) {
    throw new RangeError(`${fn}: k must be an integer in [0, totalSteps=${totalSteps}], got ${k}`);
  }
}

export interface CtCurriculumOptions {
  s0?: number; // initial N; 2 in CM (OAI-C10 cifar10_ve_ct_adaptive)
  s1?: number; // final N − 1; 150 in CM on CIFAR-10
}

/**
 * Original CT: N(k) = ⌈√(k/K·((s1+1)² − s0²) + s0²) − 1⌉ + 1, inner value clipped at >= 1
 * (OAI-CM `create_ema_and_scales_fn`, "progressive" adaptive schedule). N(0) = s0, N(K) = s1 + 1.
 */
export function ctCurriculum(k: number, totalSteps: number, opts: CtCurriculumOptions = {}): number {
  const s0 = opts.s0 ?? CT_CURRICULUM.s0;
  const s1 = opts.s1 ?? CT_CURRICULUM.s1;
  checkStep('ctCurriculum', k, totalSteps);
  if (!Number.isInteger(s0) || s0 < 2 || !Number.isInteger(s1) || s1 < s0) {
    throw new RangeError(`ctCurriculum: need integers 2 <= s0 <= s1, got s0=${s0}, s1=${s1}`);
  }
  const inner = Math.ceil(Math.sqrt((k / totalSteps) * ((s1 + 1) ** 2 - s0 ** 2) + s0 ** 2) - 1);
  return Math.max(inner, 1) + 1;
}

export interface IctCurriculumOptions {
  s0?: number; // initial N − 1; 10 in iCT
  s1?: number; // cap of N − 1; 1280 in iCT
}

/**
 * iCT exponential curriculum (iCT Sec. 3.4, Eq. 11): N(k) = min(s0·2^⌊k/K'⌋, s1) + 1 with
 * K' = ⌊K / (log2⌊s1/s0⌋ + 1)⌋. Defaults give 8 stages: 11, 21, 41, ..., 1281.
 */
export function ictCurriculum(k: number, totalSteps: number, opts: IctCurriculumOptions = {}): number {
  const s0 = opts.s0 ?? ICT_CURRICULUM.s0;
  const s1 = opts.s1 ?? ICT_CURRICULUM.s1;
  checkStep('ictCurriculum', k, totalSteps);
  if (!Number.isInteger(s0) || s0 < 1 || !Number.isInteger(s1) || s1 < s0) {
    throw new RangeError(`ictCurriculum: need integers 1 <= s0 <= s1, got s0=${s0}, s1=${s1}`);
  }
  const stages = Math.floor(Math.log2(Math.floor(s1 / s0))) + 1;
  const kPrime = Math.floor(totalSteps / stages);
  // K' = 0 happens only when totalSteps < number of stages: then every step is its own stage.
  const stage = kPrime > 0 ? Math.floor(k / kPrime) : k;
  return Math.min(s0 * 2 ** stage, s1) + 1;
}

/** A curriculum as the config writes it (`config.curriculum`). */
export type CurriculumSpec = ({ kind: 'ct' } & Required<CtCurriculumOptions>) | ({ kind: 'ict' } & Required<IctCurriculumOptions>);

/** N(k) of a curriculum spec: {@link ctCurriculum} or {@link ictCurriculum}. */
export function curriculumSize(spec: CurriculumSpec, k: number, totalSteps: number): number {
  return spec.kind === 'ct' ? ctCurriculum(k, totalSteps, spec) : ictCurriculum(k, totalSteps, spec);
}
