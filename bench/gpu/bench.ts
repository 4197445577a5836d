/**
 * The GPU check of bench/gpu/: the trainer's U-Net CT step (bench/ct-step.ts's `benchStep`, the
 * function `ctlab train` runs each step, loss read back) and 1-step sampling (f_θ(σ_max·z, σ_max)
 * of a batch, read back with `await data()`) on a TF.js backend (webgpu by default), at each image
 * size × batch asked for. bench/gpu/run.sh runs this from the packed bundle next to
 * bench/pytorch_step.py on CUDA and then `report` to merge both into JSON + markdown.
 *
 *   node bench.js time --out webgpu.json [--backend webgpu] [--sizes 16,32] [--batches 32,128]
 *        [--steps 20] [--warmup 3] [--sample-batch 256]
 *   node bench.js report --webgpu webgpu.json --torch torch.jsonl [--meta meta.json] [--wall SEC] --json out.json --md out.md
 *
 * Each timing is the median over `--steps` calls after `--warmup` untimed ones (the first calls
 * compile the WebGPU pipelines).
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendRequest } from '../../src/backend/index';
import { buildConfig } from '../../src/config/presets';
import { SIGMA_MAX } from '../../src/constants';
import { consistencyFunction } from '../../src/consistency/model';
import { buildNetwork } from '../../src/models/build';
import { Rng } from '../../src/util/rng';
import { BENCH_UNET_CONFIG, benchStep } from '../ct-step';

interface Row {
  kind: 'step' | 'sample';
  size: number;
  batch: number;
  msMedian: number;
  msMean: number;
  msMin: number;
  steps: number;
  params: number;
  /** Sampling only: images per second at the median. */
  imagesPerSec?: number;
}

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

function ints(s: string | undefined, dflt: number[]): number[] {
  return s === undefined ? dflt : s.split(',').map((v) => Number.parseInt(v, 10));
}

function stats(times: number[]): { msMedian: number; msMean: number; msMin: number } {
  const s = [...times].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const msMedian = s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { msMedian, msMean: s.reduce((a, b) => a + b, 0) / s.length, msMin: s[0] as number };
}

function unetConfig(size: number, batch: number): typeof BENCH_UNET_CONFIG {
  return buildConfig(
    'ict',
    {
      name: `gpu-unet-${size}`,
      batchSize: batch,
      data: { kind: 'fashion-mnist', size },
      model: BENCH_UNET_CONFIG.model,
      optimizer: { kind: 'adam', lr: 1e-4 },
      emaRate: 0.999,
      checkpointEvery: 1_000_000,
      evalEvery: 0,
    },
    'fashion-mnist',
  );
}

async function timeStep(size: number, batch: number, steps: number, warmup: number): Promise<Row> {
  const runner = benchStep(unetConfig(size, batch), { examples: 256 });
  const times: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t = performance.now();
    const loss = await runner.step();
    if (!Number.isFinite(loss)) throw new Error(`step ${i} at ${size}x${size}, batch ${batch}: loss ${loss}`);
    if (i >= warmup) times.push(performance.now() - t);
  }
  const row: Row = { kind: 'step', size, batch, ...stats(times), steps, params: runner.numParams };
  runner.dispose();
  return row;
}

async function timeSample(size: number, batch: number, steps: number, warmup: number): Promise<Row> {
  const cfg = unetConfig(size, batch);
  const shape = [size, size, 1];
  const net = buildNetwork(cfg, shape);
  const weights = net.init(0).map((w, i) => tf.tensor(w, (net.params[i] as { shape: number[] }).shape));
  const x = tf.tensor(new Rng(0, 3).fillNormal(new Float32Array(batch * size * size), 0, SIGMA_MAX), [batch, ...shape]);
  const sigma = tf.fill<tf.Rank.R1>([batch], SIGMA_MAX);
  const times: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t = performance.now();
    const out = tf.tidy(() => consistencyFunction(net, weights, x, sigma, null, { sigmaMin: cfg.noise.sigmaMin, sigmaData: cfg.noise.sigmaData }));
    await out.data();
    out.dispose();
    if (i >= warmup) times.push(performance.now() - t);
  }
  const s = stats(times);
  const params = net.params.reduce((a, p) => a + p.shape.reduce((q, r) => q * r, 1), 0);
  tf.dispose([...weights, x, sigma]);
  net.dispose();
  return { kind: 'sample', size, batch, ...s, steps, params, imagesPerSec: (batch * 1000) / s.msMedian };
}

