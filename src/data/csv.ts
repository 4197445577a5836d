/**
 * Reading 2D point sets from CSV files.
 *
 * Format: the first non-blank line is a header whose comma-separated names include `x` and `y`
 * (case-insensitive, surrounding spaces trimmed, in any order; other columns are allowed and
 * ignored). Every other non-blank line is one point with exactly as many fields as the header.
 * `\n` and `\r\n` line ends, blank lines, a trailing newline and a leading UTF-8 byte-order mark are
 * accepted. Quoted fields are not supported. Numbers are plain decimals (`-1.5`, `.5`, `2e-3`);
 * values must be finite and representable as float32 (the result's type).
 */
import { readFileSync } from 'node:fs';
import type { Points2D } from './toy2d';

/** A malformed CSV input; the message starts with `<source>:<line>:`. */
export class CsvError extends Error {
  /** 1-based line number the error refers to. */
  readonly line: number;
  /** The file name (or the label given to `parsePointsCsv`). */
  readonly source: string;

  constructor(source: string, line: number, detail: string) {
    super(`${source}:${line}: ${detail}`);
    this.name = 'CsvError';
    this.source = source;
    this.line = line;
  }
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function parseNumber(field: string, column: string, source: string, line: number): number {
  const v = DECIMAL.test(field) ? Number(field) : Number.NaN;
  if (!Number.isFinite(v)) {
    throw new CsvError(source, line, `column '${column}' is '${field}', expected a finite number`);
  }
  if (!Number.isFinite(Math.fround(v))) {
    throw new CsvError(source, line, `column '${column}' is '${field}', which overflows float32`);
  }
  return v;
}

/** Parse CSV text into row-major [n, 2] points; `source` names the input in error messages. */
export function parsePointsCsv(text: string, source = '<input>'): Points2D {
  const lines = (text.startsWith('\uFEFF') ? text.slice(1) : text).split(/\r?\n/);
  let h = 0;
  while (h < lines.length && (lines[h] as string).trim() === '') h++;
  if (h === lines.length) {
    throw new CsvError(source, 1, 'empty input, expected a header naming columns x and y');
  }
  const headerLine = lines[h] as string;
  const names = headerLine.split(',').map((s) => s.trim().toLowerCase());
  const xi = names.indexOf('x');
  const yi = names.indexOf('y');
  if (xi < 0 || yi < 0) {
    throw new CsvError(source, h + 1, `header must name columns x and y, got '${headerLine.trim()}'`);
  }
  for (const c of ['x', 'y']) {
    if (names.lastIndexOf(c) !== names.indexOf(c)) {
      throw new CsvError(source, h + 1, `header names column '${c}' more than once: '${headerLine.trim()}'`);
    }
  }
  const width = names.length;
  const values: number[] = [];
  let lastDataLine = h + 1;
  for (let k = h + 1; k < lines.length; k++) {
    const raw = lines[k] as string;
    if (raw.trim() === '') continue;
    const lineNo = k + 1;
    const fields = raw.split(',');
    if (fields.length !== width) {
      throw new CsvError(source, lineNo, `expected ${width} fields (as in the header), got ${fields.length}`);
    }
    values.push(parseNumber((fields[xi] as string).trim(), 'x', source, lineNo));
    values.push(parseNumber((fields[yi] as string).trim(), 'y', source, lineNo));
    lastDataLine = lineNo;
  }
  const n = values.length / 2;
  if (n === 0) throw new CsvError(source, h + 1, 'no data rows after the header');
  if (n < 2) throw new CsvError(source, lastDataLine, `only 1 point, expected at least 2`);
  return Float32Array.from(values);
}

/** Read a CSV file of points (see `parsePointsCsv`); errors name the file path. */
export function readPointsCsv(path: string): Points2D {
  return parsePointsCsv(readFileSync(path, 'utf8'), path);
}
