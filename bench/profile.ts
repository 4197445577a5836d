/**
 * `npm run bench:profile`: where the time of one bench step goes, per TF.js kernel (tf.profile's
 * wall time per kernel call, summed by kernel name), for the U-Net training step or 1-step sampling.
 * A diagnostic for kernel work (which ops to fuse or move to native code); the numbers it prints are
 * not results and it writes nothing.
 *
 * Options: --job unet|2d (the U-Net bench step, default, or the 2D job of bench/train-loop.ts),
 * --reps N (timed calls, default 5), --threads N (threads of the heavy kernels), --sample (profile sampling at --sample-batch,
 * default 256), --calls N (profiled calls, averaged; default 5), --top N (rows, default 25). Native kernels follow CTLAB_NATIVE / CTLAB_NATIVE_THREADS.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index';
import { benchStep, benchUNet, benchUNetSampler } from './ct-step';
import { jobConfig } from './train-loop';
import { arg } from './args';

async function main(): Promise<void> {
  const threads = Number(arg('threads', '1'));
  await initBackend({ backend: 'wasm', threads, log: true });
  const sampling = process.argv.includes('--sample');
  const job = arg('job', 'unet');
  if (!['unet', '2d'].includes(job)) throw new RangeError(`--job: expected unet or 2d, got '${job}'`);
  const runner = sampling ? benchUNetSampler({ batch: Number(arg('sample-batch', '256')) }) : job === '2d' ? benchStep(jobConfig('2d', 3000)) : benchUNet({});
  const call = async (): Promise<void> => {
    if ('sample' in runner) runner.sample();
    else await runner.step();
  };
  for (let i = 0; i < 3; i++) await call();
  const reps = Number(arg('reps', '5'));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) await call();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6 / reps;
  const calls = Number(arg('calls', '5'));
  const profile = await tf.profile(async () => {
    for (let i = 0; i < calls; i++) await call();
  });
  const byName = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  for (const k of profile.kernels) {
    const ms = Number(await k.kernelTimeMs) / calls;
    const row = byName.get(k.name) ?? { ms: 0, calls: 0 };
    row.ms += ms;
    row.calls += 1 / calls;
    byName.set(k.name, row);
    total += ms;
  }
  console.log(
    `${sampling ? 'sampling' : 'training step'}: ${wall.toFixed(1)} ms per call (mean of ${reps}); ${profile.kernels.length / calls} kernel calls summing to ${total.toFixed(1)} ms (mean of ${calls} profiled calls; nested scopes count twice)`,
  );
  const rows = [...byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(arg('top', '25')));
  for (const [name, r] of rows) console.log(`${name.padEnd(30)} ${r.ms.toFixed(1).padStart(8)} ms ${String(Math.round(r.calls)).padStart(5)} calls`);
  runner.dispose();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
