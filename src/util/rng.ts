/**
 * Seeded pseudo-random numbers in plain JS (no tensors), so every random draw of a run is a pure
 * function of (seed, stream keys). Training derives one generator per step from (seed, step), which
 * is what makes a resumed run bit-identical to an uninterrupted one without storing RNG state.
 *
 * Generator: xoshiro128** (Blackman & Vigna 2018), seeded through the splitmix32 mixer.
 */

/** splitmix32 step: mixes a 32-bit state into a well-distributed 32-bit output. */
function splitmix32(state: number): [next: number, out: number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [next, z >>> 0];
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * A faster fill of dropout masks with exactly the draws of `Rng.fillDropoutMask`'s loop (the native
 * addon's, set by src/backend/native where it loads; null otherwise). It receives the generator
 * state as an Int32Array [s0, s1, s2, s3] and updates it in place.
 */
export type DropoutMaskFiller = (out: Float32Array, state: Int32Array, p: number, keep: number) => void;
let dropoutMaskFiller: DropoutMaskFiller | null = null;
/** Masks shorter than this stay in JS (the call costs more than it saves). */
const NATIVE_MASK_MIN = 4096;

/** Install (or with null remove) the faster dropout-mask fill. */
export function setDropoutMaskFiller(f: DropoutMaskFiller | null): void {
  dropoutMaskFiller = f;
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;

  /**
   * @param seed integer seed
   * @param streams further integer keys (e.g. the training step, a purpose tag): the same
   *   (seed, ...streams) always gives the same sequence, different keys give independent ones.
   */
  constructor(seed: number, ...streams: number[]) {
    if (!Number.isInteger(seed)) throw new RangeError(`Rng: seed must be an integer, got ${seed}`);
    let h = seed | 0;
    let out = 0;
    for (const key of [seed / 2 ** 32, ...streams]) {
      if (!Number.isFinite(key)) throw new RangeError(`Rng: stream key must be finite, got ${key}`);
      [h, out] = splitmix32(h ^ (Math.floor(key) | 0));
      h = (h ^ out) | 0;
    }
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      [h, out] = splitmix32(h);
      words.push(out | 0);
    }
    if (!words.some((w) => w !== 0)) words[0] = 1; // xoshiro's all-zero state is absorbing
    [this.s0, this.s1, this.s2, this.s3] = words as [number, number, number, number];
  }

  /** Next raw 32-bit unsigned integer (xoshiro128**). */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9);
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result >>> 0;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`Rng.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal draw (Box-Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fill `out` with N(mean, std^2) draws; returns `out`. */
  fillNormal<T extends Float32Array | Float64Array>(out: T, mean = 0, std = 1): T {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** Fill `out` with U[0, 1) draws; returns `out`. */
  fillUniform<T extends Float32Array | Float64Array>(out: T): T {
    for (let i = 0; i < out.length; i++) out[i] = this.uniform();
    return out;
  }

  /**
   * Dropout mask: out[i] = 0 with probability p, else `keep`, exactly as
   * `out[i] = this.uniform() < p ? 0 : keep` in a loop (same draws, same state afterwards), with the
   * generator's state in locals: ~3x faster on the masks of an image batch. Where the native
   * kernels are loaded, masks of 4096+ values are drawn by the addon (the same draws in C).
   * A deliberate copy: native/ctlab_native.cc `DropoutMask` is this loop in C; test/backend/native-kernels.test.ts
   * holds the two equal draw for draw and state for state.
   */
  fillDropoutMask(out: Float32Array, p: number, keep: number): Float32Array {
    if (dropoutMaskFiller && out.length >= NATIVE_MASK_MIN) {
      const state = Int32Array.of(this.s0, this.s1, this.s2, this.s3);
      dropoutMaskFiller(out, state, p, keep);
      this.s0 = state[0] as number;
      this.s1 = state[1] as number;
      this.s2 = state[2] as number;
      this.s3 = state[3] as number;
      return out;
    }
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    // uniform() < p  <=>  hi·2^26 + lo < p·2^53 (both sides scaled by a power of two: exact)
    const limit = p * 9007199254740992;
    for (let i = 0; i < out.length; i++) {
      const a = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 5; // nextU32() >>> 5
      let t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = rotl(s3, 11);
      const b = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 6; // nextU32() >>> 6
      t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = rotl(s3, 11);
      out[i] = a * 67108864 + b < limit ? 0 : keep;
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
    return out;
  }

  /** Index drawn from a discrete distribution given by its cumulative sums (last entry = total). */
  fromCdf(cdf: ArrayLike<number>): number {
    const total = cdf[cdf.length - 1];
    if (total === undefined || !(total > 0)) throw new RangeError('Rng.fromCdf: the cdf must end in a positive total');
    const u = this.uniform() * total;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cdf[mid] as number) > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** A permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i] as number;
      p[i] = p[j] as number;
      p[j] = t;
    }
    return p;
  }
}
