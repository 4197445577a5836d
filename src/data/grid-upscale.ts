/**
 * Rebuilding an unlabelled sample grid PNG (the kit's old format: n tiles of h × w in `cols` columns,
 * `gap` px of one grey level between them, no border, tiles possibly already upscaled by an integer
 * factor) from its own pixels: the tiles are read back at their native size and composed again with
 * nearest-neighbour upscaling to ≥ 64 px and row/column labels (row label + column label = the
 * sample's index in the grid). No pixel is invented: every output tile pixel is a copy of one source
 * pixel. Used by `ctlab grid upscale` (for committed grids whose checkpoints are gone) and by
 * `ctlab report` (grids copied from run directories).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { composeGrid, encodePng, upscaleFor } from './images';

export interface GridLayout {
  /** Native tile size (before any upscaling in the source). */
  h: number;
  w: number;
  c: 1 | 3;
  rows: number;
  cols: number;
  gap: number;
  /** Upscaling factor found in the source (1: native tiles). */
  scale: number;
  gapValue: number;
}

export interface ParsedGrid {
  layout: GridLayout;
  /** The rows·cols tiles at native size, u8 NHWC (blank trailing tiles included). */
  tiles: Uint8Array;
}

/**
 * Read an unlabelled grid of `h`×`w` tiles: finds the one integer scale s for which the image is
 * rows × cols tiles of (h·s)×(w·s) px separated by uniform `gap`-px lines, each tile made of constant
 * s×s blocks. Refused, naming the file, when no scale or more than one fits.
 */
export function parseGridPng(png: Buffer, tile: { h: number; w: number }, opts: { gap?: number; file?: string } = {}): ParsedGrid {
  const file = opts.file ?? 'grid';
  for (const [k, v] of Object.entries(tile)) if (!Number.isInteger(v) || v < 1) throw new RangeError(`--tile: expected a positive integer ${k}, got ${v}`);
  const gap = opts.gap ?? 1;
  if (!Number.isInteger(gap) || gap < 0) throw new RangeError(`--gap: expected a non-negative integer, got ${gap}`);
  const img = PNG.sync.read(png);
  const { width: W, height: H } = img;
  const c: 1 | 3 = img.colorType === 0 || img.colorType === 4 ? 1 : 3;
  const px = (x: number, y: number, ch: number): number => img.data[(y * W + x) * 4 + (c === 1 ? 0 : ch)] as number;
  const fits: ParsedGrid[] = [];
  for (let s = 1; tile.h * s <= H && tile.w * s <= W; s++) {
    const th = tile.h * s;
    const tw = tile.w * s;
    if ((W + gap) % (tw + gap) !== 0 || (H + gap) % (th + gap) !== 0) continue;
    const cols = (W + gap) / (tw + gap);
    const rows = (H + gap) / (th + gap);
    const inGap = (v: number, t: number): boolean => v % (t + gap) >= t;
    let gapValue = -1;
    let ok = true;
    for (let y = 0; y < H && ok; y++)
      for (let x = 0; x < W && ok; x++) {
        const gx = inGap(x, tw);
        const gy = inGap(y, th);
        if (gx || gy) {
          for (let ch = 0; ch < c && ok; ch++) {
            const v = px(x, y, ch);
            if (gapValue < 0) gapValue = v;
            if (v !== gapValue) ok = false;
          }
        } else {
          // nearest-neighbour blocks: every pixel equals its block's top-left pixel
          const x0 = x - ((x % (tw + gap)) % s);
          const y0 = y - ((y % (th + gap)) % s);
          for (let ch = 0; ch < c && ok; ch++) if (px(x, y, ch) !== px(x0, y0, ch)) ok = false;
        }
      }
    if (!ok || (gap > 0 && (rows > 1 || cols > 1) && gapValue < 0)) continue;
    const tiles = new Uint8Array(rows * cols * tile.h * tile.w * c);
    for (let k = 0; k < rows * cols; k++) {
      const ox = (k % cols) * (tw + gap);
      const oy = Math.floor(k / cols) * (th + gap);
      for (let y = 0; y < tile.h; y++)
        for (let x = 0; x < tile.w; x++) for (let ch = 0; ch < c; ch++) tiles[((k * tile.h + y) * tile.w + x) * c + ch] = px(ox + x * s, oy + y * s, ch);
    }
    fits.push({ layout: { h: tile.h, w: tile.w, c, rows, cols, gap, scale: s, gapValue: Math.max(0, gapValue < 0 ? 255 : gapValue) }, tiles });
  }
  if (fits.length === 0)
    throw new RangeError(
      `${file}: ${W}×${H} px is not an unlabelled grid of ${tile.h}×${tile.w} tiles (at any integer upscaling) with ${gap}-px uniform gaps; check --tile and --gap`,
    );
  if (fits.length > 1) throw new RangeError(`${file}: ambiguous: it reads as a grid at upscaling ${fits.map((f) => f.layout.scale).join(' and ')}`);
  return fits[0] as ParsedGrid;
}

/** Row labels (index of the row's first tile) and column labels (0..cols−1): row + column = the tile's index. */
export function gridIndexLabels(rows: number, cols: number): { rowLabels: string[]; colLabels: string[] } {
  return { rowLabels: Array.from({ length: rows }, (_, i) => String(i * cols)), colLabels: Array.from({ length: cols }, (_, j) => String(j)) };
}

/** The grid recomposed at ≥ 64 px per tile with index labels and an optional title, as PNG bytes. */
export function upscaleGridPng(
  png: Buffer,
  tile: { h: number; w: number },
  opts: { gap?: number; title?: string; file?: string } = {},
): { png: Buffer; layout: GridLayout; outScale: number; width: number; height: number } {
  const { layout, tiles } = parseGridPng(png, tile, opts);
  const outScale = upscaleFor(layout.h);
  const g = composeGrid(tiles, layout.rows * layout.cols, layout.h, layout.w, layout.c, layout.cols, {
    scale: outScale,
    gap: Math.max(1, layout.gap),
    gapValue: layout.gapValue,
    ...gridIndexLabels(layout.rows, layout.cols),
    ...(opts.title ? { title: opts.title } : {}),
  });
  return { png: encodePng(g.data, g.width, g.height, layout.c), layout, outScale, width: g.width, height: g.height };
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Write the upscaled grid to `out` (parent folders created); returns what was done, for a provenance record. */
export function writeUpscaledGrid(
  png: Buffer,
  out: string,
  tile: { h: number; w: number },
  opts: { gap?: number; title?: string; file?: string } = {},
): { layout: GridLayout; outScale: number; width: number; height: number; sha256: string } {
  const r = upscaleGridPng(png, tile, opts);
  mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  writeFileSync(out, r.png);
  return { layout: r.layout, outScale: r.outScale, width: r.width, height: r.height, sha256: sha256(r.png) };
}
