/**
 * Reference metrics of edited images, on model-range images ([−1, 1], NHWC, row-major) mapped to
 * [0, 1]: PSNR = 10·log10(1 / MSE) per image, averaged; SSIM (Wang et al. 2004) with a 7×7 Gaussian
 * window (σ 1.5; 7 rather than 11 because the images are 16×16), C1 = 0.01², C2 = 0.03², over the
 * window positions inside the image, per channel, averaged over channels and images. Float64 math.
 */

function checkPair(a: Float32Array, b: Float32Array, shape: readonly number[]): [number, number, number, number] {
  const [h, w, c] = shape;
  if (shape.length !== 3 || !h || !w || !c) throw new RangeError(`image metrics: expected an image shape [H, W, C], got [${shape}]`);
  const d = h * w * c;
  if (a.length !== b.length || a.length % d !== 0 || a.length === 0) {
    throw new RangeError(`image metrics: both sets must hold the same n images of [${shape}], got ${a.length} and ${b.length} values`);
  }
  return [a.length / d, h, w, c];
}

/** Mean PSNR in dB of images `x` against `ref` (per image, capped at 100 dB for identical images). */
export function psnr(x: Float32Array, ref: Float32Array, shape: readonly number[]): number {
  const [n, h, w, c] = checkPair(x, ref, shape);
  const d = h * w * c;
  let total = 0;
  for (let k = 0; k < n; k++) {
    let se = 0;
    for (let i = k * d; i < (k + 1) * d; i++) {
      const e = ((x[i] as number) - (ref[i] as number)) / 2; // [−1, 1] → [0, 1] scale
      se += e * e;
    }
    const mse = se / d;
    total += mse === 0 ? 100 : Math.min(100, 10 * Math.log10(1 / mse));
  }
  return total / n;
}

const WIN = 7;
const WIN_SIGMA = 1.5;
const GAUSS = (() => {
  const g = Array.from({ length: WIN }, (_, i) => Math.exp(-((i - (WIN - 1) / 2) ** 2) / (2 * WIN_SIGMA * WIN_SIGMA)));
  const s = g.reduce((a, b) => a + b, 0);
  return g.map((v) => v / s);
})();

/** Mean SSIM of images `x` against `ref` (window 7 or the image size if smaller). */
export function ssim(x: Float32Array, ref: Float32Array, shape: readonly number[]): number {
  const [n, h, w, c] = checkPair(x, ref, shape);
  const win = Math.min(WIN, h, w);
  const g = win === WIN ? GAUSS : new Array<number>(win).fill(1 / win);
  const c1 = 0.01 ** 2;
  const c2 = 0.03 ** 2;
  let total = 0;
  let count = 0;
  const at = (arr: Float32Array, k: number, yy: number, xx: number, ch: number): number => ((arr[((k * h + yy) * w + xx) * c + ch] as number) + 1) / 2;
  for (let k = 0; k < n; k++) {
    for (let ch = 0; ch < c; ch++) {
      for (let y0 = 0; y0 + win <= h; y0++) {
        for (let x0 = 0; x0 + win <= w; x0++) {
          let ma = 0;
          let mb = 0;
          let saa = 0;
          let sbb = 0;
          let sab = 0;
          for (let i = 0; i < win; i++) {
            for (let j = 0; j < win; j++) {
              const wt = (g[i] as number) * (g[j] as number);
              const a = at(x, k, y0 + i, x0 + j, ch);
              const b = at(ref, k, y0 + i, x0 + j, ch);
              ma += wt * a;
              mb += wt * b;
              saa += wt * a * a;
              sbb += wt * b * b;
              sab += wt * a * b;
            }
          }
          const va = saa - ma * ma;
          const vb = sbb - mb * mb;
          const cov = sab - ma * mb;
          total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
          count++;
        }
      }
    }
  }
  return total / count;
}
