/**
 * Property-based tests (fast-check) of every reader of outside bytes: CSV, IDX, CIFAR-10 binary, PNG
 * folders, the checkpoint decoder and the config parser. On valid inputs they read back exactly what
 * was written; on random and mutated inputs they either read something consistent or throw their
 * own error class with a message that starts with the source's name: never a RangeError/TypeError
 * from deep inside, never a hang (every case is bounded in size), never a silently wrong read.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { sha256 } from '@noble/hashes/sha2';
import fc from 'fast-check';
import { PNG } from 'pngjs';
import { CifarError, parseCifarBatch, CIFAR_RECORD_BYTES } from '../../src/data/cifar';
import { CsvError, parsePointsCsv } from '../../src/data/csv';
import { IdxError, parseIdxImages, parseIdxLabels, decodeMaybeGzip } from '../../src/data/idx';
import { PngFolderError, readPngFolder } from '../../src/data/png-folder';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../../src/training/checkpoint-codec';
import { ConfigError, validateConfig } from '../../src/config/schema';
import { mergeUntyped } from '../../src/config/merge';
import { buildConfig } from '../../src/config/presets';
import { readRunConfig, runPaths } from '../../src/run/run-dir';
import { RecordError } from '../../src/run/records';
import { tempDir } from '../helpers';

const RUNS = { numRuns: 300 };
const SOURCE = 'fuzz-input';

/** Run `read`; a throw must be an instance of `cls` whose message starts with `source`. Returns the value or null. */
function clearOrValue<T>(read: () => T, cls: new (...a: never[]) => Error, source = SOURCE): T | null {
  try {
    return read();
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
    assert.ok(e.message.startsWith(source), `message does not name ${source}: ${e.message}`);
    return null;
  }
}

