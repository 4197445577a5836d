/**
 * IDX files (the MNIST / Fashion-MNIST format, http://yann.lecun.com/exdb/mnist/), gzipped or
 * plain, and the Fashion-MNIST data set (Xiao, Rasul & Vollgraf 2017) built on them.
 *
 * Format: a big-endian header, then the data as unsigned bytes in row-major order.
 * - images: magic 0x00000803 (two zero bytes, type 0x08 = u8, 3 dimensions), then n, rows, cols
 *   as u32 (16-byte header), then n·rows·cols pixel bytes (0 = background, 255 = ink);
 * - labels: magic 0x00000801 (u8, 1 dimension), then n as u32 (8-byte header), then n label bytes.
 * A file is taken as gzip when it starts with the gzip magic bytes 1f 8b (whatever its name), else
 * as plain IDX. A file must hold exactly the bytes its header announces: short ones are reported as
 * truncated, longer ones as having trailing bytes.
 *
 * Where Fashion-MNIST is looked for (`loadFashionMnist`): the `dataDir` option, then
 * /usr/share/datasets/fashion-mnist/ (Debian's `dataset-fashion-mnist` package, which installs the
 * four official files under their standard names: train-images-idx3-ubyte.gz,
 * train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz). Each file may
 * also be present uncompressed (the same name without `.gz`).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

/** A malformed or missing IDX / data-set file; the message starts with the file's path. */
export class IdxError extends Error {
  /** The file the error refers to. */
  readonly file: string;

  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'IdxError';
    this.file = file;
  }
}

export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;

/** Images of an IDX file: row-major [n, rows, cols] u8 (one channel). */
export interface IdxImages {
  images: Uint8Array;
  n: number;
  rows: number;
  cols: number;
}

function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** The IDX bytes of a file's contents: gunzipped when it starts with the gzip magic bytes. */
export function decodeMaybeGzip(buf: Uint8Array, source: string): Uint8Array {
  if (!isGzip(buf)) return buf;
  try {
    return gunzipSync(buf);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new IdxError(source, `starts like a gzip file but does not decompress (${msg}); the file is truncated or corrupt`);
  }
}

function readBytes(file: string): Uint8Array {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new IdxError(file, 'no such file');
    if (code === 'EISDIR') throw new IdxError(file, 'is a directory, expected an IDX file');
    throw new IdxError(file, `cannot be read (${e instanceof Error ? e.message : String(e)})`);
  }
  return decodeMaybeGzip(buf, file);
}

