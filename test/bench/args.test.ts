import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { median } from '../../bench/args';

test('bench median: odd and even counts, input left unsorted, empty refused', () => {
  const xs = [3, 1, 2];
  assert.equal(median(xs), 2);
  assert.deepEqual(xs, [3, 1, 2]);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.throws(() => median([]), /median: empty list/);
});

test('bench scripts refuse a bad count naming the option', () => {
  const r = spawnSync(process.execPath, [path.resolve(__dirname, '..', '..', 'bench', 'simd.js'), '--rounds', 'x'], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--rounds: expected a positive integer, got 'x'/);
});
