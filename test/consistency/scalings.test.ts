import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { consistencyScalings, consistencyScalingsTensor } from '../../src/consistency/scalings';
import { RHO, SIGMA_DATA, SIGMA_MAX, SIGMA_MIN } from '../../src/constants';
import { consistencyFunction, consistencyOfPrepared, preparedInputOf } from '../../src/consistency/model';
import { Mlp } from '../../src/models/mlp';
import { Rng } from '../../src/util/rng';

function close(actual: number, expected: number, tol: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);
}

test('CM/iCT constants', () => {
  assert.equal(SIGMA_DATA, 0.5);
  assert.equal(SIGMA_MIN, 0.002);
  assert.equal(SIGMA_MAX, 80);
  assert.equal(RHO, 7);
});

test('boundary condition: c_skip(sigma_min) = 1 and c_out(sigma_min) = 0 exactly', () => {
  const s = consistencyScalings(0.002);
  assert.equal(s.cSkip, 1);
  assert.equal(s.cOut, 0);
  // c_in is not shifted: 1/sqrt(0.002² + 0.25) (python3)
  close(s.cIn, 1.9999840001919975, 1e-15);
  // and for other sigmaMin / sigmaData
  const t = consistencyScalings(0.01, { sigmaMin: 0.01, sigmaData: 1.3 });
  assert.equal(t.cSkip, 1);
  assert.equal(t.cOut, 0);
});

test('golden values at sigma = 0.5, 1, 80, 0.821 (sigma_data 0.5, sigma_min 0.002), by hand and python3', () => {
  // σ = 0.5: c_skip = 0.25/(0.498² + 0.25) = 0.25/0.498004; c_out = 0.5·0.498/sqrt(0.5); c_in = sqrt(2)
  const a = consistencyScalings(0.5);
  close(a.cSkip, 0.25 / 0.498004, 1e-15, 'c_skip(0.5)');
  close(a.cSkip, 0.5020039999678717, 1e-15, 'c_skip(0.5)');
  close(a.cOut, 0.249 / Math.sqrt(0.5), 1e-15, 'c_out(0.5)');
  close(a.cOut, 0.35213917703090064, 1e-15, 'c_out(0.5)');
  close(a.cIn, Math.SQRT2, 1e-15, 'c_in(0.5)');
  // σ = 1: c_skip = 0.25/(0.998² + 0.25) = 0.25/1.246004; c_out = 0.5·0.998/sqrt(1.25); c_in = 1/sqrt(1.25)
  const b = consistencyScalings(1);
  close(b.cSkip, 0.25 / 1.246004, 1e-15, 'c_skip(1)');
  close(b.cSkip, 0.2006414104609616, 1e-15, 'c_skip(1)');
  close(b.cOut, 0.499 / Math.sqrt(1.25), 1e-15, 'c_out(1)');
  close(b.cOut, 0.446319168308958, 1e-15, 'c_out(1)');
  close(b.cIn, 0.8944271909999159, 1e-15, 'c_in(1)');
  // σ = 80: c_skip = 0.25/(79.998² + 0.25); c_out = 0.5·79.998/sqrt(6400.25); c_in = 1/sqrt(6400.25)
  const c = consistencyScalings(80);
  close(c.cSkip, 3.90629272263522e-5, 1e-18, 'c_skip(80)');
  close(c.cOut, 0.49997773490522646, 1e-15, 'c_out(80)');
  close(c.cIn, 0.012499755866527323, 1e-17, 'c_in(80)');
  // σ = 0.821 (two-step σ of iCT CIFAR-10)
  const d = consistencyScalings(0.821);
  close(d.cSkip, 0.2715145406897121, 1e-15, 'c_skip(0.821)');
  close(d.cOut, 0.425998711368565, 1e-15, 'c_out(0.821)');
  close(d.cIn, 1.0402898934519291, 1e-15, 'c_in(0.821)');
});

test('custom sigmaData and sigmaMin follow the same formulas', () => {
  const sd = 1.3;
  const smin = 0.05;
  const sigma = 2.7;
  const s = consistencyScalings(sigma, { sigmaData: sd, sigmaMin: smin });
  close(s.cSkip, (sd * sd) / ((sigma - smin) ** 2 + sd * sd), 1e-15);
  close(s.cOut, (sd * (sigma - smin)) / Math.sqrt(sigma * sigma + sd * sd), 1e-15);
  close(s.cIn, 1 / Math.sqrt(sigma * sigma + sd * sd), 1e-15);
  // sigmaMin = 0 gives the unshifted EDM-like c_skip, c_out
  const e = consistencyScalings(1, { sigmaMin: 0 });
  close(e.cSkip, 0.25 / 1.25, 1e-15);
  close(e.cOut, 0.5 / Math.sqrt(1.25), 1e-15);
});

