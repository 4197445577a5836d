import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FASHION_MNIST_CLASS_COLORS, loadDataset, tintByClass } from '../../src/data/source';
import { loadFashionMnist } from '../../src/data/idx';

test('tintByClass: pixel u of class k becomes round(u·colour_k/255); bad labels and sizes refused', () => {
  const out = tintByClass(Uint8Array.from([255, 100, 0, 51]), [0, 9], 2, 2);
  assert.deepEqual(Array.from(out), [230, 60, 50, 90, 24, 20, 0, 0, 0, 50, 30, 34]);
  assert.equal(FASHION_MNIST_CLASS_COLORS.length, 10);
  assert.throws(() => tintByClass(new Uint8Array(4), [10], 1, 4), /label 10 of image 0 is not a class in 0\.\.9/);
  assert.throws(() => tintByClass(new Uint8Array(3), [0], 1, 4), /3 pixels, expected n·h·w = 4/);
});

test('--data fashion-mnist-color: 3-channel images whose colours follow the test labels', () => {
  const ds = loadDataset({ kind: 'fashion-mnist', size: 16, trainSize: 10, testSize: 5, color: 'class-tint' }, 0);
  assert.deepEqual(ds.shape, [16, 16, 3]);
  assert.equal(ds.test.length, 5 * 768);
  const labels = loadFashionMnist({ split: 'test' }).labels;
  for (let k = 0; k < 5; k++) {
    // the brightest pixel's channel ratios are the class colour's
    let best = 0;
    for (let p = 0; p < 256; p++)
      if (
        (ds.test[k * 768 + p * 3] as number) + (ds.test[k * 768 + p * 3 + 1] as number) >
        (ds.test[k * 768 + best * 3] as number) + (ds.test[k * 768 + best * 3 + 1] as number)
      )
        best = p;
    const u = [0, 1, 2].map((c) => ((ds.test[k * 768 + best * 3 + c] as number) + 1) * 127.5);
    const rgb = (FASHION_MNIST_CLASS_COLORS[labels[k] as number] as { rgb: readonly number[] }).rgb;
    const scale = (u[0] as number) / (rgb[0] as number);
    [0, 1, 2].forEach((c) =>
      assert.ok(Math.abs((u[c] as number) - scale * (rgb[c] as number)) < 3, `image ${k} channel ${c}: ${u[c]} vs ${scale * (rgb[c] as number)}`),
    );
  }
});