/** A byte array with a few bytes flipped, inserted or cut. */
const mutate = (bytes: Uint8Array): fc.Arbitrary<Uint8Array> =>
  fc
    .array(fc.record({ kind: fc.constantFrom('flip', 'insert', 'cut', 'truncate'), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), {
      minLength: 1,
      maxLength: 4,
    })
    .map((ops) => {
      let b = Array.from(bytes);
      for (const op of ops) {
        const at = b.length ? op.at % b.length : 0;
        if (op.kind === 'flip') b[at] = op.value;
        else if (op.kind === 'insert') b.splice(at, 0, op.value);
        else if (op.kind === 'cut') b.splice(at, 1);
        else b = b.slice(0, at);
      }
      return Uint8Array.from(b);
    });

describe('CSV points reader', () => {
  const points = fc.array(fc.tuple(fc.float({ noNaN: true, noDefaultInfinity: true }), fc.float({ noNaN: true, noDefaultInfinity: true })), {
    minLength: 2,
    maxLength: 30,
  });
  const toCsv = (pts: [number, number][], crlf: boolean): string => ['x,y', ...pts.map(([x, y]) => `${x},${y}`)].join(crlf ? '\r\n' : '\n') + '\n';

  it('reads back every float32 point exactly', () => {
    fc.assert(
      fc.property(points, fc.boolean(), (pts, crlf) => {
        const got = parsePointsCsv(toCsv(pts, crlf), SOURCE);
        assert.deepEqual(
          Array.from(got),
          pts.flat().map((v) => Math.fround(v) + 0),
        ); // `${-0}` is '0'
      }),
      RUNS,
    );
  });

  it('mutated or random text: a CsvError naming source:line, or an even number of finite values that the text holds', () => {
    const text = fc.oneof(
      points.chain((pts) => mutate(new TextEncoder().encode(toCsv(pts, false)))).map((b) => new TextDecoder().decode(b)),
      fc.string({ maxLength: 200 }),
      fc.array(fc.constantFrom('x', 'y', ',', '\n', '1', '-', '.', 'e', ' ', '\r', 'nan', 'Infinity', '1e999'), { maxLength: 60 }).map((a) => a.join('')),
    );
    fc.assert(
      fc.property(text, (t) => {
        const got = clearOrValue(() => parsePointsCsv(t, SOURCE), CsvError);
        if (got === null) return;
        assert.ok(got instanceof Float32Array && got.length >= 4 && got.length % 2 === 0);
        assert.ok(got.every(Number.isFinite));
      }),
      RUNS,
    );
  });
});

function idxImages(n: number, rows: number, cols: number, pixels: Uint8Array): Uint8Array {
  const b = new Uint8Array(16 + pixels.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x803);
  v.setUint32(4, n);
  v.setUint32(8, rows);
  v.setUint32(12, cols);
  b.set(pixels, 16);
  return b;
}

describe('IDX reader', () => {
  const images = fc
    .record({ n: fc.integer({ min: 0, max: 5 }), rows: fc.integer({ min: 1, max: 6 }), cols: fc.integer({ min: 1, max: 6 }) })
    .chain(({ n, rows, cols }) => fc.uint8Array({ minLength: n * rows * cols, maxLength: n * rows * cols }).map((px) => ({ n, rows, cols, px })));

  it('reads back images and labels exactly, plain or gzipped', () => {
    fc.assert(
      fc.property(images, fc.boolean(), ({ n, rows, cols, px }, gz) => {
        const raw = idxImages(n, rows, cols, px);
        const got = parseIdxImages(decodeMaybeGzip(gz ? gzipSync(raw) : raw, SOURCE), SOURCE);
        assert.deepEqual({ n: got.n, rows: got.rows, cols: got.cols }, { n, rows, cols });
        assert.deepEqual(Uint8Array.from(got.images), px); // (a Buffer when read from gzip)
      }),
      RUNS,
    );
  });

  it('mutated or random bytes (plain or gzipped): an IdxError naming the source, or a read whose sizes match its bytes', () => {
    const bytes = fc.oneof(
      images.chain(({ n, rows, cols, px }) => mutate(idxImages(n, rows, cols, px))),
      images.chain(({ n, rows, cols, px }) => mutate(gzipSync(idxImages(n, rows, cols, px)))),
      fc.uint8Array({ maxLength: 64 }),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        const im = clearOrValue(() => parseIdxImages(decodeMaybeGzip(b, SOURCE), SOURCE), IdxError);
        if (im) assert.equal(im.images.length, im.n * im.rows * im.cols);
        const lab = clearOrValue(() => parseIdxLabels(decodeMaybeGzip(b, SOURCE), SOURCE), IdxError);
        if (lab) {
          const d = decodeMaybeGzip(b, SOURCE);
          assert.equal(lab.length, new DataView(d.buffer, d.byteOffset, d.byteLength).getUint32(4, false));
        }
      }),
      RUNS,
    );
  });
});

