/**
 * Presets: the original CT recipe of CM (Song et al. 2023) and the iCT recipe (Song & Dhariwal
 * 2023, Table 1), each at the 2D toy scale. Method axes follow the papers' CIFAR-10 settings;
 * scale axes (steps, batch, width, learning rate, EMA) are sized for a CPU and are shared by both
 * presets so that a comparison changes the method only.
 */
import type { ConfigOverride, TrainConfig } from './schema';
import { validateConfig } from './schema';
import { mergeConfig } from './merge';
import { isImageData } from './data-kind';
import {
  CD_GRID,
  CT_CURRICULUM,
  CT_TARGET_EMA,
  EDM_LOGNORMAL,
  FOURIER_SCALE,
  ICT_CURRICULUM,
  ICT_DROPOUT,
  ICT_LOGNORMAL,
  PAPER_NOISE,
  TWO_STEP_SIGMA,
} from '../constants';

/** The scale shared by both 2D presets (not from the papers: sized to train in about a minute here). */
export function toyScale(): Omit<TrainConfig, 'weighting' | 'distance' | 'target' | 'curriculum' | 'noiseSampler'> {
  return {
    name: 'run',
    seed: 0,
    steps: 2000,
    batchSize: 256,
    data: { kind: 'toy2d', name: 'eight-gaussians', trainSize: 20000, testSize: 2000 },
    model: { kind: 'mlp', hidden: 128, depth: 3, embedding: { kind: 'fourier', scale: FOURIER_SCALE.ct, dim: 32 }, dropout: 0 },
    noise: { ...PAPER_NOISE }, // CM/iCT constants
    optimizer: { kind: 'radam', lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 }, // RAdam as CM C10 and iCT; lr for toy scale
    emaRate: 0.995, // sampling EMA; short runs need a short horizon (iCT C10 uses 0.99993 over 400k steps)
    checkpointEvery: 250,
    evalEvery: 500,
    logEvery: 10,
    twoStepSigma: TWO_STEP_SIGMA, // iCT's CIFAR-10 value (ict-facts §3); model-specific
  };
}

/**
 * The scale of the Fashion-MNIST image runs: a 2-level U-Net (32/64 channels, GroupNorm, SiLU) on
 * 16×16 images, batch 32, sized so a run of a few thousand steps fits about an hour on 2 CPU cores.
 */
