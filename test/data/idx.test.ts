import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  contentSha256,
  downloadFashionMnist,
  FASHION_MNIST_FILE_NAMES,
  FASHION_MNIST_SHA256,
  FASHION_MNIST_SYSTEM_DIR,
  type FashionMnistFileName,
  IdxError,
  loadFashionMnist,
  readIdxImages,
  readIdxLabels,
} from '../../src/data/idx';
import { tempDir } from '../helpers';

function idxImages(n: number, rows: number, cols: number, pixels?: Uint8Array): Buffer {
  const buf = Buffer.alloc(16 + n * rows * cols);
  buf.writeUInt32BE(0x00000803, 0);
  buf.writeUInt32BE(n, 4);
  buf.writeUInt32BE(rows, 8);
  buf.writeUInt32BE(cols, 12);
  for (let i = 0; i < n * rows * cols; i++) buf[16 + i] = pixels ? (pixels[i] as number) : (i * 7 + 3) % 256;
  return buf;
}

function idxLabels(labels: number[]): Buffer {
  const buf = Buffer.alloc(8 + labels.length);
  buf.writeUInt32BE(0x00000801, 0);
  buf.writeUInt32BE(labels.length, 4);
  labels.forEach((l, i) => (buf[8 + i] = l));
  return buf;
}

function write(dir: string, name: string, data: Uint8Array): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, data);
  return p;
}

function throwsWith(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, 'expected an Error');
    for (const p of parts) assert.ok(e.message.includes(p), `message should include '${p}': ${e.message}`);
    return true;
  });
}

/** Four small Fashion-MNIST-shaped files (28x28): 5 train and 3 test images. */
function fixtureFiles(): Record<FashionMnistFileName, Buffer> {
  return {
    'train-images-idx3-ubyte.gz': gzipSync(idxImages(5, 28, 28)),
    'train-labels-idx1-ubyte.gz': gzipSync(idxLabels([0, 9, 3, 3, 1])),
    't10k-images-idx3-ubyte.gz': gzipSync(idxImages(3, 28, 28)),
    't10k-labels-idx1-ubyte.gz': gzipSync(idxLabels([4, 5, 6])),
  };
}

test('reads plain and gzipped IDX images and labels: shape, bytes in row-major order', () => {
  const dir = tempDir();
  const raw = idxImages(3, 2, 4);
  for (const [name, data] of [
    ['im.idx', raw],
    ['im.idx.gz', gzipSync(raw)],
    ['gz-without-suffix', gzipSync(raw)],
  ] as const) {
    const im = readIdxImages(write(dir, name, data));
    assert.deepEqual([im.n, im.rows, im.cols], [3, 2, 4], name);
    assert.equal(im.images.length, 24);
    assert.deepEqual(Array.from(im.images), Array.from(raw.subarray(16)), name);
  }
  const lab = idxLabels([7, 0, 255, 2]);
  assert.deepEqual(Array.from(readIdxLabels(write(dir, 'l.idx', lab))), [7, 0, 255, 2]);
  assert.deepEqual(Array.from(readIdxLabels(write(dir, 'l.idx.gz', gzipSync(lab)))), [7, 0, 255, 2]);
  // Zero images is a valid (empty) file.
  assert.equal(readIdxImages(write(dir, 'empty.idx', idxImages(0, 28, 28))).n, 0);
});

test('bad magic: names the file, the magic found and the one expected', () => {
  const dir = tempDir();
  const labels = write(dir, 'labels.gz', gzipSync(idxLabels([1, 2])));
  const images = write(dir, 'images', idxImages(1, 2, 2));
  throwsWith(() => readIdxImages(labels), labels, 'bad magic number 0x00000801 (an IDX labels file)', 'expected 0x00000803');
  throwsWith(() => readIdxLabels(images), images, 'bad magic number 0x00000803 (an IDX images file)', 'expected 0x00000801');
  const junk = write(dir, 'junk.png', Buffer.from('\x89PNG\r\n\x1a\nxxxxxxxxxxxxxxxx', 'latin1'));
  throwsWith(() => readIdxImages(junk), junk, 'not an IDX file');
  assert.throws(() => readIdxImages(junk), IdxError);
});