describe('CIFAR-10 binary reader', () => {
  const batch = fc
    .integer({ min: 1, max: 3 })
    .chain((n) => fc.tuple(fc.uint8Array({ minLength: n, maxLength: n, max: 9 }), fc.uint8Array({ minLength: n * 3072, maxLength: n * 3072 })));
  const encode = (labels: Uint8Array, px: Uint8Array): Uint8Array => {
    const out = new Uint8Array(labels.length * CIFAR_RECORD_BYTES);
    labels.forEach((l, i) => {
      out[i * CIFAR_RECORD_BYTES] = l;
      out.set(px.subarray(i * 3072, (i + 1) * 3072), i * CIFAR_RECORD_BYTES + 1);
    });
    return out;
  };

  it('reads back labels and pixels (planar CHW to NHWC) exactly', () => {
    fc.assert(
      fc.property(batch, ([labels, px]) => {
        const got = parseCifarBatch(encode(labels, px), SOURCE);
        assert.deepEqual(got.labels, labels);
        for (let i = 0; i < labels.length; i++) {
          for (const p of [0, 1, 500, 1023]) {
            for (let c = 0; c < 3; c++) assert.equal(got.images[i * 3072 + 3 * p + c], px[i * 3072 + c * 1024 + p]);
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it('mutated bytes: a CifarError naming the source, or a read of as many records as whole 3073-byte ones', () => {
    fc.assert(
      fc.property(
        batch.chain(([l, p]) => mutate(encode(l, p))),
        (b) => {
          const got = clearOrValue(() => parseCifarBatch(b, SOURCE), CifarError);
          if (got) {
            assert.equal(got.n * CIFAR_RECORD_BYTES, b.length);
            assert.ok(got.labels.every((l) => l <= 9));
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('PNG folder reader', () => {
  const image = fc
    .record({ w: fc.integer({ min: 1, max: 5 }), h: fc.integer({ min: 1, max: 5 }), grey: fc.boolean() })
    .chain(({ w, h, grey }) => fc.uint8Array({ minLength: w * h, maxLength: w * h }).map((px) => ({ w, h, grey, px })));
  const pngBytes = ({ w, h, grey, px }: { w: number; h: number; grey: boolean; px: Uint8Array }): Uint8Array => {
    const png = new PNG({ width: w, height: h });
    for (let p = 0; p < w * h; p++) {
      const v = px[p] as number;
      png.data.set(grey ? [v, v, v, 255] : [v, 255 - v, (v * 7) % 256, 255], 4 * p);
    }
    return PNG.sync.write(png, grey ? { colorType: 0 } : { colorType: 2 });
  };

  it('reads back grey and RGB pixels exactly', () => {
    fc.assert(
      fc.property(image, (im) => {
        const dir = tempDir('ctlab-fuzz-png-');
        fs.writeFileSync(path.join(dir, 'a.png'), pngBytes(im));
        const got = readPngFolder(dir);
        assert.deepEqual({ n: got.n, h: got.h, w: got.w, c: got.c }, { n: 1, h: im.h, w: im.w, c: im.grey ? 1 : 3 });
        if (im.grey) assert.deepEqual(got.images, im.px);
        else assert.deepEqual(Array.from(got.images.subarray(0, 3)), [im.px[0], 255 - (im.px[0] as number), ((im.px[0] as number) * 7) % 256]);
        fs.rmSync(dir, { recursive: true });
      }),
      { numRuns: 40 },
    );
  });

  it('mutated PNG bytes: a PngFolderError naming the file, or a batch whose size matches its header', () => {
    fc.assert(
      fc.property(
        image.chain((im) => mutate(pngBytes(im))),
        (b) => {
          const dir = tempDir('ctlab-fuzz-png-');
          const file = path.join(dir, 'a.png');
          fs.writeFileSync(file, b);
          const got = clearOrValue(() => readPngFolder(dir), PngFolderError, file);
          if (got) assert.equal(got.images.length, got.n * got.h * got.w * got.c);
          fs.rmSync(dir, { recursive: true });
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe('checkpoint decoder', () => {
  const ckpt: fc.Arbitrary<Checkpoint> = fc.record({
    step: fc.nat({ max: 1e6 }),
    meta: fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean())),
    tensors: fc.array(
      fc.record({ name: fc.string({ maxLength: 8 }), shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }) }).chain(({ name, shape }) => {
        const n = shape.reduce((a, b) => a * b, 1);
        return fc.float32Array({ minLength: n, maxLength: n }).map((data) => ({ name, shape, data }));
      }),
      { maxLength: 4 },
    ),
  });

  it('decodes what it encodes, bit for bit (NaN payloads included)', () => {
    fc.assert(
      fc.property(ckpt, (c) => {
        const got = decodeCheckpoint(encodeCheckpoint(c), SOURCE);
        assert.equal(got.step, c.step);
        assert.equal(JSON.stringify(got.meta), JSON.stringify(c.meta)); // as JSON: fast-check may build it without a prototype
        assert.deepEqual(
          got.tensors.map((t) => [t.name, t.shape, Buffer.from(t.data.buffer)]),
          c.tensors.map((t) => [t.name, t.shape, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)]),
        );
      }),
      RUNS,
    );
  });

  it('mutated bytes are refused with a CheckpointError naming the source', () => {
    fc.assert(
      fc.property(
        ckpt.chain((c) => mutate(encodeCheckpoint(c))),
        (b) => {
          clearOrValue(() => decodeCheckpoint(b, SOURCE), CheckpointError, `checkpoint ${SOURCE}`);
        },
      ),
      RUNS,
    );
  });

  it('a mutated header under a valid checksum (a writer bug, not disk rot): a CheckpointError, or tensors that fit the payload', () => {
    /** Re-sign mutated bytes so the checksum passes and the header and payload checks are what is tested. */
    const resign = (b: Uint8Array): Uint8Array => {
      const body = b.subarray(0, Math.max(0, b.length - 32));
      return Uint8Array.from([...body, ...sha256(body)]);
    };
    fc.assert(
      fc.property(
        ckpt.chain((c) => mutate(encodeCheckpoint(c))),
        (b) => {
          const got = clearOrValue(() => decodeCheckpoint(resign(b), SOURCE), CheckpointError, `checkpoint ${SOURCE}`);
          if (got)
            for (const t of got.tensors)
              assert.equal(
                t.data.length,
                t.shape.reduce((x, y) => x * y, 1),
              );
        },
      ),
      RUNS,
    );
  });
});

describe('config parser', () => {
  const base = buildConfig('ict');
  /** A field path of the base config and a replacement value of any JSON type. */
  const leafPaths = (o: unknown, at: string[] = []): string[][] =>
    o !== null && typeof o === 'object' && !Array.isArray(o) ? Object.entries(o).flatMap(([k, v]) => leafPaths(v, [...at, k])) : [at];
  const paths = leafPaths(base);
  const setAt = (o: unknown, p: string[], v: unknown): unknown => {
    const out = structuredClone(o) as Record<string, unknown>;
    let cur = out;
    for (const k of p.slice(0, -1)) cur = cur[k] as Record<string, unknown>;
    cur[p[p.length - 1] as string] = v;
    return out;
  };

  it('random JSON and mutated valid configs: a ConfigError naming the field, or a config that validates again unchanged', () => {
    const input = fc.oneof(
      fc.jsonValue(),
      fc.tuple(fc.constantFrom(...paths), fc.jsonValue()).map(([p, v]) => setAt(base, p, v)),
      fc.tuple(fc.constantFrom(...paths), fc.constantFrom(-1, 0, 0.5, 1e308, '', 'x', null, [], {})).map(([p, v]) => setAt(base, p, v)),
    );
    fc.assert(
      fc.property(input, (v) => {
        const got = clearOrValue(() => validateConfig(v), ConfigError, 'invalid config');
        if (got) assert.deepEqual(validateConfig(JSON.parse(JSON.stringify(got))), got);
      }),
      { numRuns: 300 },
    );
  });

  it('--config overrides of any JSON shape merge without a crash (a ConfigError names the field)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...Object.keys(base), '__proto__', 'constructor', 'toString', 'x'), fc.jsonValue()), (o) => {
        clearOrValue(() => validateConfig(mergeUntyped(base, JSON.parse(JSON.stringify(o)))), ConfigError, 'invalid config');
      }),
      { numRuns: 200 },
    );
  });

  it('config.json of random text: a RecordError naming the file', () => {
    const dir = tempDir();
    const file = runPaths(dir).config;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 80 }),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (text) => {
          fs.writeFileSync(file, text);
          clearOrValue(() => readRunConfig(dir), RecordError, file);
        },
      ),
      { numRuns: 150 },
    );
  });
});