async function time(argv: string[]): Promise<void> {
  const out = arg(argv, 'out');
  if (!out) throw new Error('time: --out FILE is required');
  const t0 = Date.now();
  const backend = await initBackend({ backend: (arg(argv, 'backend') ?? 'webgpu') as BackendRequest });
  const sizes = ints(arg(argv, 'sizes'), [16, 32]);
  const batches = ints(arg(argv, 'batches'), [32, 128]);
  const steps = Number(arg(argv, 'steps') ?? 20);
  const warmup = Number(arg(argv, 'warmup') ?? 3);
  const sampleBatch = Number(arg(argv, 'sample-batch') ?? 256);
  const rows: Row[] = [];
  const write = (): void =>
    fs.writeFileSync(out, JSON.stringify({ backend, node: process.version, tfjs: tf.version.tfjs, rows, wallSec: (Date.now() - t0) / 1000 }, null, 1) + '\n');
  for (const size of sizes) {
    for (const batch of batches) {
      rows.push(await timeStep(size, batch, steps, warmup));
      process.stderr.write(`bench/gpu: step ${size}x${size} batch ${batch}: ${rows.at(-1)?.msMedian.toFixed(2)} ms\n`);
      write(); // what was measured survives a later timeout
    }
    rows.push(await timeSample(size, sampleBatch, steps, warmup));
    process.stderr.write(`bench/gpu: 1-step sampling ${size}x${size} batch ${sampleBatch}: ${rows.at(-1)?.msMedian.toFixed(2)} ms\n`);
    write();
  }
}

interface TorchRow {
  model: string;
  msPerStep?: number;
  msPerCall?: number;
  batch: number;
  size: number;
  device: string;
  torch: string;
}

function report(argv: string[]): void {
  const wgFile = arg(argv, 'webgpu');
  const torchFile = arg(argv, 'torch');
  const jsonOut = arg(argv, 'json');
  const mdOut = arg(argv, 'md');
  if (!wgFile || !torchFile || !jsonOut || !mdOut) throw new Error('report: --webgpu, --torch, --json and --md are required');
  const wg = fs.existsSync(wgFile)
    ? (JSON.parse(fs.readFileSync(wgFile, 'utf8')) as {
        backend: { name: string; webgpu?: { vendor: string; description: string } };
        rows: Row[];
        wallSec: number;
      })
    : null;
  const torch = fs.existsSync(torchFile)
    ? fs
        .readFileSync(torchFile, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as TorchRow)
    : [];
  const metaFile = arg(argv, 'meta');
  const meta =
    metaFile && fs.existsSync(metaFile) ? (JSON.parse(fs.readFileSync(metaFile, 'utf8')) as { command?: string; commit?: string; [k: string]: unknown }) : {};
  const keys = new Set<string>();
  for (const r of wg?.rows ?? []) keys.add(`${r.kind}:${r.size}:${r.batch}`);
  for (const t of torch) keys.add(`${t.model === 'unet-sample' ? 'sample' : 'step'}:${t.size}:${t.batch}`);
  const rows = [...keys].map((k) => {
    const [kind, size, batch] = k.split(':') as [string, string, string];
    const w = wg?.rows.find((r) => `${r.kind}:${r.size}:${r.batch}` === k);
    const t = torch.find((r) => `${r.model === 'unet-sample' ? 'sample' : 'step'}:${r.size}:${r.batch}` === k);
    const tm = t?.msPerStep ?? t?.msPerCall;
    return { kind, size: Number(size), batch: Number(batch), webgpuMs: w?.msMedian ?? null, torchMs: tm ?? null, ratio: w && tm ? w.msMedian / tm : null };
  });
  rows.sort((a, b) => a.kind.localeCompare(b.kind) || a.size - b.size || a.batch - b.batch);
  const wall = arg(argv, 'wall');
  const result = { ...meta, ...(wall === undefined ? {} : { wallSec: Number(wall) }), webgpu: wg, torch, rows };
  fs.writeFileSync(jsonOut, JSON.stringify(result, null, 1) + '\n');
  const adapter = wg?.backend.webgpu ? `${wg.backend.webgpu.vendor}: ${wg.backend.webgpu.description}` : 'none';
  const lines = [
    '# U-Net CT step and 1-step sampling: TF.js webgpu (Dawn) vs PyTorch, same machine',
    '',
    `Command: \`${meta.command ?? 'bench/gpu/run.sh'}\`; commit ${meta.commit ?? '?'}; seed 0; TF.js backend ${wg?.backend.name ?? 'none'} on ${adapter};`,
    `PyTorch ${torch[0]?.torch ?? '?'} on ${torch[0]?.device ?? '?'}; webgpu part ${wg ? wg.wallSec.toFixed(1) : '?'} s, whole check ${wall ?? '?'} s. Medians in ms (trainer step with loss read back; sampling read back).`,
    '',
    '| what | image | batch | webgpu ms | PyTorch ms | webgpu / PyTorch |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.kind === 'step' ? 'CT step' : '1-step sampling'} | ${r.size}×${r.size} | ${r.batch} | ${r.webgpuMs?.toFixed(2) ?? '-'} | ${r.torchMs?.toFixed(2) ?? '-'} | ${r.ratio?.toFixed(2) ?? '-'} |`,
    ),
    '',
  ];
  fs.writeFileSync(mdOut, lines.join('\n'));
}

const [cmd, ...rest] = process.argv.slice(2);
(cmd === 'time' ? time(rest) : cmd === 'report' ? Promise.resolve(report(rest)) : Promise.reject(new Error('usage: bench.js time|report ...'))).catch(
  (e: unknown) => {
    process.stderr.write(`bench/gpu: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