test('truncated files, trailing bytes, corrupt gzip, missing file', () => {
  const dir = tempDir();
  const full = idxImages(3, 2, 2);
  const short = write(dir, 'short.idx', full.subarray(0, full.length - 1));
  throwsWith(() => readIdxImages(short), short, 'truncated', '3 images of 2x2', '12 data bytes', 'only 11');
  const tiny = write(dir, 'tiny.idx', full.subarray(0, 10));
  throwsWith(() => readIdxImages(tiny), tiny, 'truncated', 'header needs 16');
  const three = write(dir, 'three.idx', full.subarray(0, 3));
  throwsWith(() => readIdxImages(three), three, 'truncated', 'too short for an IDX header');
  const longer = write(dir, 'long.idx', Buffer.concat([full, Buffer.from([1, 2])]));
  throwsWith(() => readIdxImages(longer), longer, '2 trailing bytes');
  const lab = idxLabels([1, 2, 3]);
  const shortLab = write(dir, 'shortlab.gz', gzipSync(lab.subarray(0, lab.length - 2)));
  throwsWith(() => readIdxLabels(shortLab), shortLab, 'truncated', '3 labels', 'only 1');
  const gz = gzipSync(full);
  const cut = write(dir, 'cut.gz', gz.subarray(0, gz.length - 10));
  throwsWith(() => readIdxImages(cut), cut, 'does not decompress', 'truncated or corrupt');
  const missing = path.join(dir, 'nope.gz');
  throwsWith(() => readIdxImages(missing), missing, 'no such file');
  throwsWith(() => readIdxLabels(dir), dir, 'is a directory');
});

test('loadFashionMnist: reads a --data-dir (gzipped or plain names), checks counts and labels', () => {
  const dir = tempDir();
  const files = fixtureFiles();
  for (const [name, data] of Object.entries(files)) write(dir, name, data);
  const train = loadFashionMnist({ dataDir: dir, split: 'train', fallbackDirs: [] });
  assert.deepEqual([train.n, train.h, train.w, train.c, train.split], [5, 28, 28, 1, 'train']);
  assert.deepEqual(Array.from(train.labels), [0, 9, 3, 3, 1]);
  assert.deepEqual(Array.from(train.images), Array.from(idxImages(5, 28, 28).subarray(16)));
  assert.equal(train.files.images, path.join(dir, 'train-images-idx3-ubyte.gz'));

  // Uncompressed copies under the names without .gz.
  const plain = tempDir();
  write(plain, 't10k-images-idx3-ubyte', gunzipSync(files['t10k-images-idx3-ubyte.gz']));
  write(plain, 't10k-labels-idx1-ubyte', gunzipSync(files['t10k-labels-idx1-ubyte.gz']));
  const t = loadFashionMnist({ dataDir: plain, split: 'test', fallbackDirs: [] });
  assert.deepEqual(Array.from(t.labels), [4, 5, 6]);
  assert.equal(t.files.labels, path.join(plain, 't10k-labels-idx1-ubyte'));

  // Falls back to the next folder when the first lacks the files.
  const empty = tempDir();
  assert.equal(loadFashionMnist({ dataDir: empty, split: 'test', fallbackDirs: [dir] }).files.images, path.join(dir, 't10k-images-idx3-ubyte.gz'));

  // Count mismatch, labels out of range, wrong image size.
  const bad = tempDir();
  write(bad, 'train-images-idx3-ubyte.gz', files['train-images-idx3-ubyte.gz']);
  const badLabels = write(bad, 'train-labels-idx1-ubyte.gz', gzipSync(idxLabels([1, 2, 3])));
  throwsWith(() => loadFashionMnist({ dataDir: bad, split: 'train', fallbackDirs: [] }), badLabels, 'count mismatch', '3 labels but 5 images');
  write(bad, 'train-labels-idx1-ubyte.gz', gzipSync(idxLabels([1, 2, 3, 10, 0])));
  throwsWith(() => loadFashionMnist({ dataDir: bad, split: 'train', fallbackDirs: [] }), 'label 3 is 10', 'expected a class in 0..9');
  const badImages = write(bad, 'train-images-idx3-ubyte.gz', gzipSync(idxImages(5, 32, 32)));
  throwsWith(() => loadFashionMnist({ dataDir: bad, split: 'train', fallbackDirs: [] }), badImages, '32x32', '28x28');
});

