import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isImageData, IMAGE_DATA_KINDS } from '../../src/config/data-kind';
import { buildConfig } from '../../src/config/presets';

test('isImageData: fashion-mnist is images, toy sets and CSV points are not', () => {
  assert.deepEqual([...IMAGE_DATA_KINDS], ['fashion-mnist']);
  assert.equal(isImageData('fashion-mnist'), true);
  assert.equal(isImageData({ kind: 'fashion-mnist' }), true);
  for (const name of ['eight-gaussians', 'two-moons', 'points.csv', 'toy2d', 'csv']) assert.equal(isImageData(name), false, name);
  assert.equal(isImageData(buildConfig('ict').data), false);
  assert.equal(isImageData(buildConfig('ict', {}, 'fashion-mnist').data), true);
});
