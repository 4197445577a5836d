/**
 * Subnormal floats and the native kernels (native/ctlab_native.cc `FlushSubnormals`): the network
 * kernels flush subnormal results and operands to zero (FTZ/DAZ, as TensorFlow's CPU kernels do),
 * at 1 and 2 native threads, and the calling thread gets IEEE subnormals back after every call: JS
 * numbers, float32 reads and the wasm kernels on that thread still see them. The optimizer kernels keep
 * IEEE subnormals. With CTLAB_NATIVE=0 nothing flushes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index';
import { NATIVE_BINARY_MIN, setNativeThreads } from '../../src/backend/native/index';
import { createOptimizer } from '../../src/optim/index';

const TINY = 1e-20; // TINY² = 1e-40: subnormal in float32 (the smallest normal is ~1.18e-38)
const SUB = 1e-39; // a subnormal float32

/** IEEE subnormals on this thread, in JS doubles, float32 reads and a small (wasm) kernel. */
function assertIeeeHere(what: string): void {
  const d = [1e-310, 0.5];
  assert.ok((d[0] as number) * (d[1] as number) > 0, `${what}: a subnormal double product came out 0 in JS`);
  assert.ok((new Float32Array([SUB])[0] as number) > 0, `${what}: a subnormal float32 read as 0 in JS`);
  const small = tf.tidy(() => tf.mul(tf.fill([4], TINY), tf.fill([4], TINY)).dataSync()[0] as number);
  assert.ok(Math.abs(small - 1e-40) < 1e-44, `${what}: the wasm Multiply gave ${small} for 1e-20·1e-20`);
}

test('native kernels flush subnormals; JS and the wasm kernels on the calling thread keep them', async () => {
  const info = await initBackend({ backend: 'wasm', log: false });
  const n = 2 * NATIVE_BINARY_MIN; // large enough for the native Multiply
  assertIeeeHere('before any native call');
  for (const threads of info.native.active ? [1, 2] : [1]) {
    if (info.native.active) setNativeThreads(threads);
    const [prod, daz] = tf.tidy(() => [tf.mul(tf.fill([n], TINY), tf.fill([n], TINY)).dataSync(), tf.mul(tf.fill([n], SUB), tf.fill([n], 4)).dataSync()]) as [
      Float32Array,
      Float32Array,
    ];
    if (info.native.active) {
      assert.equal(prod[0], 0, `${threads} thread(s): FTZ: 1e-20·1e-20 must flush to 0 in the native Multiply, got ${prod[0]}`);
      assert.equal(prod[n - 1], 0, `${threads} thread(s): FTZ on the last element (another thread's part), got ${prod[n - 1]}`);
      assert.equal(daz[n - 1], 0, `${threads} thread(s): DAZ: a subnormal operand counts as 0, got ${daz[n - 1]}`);
    } else {
      assert.ok(Math.abs((prod[0] as number) - 1e-40) < 1e-44, `wasm: 1e-20·1e-20 must stay subnormal, got ${prod[0]}`);
      assert.ok(Math.abs((daz[0] as number) - 4e-39) < 1e-44, `wasm: 4·1e-39 must stay subnormal, got ${daz[0]}`);
    }
    assertIeeeHere(`after the ${threads}-thread native call`);
  }
  if (info.native.active) setNativeThreads(1);
});

test('the fused Adam and EMA keep IEEE subnormals (as the wasm kernels do)', async () => {
  await initBackend({ backend: 'wasm', log: false });
  const p = tf.variable(tf.fill([8], SUB));
  const ema = tf.variable(tf.fill([8], SUB));
  const opt = createOptimizer({ kind: 'adam', lr: 0 }, [p]);
  assert.ok(opt.fusedActive, 'the fused Adam kernel is registered on wasm');
  opt.step([tf.fill([8], SUB)]);
  opt.emaUpdate([ema], [p], 0.5);
  // lr 0: p stays SUB; EMA 0.5·SUB + 0.5·SUB = SUB; flushing would give 0
  assert.equal(p.dataSync()[0], new Float32Array([SUB])[0], 'Adam with lr 0 must leave a subnormal weight as it is');
  assert.equal(ema.dataSync()[0], new Float32Array([SUB])[0], 'the EMA of two subnormals must stay subnormal');
  opt.dispose();
  tf.dispose([p, ema]);
});
