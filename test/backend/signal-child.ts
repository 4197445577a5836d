/**
 * Child process of native-signals.test.ts (not a test itself): runs GEMMs through the native
 * kernels' dnnl_sgemm engine while its parent sends it SIGUSR2, counted by a handler, as Node's
 * own handlers (SIGINT, SIGTERM, the profiler's SIGPROF) would be. Prints `ready` once the handler
 * is in, then one JSON line: the signals seen, the GEMMs run and the largest difference of any
 * GEMM's result from the first one's (the inputs do not change, so it must be 0).
 *
 * argv: <threads> <gemm engine> <gemm count>
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index';
import { setGemmEngine, type GemmEngine } from '../../src/backend/native/index';

async function main(): Promise<void> {
  const threads = Number(process.argv[2] ?? '1');
  const engine = (process.argv[3] ?? 'onednn') as GemmEngine;
  const count = Number(process.argv[4] ?? '2000');
  const info = await initBackend({ backend: 'wasm', threads, log: false, native: true });
  if (!info.native.active) throw new Error(`native kernels not active: ${info.native.reason}`);
  setGemmEngine(engine);
  let signals = 0;
  process.on('SIGUSR2', () => signals++);
  const a = tf.randomNormal([512, 256], 0, 1, 'float32', 1);
  const b = tf.randomNormal([256, 256], 0, 1, 'float32', 2);
  const first = tf.matMul(a, b).dataSync() as Float32Array;
  process.stdout.write('ready\n');
  let maxDiff = 0;
  for (let i = 0; i < count; i++) {
    const c = tf.matMul(a, b);
    const v = c.dataSync();
    c.dispose();
    for (let j = 0; j < v.length; j += 97) maxDiff = Math.max(maxDiff, Math.abs((v[j] as number) - (first[j] as number)));
    if (i % 20 === 0) await new Promise((r) => setImmediate(r)); // let the handler run
  }
  process.stdout.write(`${JSON.stringify({ signals, gemms: count, maxDiff })}\n`);
  // signals already sent are still handled before the exit
  await new Promise((r) => setTimeout(r, 300));
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