export function fashionMnistScale(): Omit<TrainConfig, 'weighting' | 'distance' | 'target' | 'curriculum' | 'noiseSampler'> {
  return {
    ...toyScale(),
    steps: 6000,
    batchSize: 32,
    data: { kind: 'fashion-mnist', size: 16, trainSize: 60000, testSize: 10000 },
    model: { kind: 'unet', channels: [32, 64], numResBlocks: 1, embedding: { kind: 'fourier', scale: FOURIER_SCALE.ct, dim: 32 }, dropout: 0, groups: 8 },
    optimizer: { kind: 'radam', lr: 4e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    emaRate: 0.999,
    checkpointEvery: 200,
    evalEvery: 1000,
    logEvery: 20,
  };
}

export const SCALES = { toy2d: toyScale, 'fashion-mnist': fashionMnistScale } as const;
export type ScaleName = keyof typeof SCALES;

/** The preset scale a data set (config `data` or a `--data` name) trains at: images the U-Net scale, points the 2D one. */
export function scaleFor(data: { readonly kind: string } | string): ScaleName {
  return isImageData(data) ? 'fashion-mnist' : 'toy2d';
}

/** Original consistency training (CM, CIFAR-10 CT config of OAI-C10). */
export function ctPreset(scaleName: ScaleName = 'toy2d'): TrainConfig {
  const scale = SCALES[scaleName]();
  return validateConfig({
    ...scale,
    name: 'ct',
    model: { ...scale.model, embedding: { kind: 'fourier', scale: FOURIER_SCALE.ct, dim: 32 }, dropout: 0 },
    weighting: 'uniform', // λ ≡ 1
    // CM's best CT used LPIPS: on images the LPIPS-style distance on the shipped classifier; on 2D, squared ℓ2
    distance: scaleName === 'toy2d' ? { kind: 'l2' } : { kind: 'lpips' },
    target: { kind: 'ema', ...CT_TARGET_EMA, form: 'code' }, // μ0 = 0.9, s0 = 2 (OAI-C10)
    curriculum: { kind: 'ct', ...CT_CURRICULUM },
    noiseSampler: { kind: 'uniform' },
  });
}

/** Improved consistency training (iCT Table 1, CIFAR-10 column). */
export function ictPreset(scaleName: ScaleName = 'toy2d'): TrainConfig {
  const scale = SCALES[scaleName]();
  return validateConfig({
    ...scale,
    name: 'ict',
    model: { ...scale.model, embedding: { kind: 'fourier', scale: FOURIER_SCALE.ict, dim: 32 }, dropout: ICT_DROPOUT }, // iCT Sec. 3.1
    weighting: 'ict', // λ = 1/(σ_{i+1} − σ_i)
    distance: { kind: 'pseudo-huber' }, // c = 0.00054·√d
    target: { kind: 'stopgrad' }, // θ⁻ = stopgrad(θ)
    curriculum: { kind: 'ict', ...ICT_CURRICULUM },
    noiseSampler: { kind: 'lognormal', ...ICT_LOGNORMAL },
  });
}

/**
 * An EDM diffusion model (Karras et al. 2022) at the same scale: the CD teacher. Its loss is EDM's
 * weighted ℓ2 (λ(σ) = (σ²+σd²)/(σσd)², ln σ ~ N(−1.2, 1.2²)); weighting, curriculum and noise
 * sampler are CT fields it does not read (kept at iCT's values so the config stays one type).
 */
export function edmPreset(scaleName: ScaleName = 'toy2d'): TrainConfig {
  const ict = ictPreset(scaleName);
  return validateConfig({
    ...ict,
    name: 'edm',
    model: { ...ict.model, dropout: 0 },
    distance: { kind: 'l2' },
    target: { kind: 'stopgrad' },
    method: { kind: 'edm', ...EDM_LOGNORMAL },
  });
}

/**
 * Consistency distillation (CM Alg. 2) from an EDM teacher: CM's CD recipe (λ ≡ 1, uniform n over a
 * fixed N = 18 grid, Heun, θ⁻ = stopgrad θ as CM on CIFAR-10, LPIPS-style distance on images,
 * squared ℓ2 on 2D), with CT's scale and network. `teacher` is the EDM run directory.
 */
export function cdPreset(scaleName: ScaleName = 'toy2d', teacher = 'runs/edm-seed0'): TrainConfig {
  const ct = ctPreset(scaleName);
  return validateConfig({
    ...ct,
    name: 'cd',
    target: { kind: 'stopgrad' }, // θ⁻ = stopgrad θ (CM CD on CIFAR-10: μ = 0)
    method: { kind: 'cd', teacher, ...CD_GRID },
  });
}

export const PRESETS = { ct: ctPreset, ict: ictPreset, edm: edmPreset, cd: (s?: ScaleName) => cdPreset(s) } as const;
export type PresetName = keyof typeof PRESETS;

/** A preset (at a scale) with an override merged on top, validated. */
export function buildConfig(preset: PresetName, override: ConfigOverride = {}, scale: ScaleName = 'toy2d'): TrainConfig {
  const make = PRESETS[preset];
  if (!make) throw new Error(`preset: expected one of ${Object.keys(PRESETS).join(', ')}, got '${String(preset)}'`);
  if (!SCALES[scale]) throw new Error(`scale: expected one of ${Object.keys(SCALES).join(', ')}, got '${String(scale)}'`);
  return validateConfig(mergeConfig(make(scale), override));
}
