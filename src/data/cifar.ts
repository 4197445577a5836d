/**
 * CIFAR-10 "binary version" batches (Krizhevsky 2009; https://www.cs.toronto.edu/~kriz/cifar.html,
 * the archive cifar-10-binary.tar.gz with folder cifar-10-batches-bin/).
 *
 * Format: a file is a sequence of 3073-byte records with no header: 1 label byte (0..9), then the
 * 32x32 image as three 1024-byte planes, red, green, blue, each row-major (planar, "CHW"). A
 * standard batch holds 10000 records (30730000 bytes). The reader returns the images interleaved
 * as NHWC ([n, 32, 32, 3]), the layout the rest of the kit uses.
 *
 * CIFAR-10 cannot be downloaded on the machines this kit is developed on, so the reader is tested
 * on small files in this format that the tests write.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export const CIFAR_RECORD_BYTES = 3073;
export const CIFAR_SIDE = 32;

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;

/** The standard batch file names of cifar-10-batches-bin/. */
export const CIFAR10_FILES = {
  train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  test: ['test_batch.bin'],
} as const;

/** A malformed or missing CIFAR file; the message starts with the file's path. */
export class CifarError extends Error {
  readonly file: string;

  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'CifarError';
    this.file = file;
  }
}

export interface CifarBatch {
  /** Row-major [n, 32, 32, 3] u8 (NHWC, RGB). */
  images: Uint8Array;
  /** [n] class indices in 0..9. */
  labels: Uint8Array;
  n: number;
  h: 32;
  w: 32;
  c: 3;
}

/** Parse the bytes of a CIFAR-10 binary batch; `source` names it in errors. */
export function parseCifarBatch(buf: Uint8Array, source = '<input>'): CifarBatch {
  if (buf.length === 0) throw new CifarError(source, 'empty file, expected 3073-byte CIFAR-10 records');
  if (buf.length % CIFAR_RECORD_BYTES !== 0) {
    const hint = buf.length % 3074 === 0 ? ' (it is a multiple of 3074: a CIFAR-100 batch, with 2 label bytes per record?)' : '';
    throw new CifarError(source, `size ${buf.length} bytes is not a multiple of ${CIFAR_RECORD_BYTES} (1 label byte + 3072 pixel bytes per record)${hint}`);
  }
  const n = buf.length / CIFAR_RECORD_BYTES;
  const plane = CIFAR_SIDE * CIFAR_SIDE;
  const images = new Uint8Array(n * plane * 3);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const rec = i * CIFAR_RECORD_BYTES;
    const label = buf[rec] as number;
    if (label > 9) {
      throw new CifarError(source, `record ${i} (byte offset ${rec}) has label ${label}, expected a class in 0..9`);
    }
    labels[i] = label;
    const src = rec + 1;
    const dst = i * plane * 3;
    for (let p = 0; p < plane; p++) {
      images[dst + 3 * p] = buf[src + p] as number;
      images[dst + 3 * p + 1] = buf[src + plane + p] as number;
      images[dst + 3 * p + 2] = buf[src + 2 * plane + p] as number;
    }
  }
  return { images, labels, n, h: 32, w: 32, c: 3 };
}

/** Read one CIFAR-10 binary batch file (e.g. data_batch_1.bin) as NHWC images and labels. */
export function readCifarBatch(file: string): CifarBatch {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CifarError(file, 'no such file');
    throw new CifarError(file, `cannot be read (${e instanceof Error ? e.message : String(e)})`);
  }
  return parseCifarBatch(buf, file);
}

/**
 * Load a CIFAR-10 split from a cifar-10-batches-bin/ folder: the five data_batch_k.bin files
 * (train) or test_batch.bin (test), concatenated in that order.
 */
export function loadCifar10(opts: { dataDir: string; split: 'train' | 'test' }): CifarBatch {
  const names = CIFAR10_FILES[opts.split];
  if (names === undefined) throw new RangeError(`loadCifar10: split must be 'train' or 'test', got '${String(opts.split)}'`);
  const batches = names.map((name) => {
    const file = path.join(opts.dataDir, name);
    try {
      return readCifarBatch(file);
    } catch (e) {
      if (e instanceof CifarError && e.message.endsWith('no such file')) {
        throw new CifarError(
          file,
          `no such file; expected the CIFAR-10 binary version (cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, folder cifar-10-batches-bin/ with ${[...CIFAR10_FILES.train, ...CIFAR10_FILES.test].join(', ')})`,
        );
      }
      throw e;
    }
  });
  const n = batches.reduce((s, b) => s + b.n, 0);
  const images = new Uint8Array(n * 3072);
  const labels = new Uint8Array(n);
  let off = 0;
  for (const b of batches) {
    images.set(b.images, off * 3072);
    labels.set(b.labels, off);
    off += b.n;
  }
  return { images, labels, n, h: 32, w: 32, c: 3 };
}
