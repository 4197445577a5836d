/**
 * Zero-shot editing with a consistency model (CM paper Alg. 4; ict-facts.md §5): given a reference
 * y, an orthogonal linear map A and a binary mask Ω in A's coefficient space (1 = regenerate),
 *   y ← A⁻¹[(A y)⊙(1−Ω)];  x ← f_θ(y + σ_1 z, σ_1);  after each f_θ: x ← A⁻¹[(A y)⊙(1−Ω) + (A x)⊙Ω]
 * and re-noising to the next σ as in Alg. 1. The maps here: the identity (inpainting), an orthogonal
 * basis of each k×k block whose first vector is the block average (super-resolution), and an
 * orthogonal 3×3 colour basis whose first row is the normalised luminance direction (colorization).
 * Coefficients are laid out in the image's own shape [H, W, C]: a block's coefficient p sits at the
 * block's pixel p (row-major), a pixel's colour coefficient j in channel j; so Ω is drawn as an image.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ProjectHook, SampleInit } from './multistep';
import { Rng } from '../util/rng';

/** Luminance weights of RGB (ITU-R BT.601, as the CM code's colorization). */
export const LUMINANCE = [0.2989, 0.587, 0.114] as const;

/** An orthogonal map on one example of shape [H, W, C], applied to batches [b, H, W, C]. */
export interface OrthogonalMap {
  readonly name: string;
  readonly shape: readonly [number, number, number];
  /** The m×m orthogonal matrix acting on each group of m values (rows: basis vectors). */
  readonly matrix: readonly (readonly number[])[];
  /** Group order: group-ordered index i reads image index perm[i] (absent: consecutive groups of m). */
  readonly perm: Int32Array | null;
}

/**
 * An m×m orthogonal matrix (float64) whose first row is `first` normalised: modified Gram–Schmidt on
 * [first, e_0, e_1, ...], twice per vector, dropping the unit vector that becomes dependent.
 */
export function orthogonalBasis(first: readonly number[]): number[][] {
  const m = first.length;
  const norm = Math.hypot(...first);
  if (m < 1 || !(norm > 0)) throw new RangeError('orthogonalBasis: the first vector must be non-zero');
  const rows: number[][] = [first.map((v) => v / norm)];
  for (let e = 0; e < m && rows.length < m; e++) {
    let v: number[] = Array.from({ length: m }, (_, i) => (i === e ? 1 : 0));
    for (let pass = 0; pass < 2; pass++) {
      for (const r of rows) {
        const dot = r.reduce((a, ri, i) => a + ri * (v[i] as number), 0);
        v = v.map((vi, i) => vi - dot * (r[i] as number));
      }
    }
    const n = Math.hypot(...v);
    if (n > 1e-6) rows.push(v.map((vi) => vi / n));
  }
  return rows;
}

function checkShape(shape: readonly number[], what: string): [number, number, number] {
  const [h, w, c] = shape;
  if (shape.length !== 3 || !h || !w || !c) throw new RangeError(`${what}: expected an image shape [H, W, C], got [${shape}]`);
  return [h, w, c];
}

/** A = I (inpainting). */
export function identityMap(shape: readonly number[]): OrthogonalMap {
  return { name: 'identity', shape: checkShape(shape, 'identityMap'), matrix: [[1]], perm: null };
}

/** Per k×k block and channel, the orthogonal basis whose first vector is the block average (super-resolution ×k). */
export function blockMap(shape: readonly number[], factor: number): OrthogonalMap {
  const [h, w, c] = checkShape(shape, 'blockMap');
  if (!Number.isInteger(factor) || factor < 2 || h % factor !== 0 || w % factor !== 0) {
    throw new RangeError(`factor: expected an integer >= 2 dividing the image size ${h}×${w}, got ${factor}`);
  }
  const k = factor;
  const perm = new Int32Array(h * w * c);
  let i = 0;
  for (let by = 0; by < h / k; by++)
    for (let bx = 0; bx < w / k; bx++)
      for (let ch = 0; ch < c; ch++) for (let p = 0; p < k * k; p++) perm[i++] = ((by * k + Math.floor(p / k)) * w + bx * k + (p % k)) * c + ch;
  return { name: `block${k}`, shape: [h, w, c], matrix: orthogonalBasis(new Array<number>(k * k).fill(1)), perm };
}

/** Per pixel, the orthogonal 3×3 colour basis whose first row is the normalised luminance direction (colorization). */
export function colorMap(shape: readonly number[]): OrthogonalMap {
  const [h, w, c] = checkShape(shape, 'colorMap');
  if (c !== 3) throw new RangeError(`colorization needs an RGB model (3 channels); this one has ${c} channel(s)`);
  return { name: 'color', shape: [h, w, c], matrix: orthogonalBasis([...LUMINANCE]), perm: null };
}

