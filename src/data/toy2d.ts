/**
 * Toy 2D data sets for consistency-model experiments, generated from a seed with `Rng`.
 *
 * Scale: every set is mapped by a fixed per-axis affine map x' = (x − μ)·0.5/σ, where μ and σ are
 * the closed-form mean and standard deviation of the *population* (the raw distribution, noise
 * included), so each coordinate has mean 0 and standard deviation 0.5 in distribution: the
 * σ_data = 0.5 that the CM/iCT scalings assume (see consistency/scalings.ts). A finite sample's
 * moments are then close to (0, 0.5) up to sampling error, and the map does not depend on the sample
 * (so n = 1 works, and a prefix of a larger draw is not rescaled differently). Most sets are
 * isotropic so the map is a uniform scale; two moons is wider than tall, so its x axis is shrunk
 * relatively more (the crescents look a little narrower than the textbook picture).
 *
 * Raw geometry, before that map (documented so tests can check shapes against it):
 * - eight-gaussians: 8 modes at radius 2 and angles kπ/4, each N(mode, 0.2² I).
 * - two-moons: upper arc (cos t, sin t), lower arc (1 − cos t, 0.5 − sin t), t ~ U[0, π], arc
 *   chosen with probability ½, plus N(0, 0.1² I) noise (scikit-learn `make_moons`).
 * - swiss-roll: (t cos t, t sin t), t ~ U[1.5π, 4.5π], plus N(0, 0.5² I) noise (the 2D section
 *   of scikit-learn `make_swiss_roll`).
 * - checkerboard: uniform on the 8 black cells (i + j even) of a 4×4 board of unit cells on [−2, 2]².
 * - rings: 4 concentric circles of radii 1, 2, 3, 4, a ring chosen with probability ∝ its radius
 *   (uniform density along the curves), plus N(0, 0.08² I) noise.
 */
import { Rng } from '../util/rng';

/** Row-major [n, 2] points: x0, y0, x1, y1, ... */
export type Points2D = Float32Array;

export const TOY2D_NAMES = ['eight-gaussians', 'two-moons', 'swiss-roll', 'checkerboard', 'rings'] as const;
export type Toy2dName = (typeof TOY2D_NAMES)[number];

/** Seed of every toy set's held-out points (the training points use the run's seed). */
export const TOY2D_TEST_SEED = 2_000_003;

/** Target per-coordinate standard deviation (CM/iCT σ_data). */
const TARGET_STD = 0.5;

/** RNG stream tag per set, so the sets are independent streams of the same seed. */
const STREAM: Record<Toy2dName, number> = {
  'eight-gaussians': 0x7d2d01,
  'two-moons': 0x7d2d02,
  'swiss-roll': 0x7d2d03,
  checkerboard: 0x7d2d04,
  rings: 0x7d2d05,
};

const DESCRIPTION: Record<Toy2dName, string> = {
  'eight-gaussians': '8 Gaussian modes evenly spaced on a circle (mode std 10% of the radius)',
  'two-moons': 'two interleaved half-circles with small Gaussian noise',
  'swiss-roll': '2D swiss roll: a noisy spiral r = t for t in [1.5π, 4.5π]',
  checkerboard: 'uniform on the 8 black squares of a 4x4 checkerboard',
  rings: '4 concentric noisy circles, radii 1:2:3:4, density uniform along the curves',
};

// Raw geometry constants (see the file comment).
const EG_RADIUS = 2;
const EG_STD = 0.2;
const MOONS_NOISE = 0.1;
const ROLL_T0 = 1.5 * Math.PI;
const ROLL_T1 = 4.5 * Math.PI;
const ROLL_NOISE = 0.5;
const RING_RADII = [1, 2, 3, 4] as const;
const RING_NOISE = 0.08;

interface Moments {
  mx: number;
  my: number;
  sx: number;
  sy: number;
}

/**
 * Closed-form population mean and std per coordinate of each raw set (noise included). Derivations:
 * - eight-gaussians: E[cos²] over 8 equally spaced angles = ½, so Var = R²/2 + s².
 * - two-moons: E[x] = ½(0 + 1), E[x²] = ½(½ + 3/2) → Var x = ¾; E[y] = ½(2/π + ½ − 2/π) = ¼,
 *   E[y²] = ½(½ + ¾ − 2/π) → Var y = 9/16 − 1/π; both + noise².
 * - swiss-roll, t ~ U[a, b] = U[1.5π, 4.5π] (L = 3π): ∫t cos t = t sin t + cos t → E[x] = 6π/L = 2;
 *   ∫t sin t = sin t − t cos t → E[y] = 2/L = 2/(3π); ∫t² cos² t = (b³ − a³)/6 − 3π/4 and
 *   ∫t² sin² t = (b³ − a³)/6 + 3π/4, with (b³ − a³)/6 = 14.625π³ → E[x²] = 4.875π² − ¼,
 *   E[y²] = 4.875π² + ¼.
 * - checkerboard: each column (and row) holds 2 black cells, so each marginal is U[−2, 2]: Var = 16/12.
 * - rings: P(r_k) ∝ r_k → E[r²] = Σr³/Σr = 100/10 = 10, Var per coordinate = E[r²]/2 + noise².
 */
