/**
 * The page the core's browser test bundles (esbuild, platform browser): the page registers the cpu
 * backend and TF.js's gradients itself (the bundle's first lines, in browser.test.ts), then three CT
 * steps of the iCT preset's MLP on eight Gaussians, a 1-step sample and its SWD, all through
 * `ctlab/core` (src/core.ts). Results go to `window.ctlabResult`.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as core from '../../src/core';

export interface PageResult {
  backend: string;
  losses: number[];
  swd: number;
  sampleShape: number;
  checkpointBytes: number;
  nodeGlobals: string[];
  error?: string;
}

declare global {
  interface Window {
    ctlabResult?: PageResult;
  }
}

/** The demo the page runs; Node runs it too (test/core/browser.test.ts) and must get the same numbers. */
export async function runCoreDemo(): Promise<Omit<PageResult, 'nodeGlobals'>> {
  await tf.setBackend('cpu');
  await tf.ready();
  const cfg = core.buildConfig('ict', { steps: 3, batchSize: 64, model: { hidden: 32, depth: 2 } });
  const train = core.toy2d('eight-gaussians', 512, cfg.seed);
  const state = core.createModelState(cfg, [2]);
  const ctx = core.stepContext(cfg, state.net, train, [2]);
  const losses: number[] = [];
  for (let k = 0; k < cfg.steps; k++) losses.push((await core.trainStep(cfg, state, k, ctx)).loss);
  const weights = state.ema.map((v) => v.clone());
  const samples = core.sampleConsistency(state.net, weights, {
    sigmas: [core.SIGMA_MAX],
    n: 256,
    seed: 1,
    sigmaMin: cfg.noise.sigmaMin,
    sigmaData: cfg.noise.sigmaData,
  });
  const swd = core.slicedWasserstein(samples, core.toy2d('eight-gaussians', 256, 7));
  const bytes = core.encodeCheckpoint({
    step: cfg.steps,
    meta: {},
    tensors: state.ema.map((v, i) => ({ name: `ema/${i}`, shape: v.shape, data: v.dataSync() as Float32Array })),
  });
  core.decodeCheckpoint(bytes);
  tf.dispose(weights);
  state.dispose();
  return { backend: tf.getBackend(), losses, swd, sampleShape: samples.length, checkpointBytes: bytes.length };
}

/** Node globals visible to the page (none may be: the bundle must not polyfill or expect them). */
function nodeGlobals(): string[] {
  const g = globalThis as Record<string, unknown>;
  return ['process', 'Buffer', 'require', 'module', '__dirname', 'global', 'setImmediate'].filter((name) => g[name] !== undefined);
}

/** Page entry: run the demo and leave the result where the test reads it. */
export function startPage(): void {
  runCoreDemo().then(
    (r) => (window.ctlabResult = { ...r, nodeGlobals: nodeGlobals() }),
    (e: unknown) =>
      (window.ctlabResult = {
        backend: '',
        losses: [],
        swd: NaN,
        sampleShape: 0,
        checkpointBytes: 0,
        nodeGlobals: nodeGlobals(),
        error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e),
      }),
  );
}
