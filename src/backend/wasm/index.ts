/**
 * The wasm part of the run-time backend choice: registers the training kernels (./kernels) and
 * starts the threaded build (./threads) before the wasm backend initialises.
 *
 * Threads: `threads` option, else `CTLAB_WASM_THREADS`, else 2 where the machine has >= 2 CPUs
 * (measured faster for the U-Net step: convolutions dominate and XNNPACK splits them), else 1.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { registerTrainingKernels } from './kernels';
import { configureWasmThreads, threadStartError, wasmThreadsInUse } from './threads';

export { registerTrainingKernels, unregisterTrainingKernels, registeredTrainingKernels, TRAINING_KERNELS } from './kernels';
export type { TrainingKernel } from './kernels';
export { configureWasmThreads, wasmThreadsInUse } from './threads';

/** The default thread count: CTLAB_WASM_THREADS, else min(2, CPUs). */
export function defaultWasmThreads(): number {
  const env = process.env.CTLAB_WASM_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`CTLAB_WASM_THREADS: expected a positive integer, got '${env}'`);
    return n;
  }
  return Math.min(2, Math.max(1, os.cpus().length));
}

/** Why threads were not started, when a threaded start failed (null otherwise). */
export function wasmThreadError(): string | null {
  return threadStartError;
}

/** The setup handed to `setWasmSetup`: starts wasm and returns the thread count XNNPACK uses. */
export async function wasmSetup(threads: number | undefined): Promise<number> {
  registerTrainingKernels();
  configureWasmThreads(threads ?? defaultWasmThreads());
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend did not initialise');
  return wasmThreadsInUse();
}