function inversePerm(perm: Int32Array): Int32Array {
  const inv = new Int32Array(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** Apply A (forward) or A⁻¹ = Aᵀ (inverse) to a batch [b, H, W, C]. */
export function applyMap(map: OrthogonalMap, x: tf.Tensor, inverse = false): tf.Tensor {
  return tf.tidy(() => {
    const m = map.matrix.length;
    if (m === 1) return x.clone();
    const b = x.shape[0];
    const d = map.shape[0] * map.shape[1] * map.shape[2];
    let flat = tf.reshape(x, [b, d]);
    if (map.perm) flat = tf.gather(flat, tf.tensor1d(map.perm, 'int32'), 1);
    const mat = tf.tensor2d(map.matrix.map((r) => [...r]));
    // rows of groups: forward c = v·Aᵀ (c_j = Σ_p A[j,p] v_p), inverse v = c·A
    let out = tf.matMul(tf.reshape(flat, [-1, m]), mat, false, !inverse);
    out = tf.reshape(out, [b, d]);
    if (map.perm) out = tf.gather(out, tf.tensor1d(inversePerm(map.perm), 'int32'), 1);
    return tf.reshape(out, x.shape);
  });
}

/** Float32 arrays through `applyMap` ([n, H, W, C] row-major). */
export function applyMapArray(map: OrthogonalMap, x: Float32Array, inverse = false): Float32Array {
  const d = map.shape[0] * map.shape[1] * map.shape[2];
  const t = tf.tensor(x, [x.length / d, ...map.shape]);
  const out = applyMap(map, t, inverse);
  const data = out.dataSync() as Float32Array;
  tf.dispose([t, out]);
  return data;
}

/** Check a mask Ω: length d (one for all) or n·d (one per example), values exactly 0 or 1. */
export function validateMask(mask: Float32Array, n: number, shape: readonly number[], field = 'mask'): void {
  const d = shape.reduce((a, b) => a * b, 1);
  if (mask.length !== d && mask.length !== n * d) {
    throw new RangeError(`${field}: expected ${d} values (one [${shape}] mask) or ${n * d} (one per image), got ${mask.length}`);
  }
  for (let i = 0; i < mask.length; i++) {
    const v = mask[i] as number;
    if (v !== 0 && v !== 1) throw new RangeError(`${field}: expected values 0 (keep) or 1 (regenerate), got ${v} at index ${i}`);
  }
}

/** Inpainting masks on [H, W, C] (1 = regenerate). */
export type MaskSpec =
  { kind: 'box'; x?: number; y?: number; width?: number; height?: number } | { kind: 'half' } | { kind: 'random'; rate: number; seed?: number };

/** The mask of a spec: box (default the centred half-size box), half (the right half), random pixels at `rate`. */
export function makeMask(spec: MaskSpec, shape: readonly number[]): Float32Array {
  const [h, w, c] = checkShape(shape, 'makeMask');
  const out = new Float32Array(h * w * c);
  const set = (yy: number, xx: number): void => {
    for (let ch = 0; ch < c; ch++) out[(yy * w + xx) * c + ch] = 1;
  };
  if (spec.kind === 'random') {
    if (!(spec.rate >= 0 && spec.rate <= 1)) throw new RangeError(`mask rate: expected a value in [0, 1], got ${spec.rate}`);
    const u = new Rng(spec.seed ?? 0, 0x3a5c).fillUniform(new Float32Array(h * w));
    for (let p = 0; p < h * w; p++) if ((u[p] as number) < spec.rate) set(Math.floor(p / w), p % w);
    return out;
  }
  let x0 = Math.floor(w / 2);
  let y0 = 0;
  let bw = w - x0;
  let bh = h;
  if (spec.kind === 'box') {
    bw = spec.width ?? Math.floor(w / 2);
    bh = spec.height ?? Math.floor(h / 2);
    x0 = spec.x ?? Math.floor((w - bw) / 2);
    y0 = spec.y ?? Math.floor((h - bh) / 2);
    for (const [name, v] of [
      ['x', x0],
      ['y', y0],
      ['width', bw],
      ['height', bh],
    ] as const) {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`mask box.${name}: expected a non-negative integer, got ${v}`);
    }
    if (x0 + bw > w || y0 + bh > h || bw === 0 || bh === 0) {
      throw new RangeError(`mask box: x ${x0}, y ${y0}, width ${bw}, height ${bh} must be a non-empty box inside the ${w}×${h} image`);
    }
  }
  for (let yy = y0; yy < y0 + bh; yy++) for (let xx = x0; xx < x0 + bw; xx++) set(yy, xx);
  return out;
}

/** Ω of super-resolution: every coefficient but each block's average (block pixel 0). */
export function blockDetailMask(map: OrthogonalMap): Float32Array {
  const d = map.shape[0] * map.shape[1] * map.shape[2];
  const k2 = map.matrix.length;
  if (!map.perm) throw new RangeError('blockDetailMask: needs a block map');
  const out = new Float32Array(d).fill(1);
  for (let i = 0; i < d; i += k2) out[map.perm[i] as number] = 0;
  return out;
}

/** Ω of colorization: the two chroma coefficients (channels 1, 2), keeping luminance (channel 0). */
export function chromaMask(shape: readonly number[]): Float32Array {
  const [h, w, c] = checkShape(shape, 'chromaMask');
  const out = new Float32Array(h * w * c);
  for (let p = 0; p < h * w; p++) for (let ch = 1; ch < c; ch++) out[p * c + ch] = 1;
  return out;
}

function maskTensor(mask: Float32Array, n: number, shape: readonly number[], start: number, size: number): tf.Tensor {
  const d = shape.reduce((a, b) => a * b, 1);
  return mask.length === d ? tf.tensor(mask, [1, ...shape]) : tf.tensor(mask.subarray(start * d, (start + size) * d), [size, ...shape]);
}

/** A⁻¹[(A y)⊙(1−Ω)]: what is known of y (the degraded input of Alg. 4). */
export function keptPart(map: OrthogonalMap, y: Float32Array, mask: Float32Array): Float32Array {
  const d = map.shape[0] * map.shape[1] * map.shape[2];
  const n = y.length / d;
  validateMask(mask, n, map.shape);
  return tf.tidy(() => {
    const ay = applyMap(map, tf.tensor(y, [n, ...map.shape]));
    const kept = tf.mul(ay, tf.sub(1, maskTensor(mask, n, map.shape, 0, n)));
    return applyMap(map, kept, true).dataSync() as Float32Array;
  });
}

/** The projection hook x ← A⁻¹[(A y)⊙(1−Ω) + (A x)⊙Ω] for the sampler (y: n references, row-major). */
export function editProjection(map: OrthogonalMap, y: Float32Array, mask: Float32Array): ProjectHook {
  const d = map.shape[0] * map.shape[1] * map.shape[2];
  const n = y.length / d;
  validateMask(mask, n, map.shape);
  return (x, start, size) =>
    tf.tidy(() => {
      const om = maskTensor(mask, n, map.shape, start, size);
      const ay = applyMap(map, tf.tensor(y.subarray(start * d, (start + size) * d), [size, ...map.shape]));
      const ax = applyMap(map, x);
      return applyMap(map, tf.add(tf.mul(ay, tf.sub(1, om)), tf.mul(ax, om)), true);
    });
}

/**
 * Spherical interpolation between two noise vectors (the CM code's interpolation):
 * slerp(z0, z1; α) = sin((1−α)θ)/sin θ · z0 + sin(αθ)/sin θ · z1, θ the angle between them.
 */
export function slerp(z0: Float32Array, z1: Float32Array, alpha: number): Float32Array {
  if (z0.length !== z1.length) throw new RangeError(`slerp: vectors of length ${z0.length} and ${z1.length}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`alpha: expected interpolation weights in [0, 1], got ${alpha}`);
  let dot = 0;
  let n0 = 0;
  let n1 = 0;
  for (let i = 0; i < z0.length; i++) {
    dot += (z0[i] as number) * (z1[i] as number);
    n0 += (z0[i] as number) ** 2;
    n1 += (z1[i] as number) ** 2;
  }
  const theta = Math.acos(Math.max(-1, Math.min(1, dot / Math.sqrt(n0 * n1))));
  const s = Math.sin(theta);
  const [a, b] = s < 1e-8 ? [1 - alpha, alpha] : [Math.sin((1 - alpha) * theta) / s, Math.sin(alpha * theta) / s];
  return z0.map((v, i) => a * v + b * (z1[i] as number));
}

/** Grey version (g, g, g) of RGB images with g = Σ_c L_c x_c / Σ_c L_c: same luminance coordinate as x. */
export function toGrey(x: Float32Array, channels: number): Float32Array {
  if (channels === 1) return x.slice();
  if (channels !== 3) throw new RangeError(`toGrey: expected 1 or 3 channels, got ${channels}`);
  const sum = LUMINANCE[0] + LUMINANCE[1] + LUMINANCE[2];
  const out = new Float32Array(x.length);
  for (let p = 0; p < x.length; p += 3) {
    const g = (LUMINANCE[0] * (x[p] as number) + LUMINANCE[1] * (x[p + 1] as number) + LUMINANCE[2] * (x[p + 2] as number)) / sum;
    out[p] = out[p + 1] = out[p + 2] = g;
  }
  return out;
}

/** A coarse "stroke painting" of images: k×k block means, each value rounded to one of `levels` levels in [−1, 1]. */
export function strokeImage(x: Float32Array, shape: readonly number[], k = 4, levels = 4): Float32Array {
  const [h, w, c] = checkShape(shape, 'strokeImage');
  const map = blockMap([h, w, c], k);
  const coarse = keptPart(map, x, blockDetailMask(map));
  const q = (levels - 1) / 2;
  return coarse.map((v) => Math.round((Math.max(-1, Math.min(1, v)) + 1) * q) / q - 1);
}

export const EDIT_TASKS = ['inpaint', 'superres', 'colorize', 'denoise', 'interpolate', 'stroke'] as const;
export type EditTask = (typeof EDIT_TASKS)[number];

/** What the sampler gets for one editing task, and what is shown as its degraded input. */
export interface EditProblem {
  task: EditTask;
  /** The degraded input (n images), shown beside the reference and the result. */
  degraded: Float32Array;
  init: SampleInit;
  project?: ProjectHook;
  /** A and Ω, where the task has them (for drawing). */
  map?: OrthogonalMap;
  mask?: Float32Array;
}

export type EditSpec =
  | { task: 'inpaint'; mask: Float32Array }
  | { task: 'superres'; factor: number }
  | { task: 'colorize' }
  | { task: 'denoise'; sigma: number; seed: number }
  | { task: 'stroke'; stroke?: Float32Array };

/**
 * The sampler's start and projection for a task on n reference images y of `shape`: inpainting,
 * super-resolution and colorization follow Alg. 4 (start at the kept part, project after each
 * step); denoising starts at y + σ·z as an image already at σ (no projection); stroke-guided editing
 * starts at the stroke image (given, or `strokeImage(y)`) noised to σ_0 (SDEdit).
 */
export function editProblem(spec: EditSpec, y: Float32Array, shape: readonly number[]): EditProblem {
  const [h, w, c] = checkShape(shape, 'editProblem');
  const d = h * w * c;
  if (y.length % d !== 0 || y.length === 0) throw new RangeError(`input: expected n images of [${shape}] (${d} values each), got ${y.length} values`);
  switch (spec.task) {
    case 'inpaint':
    case 'superres':
    case 'colorize': {
      const map = spec.task === 'inpaint' ? identityMap(shape) : spec.task === 'superres' ? blockMap(shape, spec.factor) : colorMap(shape);
      const mask = spec.task === 'inpaint' ? spec.mask : spec.task === 'superres' ? blockDetailMask(map) : chromaMask(shape);
      validateMask(mask, y.length / d, shape);
      const degraded = spec.task === 'colorize' ? toGrey(y, c) : keptPart(map, y, mask);
      return { task: spec.task, degraded, init: { kind: 'image', y: keptPart(map, degraded, mask) }, project: editProjection(map, degraded, mask), map, mask };
    }
    case 'denoise': {
      if (!(spec.sigma > 0) || !Number.isFinite(spec.sigma))
        throw new RangeError(`sigma: expected the noise level of the input, a positive number, got ${spec.sigma}`);
      const z = new Rng(spec.seed, 0xde01).fillNormal(new Float32Array(y.length));
      const degraded = y.map((v, i) => v + spec.sigma * (z[i] as number));
      return { task: 'denoise', degraded, init: { kind: 'noisy', x: degraded } };
    }
    case 'stroke': {
      const stroke = spec.stroke ?? strokeImage(y, shape);
      if (stroke.length !== y.length) throw new RangeError(`stroke: expected ${y.length} values, got ${stroke.length}`);
      return { task: 'stroke', degraded: stroke, init: { kind: 'image', y: stroke } };
    }
  }
}

/** Noise of interpolation: for each pair (z0, z1), slerp at each α; returns [pairs·alphas.length, d] standard-normal-like z. */
export function interpolationNoise(pairs: number, alphas: readonly number[], d: number, seed: number): Float32Array {
  if (alphas.length === 0) throw new RangeError('alpha: expected at least one interpolation weight');
  alphas.forEach((a, i) => {
    if (!(a >= 0 && a <= 1)) throw new RangeError(`alpha[${i}]: expected an interpolation weight in [0, 1], got ${a}`);
  });
  const out = new Float32Array(pairs * alphas.length * d);
  for (let p = 0; p < pairs; p++) {
    const rng = new Rng(seed, 0x51e9, p);
    const z0 = rng.fillNormal(new Float32Array(d));
    const z1 = rng.fillNormal(new Float32Array(d));
    alphas.forEach((a, j) => out.set(slerp(z0, z1, a), (p * alphas.length + j) * d));
  }
  return out;
}
