/**
 * Shared by the wasm and native kernel tests: the convolution cases (strides 1-2, same/valid
 * padding, kernel sizes 1-5, odd sizes, batch > 1, batches the filter-gradient kernel splits) and
 * float64 references of a convolution and its two gradients (NHWC, HWIO filters).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/util/rng';

export interface ConvCase {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: [number, number];
  s: [number, number];
  pad: 'same' | 'valid';
}

export function convCases(): ConvCase[] {
  const cases: ConvCase[] = [];
  const rng = new Rng(7);
  for (const k of [1, 2, 3, 4, 5]) {
    for (const s of [1, 2]) {
      for (const pad of ['same', 'valid'] as const) {
        const h = 5 + rng.int(6); // 5..10, odd and even
        const w = 5 + rng.int(6);
        cases.push({ n: 1 + rng.int(3), h, w, ci: 1 + rng.int(4), co: 1 + rng.int(5), k: [k, k], s: [s, s], pad });
      }
    }
  }
  cases.push({ n: 3, h: 9, w: 6, ci: 3, co: 4, k: [3, 1], s: [2, 1], pad: 'same' });
  cases.push({ n: 2, h: 7, w: 8, ci: 2, co: 3, k: [2, 5], s: [1, 2], pad: 'valid' });
  cases.push({ n: 4, h: 16, w: 16, ci: 8, co: 16, k: [3, 3], s: [1, 1], pad: 'same' });
  // batches split into chunks by the wasm filter-gradient kernel (8 per chunk: 12 -> 2 x 6, 16 -> 2 x 8, 7 -> 7 x 1)
  cases.push({ n: 12, h: 7, w: 6, ci: 3, co: 5, k: [3, 3], s: [2, 2], pad: 'valid' });
  cases.push({ n: 16, h: 6, w: 6, ci: 4, co: 3, k: [3, 3], s: [1, 1], pad: 'same' });
  cases.push({ n: 7, h: 5, w: 5, ci: 2, co: 3, k: [2, 2], s: [1, 1], pad: 'same' });
  // one output channel with Ci >= 8 (the native direct kernel's vector path): the U-Net's output
  // layer, and an odd Ci with a stride
  cases.push({ n: 3, h: 16, w: 16, ci: 32, co: 1, k: [3, 3], s: [1, 1], pad: 'same' });
  cases.push({ n: 2, h: 9, w: 8, ci: 13, co: 1, k: [3, 3], s: [2, 2], pad: 'valid' });
  return cases;
}

export function caseName(c: ConvCase): string {
  return `n${c.n} ${c.h}x${c.w} ci${c.ci} co${c.co} k${c.k.join('x')} s${c.s.join('x')} ${c.pad}`;
}

export function randn(rng: Rng, shape: number[]): Float32Array {
  return rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)));
}

/** The geometry tfjs computes for the case (output size, padding), dilation 1 unless given. */
export function convGeometry(
  xShape: number[],
  wShape: number[],
  strides: [number, number],
  pad: tf.backend_util.PadInfo['type'] | 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]],
  dilations: [number, number] = [1, 1],
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    wShape as [number, number, number, number],
    strides,
    dilations,
    pad as 'same' | 'valid',
    undefined,
    false,
    'channelsLast',
  );
}

type Visit = (xi: number, wi: number, yi: number) => void;

function eachTap(g: tf.backend_util.Conv2DInfo, visit: Visit): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outHeight: Ho, outWidth: Wo, outChannels: Co } = g;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = g;
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < Ho; oh++)
      for (let ow = 0; ow < Wo; ow++)
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * sh - g.padInfo.top + kh * dh;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * sw - g.padInfo.left + kw * dw;
            if (iw < 0 || iw >= W) continue;
            for (let ci = 0; ci < Ci; ci++)
              for (let co = 0; co < Co; co++)
                visit(((n * H + ih) * W + iw) * Ci + ci, ((kh * KW + kw) * Ci + ci) * Co + co, ((n * Ho + oh) * Wo + ow) * Co + co);
          }
        }
}

/** y = conv(x, w) (+ bias), in float64. */
export function convRef(g: tf.backend_util.Conv2DInfo, x: Float32Array, w: Float32Array, bias?: Float32Array): Float64Array {
  const y = new Float64Array(g.batchSize * g.outHeight * g.outWidth * g.outChannels);
  if (bias) for (let i = 0; i < y.length; i++) y[i] = bias[i % g.outChannels] as number;
  eachTap(g, (xi, wi, yi) => {
    y[yi] = (y[yi] as number) + (x[xi] as number) * (w[wi] as number);
  });
  return y;
}

/** dx of sum(conv(x, w) * dy), in float64. */
export function convBackpropInputRef(g: tf.backend_util.Conv2DInfo, dy: Float32Array, w: Float32Array): Float64Array {
  const dx = new Float64Array(g.batchSize * g.inHeight * g.inWidth * g.inChannels);
  eachTap(g, (xi, wi, yi) => {
    dx[xi] = (dx[xi] as number) + (dy[yi] as number) * (w[wi] as number);
  });
  return dx;
}

/** dw of sum(conv(x, w) * dy), in float64. */
export function convBackpropFilterRef(g: tf.backend_util.Conv2DInfo, x: Float32Array, dy: Float32Array): Float64Array {
  const dw = new Float64Array(g.filterHeight * g.filterWidth * g.inChannels * g.outChannels);
  eachTap(g, (xi, wi, yi) => {
    dw[wi] = (dw[wi] as number) + (x[xi] as number) * (dy[yi] as number);
  });
  return dw;
}

/** C = op(A)·op(B) for each batch (equal batches, or a batch of 1 broadcast), in float64. */
export function matMulRef(
  a: Float32Array,
  b: Float32Array,
  batchA: number,
  batchB: number,
  m: number,
  k: number,
  n: number,
  ta: boolean,
  tb: boolean,
): Float64Array {
  const batch = Math.max(batchA, batchB);
  const c = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    const ao = batchA === 1 ? 0 : p * m * k;
    const bo = batchB === 1 ? 0 : p * k * n;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += (a[ao + (ta ? q * m + i : i * k + q)] as number) * (b[bo + (tb ? j * k + q : q * n + j)] as number);
        c[(p * m + i) * n + j] = s;
      }
  }
  return c;
}

/**
 * The values of tensors computed in a tidy scope. Returning typed arrays from `tf.tidy` itself is
 * slow: tidy walks its result for tensors element by element (~3 s for 2M floats here).
 */
export function tidyValues(f: () => tf.Tensor[]): Float32Array[] {
  const ts = tf.tidy(f);
  const out = ts.map((t) => t.dataSync() as Float32Array);
  tf.dispose(ts);
  return out;
}

/** Max |got - want| <= tol · max(1, max |want|). */
export function closeMsg(got: ArrayLike<number>, want: ArrayLike<number> & Iterable<number>, tol: number): string | null {
  if (got.length !== want.length) return `length ${got.length}, expected ${want.length}`;
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs((got[i] as number) - (want[i] as number)));
  return worst <= tol * Math.max(1, scale) ? null : `max abs err ${worst} (scale ${scale}, tolerance ${tol})`;
}
