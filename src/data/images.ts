/**
 * Image batches as flat typed arrays in NHWC layout ([n, h, w, c], row-major, channels last):
 * resizing, the u8 ↔ model-range maps, seeded shuffles and PNG sample grids.
 *
 * Model range: pixels u ∈ {0..255} map to x = u/127.5 − 1 ∈ [−1, 1]. That is the range the CM/iCT
 * constants assume (σ_data = 0.5, see consistency/scalings.ts): the per-pixel standard deviation of
 * natural image data sets scaled to [−1, 1] is roughly 0.5 (Karras et al. 2022, EDM, Sec. 5).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { Rng } from '../util/rng';
import { drawText, GLYPH_H, textWidth } from './bitmap-font';

export type ResizeMethod = 'area' | 'nearest';

const SHUFFLE_STREAM = 0x5f1e;

function checkDims(len: number, n: number, h: number, w: number, c: number, what: string): void {
  for (const [name, v] of [
    ['n', n],
    ['h', h],
    ['w', w],
    ['c', c],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${what}: ${name} must be a positive integer, got ${v}`);
  }
  if (len !== n * h * w * c) {
    throw new RangeError(`${what}: array has length ${len}, expected n·h·w·c = ${n}·${h}·${w}·${c} = ${n * h * w * c}`);
  }
}

/**
 * Per output index along one axis, the input indices it reads and their weights (summing to 1).
 * Area: output cell o covers [o·in/out, (o+1)·in/out) in input coordinates, and each input cell
 * weighs by its overlap with it (a box filter; for an integer factor, the plain mean of the block).
 * Nearest: the input cell containing the output cell's centre, (o + ½)·in/out.
 */
function axisWeights(inSize: number, outSize: number, method: ResizeMethod): { idx: Int32Array; wt: Float64Array; start: Int32Array } {
  const scale = inSize / outSize;
  const idx: number[] = [];
  const wt: number[] = [];
  const start = new Int32Array(outSize + 1);
  for (let o = 0; o < outSize; o++) {
    start[o] = idx.length;
    if (method === 'nearest') {
      idx.push(Math.min(inSize - 1, Math.floor((o + 0.5) * scale)));
      wt.push(1);
      continue;
    }
    const a = o * scale;
    const b = (o + 1) * scale;
    const i0 = Math.floor(a);
    const i1 = Math.min(inSize, Math.ceil(b - 1e-9));
    for (let i = i0; i < i1; i++) {
      const overlap = Math.min(b, i + 1) - Math.max(a, i);
      if (overlap > 1e-12) {
        idx.push(i);
        wt.push(overlap / scale);
      }
    }
  }
  start[outSize] = idx.length;
  return { idx: Int32Array.from(idx), wt: Float64Array.from(wt), start };
}

/**
 * Resize a batch of NHWC images to outH × outW. 'area' (default) averages the input pixels each
 * output pixel covers, weighted by overlap (OpenCV's INTER_AREA for downscaling; 28→14 is the 2x2
 * mean, 28→16 mixes fractional cells); it also works for upscaling, where it blends at most two
 * cells per axis. 'nearest' picks the input pixel under each output pixel's centre. A u8 input gives
 * a rounded u8 output, a float input a float output. Same size: a copy.
 */