function rawMoments(name: Toy2dName): Moments {
  switch (name) {
    case 'eight-gaussians': {
      const s = Math.sqrt((EG_RADIUS * EG_RADIUS) / 2 + EG_STD * EG_STD);
      return { mx: 0, my: 0, sx: s, sy: s };
    }
    case 'two-moons': {
      const n2 = MOONS_NOISE * MOONS_NOISE;
      return { mx: 0.5, my: 0.25, sx: Math.sqrt(0.75 + n2), sy: Math.sqrt(9 / 16 - 1 / Math.PI + n2) };
    }
    case 'swiss-roll': {
      const p2 = Math.PI * Math.PI;
      const n2 = ROLL_NOISE * ROLL_NOISE;
      const my = 2 / (3 * Math.PI);
      return {
        mx: 2,
        my,
        sx: Math.sqrt(4.875 * p2 - 0.25 - 4 + n2),
        sy: Math.sqrt(4.875 * p2 + 0.25 - my * my + n2),
      };
    }
    case 'checkerboard': {
      const s = Math.sqrt(16 / 12);
      return { mx: 0, my: 0, sx: s, sy: s };
    }
    case 'rings': {
      let sr = 0;
      let sr3 = 0;
      for (const r of RING_RADII) {
        sr += r;
        sr3 += r * r * r;
      }
      const s = Math.sqrt(sr3 / sr / 2 + RING_NOISE * RING_NOISE);
      return { mx: 0, my: 0, sx: s, sy: s };
    }
  }
}

/** Type guard for names coming from a CLI or a config file. */
export function isToy2dName(s: string): s is Toy2dName {
  return (TOY2D_NAMES as readonly string[]).includes(s);
}

function checkName(name: string): Toy2dName {
  if (!isToy2dName(name)) {
    throw new Error(`unknown toy 2D data set '${name}'; valid names: ${TOY2D_NAMES.join(', ')}`);
  }
  return name;
}

/** One-line description of a set, for reports. */
export function describeToy2d(name: Toy2dName): string {
  const nm = checkName(name);
  return `${nm}: ${DESCRIPTION[nm]}; scaled per axis to mean 0, std ${TARGET_STD}`;
}

/** Draw one raw (unscaled) point into out[0], out[1]. */
function drawRaw(name: Toy2dName, rng: Rng, out: [number, number], ringCdf: Float64Array): void {
  switch (name) {
    case 'eight-gaussians': {
      const a = (rng.int(8) * Math.PI) / 4;
      out[0] = EG_RADIUS * Math.cos(a) + EG_STD * rng.normal();
      out[1] = EG_RADIUS * Math.sin(a) + EG_STD * rng.normal();
      return;
    }
    case 'two-moons': {
      const t = Math.PI * rng.uniform();
      const upper = rng.int(2) === 0;
      const x = upper ? Math.cos(t) : 1 - Math.cos(t);
      const y = upper ? Math.sin(t) : 0.5 - Math.sin(t);
      out[0] = x + MOONS_NOISE * rng.normal();
      out[1] = y + MOONS_NOISE * rng.normal();
      return;
    }
    case 'swiss-roll': {
      const t = ROLL_T0 + (ROLL_T1 - ROLL_T0) * rng.uniform();
      out[0] = t * Math.cos(t) + ROLL_NOISE * rng.normal();
      out[1] = t * Math.sin(t) + ROLL_NOISE * rng.normal();
      return;
    }
    case 'checkerboard': {
      // Black cells (i + j even) of the 4x4 board: row j, then column i of matching parity.
      const cell = rng.int(8);
      const j = cell >> 1;
      const i = 2 * (cell & 1) + (j & 1);
      out[0] = i - 2 + rng.uniform();
      out[1] = j - 2 + rng.uniform();
      return;
    }
    case 'rings': {
      const r = RING_RADII[rng.fromCdf(ringCdf)] as number;
      const a = 2 * Math.PI * rng.uniform();
      out[0] = r * Math.cos(a) + RING_NOISE * rng.normal();
      out[1] = r * Math.sin(a) + RING_NOISE * rng.normal();
      return;
    }
  }
}

/**
 * n points of a toy set as row-major [n, 2] float32, a pure function of (name, n, seed); per-axis
 * mean 0 and std 0.5 in distribution (see the file comment).
 */
export function toy2d(name: Toy2dName, n: number, seed: number): Points2D {
  const nm = checkName(name);
  if (!Number.isInteger(n) || n <= 0) {
    throw new RangeError(`toy2d: n must be a positive integer, got ${n}`);
  }
  const rng = new Rng(seed, STREAM[nm]);
  const { mx, my, sx, sy } = rawMoments(nm);
  const kx = TARGET_STD / sx;
  const ky = TARGET_STD / sy;
  const ringCdf = new Float64Array(RING_RADII.length);
  let acc = 0;
  RING_RADII.forEach((r, k) => {
    acc += r;
    ringCdf[k] = acc;
  });
  const out = new Float32Array(2 * n);
  const p: [number, number] = [0, 0];
  for (let i = 0; i < n; i++) {
    drawRaw(nm, rng, p, ringCdf);
    out[2 * i] = (p[0] - mx) * kx;
    out[2 * i + 1] = (p[1] - my) * ky;
  }
  return out;
}
