import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CsvError, parsePointsCsv, readPointsCsv } from '../../src/data/csv';

/** Assert that parsing `text` as points.csv throws a CsvError with exactly this message and line. */
function throwsCsv(text: string, message: string | RegExp, line: number): void {
  assert.throws(
    () => parsePointsCsv(text, 'points.csv'),
    (e: unknown) => {
      assert.ok(e instanceof CsvError, `not a CsvError: ${String(e)}`);
      assert.equal(e.line, line);
      assert.equal(e.source, 'points.csv');
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    },
  );
}

test('parses a plain x,y file into row-major float32', () => {
  const p = parsePointsCsv('x,y\n1,2\n3.5,-4\n-0.25,1e-3\n');
  assert.ok(p instanceof Float32Array);
  assert.deepEqual(Array.from(p), [1, 2, 3.5, -4, -0.25, Math.fround(1e-3)]);
});

test('header: case-insensitive, trimmed, any order, extra columns ignored', () => {
  const p = parsePointsCsv('id, Y ,X,label\n0,2,1,a\n1, 4 , 3 ,b');
  assert.deepEqual(Array.from(p), [1, 2, 3, 4]);
});

test('CRLF line ends, blank lines, BOM, missing or extra trailing newlines', () => {
  const expected = [1, 2, 3, 4];
  assert.deepEqual(Array.from(parsePointsCsv('x,y\r\n1,2\r\n3,4\r\n')), expected);
  assert.deepEqual(Array.from(parsePointsCsv('\n\nx,y\n\n1,2\n   \n3,4\n\n\n')), expected);
  assert.deepEqual(Array.from(parsePointsCsv('\uFEFFx,y\n1,2\n3,4')), expected);
  assert.deepEqual(Array.from(parsePointsCsv('x,y\n+1,2.\n3,.4e1')), expected);
});

test('bad number: names file, 1-based line, column and value', () => {
  throwsCsv('x,y\n1,2\n3,abc\n', "points.csv:3: column 'y' is 'abc', expected a finite number", 3);
  // Line numbers count blank lines and CRLF lines like any other line.
  throwsCsv('x,y\r\n1,2\r\n\r\n\r\n5,6\r\n\r\n7,8\r\nfoo,1\r\n', "points.csv:8: column 'x' is 'foo', expected a finite number", 8);
  throwsCsv('x,y\n1,\n2,3', "points.csv:2: column 'y' is '', expected a finite number", 2);
  for (const bad of ['NaN', 'Infinity', '-inf', '0x10', '5e', '1e999', '1 2', '"1"']) {
    throwsCsv(`x,y\n0,0\n0,${bad}`, `points.csv:3: column 'y' is '${bad}', expected a finite number`, 3);
  }
  throwsCsv('x,y\n0,0\n1e39,0', "points.csv:3: column 'x' is '1e39', which overflows float32", 3);
});

test('header without x and y', () => {
  throwsCsv('a,b\n1,2\n', "points.csv:1: header must name columns x and y, got 'a,b'", 1);
  throwsCsv('x,z\n1,2\n', "points.csv:1: header must name columns x and y, got 'x,z'", 1);
  throwsCsv('\n1,2\n3,4\n', "points.csv:2: header must name columns x and y, got '1,2'", 2);
  throwsCsv('x,y,X\n1,2,3\n4,5,6\n', /^points\.csv:1: header names column 'x' more than once/, 1);
});

test('wrong number of fields says expected vs got', () => {
  throwsCsv('x,y,z\n1,2,3\n1,2\n', 'points.csv:3: expected 3 fields (as in the header), got 2', 3);
  throwsCsv('x,y\n1,2,\n', 'points.csv:2: expected 2 fields (as in the header), got 3', 2);
});

test('empty input, no data rows, and a single point are errors', () => {
  throwsCsv('', /^points\.csv:1: empty input/, 1);
  throwsCsv('\r\n\n', /^points\.csv:1: empty input/, 1);
  throwsCsv('x,y\n', 'points.csv:1: no data rows after the header', 1);
  throwsCsv('x,y\n\n\n', 'points.csv:1: no data rows after the header', 1);
  throwsCsv('x,y\n\n1,2\n\n', 'points.csv:3: only 1 point, expected at least 2', 3);
});

test('default source label', () => {
  assert.throws(
    () => parsePointsCsv('a,b\n'),
    (e: unknown) => e instanceof CsvError && e.message.startsWith('<input>:1: header'),
  );
});

test('readPointsCsv reads a file and names its path in errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctlab-csv-'));
  try {
    const good = join(dir, 'good.csv');
    writeFileSync(good, 'y,x\n2,1\n4,3\n');
    assert.deepEqual(Array.from(readPointsCsv(good)), [1, 2, 3, 4]);
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'x,y\n1,2\n3,oops\n');
    assert.throws(
      () => readPointsCsv(bad),
      (e: unknown) => e instanceof CsvError && e.message === `${bad}:3: column 'y' is 'oops', expected a finite number`,
    );
    assert.throws(() => readPointsCsv(join(dir, 'missing.csv')), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