test('loadFashionMnist: when the files are absent, the error says how to get them', () => {
  const empty = tempDir();
  const half = tempDir();
  write(half, 'train-images-idx3-ubyte.gz', fixtureFiles()['train-images-idx3-ubyte.gz']);
  const gone = path.join(empty, 'does-not-exist');
  throwsWith(
    () => loadFashionMnist({ dataDir: half, split: 'train', fallbackDirs: [gone] }),
    'Fashion-MNIST (train split',
    `${half}: no train-labels-idx1-ubyte.gz`,
    `${gone}: no such folder`,
    'apt-get install dataset-fashion-mnist',
    FASHION_MNIST_SYSTEM_DIR,
    '--data-dir',
    ...FASHION_MNIST_FILE_NAMES,
    'downloadFashionMnist(DIR)',
  );
  assert.throws(() => loadFashionMnist({ split: 'test', fallbackDirs: [empty] }), IdxError);
  assert.throws(() => loadFashionMnist({ split: 'val' as 'test' }), /split must be 'train' or 'test'/);
});

const debianHasData = FASHION_MNIST_FILE_NAMES.every((f) => fs.existsSync(path.join(FASHION_MNIST_SYSTEM_DIR, f)));

test(
  'Debian dataset-fashion-mnist files: sizes, balanced classes, content checksums',
  { skip: !debianHasData && `${FASHION_MNIST_SYSTEM_DIR} not installed` },
  () => {
    const te = loadFashionMnist({ split: 'test' });
    assert.deepEqual([te.n, te.h, te.w, te.c], [10000, 28, 28, 1]);
    assert.equal(te.images.length, 10000 * 784);
    assert.equal(te.files.images, path.join(FASHION_MNIST_SYSTEM_DIR, 't10k-images-idx3-ubyte.gz'));
    const counts = new Array<number>(10).fill(0);
    for (const l of te.labels) counts[l] = (counts[l] as number) + 1;
    assert.deepEqual(counts, new Array<number>(10).fill(1000));
    let mean = 0;
    for (const v of te.images) mean += v;
    mean /= te.images.length;
    assert.ok(mean > 60 && mean < 90, `mean pixel ${mean} (Fashion-MNIST's is about 73)`);
    const tr = loadFashionMnist({ split: 'train', dataDir: tempDir() });
    assert.equal(tr.n, 60000);
    assert.equal(tr.files.labels, path.join(FASHION_MNIST_SYSTEM_DIR, 'train-labels-idx1-ubyte.gz'));
    for (const name of FASHION_MNIST_FILE_NAMES) {
      const file = path.join(FASHION_MNIST_SYSTEM_DIR, name);
      assert.equal(contentSha256(fs.readFileSync(file), file), FASHION_MNIST_SHA256[name], name);
    }
  },
);