test('as sigma grows, c_skip -> 0 and c_out -> sigma_data; c_skip^2 + c_out^2 ~ 1 for unit-variance data', () => {
  const big = consistencyScalings(1e6);
  assert.ok(big.cSkip < 1e-12, `c_skip(1e6) = ${big.cSkip}`);
  close(big.cOut, 0.5, 1e-8, 'c_out(1e6)');
  let prevSkip = 2;
  let prevOut = -1;
  for (const sigma of [0.002, 0.01, 0.1, 0.5, 1, 5, 20, 80, 1000]) {
    const s = consistencyScalings(sigma);
    assert.ok(s.cSkip < prevSkip, `c_skip not decreasing at ${sigma}`);
    assert.ok(s.cOut > prevOut, `c_out not increasing at ${sigma}`);
    assert.ok(s.cSkip <= 1 && s.cSkip > 0);
    assert.ok(s.cOut >= 0 && s.cOut < 0.5);
    prevSkip = s.cSkip;
    prevOut = s.cOut;
  }
});

test('the tensor version equals the number version (cpu backend)', async () => {
  await tf.setBackend('cpu');
  const sigmas = [0.002, 0.01, 0.5, 0.821, 1, 7.3, 80];
  for (const opts of [{}, { sigmaData: 1.3, sigmaMin: 0.05 }]) {
    const grid = 'sigmaMin' in opts ? sigmas.map((s) => Math.max(s, 0.05)) : sigmas;
    const out = tf.tidy(() => {
      const t = consistencyScalingsTensor(tf.tensor1d(grid), opts);
      return [t.cSkip.arraySync(), t.cOut.arraySync(), t.cIn.arraySync(), t.cSkip.shape];
    });
    const [skip, cout, cin, shape] = out as [number[], number[], number[], number[]];
    assert.deepEqual(shape, [grid.length]);
    grid.forEach((sigma, i) => {
      const ref = consistencyScalings(sigma, opts);
      close(skip[i] as number, ref.cSkip, 1e-6 * Math.max(1, ref.cSkip), `c_skip(${sigma})`);
      close(cout[i] as number, ref.cOut, 1e-6, `c_out(${sigma})`);
      close(cin[i] as number, ref.cIn, 1e-6 * Math.max(1, ref.cIn), `c_in(${sigma})`);
    });
  }
  // the boundary holds in float32 too
  const boundary = tf.tidy(() => {
    const t = consistencyScalingsTensor(tf.tensor1d([0.002]));
    return tf.stack([t.cSkip, t.cOut]);
  });
  assert.deepEqual(Array.from(boundary.dataSync()), [1, 0]);
  boundary.dispose();
});

test('errors: sigma < sigma_min, NaN, infinite; bad sigmaData / sigmaMin', () => {
  assert.throws(() => consistencyScalings(0.001), /sigma must be a finite number >= sigmaMin \(0\.002\)/);
  assert.throws(() => consistencyScalings(-1), /sigma must be a finite number >= sigmaMin/);
  assert.throws(() => consistencyScalings(Number.NaN), /sigma must be a finite number >= sigmaMin/);
  assert.throws(() => consistencyScalings(Number.POSITIVE_INFINITY), /sigma must be a finite number >= sigmaMin/);
  assert.throws(() => consistencyScalings(0.5, { sigmaMin: 0.6 }), /sigma must be a finite number >= sigmaMin \(0\.6\)/);
  assert.throws(() => consistencyScalings(1, { sigmaData: 0 }), /sigmaData must be > 0/);
  assert.throws(() => consistencyScalings(1, { sigmaData: -0.5 }), /sigmaData must be > 0/);
  assert.throws(() => consistencyScalings(1, { sigmaMin: -0.1 }), /sigmaMin must be >= 0/);
  assert.throws(() => consistencyScalings(1, { sigmaMin: Number.NaN }), /sigmaMin must be >= 0/);
  assert.throws(() => tf.tidy(() => consistencyScalingsTensor(tf.tensor1d([1]), { sigmaData: 0 }).cIn), /sigmaData must be > 0/);
});

test('a CT pass from inputs prepared in JS (c_in·x, c_skip·x, c_out) equals consistencyFunction on the same x and σ', async () => {
  await tf.setBackend('cpu');
  const net = new Mlp({ dataDim: 2, hidden: 16, depth: 2, dropout: 0, embedding: { kind: 'fourier', scale: 16, dim: 8 }, embeddingSeed: 0 });
  const weights = net.init(3).map((w, i) => tf.tensor(w, net.params[i]?.shape));
  const r = new Rng(4, 1);
  const B = 9;
  const x = r.fillNormal(new Float32Array(B * 2));
  const s = Float32Array.from({ length: B }, (_, i) => 0.002 + i * 9.5);
  const opts = { sigmaMin: 0.002, sigmaData: 0.5 };
  const sigma = tf.tensor1d(s);
  const want = tf.tidy(() => consistencyFunction(net, weights, tf.tensor2d(x, [B, 2]), sigma, null, opts).dataSync());
  const got = tf.tidy(() => consistencyOfPrepared(net, weights, preparedInputOf(x, s, [B, 2], opts), sigma, null).dataSync());
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs((got[i] as number) - (want[i] as number)) < 1e-5, `element ${i}: ${got[i]} vs ${want[i]}`);
  // σ_min is the boundary: f = x there
  assert.ok(Math.abs((got[0] as number) - (x[0] as number)) < 1e-6);
  assert.throws(() => preparedInputOf(x, s, [B, 3], opts), /preparedInputOf: x has 18 values, not \[9,3\] with B = 9/);
  tf.dispose([...weights, sigma]);
  net.dispose();
});