export function resizeImages<T extends Uint8Array | Float32Array>(
  images: T,
  n: number,
  h: number,
  w: number,
  c: number,
  outH: number,
  outW: number,
  method: ResizeMethod = 'area',
): T {
  checkDims(images.length, n, h, w, c, 'resizeImages');
  if (!Number.isInteger(outH) || outH <= 0 || !Number.isInteger(outW) || outW <= 0) {
    throw new RangeError(`resizeImages: output size must be positive integers, got ${outH}x${outW}`);
  }
  if (method !== 'area' && method !== 'nearest') throw new RangeError(`resizeImages: method must be 'area' or 'nearest', got '${String(method)}'`);
  const isU8 = images instanceof Uint8Array;
  const out = (isU8 ? new Uint8Array(n * outH * outW * c) : new Float32Array(n * outH * outW * c)) as T;
  const ay = axisWeights(h, outH, method);
  const ax = axisWeights(w, outW, method);
  const acc = new Float64Array(c);
  for (let k = 0; k < n; k++) {
    const inBase = k * h * w * c;
    const outBase = k * outH * outW * c;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        acc.fill(0);
        for (let p = ay.start[oy] as number; p < (ay.start[oy + 1] as number); p++) {
          const rowBase = inBase + (ay.idx[p] as number) * w * c;
          const wy = ay.wt[p] as number;
          for (let q = ax.start[ox] as number; q < (ax.start[ox + 1] as number); q++) {
            const px = rowBase + (ax.idx[q] as number) * c;
            const wgt = wy * (ax.wt[q] as number);
            for (let ch = 0; ch < c; ch++) acc[ch] = (acc[ch] as number) + wgt * (images[px + ch] as number);
          }
        }
        const o = outBase + (oy * outW + ox) * c;
        for (let ch = 0; ch < c; ch++) {
          const v = acc[ch] as number;
          out[o + ch] = isU8 ? Math.min(255, Math.max(0, Math.round(v))) : v;
        }
      }
    }
  }
  return out;
}

/** u8 pixels → float32 in [−1, 1]: x = u/127.5 − 1 (0 → −1, 255 → 1). */
export function toModelRange(u8: Uint8Array): Float32Array {
  const out = new Float32Array(u8.length);
  for (let i = 0; i < u8.length; i++) out[i] = (u8[i] as number) / 127.5 - 1;
  return out;
}

/**
 * Model-range values → u8: u = round((x + 1)·127.5), clamped to [0, 255]; NaN maps to 0. Inverse of
 * `toModelRange` on its outputs.
 */
export function fromModelRange(x: Float32Array | Float64Array): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = Math.round(((x[i] as number) + 1) * 127.5);
    out[i] = Number.isNaN(v) ? 0 : Math.min(255, Math.max(0, v));
  }
  return out;
}

/** A seeded permutation of 0..n−1 (a pure function of (n, seed)). */
export function shuffleIndices(n: number, seed: number): Uint32Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`shuffleIndices: n must be a non-negative integer, got ${n}`);
  return new Rng(seed, SHUFFLE_STREAM).permutation(n);
}

/** The rows `indices` of an NHWC batch (e.g. a shuffled or class-filtered subset). */
export function gatherImages<T extends Uint8Array | Float32Array>(images: T, perImage: number, indices: ArrayLike<number>): T {
  const n = images.length / perImage;
  const out = (images instanceof Uint8Array ? new Uint8Array(indices.length * perImage) : new Float32Array(indices.length * perImage)) as T;
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k] as number;
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`gatherImages: index ${i} out of range [0, ${n})`);
    out.set(images.subarray(i * perImage, (i + 1) * perImage), k * perImage);
  }
  return out;
}

export interface ImageGridOptions {
  /** Gap between tiles in pixels (default 1). */
  gap?: number;
  /** Gap colour as a u8 grey level (default 255, white). */
  gapValue?: number;
  /** Nearest-neighbour upscaling of every tile (default 1; `upscaleFor(h)` gives tiles of >= 64 px). */
  scale?: number;
  /** Labels left of each row and above each column (drawn in a 5×7 bitmap font). */
  rowLabels?: readonly string[];
  colLabels?: readonly string[];
  /** A title line above everything (e.g. the run and sampler the tiles come from). */
  title?: string;
}

/** Smallest tiles of the kit's grids, in pixels: today's 16-px tiles are too small to judge. */
export const MIN_TILE_PX = 64;

/** The upscaling factor that makes an h-pixel tile at least `MIN_TILE_PX` tall. */
export function upscaleFor(h: number): number {
  return Math.max(1, Math.ceil(MIN_TILE_PX / h));
}

