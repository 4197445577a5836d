/**
 * The wasm part of the run-time backend choice: registers the training kernels (./kernels) before
 * the wasm backend initialises, and (./threads) starts the threaded build where it helps.
 */
import { registerTrainingKernels } from './kernels';

export { registerTrainingKernels, unregisterTrainingKernels, registeredTrainingKernels, TRAINING_KERNELS } from './kernels';
export type { TrainingKernel } from './kernels';

/** The setup handed to `setWasmSetup`: returns the thread count the backend will use. */
export async function wasmSetup(threads: number | undefined): Promise<number> {
  registerTrainingKernels();
  void threads;
  return 1;
}
