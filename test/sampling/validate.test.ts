import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateSigmas } from '../../src/sampling/multistep';

const MIN = 0.002;
const MAX = 80;

test('accepts one step [80] and the iCT two-step [80, 0.821]', () => {
  assert.doesNotThrow(() => validateSigmas([80], MIN, MAX));
  assert.doesNotThrow(() => validateSigmas([80, 0.821], MIN, MAX));
  assert.doesNotThrow(() => validateSigmas([80, 5, 0.821, 0.01, 0.0021], MIN, MAX));
  assert.doesNotThrow(() => validateSigmas([10], 0.5, 10)); // sigmaMax itself is allowed
});

test('refuses an empty list', () => {
  assert.throws(() => validateSigmas([], MIN, MAX), /at least one noise level/);
});

test('refuses ascending lists and duplicates, naming the index', () => {
  assert.throws(() => validateSigmas([0.821, 80], MIN, MAX), /strictly descending.*sigmas\[1\] = 80 >= sigmas\[0\] = 0\.821/);
  assert.throws(() => validateSigmas([80, 1, 2], MIN, MAX), /sigmas\[2\] = 2 >= sigmas\[1\] = 1/);
  assert.throws(() => validateSigmas([80, 0.821, 0.821], MIN, MAX), /sigmas\[2\] = 0\.821 >= sigmas\[1\]/);
  assert.throws(() => validateSigmas([80, 80], MIN, MAX), /sigmas\[1\]/);
});

test('refuses values <= sigmaMin or > sigmaMax, naming the index', () => {
  assert.throws(() => validateSigmas([80, 0.002], MIN, MAX), /sigmas\[1\]: expected a value in \(sigmaMin, sigmaMax\] = \(0\.002, 80\], got 0\.002/);
  assert.throws(() => validateSigmas([80, 0.001], MIN, MAX), /sigmas\[1\]: expected a value in/);
  assert.throws(() => validateSigmas([0], MIN, MAX), /sigmas\[0\]: expected a value in/);
  assert.throws(() => validateSigmas([-1], MIN, MAX), /sigmas\[0\]: expected a value in/);
  assert.throws(() => validateSigmas([80.5], MIN, MAX), /sigmas\[0\]: expected a value in .* got 80\.5/);
  assert.throws(() => validateSigmas([80, 40, 100], MIN, MAX), /sigmas\[2\]: expected a value in/);
  assert.throws(() => validateSigmas([5], 0.5, 4), /sigmas\[0\]: expected a value in \(sigmaMin, sigmaMax\] = \(0\.5, 4\]/);
});

test('refuses NaN and infinities, naming the index', () => {
  assert.throws(() => validateSigmas([Number.NaN], MIN, MAX), /sigmas\[0\]: expected a finite number, got NaN/);
  assert.throws(() => validateSigmas([80, Number.NaN], MIN, MAX), /sigmas\[1\]: expected a finite number/);
  assert.throws(() => validateSigmas([80, 1, Number.POSITIVE_INFINITY], MIN, MAX), /sigmas\[2\]: expected a finite number/);
  assert.throws(() => validateSigmas([Number.NEGATIVE_INFINITY], MIN, MAX), /sigmas\[0\]: expected a finite number/);
  assert.throws(() => validateSigmas([Number.NaN], MIN, MAX), RangeError);
});