function hex8(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

function magicName(magic: number): string {
  if (magic === IDX_IMAGES_MAGIC) return ' (an IDX images file)';
  if (magic === IDX_LABELS_MAGIC) return ' (an IDX labels file)';
  if ((magic & 0xffff0000) === 0 && [0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e].includes((magic >>> 8) & 0xff)) {
    return ` (an IDX file of type 0x${((magic >>> 8) & 0xff).toString(16)} with ${magic & 0xff} dimensions)`;
  }
  return ', not an IDX file';
}

function checkMagic(view: DataView, expected: number, what: string, source: string): void {
  if (view.byteLength < 4) {
    throw new IdxError(source, `truncated: ${view.byteLength} bytes, too short for an IDX header (expected magic ${hex8(expected)}, ${what})`);
  }
  const magic = view.getUint32(0, false);
  if (magic !== expected) {
    throw new IdxError(source, `bad magic number ${hex8(magic)}${magicName(magic)}, expected ${hex8(expected)} (${what})`);
  }
}

function checkLength(buf: Uint8Array, header: number, count: number, shape: string, source: string): void {
  const expected = header + count;
  if (buf.length < expected) {
    throw new IdxError(
      source,
      `truncated: the header announces ${shape} (${count} data bytes after the ${header}-byte header) but the file holds only ${buf.length - header}`,
    );
  }
  if (buf.length > expected) {
    throw new IdxError(source, `${buf.length - expected} trailing bytes after the ${shape} its header announces`);
  }
}

/** Parse the bytes of an IDX images file (already gunzipped); `source` names it in errors. */
export function parseIdxImages(buf: Uint8Array, source = '<input>'): IdxImages {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  checkMagic(view, IDX_IMAGES_MAGIC, 'u8 images [n, rows, cols]', source);
  if (buf.length < 16) throw new IdxError(source, `truncated: ${buf.length} bytes, the IDX images header needs 16`);
  const n = view.getUint32(4, false);
  const rows = view.getUint32(8, false);
  const cols = view.getUint32(12, false);
  if (rows === 0 || cols === 0) throw new IdxError(source, `header announces images of ${rows}x${cols} pixels, expected both sizes > 0`);
  checkLength(buf, 16, n * rows * cols, `${n} images of ${rows}x${cols}`, source);
  return { images: buf.slice(16), n, rows, cols };
}

/** Parse the bytes of an IDX labels file (already gunzipped); `source` names it in errors. */
export function parseIdxLabels(buf: Uint8Array, source = '<input>'): Uint8Array {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  checkMagic(view, IDX_LABELS_MAGIC, 'u8 labels [n]', source);
  if (buf.length < 8) throw new IdxError(source, `truncated: ${buf.length} bytes, the IDX labels header needs 8`);
  const n = view.getUint32(4, false);
  checkLength(buf, 8, n, `${n} labels`, source);
  return buf.slice(8);
}

/** Read an IDX images file (gzipped or plain): [n, rows, cols] u8. */
export function readIdxImages(file: string): IdxImages {
  return parseIdxImages(readBytes(file), file);
}

/** Read an IDX labels file (gzipped or plain): [n] u8. */
export function readIdxLabels(file: string): Uint8Array {
  return parseIdxLabels(readBytes(file), file);
}

// ---------------------------------------------------------------------------------------------
// Fashion-MNIST

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

/** Where Debian's `dataset-fashion-mnist` package installs the files. */
export const FASHION_MNIST_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';

/** The four standard file names (as published by Zalando Research and installed by Debian). */
export const FASHION_MNIST_FILES = {
  train: { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz' },
  test: { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz' },
} as const;

export type FashionMnistSplit = keyof typeof FASHION_MNIST_FILES;
export type FashionMnistFileName = 'train-images-idx3-ubyte.gz' | 'train-labels-idx1-ubyte.gz' | 't10k-images-idx3-ubyte.gz' | 't10k-labels-idx1-ubyte.gz';

export const FASHION_MNIST_FILE_NAMES: readonly FashionMnistFileName[] = [
  FASHION_MNIST_FILES.train.images,
  FASHION_MNIST_FILES.train.labels,
  FASHION_MNIST_FILES.test.images,
  FASHION_MNIST_FILES.test.labels,
];

/** Number of images per split, for checks. */
export const FASHION_MNIST_SIZES: Readonly<Record<FashionMnistSplit, number>> = { train: 60000, test: 10000 };

/**
 * SHA-256 of the *decompressed* IDX bytes of each file. Computed from Debian's copy of the official
 * files (package dataset-fashion-mnist 0.0~git20200523.55506a9-1, /usr/share/datasets/fashion-mnist/)
 * with `zcat FILE | sha256sum`.
 *
 * Why the decompressed bytes and not the .gz files: Debian's .gz files are not byte-identical to
 * the upstream ones. Their deflate streams are the same, but the packaging normalised the gzip
 * headers (mtime set to the upload date, 2020-06-05, and the stored file name dropped: each Debian
 * file is exactly 24 bytes shorter than upstream's, e.g. 26421856 vs 26421880 bytes for the train
 * images, 24 = the length of "train-images-idx3-ubyte" plus its NUL), so their MD5s differ from the
 * ones in the upstream README. A checksum of the .gz files taken from Debian would therefore reject
 * the genuine upstream download; a checksum of the contents accepts either copy (and any other
 * faithful recompression). For the record, `sha256sum` of Debian's .gz files:
 *   train-images-idx3-ubyte.gz  b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7
 *   train-labels-idx1-ubyte.gz  0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056
 *   t10k-images-idx3-ubyte.gz   cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa
 *   t10k-labels-idx1-ubyte.gz   8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05
 */
export const FASHION_MNIST_SHA256: Readonly<Record<FashionMnistFileName, string>> = {
  'train-images-idx3-ubyte.gz': 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
  'train-labels-idx1-ubyte.gz': 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
  't10k-images-idx3-ubyte.gz': '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
  't10k-labels-idx1-ubyte.gz': '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
};

/** The upstream location of the files (Zalando Research's GitHub repository, raw files). */
export const FASHION_MNIST_BASE_URL = 'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/';

export interface FashionMnist {
  /** Row-major [n, 28, 28] u8 (NHWC with one channel). */
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
  h: number;
  w: number;
  c: 1;
  split: FashionMnistSplit;
  /** The two files read. */
  files: { images: string; labels: string };
}

export interface LoadFashionMnistOptions {
  split: FashionMnistSplit;
  /** Folder looked in first (the CLI's `--data-dir`). */
  dataDir?: string;
  /** Folders looked in after `dataDir` (default: [FASHION_MNIST_SYSTEM_DIR]). */
  fallbackDirs?: readonly string[];
}

/** The path of `name` in `dir`, gzipped or not, or null when neither exists. */
function findFile(dir: string, gzName: string): string | null {
  for (const name of [gzName, gzName.replace(/\.gz$/, '')]) {
    const p = path.join(dir, name);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // absent
    }
  }
  return null;
}

/** How to obtain the data, for error messages. */
export function fashionMnistHelp(): string {
  return [
    'To get Fashion-MNIST, do one of:',
    `  - on Debian/Ubuntu: apt-get install dataset-fashion-mnist (installs the files in ${FASHION_MNIST_SYSTEM_DIR}/);`,
    `  - pass --data-dir DIR (option dataDir) with a folder holding the four standard files ${FASHION_MNIST_FILE_NAMES.join(', ')} (gzipped, or uncompressed without .gz);`,
    `  - download them into DIR with downloadFashionMnist(DIR) from ctlab's data/idx module (fetches ${FASHION_MNIST_BASE_URL}<file> and checks SHA-256 checksums).`,
  ].join('\n');
}

/**
 * Load one split of Fashion-MNIST from the first folder (`dataDir`, then the fallbacks) holding
 * both of its files. Checks both files' headers, that the counts agree, 28x28 images and labels
 * in 0..9. Throws an `IdxError` that says how to get the data when no folder has them.
 */
export function loadFashionMnist(opts: LoadFashionMnistOptions): FashionMnist {
  const { split } = opts;
  if (split !== 'train' && split !== 'test') {
    throw new RangeError(`loadFashionMnist: split must be 'train' or 'test', got '${String(split)}'`);
  }
  const names = FASHION_MNIST_FILES[split];
  const dirs = [...(opts.dataDir !== undefined ? [opts.dataDir] : []), ...(opts.fallbackDirs ?? [FASHION_MNIST_SYSTEM_DIR])];
  const looked: string[] = [];
  for (const dir of dirs) {
    const imagesFile = findFile(dir, names.images);
    const labelsFile = findFile(dir, names.labels);
    if (imagesFile === null || labelsFile === null) {
      const missing = [imagesFile === null ? names.images : null, labelsFile === null ? names.labels : null].filter((s) => s !== null);
      looked.push(`  ${dir}: ${existsSync(dir) ? `no ${missing.join(' or ')}` : 'no such folder'}`);
      continue;
    }
    const im = readIdxImages(imagesFile);
    const labels = readIdxLabels(labelsFile);
    if (im.rows !== 28 || im.cols !== 28) {
      throw new IdxError(imagesFile, `images are ${im.rows}x${im.cols}, expected Fashion-MNIST's 28x28`);
    }
    if (labels.length !== im.n) {
      throw new IdxError(labelsFile, `count mismatch: ${labels.length} labels but ${im.n} images in ${imagesFile}`);
    }
    for (let i = 0; i < labels.length; i++) {
      if ((labels[i] as number) > 9) throw new IdxError(labelsFile, `label ${i} is ${labels[i]}, expected a class in 0..9`);
    }
    return { images: im.images, labels, n: im.n, h: 28, w: 28, c: 1, split, files: { images: imagesFile, labels: labelsFile } };
  }
  throw new IdxError(
    dirs.join(', '),
    `Fashion-MNIST (${split} split: ${names.images}, ${names.labels}) not found. Looked in:\n${looked.join('\n')}\n${fashionMnistHelp()}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Download

/** The part of the WHATWG `fetch` used here (the global `fetch` fits). */
export type FetchLike = (
  url: string,
  init?: { signal?: AbortSignal },
) => Promise<{ ok: boolean; status: number; statusText: string; arrayBuffer(): Promise<ArrayBuffer> }>;

export interface DownloadFashionMnistOptions {
  /** Folder URL the four file names are appended to (default FASHION_MNIST_BASE_URL). */
  baseUrl?: string;
  /** Fetch implementation (default the global `fetch`). */
  fetchImpl?: FetchLike;
  /**
   * Expected SHA-256 (hex) of each file's decompressed IDX bytes (default FASHION_MNIST_SHA256);
   * a file without an entry here is rejected.
   */
  sha256?: Readonly<Partial<Record<FashionMnistFileName, string>>>;
  /** Per-file time limit in milliseconds (default 10 minutes). */
  timeoutMs?: number;
}

export interface DownloadResult {
  /** The four paths in `dir`. */
  files: string[];
  /** Names fetched by this call. */
  downloaded: FashionMnistFileName[];
  /** Names already present with the right checksum, left as they were. */
  skipped: FashionMnistFileName[];
}

/** SHA-256 (hex) of the decompressed contents of a file's bytes. */
export function contentSha256(buf: Uint8Array, source: string): string {
  return createHash('sha256').update(decodeMaybeGzip(buf, source)).digest('hex');
}

let tmpCounter = 0;

/** Write `data` to `file` through a temporary file in the same folder and a rename. */
function writeAtomic(file: string, data: Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}-${tmpCounter++}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Download the four Fashion-MNIST files into `dir` (created if needed), as gzipped files under
 * their standard names (a server that sends plain IDX bytes gets them gzipped here). Each download is checked against the expected SHA-256 of its decompressed
 * contents before it is written (atomically: a temporary file, then a rename), so a failed or
 * corrupt download never leaves a partial file under the final name. Files already in `dir` with
 * the right checksum are not fetched again.
 */
export async function downloadFashionMnist(dir: string, opts: DownloadFashionMnistOptions = {}): Promise<DownloadResult> {
  const base = opts.baseUrl ?? FASHION_MNIST_BASE_URL;
  const fetchImpl: FetchLike = opts.fetchImpl ?? ((url, init) => fetch(url, init));
  const sums = opts.sha256 ?? FASHION_MNIST_SHA256;
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const expectedSums = FASHION_MNIST_FILE_NAMES.map((name) => {
    const expected = sums[name]?.toLowerCase();
    if (expected === undefined || !/^[0-9a-f]{64}$/.test(expected)) {
      throw new RangeError(`downloadFashionMnist: no valid SHA-256 (64 hex digits) given for ${name}, got '${String(sums[name])}'`);
    }
    return expected;
  });
  mkdirSync(dir, { recursive: true });
  const result: DownloadResult = { files: [], downloaded: [], skipped: [] };
  for (const [k, name] of FASHION_MNIST_FILE_NAMES.entries()) {
    const dest = path.join(dir, name);
    result.files.push(dest);
    const expected = expectedSums[k] as string;
    if (existsSync(dest)) {
      let ok = false;
      try {
        ok = contentSha256(readFileSync(dest), dest) === expected;
      } catch {
        ok = false; // unreadable or corrupt: fetch again
      }
      if (ok) {
        result.skipped.push(name);
        continue;
      }
    }
    const url = new URL(name, base.endsWith('/') ? base : `${base}/`).toString();
    let body: Uint8Array;
    try {
      const res = await fetchImpl(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
      body = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      throw new IdxError(url, `download failed (${e instanceof Error ? e.message : String(e)}). ${fashionMnistHelp()}`);
    }
    const got = contentSha256(body, url);
    if (got !== expected) {
      throw new IdxError(
        url,
        `checksum mismatch: SHA-256 of the decompressed contents is ${got}, expected ${expected} (${body.length} bytes received); nothing written to ${dest}`,
      );
    }
    writeAtomic(dest, isGzip(body) ? body : gzipSync(body));
    result.downloaded.push(name);
  }
  return result;
}
