/**
 * Soak benchmark (not a test): a long 2D run through the real `train()`, recording the TF.js tensor
 * count and the process RSS every 1,000 steps, to show both stay flat (no tensor leak, no memory
 * growth over the run). Writes results/bench/soak.json and results/bench/soak.md.
 *
 *   node dist/bench/soak.js [--job ict|2d] [--steps 20000] [--every 1000] [--batch 256] [--seed 0] [--out results/bench]
 *
 * --job 2d soaks the loop bench's 2D job (bench/train-loop.ts: MLP 3×256, batch 512, Adam; --batch ignored).
 *
 * The run directory goes to a temp folder (removed afterwards); checkpoints every 5,000 steps, so the
 * checkpoint writes are part of what is soaked.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildConfig } from '../src/config/presets';
import { validateConfig } from '../src/config/schema';
import { jobConfig } from './train-loop';
import { gitInfo } from '../src/run/run-dir';
import { train } from '../src/training/trainer';
import { arg } from './args';

interface Sample {
  step: number;
  numTensors: number;
  rssMiB: number;
  heapUsedMiB: number;
  stepsPerSec: number;
}

async function main(): Promise<void> {
  const steps = Number(arg('steps', '20000'));
  const every = Number(arg('every', '1000'));
  const batch = Number(arg('batch', '256'));
  const seed = Number(arg('seed', '0'));
  const outDir = arg('out', path.join('results', 'bench'));
  const job = arg('job', 'ict');
  if (job !== 'ict' && job !== '2d') throw new RangeError(`--job: expected ict or 2d, got '${job}'`);
  const cadence = { logEvery: every, checkpointEvery: 5000, evalEvery: 0 };
  // 'ict': the preset's toy run at --batch; '2d': the loop bench's 2D job (MLP 3×256, batch 512, Adam)
  const cfg =
    job === '2d' ? validateConfig({ ...jobConfig('2d', steps), seed, ...cadence }) : buildConfig('ict', { steps, batchSize: batch, seed, ...cadence });
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctlab-soak-'));
  const samples: Sample[] = [];
  const t0 = Date.now();
  const mib = (b: number): number => Math.round((b / 2 ** 20) * 10) / 10;
  const r = await train(cfg, {
    outDir: runDir,
    progress: false,
    command: `node dist/bench/soak.js ${process.argv.slice(2).join(' ')}`.trim(),
    onMetric: (rec) => {
      if (rec.kind !== 'train') return;
      const mem = process.memoryUsage();
      samples.push({ step: rec.step, numTensors: tf.memory().numTensors, rssMiB: mib(mem.rss), heapUsedMiB: mib(mem.heapUsed), stepsPerSec: rec.stepsPerSec });
      process.stderr.write(`soak: step ${rec.step}: ${tf.memory().numTensors} tensors, RSS ${mib(mem.rss)} MiB\n`);
    },
  });
  const wallSec = (Date.now() - t0) / 1000;
  fs.rmSync(runDir, { recursive: true, force: true });

  const tensors = samples.map((s) => s.numTensors);
  // RSS after warm-up (the first quarter of the records: allocator and JIT settle) to the end
  const settled = samples.slice(Math.floor(samples.length / 4));
  const rssFirst = settled[0]?.rssMiB ?? NaN;
  const rssLast = settled.at(-1)?.rssMiB ?? NaN;
  const rssMax = Math.max(...settled.map((s) => s.rssMiB));
  const tensorsFlat = Math.max(...tensors) === Math.min(...tensors);
  const rssGrowth = rssLast - rssFirst;
  // RSS follows V8's garbage collections (a saw-tooth of tens of MiB), so single readings say little:
  // a leak is a rising trend, i.e. the second half's peak above the first half's (after warm-up)
  const half = Math.floor(settled.length / 2);
  const peakFirst = Math.max(...settled.slice(0, half).map((s) => s.rssMiB));
  const peakSecond = Math.max(...settled.slice(half).map((s) => s.rssMiB));
  const peakGrowth = peakSecond - peakFirst;
  const rssFlat = peakGrowth <= Math.max(16, 0.05 * peakFirst); // the peak grew by at most 16 MiB or 5%
  const git = gitInfo();
  const record = {
    command: `node dist/bench/soak.js ${process.argv.slice(2).join(' ')}`.trim(),
    commit: git.commit,
    dirty: git.dirty,
    date: new Date().toISOString(),
    backend: r.backend.name,
    native: r.backend.native.active,
    threads: r.backend.threads,
    seed,
    steps: r.steps,
    batch: cfg.batchSize,
    data: cfg.data,
    model: cfg.model,
    every,
    wallSec,
    node: process.version,
    cpus: os.cpus().length,
    loadAvg: os.loadavg(),
    samples,
    summary: {
      tensorsFlat,
      tensorsMin: Math.min(...tensors),
      tensorsMax: Math.max(...tensors),
      rssFirstSettledMiB: rssFirst,
      rssLastMiB: rssLast,
      rssMaxMiB: rssMax,
      rssGrowthMiB: rssGrowth,
      rssPeakFirstHalfMiB: peakFirst,
      rssPeakSecondHalfMiB: peakSecond,
      rssFlat,
    },
  };
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'soak.json'), JSON.stringify(record, null, 2) + '\n');
  const md = [
    '# Soak: tensor count and RSS over a long 2D run',
    '',
    `${r.steps} iCT steps on ${cfg.data.kind === 'toy2d' ? cfg.data.name : cfg.data.kind} (MLP ${cfg.model.kind === 'mlp' ? `${cfg.model.depth}x${cfg.model.hidden}` : cfg.model.kind}, batch ${cfg.batchSize}, seed ${seed}) through \`train()\`, checkpoints every 5,000 steps; backend ${r.backend.name}${r.backend.native.active ? ' + native kernels' : ''}, ${r.backend.threads} thread(s); ${wallSec.toFixed(0)} s wall (load average ${os.loadavg()[0]?.toFixed(1)} at the end on ${os.cpus().length} CPUs).`,
    '',
    `Tensors: ${tensorsFlat ? `flat at ${tensors[0]}` : `NOT flat: ${Math.min(...tensors)} to ${Math.max(...tensors)}`}. ` +
      `RSS after warm-up: ${rssFirst} MiB to ${rssLast} MiB (max ${rssMax}; ${rssGrowth >= 0 ? '+' : ''}${rssGrowth.toFixed(1)} MiB); peak ${peakFirst} MiB in the first half, ${peakSecond} MiB in the second: ${rssFlat ? 'flat' : 'NOT flat'} (the peak grew by at most 16 MiB or 5%).`,
    '',
    '| step | tensors | RSS MiB | heap used MiB | steps/s |',
    '|---:|---:|---:|---:|---:|',
    ...samples.map((s) => `| ${s.step} | ${s.numTensors} | ${s.rssMiB} | ${s.heapUsedMiB} | ${s.stepsPerSec.toFixed(1)} |`),
    '',
    `Command: \`${record.command}\` at commit ${git.commit}${git.dirty ? ' (dirty)' : ''}, ${record.date}.`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(outDir, 'soak.md'), md);
  process.stdout.write(
    `soak: ${r.steps} steps in ${wallSec.toFixed(0)} s; tensors ${tensorsFlat ? 'flat' : 'NOT flat'}, RSS ${rssFlat ? 'flat' : 'NOT flat'} -> ${outDir}/soak.{json,md}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`soak: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
