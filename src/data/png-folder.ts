/**
 * A folder of PNG images as one NHWC u8 batch.
 *
 * Files: every regular file directly in the folder whose name ends in `.png` (any case),
 * sorted by name (code-point order, so zero-pad numbered names: 0009.png before 0010.png);
 * sub-folders and other files are ignored.
 * Channels: 1 when every image is greyscale (PNG colour types 0 and 4), else 3; `channels` forces
 * either. A colour image read as 1 channel becomes its luma 0.299 R + 0.587 G + 0.114 B (ITU-R
 * BT.601, as PIL's convert('L')); a grey one read as 3 channels is repeated. Alpha is dropped (the
 * colour values are kept as stored, as PIL's convert('RGB') does). 16-bit PNGs are scaled to 8 bits.
 * Size: without `size` all images must have the same size; with `size` each image is resized to it
 * (`resize`: 'area' by default, or 'nearest'; see images.ts).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { resizeImages, type ResizeMethod } from './images';

/** A PNG folder problem; the message starts with the file's (or folder's) path. */
export class PngFolderError extends Error {
  readonly file: string;

  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'PngFolderError';
    this.file = file;
  }
}

export interface PngFolderOptions {
  /** Force 1 (grey) or 3 (RGB) channels; default: 1 when all images are grey, else 3. */
  channels?: 1 | 3;
  /** Resize every image to this size (rows h, columns w); default: all must share one size. */
  size?: { h: number; w: number };
  /** Resize method when `size` is given (default 'area'). */
  resize?: ResizeMethod;
}

export interface PngFolderImages {
  /** Row-major [n, h, w, c] u8. */
  images: Uint8Array;
  n: number;
  h: number;
  w: number;
  c: 1 | 3;
  /** The files read, in order (full paths). */
  files: string[];
}

interface Decoded {
  file: string;
  width: number;
  height: number;
  grey: boolean;
  rgba: Uint8Array;
}

function decode(file: string): Decoded {
  let png;
  try {
    png = PNG.sync.read(readFileSync(file));
  } catch (e) {
    throw new PngFolderError(file, `not a readable PNG (${e instanceof Error ? e.message : String(e)})`);
  }
  return { file, width: png.width, height: png.height, grey: !png.color, rgba: png.data };
}

function toChannels(d: Decoded, c: 1 | 3): Uint8Array {
  const np = d.width * d.height;
  const out = new Uint8Array(np * c);
  const s = d.rgba;
  for (let p = 0; p < np; p++) {
    const r = s[4 * p] as number;
    const g = s[4 * p + 1] as number;
    const b = s[4 * p + 2] as number;
    if (c === 3) {
      out[3 * p] = r;
      out[3 * p + 1] = g;
      out[3 * p + 2] = b;
    } else {
      out[p] = d.grey ? r : Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    }
  }
  return out;
}

/** The .png files directly in `dir`, sorted by name. */
export function listPngFiles(dir: string): string[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new PngFolderError(dir, 'is not a folder, expected a folder of .png images');
    names = readdirSync(dir);
  } catch (e) {
    if (e instanceof PngFolderError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new PngFolderError(dir, code === 'ENOENT' ? 'no such folder' : `cannot be listed (${e instanceof Error ? e.message : String(e)})`);
  }
  return names
    .filter((nm) => nm.toLowerCase().endsWith('.png'))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((nm) => path.join(dir, nm))
    .filter((f) => {
      try {
        return statSync(f).isFile();
      } catch {
        return false; // e.g. a dangling symbolic link
      }
    });
}

/** Read every PNG in `dir` (see the file comment) into one NHWC u8 batch. */
export function readPngFolder(dir: string, opts: PngFolderOptions = {}): PngFolderImages {
  if (opts.channels !== undefined && opts.channels !== 1 && opts.channels !== 3) {
    throw new RangeError(`readPngFolder: channels must be 1 or 3, got ${String(opts.channels)}`);
  }
  if (opts.size !== undefined) {
    const { h, w } = opts.size;
    if (!Number.isInteger(h) || h <= 0 || !Number.isInteger(w) || w <= 0) {
      throw new RangeError(`readPngFolder: size must be positive integers, got ${h}x${w}`);
    }
  }
  const files = listPngFiles(dir);
  if (files.length === 0) throw new PngFolderError(dir, 'no .png files in this folder');
  const decoded = files.map(decode);
  const first = decoded[0] as Decoded;
  if (opts.size === undefined) {
    for (const d of decoded) {
      if (d.width !== first.width || d.height !== first.height) {
        throw new PngFolderError(
          d.file,
          `is ${d.width}x${d.height} (w x h), but ${path.basename(first.file)} is ${first.width}x${first.height}; images must share one size, or pass a size to resize them to`,
        );
      }
    }
  }
  const c: 1 | 3 = opts.channels ?? (decoded.every((d) => d.grey) ? 1 : 3);
  const h = opts.size?.h ?? first.height;
  const w = opts.size?.w ?? first.width;
  const per = h * w * c;
  const images = new Uint8Array(decoded.length * per);
  decoded.forEach((d, k) => {
    let px = toChannels(d, c);
    if (d.height !== h || d.width !== w) px = resizeImages(px, 1, d.height, d.width, c, h, w, opts.resize ?? 'area');
    images.set(px, k * per);
  });
  return { images, n: decoded.length, h, w, c, files };
}
