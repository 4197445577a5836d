/**
 * The wasm part of the run-time backend choice: registers the training kernels (./kernels) and
 * starts the threaded build (./threads) before the wasm backend initialises.
 *
 * Threads: `threads` option, else `CTLAB_WASM_THREADS`, else 2 where the machine has >= 2 CPUs and
 * a second one is idle at start (1-minute load average <= CPUs - 1), else 1 (with the native
 * kernels, src/backend/index.ts asks for 1 and gives the count to them). Two threads make the
 * U-Net step faster on an idle machine (convolutions dominate and XNNPACK splits them); on an
 * oversubscribed one XNNPACK's thread pool waits for a core on every op and is several times slower.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { registerTrainingKernels } from './kernels';
import { configureWasmThreads, threadStartError, wasmThreadsInUse } from './threads';

export { registerTrainingKernels, unregisterTrainingKernels, registeredTrainingKernels, TRAINING_KERNELS } from './kernels';
export type { TrainingKernel } from './kernels';
export { configureWasmThreads, wasmThreadsInUse } from './threads';

/** The machine's default thread count and why: 2 when two CPUs and one idle, else 1. */
export function defaultThreads(): { threads: number; reason: string } {
  const cpus = os.cpus().length;
  if (cpus < 2) return { threads: 1, reason: `${cpus} CPU` };
  const load = os.loadavg()[0] ?? 0;
  if (load > cpus - 1) return { threads: 1, reason: `load average ${load.toFixed(1)} on ${cpus} CPUs: no idle core` };
  return { threads: 2, reason: `${cpus} CPUs, load average ${load.toFixed(1)}` };
}

/** The default wasm thread count and why: CTLAB_WASM_THREADS, else `defaultThreads()`. */
export function defaultWasmThreads(): { threads: number; reason: string } {
  const env = process.env.CTLAB_WASM_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`CTLAB_WASM_THREADS: expected a positive integer, got '${env}'`);
    return { threads: n, reason: 'CTLAB_WASM_THREADS' };
  }
  return defaultThreads();
}

/** Why threads were not started, when a threaded start failed (null otherwise). */
export function wasmThreadError(): string | null {
  return threadStartError;
}

/** The setup handed to `setWasmSetup`: starts wasm and returns the thread count XNNPACK uses. */
export async function wasmSetup(threads: number | undefined): Promise<number> {
  registerTrainingKernels();
  configureWasmThreads(threads ?? defaultWasmThreads().threads);
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend did not initialise');
  return wasmThreadsInUse();
}