/**
 * A grid of u8 NHWC tiles as one u8 image: tiles upscaled by `scale` (nearest neighbour), `gap` px
 * between them, row labels on the left and column labels on top (black on white).
 */
export function composeGrid(
  u8: Uint8Array,
  n: number,
  h: number,
  w: number,
  c: number,
  cols: number,
  opts: ImageGridOptions = {},
): { width: number; height: number; data: Uint8Array } {
  checkDims(u8.length, n, h, w, c, 'composeGrid');
  const s = opts.scale ?? 1;
  if (!Number.isInteger(s) || s < 1) throw new RangeError(`grid scale: expected a positive integer, got ${s}`);
  const gap = opts.gap ?? 1;
  if (!Number.isInteger(gap) || gap < 0) throw new RangeError(`writeImageGrid: gap must be a non-negative integer, got ${gap}`);
  const gapValue = Math.min(255, Math.max(0, Math.round(opts.gapValue ?? 255)));
  const th = h * s;
  const tw = w * s;
  const g = gridSize(n, th, tw, cols, gap);
  const rowLabels = opts.rowLabels ?? [];
  const colLabels = opts.colLabels ?? [];
  const colScale = colLabels.length && Math.max(...colLabels.map((l) => textWidth(l, 2))) <= tw ? 2 : 1;
  const rowScale = colLabels.length ? colScale : 2;
  const left = rowLabels.length ? Math.max(...rowLabels.map((l) => textWidth(l, rowScale))) + 8 : 0;
  const title = opts.title ?? '';
  const titleScale = title && textWidth(title, 2) + 8 <= left + g.width ? 2 : 1;
  const titleH = title ? GLYPH_H * titleScale + 8 : 0;
  const top = titleH + (colLabels.length ? GLYPH_H * colScale + 6 : 0);
  const width = Math.max(left + g.width, title ? textWidth(title, titleScale) + 8 : 0);
  const height = top + g.height;
  const data = new Uint8Array(width * height * c).fill(255);
  for (let y = top; y < height; y++) data.fill(gapValue, (y * width + left) * c, (y * width + left + g.width) * c);
  for (let k = 0; k < n; k++) {
    const x0 = left + (k % cols) * (tw + gap);
    const y0 = top + Math.floor(k / cols) * (th + gap);
    for (let y = 0; y < th; y++) {
      const srcRow = (k * h + Math.floor(y / s)) * w * c;
      const dst = ((y0 + y) * width + x0) * c;
      for (let x = 0; x < tw; x++) {
        const src = srcRow + Math.floor(x / s) * c;
        for (let ch = 0; ch < c; ch++) data[dst + x * c + ch] = u8[src + ch] as number;
      }
    }
  }
  colLabels.slice(0, g.cols).forEach((label, j) => {
    const x = left + j * (tw + gap) + Math.floor((tw - textWidth(label, colScale)) / 2);
    drawText(data, width, height, c, label, Math.max(left + j * (tw + gap), x), titleH + 3, colScale);
  });
  if (title) drawText(data, width, height, c, title, 4, 4, titleScale);
  rowLabels.slice(0, g.rows).forEach((label, i) => {
    drawText(data, width, height, c, label, 4, top + i * (th + gap) + Math.floor((th - GLYPH_H * rowScale) / 2), rowScale);
  });
  return { width, height, data };
}

/** Encode a u8 image (c = 1 grey, 3 RGB) as PNG bytes. */
export function encodePng(data: Uint8Array, width: number, height: number, c: number): Buffer {
  if (c !== 1 && c !== 3) throw new RangeError(`PNG: c must be 1 (grey) or 3 (RGB), got ${c}`);
  const png = new PNG({ width, height });
  png.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const colorType = c === 1 ? 0 : 2;
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: false });
}

/**
 * Read a PNG as model-range pixels [H, W, C] for a model of `channels` channels: refused, naming the
 * file and the expected size and channels, unless it is `height`×`width` and grey (for 1) or RGB(A)
 * with no transparency (for 3). A grey PNG for an RGB model is refused too (except with `allowGrey`,
 * which repeats it into 3 channels).
 */