/** A local HTTP server for `files` under /data/; counts requests per path. */
async function serve(files: Record<string, Uint8Array>): Promise<{ base: string; hits: Map<string, number>; close: () => Promise<void> }> {
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    hits.set(url, (hits.get(url) ?? 0) + 1);
    const name = url.startsWith('/data/') ? decodeURIComponent(url.slice('/data/'.length)) : '';
    const body = files[name];
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}/data/`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sumsOf(files: Record<string, Uint8Array>): Record<FashionMnistFileName, string> {
  const out: Partial<Record<FashionMnistFileName, string>> = {};
  for (const name of FASHION_MNIST_FILE_NAMES) {
    out[name] = createHash('sha256')
      .update(gunzipSync(files[name] as Uint8Array))
      .digest('hex');
  }
  return out as Record<FashionMnistFileName, string>;
}

test('downloadFashionMnist from a local server: verifies, writes, skips what is present, loads back', async () => {
  const files = fixtureFiles();
  const srv = await serve(files);
  try {
    const dir = path.join(tempDir(), 'fmnist');
    const sha256 = sumsOf(files);
    const r1 = await downloadFashionMnist(dir, { baseUrl: srv.base, sha256 });
    assert.deepEqual(r1.downloaded, [...FASHION_MNIST_FILE_NAMES]);
    assert.deepEqual(r1.skipped, []);
    for (const name of FASHION_MNIST_FILE_NAMES) {
      assert.deepEqual(fs.readFileSync(path.join(dir, name)), files[name], name);
    }
    assert.deepEqual(fs.readdirSync(dir).sort(), [...FASHION_MNIST_FILE_NAMES].sort(), 'no temporary files left');
    const train = loadFashionMnist({ dataDir: dir, split: 'train', fallbackDirs: [] });
    assert.deepEqual(Array.from(train.labels), [0, 9, 3, 3, 1]);

    // Second call: everything present and verified, nothing fetched. A corrupt file is fetched again.
    fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'), 'garbage');
    const before = srv.hits.get('/data/train-images-idx3-ubyte.gz');
    const r2 = await downloadFashionMnist(dir, { baseUrl: srv.base.replace(/\/$/, ''), sha256 });
    assert.deepEqual(r2.downloaded, ['t10k-labels-idx1-ubyte.gz']);
    assert.equal(r2.skipped.length, 3);
    assert.equal(srv.hits.get('/data/train-images-idx3-ubyte.gz'), before);
    assert.deepEqual(fs.readFileSync(path.join(dir, 't10k-labels-idx1-ubyte.gz')), files['t10k-labels-idx1-ubyte.gz']);

    // A custom fetch implementation is used when given.
    const seen: string[] = [];
    const dir3 = path.join(tempDir(), 'custom');
    await downloadFashionMnist(dir3, {
      baseUrl: srv.base,
      sha256,
      fetchImpl: (url, init) => {
        seen.push(url);
        return fetch(url, init);
      },
    });
    assert.deepEqual(
      seen,
      FASHION_MNIST_FILE_NAMES.map((n) => srv.base + n),
    );
  } finally {
    await srv.close();
  }
});

test('downloadFashionMnist: checksum mismatch and HTTP errors name the URL and write nothing', async () => {
  const files = fixtureFiles();
  const tampered = { ...files, 't10k-images-idx3-ubyte.gz': gzipSync(idxImages(3, 28, 28, new Uint8Array(3 * 784))) };
  const srv = await serve(tampered);
  try {
    const dir = tempDir();
    const sha256 = sumsOf(files);
    await assert.rejects(downloadFashionMnist(dir, { baseUrl: srv.base, sha256 }), (e: unknown) => {
      assert.ok(e instanceof IdxError);
      assert.ok(e.message.startsWith(`${srv.base}t10k-images-idx3-ubyte.gz: checksum mismatch`), e.message);
      assert.ok(e.message.includes(`expected ${sha256['t10k-images-idx3-ubyte.gz']}`), e.message);
      assert.ok(e.message.includes('nothing written'), e.message);
      return true;
    });
    // Files before the bad one were written; the bad one and no temporary file were not.
    assert.deepEqual(fs.readdirSync(dir).sort(), ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']);

    await assert.rejects(downloadFashionMnist(tempDir(), { baseUrl: `${srv.base}missing/`, sha256 }), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.ok(e.message.includes('missing/train-images-idx3-ubyte.gz'), e.message);
      assert.ok(e.message.includes('HTTP 404'), e.message);
      assert.ok(e.message.includes('apt-get install dataset-fashion-mnist'), e.message);
      return true;
    });
    await assert.rejects(downloadFashionMnist(tempDir(), { baseUrl: srv.base, sha256: { ...sha256, 't10k-labels-idx1-ubyte.gz': 'abc' } }), /no valid SHA-256/);
  } finally {
    await srv.close();
  }
});

test('downloadFashionMnist: a server sending plain IDX bytes gets them stored gzipped', async () => {
  const files = fixtureFiles();
  const plain: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(files)) plain[k] = gunzipSync(v);
  const srv = await serve(plain);
  try {
    const dir = tempDir();
    await downloadFashionMnist(dir, { baseUrl: srv.base, sha256: sumsOf(files) });
    const stored = fs.readFileSync(path.join(dir, 'train-labels-idx1-ubyte.gz'));
    assert.deepEqual([stored[0], stored[1]], [0x1f, 0x8b]);
    assert.deepEqual(Array.from(readIdxLabels(path.join(dir, 'train-labels-idx1-ubyte.gz'))), [0, 9, 3, 3, 1]);
  } finally {
    await srv.close();
  }
});

test(
  'downloadFashionMnist with the default checksums accepts the Debian copies served locally',
  { skip: !debianHasData && `${FASHION_MNIST_SYSTEM_DIR} not installed` },
  async () => {
    const files: Record<string, Uint8Array> = {};
    for (const name of FASHION_MNIST_FILE_NAMES) files[name] = fs.readFileSync(path.join(FASHION_MNIST_SYSTEM_DIR, name));
    const srv = await serve(files);
    try {
      const dir = tempDir();
      const r = await downloadFashionMnist(dir, { baseUrl: srv.base });
      assert.equal(r.downloaded.length, 4);
      assert.equal(loadFashionMnist({ dataDir: dir, split: 'test', fallbackDirs: [] }).n, 10000);
      fs.rmSync(dir, { recursive: true, force: true });
    } finally {
      await srv.close();
    }
  },
);