export function readPngImage(file: string, height: number, width: number, channels: number, opts: { allowGrey?: boolean } = {}): Float32Array {
  const png = PNG.sync.read(readFileSync(file));
  if (png.width !== width || png.height !== height) {
    throw new RangeError(`${file}: the PNG is ${png.width}×${png.height}, expected ${width}×${height} (the model's image size)`);
  }
  const grey = png.colorType === 0 || png.colorType === 4;
  const have = grey ? 1 : 3;
  if (have !== channels && !(opts.allowGrey && grey && channels === 3)) {
    throw new RangeError(`${file}: the PNG has ${have} channel(s) (${grey ? 'grey' : 'RGB'}), expected ${channels} (${channels === 1 ? 'grey' : 'RGB'})`);
  }
  const out = new Uint8Array(height * width * channels);
  for (let p = 0; p < height * width; p++) {
    if (png.data[p * 4 + 3] !== 255) throw new RangeError(`${file}: pixel ${p} is transparent; expected an opaque image`);
    for (let ch = 0; ch < channels; ch++) out[p * channels + ch] = png.data[p * 4 + (channels === 1 ? 0 : ch)] as number;
  }
  return toModelRange(out);
}

/** Read a mask PNG (height × width, grey: 0 keep, 255 regenerate; anything else refused) as 0/1 over [H, W, C]. */
export function readPngMask(file: string, height: number, width: number, channels: number): Float32Array {
  const png = PNG.sync.read(readFileSync(file));
  if (png.width !== width || png.height !== height) {
    throw new RangeError(`--mask ${file}: the PNG is ${png.width}×${png.height}, expected ${width}×${height} (the model's image size)`);
  }
  const out = new Float32Array(height * width * channels);
  for (let p = 0; p < height * width; p++) {
    const v = png.data[p * 4] as number;
    if ((v !== 0 && v !== 255) || png.data[p * 4 + 1] !== v || png.data[p * 4 + 2] !== v) {
      throw new RangeError(
        `--mask ${file}: pixel ${p} is (${png.data[p * 4]}, ${png.data[p * 4 + 1]}, ${png.data[p * 4 + 2]}); expected black (0, keep) or white (255, regenerate) only`,
      );
    }
    for (let ch = 0; ch < channels; ch++) out[p * channels + ch] = v === 255 ? 1 : 0;
  }
  return out;
}

/** Pixel size of a grid of n tiles of h × w in `cols` columns (fewer when n < cols). */
export function gridSize(n: number, h: number, w: number, cols: number, gap = 1): { width: number; height: number; rows: number; cols: number } {
  const nc = Math.min(cols, n);
  const nr = Math.ceil(n / cols);
  return { width: nc * w + (nc - 1) * gap, height: nr * h + (nr - 1) * gap, rows: nr, cols: nc };
}

/**
 * Write n model-range images (NHWC, c = 1 grey or 3 RGB) as one PNG grid, `cols` tiles per row in
 * index order, `gap` pixels (default 1) of `gapValue` between tiles and none around the border. The
 * PNG is greyscale for c = 1 and RGB for c = 3. Parent folders are created.
 */
export function writeImageGrid(
  file: string,
  images: Float32Array,
  n: number,
  h: number,
  w: number,
  c: number,
  cols: number,
  opts: ImageGridOptions = {},
): void {
  checkDims(images.length, n, h, w, c, 'writeImageGrid');
  if (c !== 1 && c !== 3) throw new RangeError(`writeImageGrid: c must be 1 (grey) or 3 (RGB), got ${c}`);
  if (!Number.isInteger(cols) || cols <= 0) throw new RangeError(`writeImageGrid: cols must be a positive integer, got ${cols}`);
  const g = composeGrid(fromModelRange(images), n, h, w, c, cols, opts);
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, encodePng(g.data, g.width, g.height, c));
}
