/**
 * `npm run bench` (first part; alone: `npm run bench:step`): one consistency-training step (target forward, student forward + backward,
 * Adam, EMA) of the small U-Net (batch 32, 16x16x1, widths 32/64, two resolutions, GroupNorm, SiLU,
 * residual blocks, Fourier embedding, dropout 0.1) and of the 2-D MLP (batch 512, 3 x 256 SiLU), on
 * tfjs wasm at 1 and 2 threads (the wasm kernels alone, and with the native oneDNN/OpenBLAS kernels
 * where the addon is built), tfjs cpu (the U-Net: one step), and PyTorch CPU (bench/pytorch_step.py
 * with /usr/bin/python3, when torch imports) at 1 and 2 threads, measured side by side in one run.
 * Then 1-step sampling (one U-Net forward at 16x16 over a large batch) in images/s, tfjs on its best
 * path against PyTorch, at the largest thread count.
 *
 * Writes results/bench/unet-step.json (rows of {model, tfjs: {backend, native, threads, msPerStep},
 * pytorch: {threads, msPerStep}, ratio}, and sampling: {tfjsImagesPerSec, pytorchImagesPerSec, ...})
 * and results/bench/unet-step.md.
 *
 * Options: --steps N (timed steps per wasm row, default 20), --warmup N (default 3), --rounds N
 * (alternating tfjs/PyTorch rounds; the row keeps the median of the round medians, default 2),
 * --threads 1,2, --no-cpu (skip the tfjs cpu rows), --no-pytorch, --out DIR, --seed N,
 * --models unet,mlp, --paths wasm,native (which tfjs paths get rows; native rows need the addon),
 * --no-sampling, --sample-batch N (default 256), --sample-steps N (timed calls, default 10).
 * Each measurement runs in its own process (the wasm thread count is fixed per process).
 */
import { spawnSync, execSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, describeBackend } from '../src/backend/index';
import { loadNativeAddon, nativeLoadError } from '../src/backend/native/index';
import { benchMlp, benchUNet, benchUNetSampler, BENCH_MLP_BATCH, BENCH_MLP_CONFIG, BENCH_UNET_BATCH, BENCH_UNET_CONFIG, BENCH_UNET_SIZE } from './ct-step';
import { arg, flag, median } from './args';

type Model = 'unet' | 'mlp';

interface Measurement {
  model: Model;
  backend: string;
  /** Native kernels active (tfjs rows). */
  native?: boolean;
  threads: number;
  /** Threads of the wasm backend itself (1 beside the native kernels, see src/backend). */
  wasmThreads?: number;
  msPerStep: number;
  meanMs: number;
  minMs: number;
  steps: number;
  params: number;
  tensorsBefore?: number;
  tensorsAfter?: number;
  backendLine?: string;
}

/** Child-process mode: time one model on one backend, print one JSON line. */
async function worker(): Promise<void> {
  const backend = arg('backend', 'wasm') as 'wasm' | 'cpu';
  const threads = Number(arg('threads', '1'));
  const model = arg('model', 'unet') as Model;
  const steps = Number(arg('steps', '20'));
  const warmup = Number(arg('warmup', '3'));
  const seed = Number(arg('seed', '0'));
  const info = await initBackend({ backend, threads, log: false });
  if (flag('sample')) return sampleWorker(info, steps, warmup, seed);
  const runner = model === 'unet' ? benchUNet({ seed }) : benchMlp({ seed });
  for (let i = 0; i < warmup; i++) await runner.step();
  const before = tf.memory().numTensors;
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = process.hrtime.bigint();
    await runner.step();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const after = tf.memory().numTensors;
  const m: Measurement = {
    model,
    backend: info.name,
    native: info.native.active,
    threads: info.threads,
    wasmThreads: info.wasmThreads,
    msPerStep: median(times),
    meanMs: times.reduce((a, b) => a + b, 0) / times.length,
    minMs: Math.min(...times),
    steps,
    params: runner.numParams,
    tensorsBefore: before,
    tensorsAfter: after,
    backendLine: describeBackend(info),
  };
  runner.dispose();
  process.stdout.write(JSON.stringify(m) + '\n');
}

interface SampleMeasurement {
  threads: number;
  native: boolean;
  batch: number;
  msPerCall: number;
  imagesPerSec: number;
  steps: number;
  params: number;
  backendLine?: string;
}

function sampleWorker(info: Awaited<ReturnType<typeof initBackend>>, steps: number, warmup: number, seed: number): void {
  const batch = Number(arg('batch', '256'));
  const s = benchUNetSampler({ batch, seed });
  for (let i = 0; i < warmup; i++) s.sample();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = process.hrtime.bigint();
    s.sample();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const ms = median(times);
  const m: SampleMeasurement = {
    threads: info.threads,
    native: info.native.active,
    batch,
    msPerCall: ms,
    imagesPerSec: (batch * 1000) / ms,
    steps,
    params: s.numParams,
    backendLine: describeBackend(info),
  };
  s.dispose();
  process.stdout.write(JSON.stringify(m) + '\n');
}

type Path = 'wasm' | 'native';

function childEnv(path: Path | null): NodeJS.ProcessEnv {
  return { ...process.env, CTLAB_BACKEND: '', CTLAB_NATIVE: path === 'native' ? '1' : '0' };
}

function lastJson<T>(stdout: string): T {
  const line = stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (!line) throw new Error(`no JSON in output: ${stdout.slice(-500)}`);
  return JSON.parse(line) as T;
}

function runTfjs(model: Model, backend: 'wasm' | 'cpu', threads: number, steps: number, warmup: number, seed: number, p: Path | null = null): Measurement {
  const script = path.join(__dirname, 'run.js');
  const args = [
    script,
    '--worker',
    '--backend',
    backend,
    '--threads',
    String(threads),
    '--model',
    model,
    '--steps',
    String(steps),
    '--warmup',
    String(warmup),
    '--seed',
    String(seed),
  ];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: childEnv(p), maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`tfjs ${backend}${p === 'native' ? '+native' : ''} ${model} t=${threads} failed: ${r.stderr.slice(-1000)}`);
  return lastJson<Measurement>(r.stdout);
}

function runTfjsSample(threads: number, batch: number, steps: number, seed: number, p: Path): SampleMeasurement {
  const script = path.join(__dirname, 'run.js');
  const args = [
    script,
    '--worker',
    '--sample',
    '--backend',
    'wasm',
    '--threads',
    String(threads),
    '--batch',
    String(batch),
    '--steps',
    String(steps),
    '--warmup',
    '2',
    '--seed',
    String(seed),
  ];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: childEnv(p), maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`tfjs sampling (${p}) t=${threads} failed: ${r.stderr.slice(-1000)}`);
  return lastJson<SampleMeasurement>(r.stdout);
}

function runTorchSample(
  threads: number,
  batch: number,
  steps: number,
  seed: number,
): { imagesPerSec: number; msPerCall: number; threads: number; params: number } {
  const script = path.join(__dirname, '..', '..', 'bench', 'pytorch_step.py');
  const r = spawnSync(
    PYTHON,
    [script, '--sample', '--batch', String(batch), '--threads', String(threads), '--steps', String(steps), '--warmup', '2', '--seed', String(seed)],
    {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) },
    },
  );
  if (r.status !== 0) throw new Error(`pytorch sampling t=${threads} failed: ${r.stderr.slice(-1000)}`);
  return lastJson<{ imagesPerSec: number; msPerCall: number; threads: number; params: number }>(r.stdout);
}

const PYTHON = '/usr/bin/python3';

function torchAvailable(): string | null {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? null : (r.stderr.trim().split('\n').pop() ?? 'torch does not import');
}

function runTorch(model: Model, threads: number, steps: number, warmup: number, seed: number): Measurement {
  const script = path.join(__dirname, '..', '..', 'bench', 'pytorch_step.py');
  const r = spawnSync(
    PYTHON,
    [script, '--model', model, '--threads', String(threads), '--steps', String(steps), '--warmup', String(warmup), '--seed', String(seed)],
    {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) },
    },
  );
  if (r.status !== 0) throw new Error(`pytorch ${model} t=${threads} failed: ${r.stderr.slice(-1000)}`);
  const j = lastJson<{ threads: number; msPerStep: number; meanMs: number; minMs: number; steps: number; params: number; torch: string }>(r.stdout);
  return {
    model,
    backend: `pytorch-cpu ${j.torch}`,
    threads: j.threads,
    msPerStep: j.msPerStep,
    meanMs: j.meanMs,
    minMs: j.minMs,
    steps: j.steps,
    params: j.params,
  };
}

function gitCommit(): string {
  try {
    const sha = execSync('git rev-parse HEAD', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execSync('git status --porcelain -- src bench', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return 'unknown';
  }
}

const fmt = (x: number | undefined): string => (x === undefined ? 'n/a' : x >= 100 ? x.toFixed(0) : x.toFixed(1));

async function main(): Promise<void> {
  if (flag('worker')) return worker();
  const t0 = Date.now();
  const steps = Number(arg('steps', '20'));
  const warmup = Number(arg('warmup', '3'));
  const rounds = Math.max(1, Number(arg('rounds', '2')));
  const seed = Number(arg('seed', '0'));
  const threadList = arg('threads', '1,2').split(',').map(Number);
  const outDir = arg('out', path.join('results', 'bench'));
  const models = arg('models', 'unet,mlp').split(',') as Model[];
  for (const m of models) if (m !== 'unet' && m !== 'mlp') throw new Error(`--models: expected unet and/or mlp, got '${m}'`);
  let paths = arg('paths', 'wasm,native').split(',') as Path[];
  for (const p of paths) if (p !== 'wasm' && p !== 'native') throw new Error(`--paths: expected wasm and/or native, got '${p}'`);
  const nativeMissing = loadNativeAddon() ? null : (nativeLoadError() ?? 'addon not loaded');
  if (nativeMissing && paths.includes('native')) {
    process.stderr.write(`bench: native rows skipped: ${nativeMissing} (npm run build:native)\n`);
    paths = paths.filter((p) => p !== 'native');
  }
  if (paths.length === 0) throw new Error('bench: no tfjs path left to measure');
  const sampleBatch = Number(arg('sample-batch', '256'));
  const sampleSteps = Number(arg('sample-steps', '10'));
  const noTorch = flag('no-pytorch') ? 'skipped (--no-pytorch)' : torchAvailable();
  if (noTorch) process.stderr.write(`bench: PyTorch rows skipped: ${noTorch}\n`);
  const log = (s: string): void => {
    process.stderr.write(s + '\n');
  };

  interface Row {
    model: Model;
    tfjs: { backend: string; native: boolean; threads: number; msPerStep: number; rounds: number[]; steps: number };
    pytorch: { threads: number; msPerStep: number; rounds: number[]; steps: number } | null;
    ratio: number | null;
  }
  const rows: Row[] = [];
  const params: Record<Model, number> = { unet: 0, mlp: 0 };
  let backendLine = '';
  for (const model of models) {
    const n = model === 'unet' ? steps : steps * 3;
    for (const threads of threadList) {
      const tfTimes: Record<Path, number[]> = { wasm: [], native: [] };
      const tfThreads: Record<Path, number> = { wasm: threads, native: threads };
      const ptTimes: number[] = [];
      let ptThreads = threads;
      for (let r = 0; r < rounds; r++) {
        let tfParams = 0;
        for (const p of paths) {
          const a = runTfjs(model, 'wasm', threads, n, warmup, seed, p);
          if (a.native !== (p === 'native')) throw new Error(`bench: the ${p} row ran with native kernels ${a.native ? 'on' : 'off'}`);
          tfTimes[p].push(a.msPerStep);
          tfThreads[p] = a.threads;
          params[model] = tfParams = a.params;
          backendLine = a.backendLine ?? backendLine;
          log(
            `bench: ${model} tfjs-${p === 'native' ? 'wasm+native' : 'wasm'} t=${a.threads}: ${fmt(a.msPerStep)} ms/step (tensors ${a.tensorsBefore} -> ${a.tensorsAfter})`,
          );
        }
        if (!noTorch) {
          const b = runTorch(model, threads, n, warmup, seed);
          ptTimes.push(b.msPerStep);
          ptThreads = b.threads;
          if (b.params !== tfParams) log(`bench: WARNING parameter counts differ: tfjs ${tfParams}, torch ${b.params}`);
          log(`bench: ${model} pytorch t=${b.threads}: ${fmt(b.msPerStep)} ms/step`);
        }
      }
      const pm = ptTimes.length ? median(ptTimes) : null;
      for (const p of paths) {
        const tm = median(tfTimes[p]);
        rows.push({
          model,
          tfjs: {
            backend: p === 'native' ? 'wasm+native' : 'wasm',
            native: p === 'native',
            threads: tfThreads[p],
            msPerStep: tm,
            rounds: tfTimes[p],
            steps: n,
          },
          pytorch: pm === null ? null : { threads: ptThreads, msPerStep: pm, rounds: ptTimes, steps: n },
          ratio: pm === null ? null : tm / pm,
        });
      }
    }
  }

  // 1-step sampling: tfjs on its best path vs PyTorch, at the largest thread count
  let sampling: {
    tfjsImagesPerSec: number;
    pytorchImagesPerSec: number | null;
    ratio: number | null;
    tfjsPath: string;
    threads: number;
    batch: number;
    image: number[];
    steps: number;
    rounds: { tfjs: number[]; pytorch: number[] };
  } | null = null;
  if (!flag('no-sampling')) {
    const threads = Math.max(...threadList);
    const best: Path = paths.includes('native') ? 'native' : 'wasm';
    const tf1: number[] = [];
    const pt1: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const a = runTfjsSample(threads, sampleBatch, sampleSteps, seed, best);
      tf1.push(a.imagesPerSec);
      log(
        `bench: sampling tfjs-${best === 'native' ? 'wasm+native' : 'wasm'} t=${a.threads} batch ${a.batch}: ${a.imagesPerSec.toFixed(0)} images/s (${fmt(a.msPerCall)} ms/call)`,
      );
      if (!noTorch) {
        const b = runTorchSample(threads, sampleBatch, sampleSteps, seed);
        pt1.push(b.imagesPerSec);
        log(`bench: sampling pytorch t=${b.threads}: ${b.imagesPerSec.toFixed(0)} images/s (${fmt(b.msPerCall)} ms/call)`);
      }
    }
    const ti = median(tf1);
    const pi = pt1.length ? median(pt1) : null;
    sampling = {
      tfjsImagesPerSec: ti,
      pytorchImagesPerSec: pi,
      ratio: pi === null ? null : ti / pi,
      tfjsPath: best === 'native' ? 'wasm+native' : 'wasm',
      threads,
      batch: sampleBatch,
      image: [BENCH_UNET_SIZE, BENCH_UNET_SIZE, 1],
      steps: sampleSteps,
      rounds: { tfjs: tf1, pytorch: pt1 },
    };
  }
  const cpuRows: Measurement[] = [];
  if (!flag('no-cpu')) {
    cpuRows.push(runTfjs('mlp', 'cpu', 1, 3, 1, seed));
    log(`bench: mlp tfjs-cpu: ${fmt(cpuRows[0]?.msPerStep)} ms/step`);
    const u = runTfjs('unet', 'cpu', 1, 1, 0, seed);
    cpuRows.push(u);
    log(`bench: unet tfjs-cpu (one step): ${fmt(u.msPerStep)} ms`);
  }

  const result = {
    // (`npm run bench -- ARGS` would hand ARGS to the loop bench, the script's last command)
    command: ['node dist/bench/run.js', ...process.argv.slice(2)].join(' ').trim(),
    commit: gitCommit(),
    date: new Date().toISOString(),
    seed,
    wallTimeS: 0,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, loadAvgAtEnd: os.loadavg() },
    tfjsVersion: tf.version.tfjs,
    backend: backendLine,
    models: {
      unet: { params: params.unet, batch: BENCH_UNET_BATCH, image: [BENCH_UNET_SIZE, BENCH_UNET_SIZE, 1], config: BENCH_UNET_CONFIG },
      mlp: { params: params.mlp, batch: BENCH_MLP_BATCH, config: BENCH_MLP_CONFIG },
    },
    step: "the trainer's trainStep (src/training/ct-step.ts) on the iCT preset: draw (lognormal σ pairs on N(k), dropout masks) + target forward (θ⁻ = stopgrad θ, shared masks) + student forward/backward (pseudo-Huber, λ = 1/(σ_{i+1}−σ_i)) + loss read-back + Adam + sampling EMA; PyTorch: bench/pytorch_step.py's loop doing the same work",
    pytorch: noTorch ? { skipped: noTorch } : { python: PYTHON },
    native: nativeMissing ? { available: false, reason: nativeMissing } : { available: true },
    rows,
    sampling,
    cpu: cpuRows.map((m) => ({ model: m.model, backend: 'cpu', threads: 1, msPerStep: m.msPerStep, steps: m.steps })),
  };
  result.wallTimeS = (Date.now() - t0) / 1000;

  const md: string[] = [];
  md.push(`# Consistency-training step: tfjs vs PyTorch (CPU)`);
  md.push('');
  md.push(
    `U-Net: ${params.unet.toLocaleString('en')} parameters, batch ${BENCH_UNET_BATCH}, ${BENCH_UNET_SIZE}x${BENCH_UNET_SIZE}x1, widths 32/64, GroupNorm(8), SiLU, dropout 0.1.`,
  );
  md.push(`MLP: ${params.mlp.toLocaleString('en')} parameters, batch ${BENCH_MLP_BATCH}, 3 x 256 SiLU.`);
  md.push('');
  md.push('| model | threads | tfjs path | tfjs ms/step | PyTorch ms/step | ratio tfjs/PyTorch |');
  md.push('|---|---|---|---|---|---|');
  md[md.length - 2] = '| model | threads | tfjs path | tfjs ms/step | PyTorch ms/step | ratio tfjs/PyTorch | rounds tfjs / PyTorch (ms) |';
  md[md.length - 1] = '|---|---|---|---|---|---|---|';
  for (const r of rows) {
    const spread = `${r.tfjs.rounds.map(fmt).join(', ')} / ${r.pytorch ? r.pytorch.rounds.map(fmt).join(', ') : 'n/a'}`;
    md.push(
      `| ${r.model} | ${r.tfjs.threads} | ${r.tfjs.backend} | ${fmt(r.tfjs.msPerStep)} | ${r.pytorch ? fmt(r.pytorch.msPerStep) : 'n/a'} | ${r.ratio === null ? 'n/a' : r.ratio.toFixed(2)} | ${spread} |`,
    );
  }
  for (const c of cpuRows) md.push(`| ${c.model} | 1 | tfjs cpu backend (${c.steps} step${c.steps > 1 ? 's' : ''}) | ${fmt(c.msPerStep)} | | | |`);
  md.push('');
  md.push(
    "`wasm`: tfjs-backend-wasm with ctlab's training kernels, on `threads` threads; `wasm+native`: the same with the native kernels (oneDNN convolutions, oneDNN/OpenBLAS GEMM, fused GroupNorm+SiLU, fused Adam/EMA; `npm run build:native`) on `threads` threads, wasm itself on 1 (src/backend/index.ts says why).",
  );
  if (nativeMissing) md.push(`Native rows: not measured (${nativeMissing}).`);
  if (sampling) {
    md.push('');
    md.push(
      `1-step sampling (one U-Net forward, batch ${sampling.batch}, ${sampling.image.join('x')}, ${sampling.threads} thread(s)): tfjs ${sampling.tfjsPath} ${sampling.tfjsImagesPerSec.toFixed(0)} images/s, PyTorch ${sampling.pytorchImagesPerSec === null ? 'n/a' : sampling.pytorchImagesPerSec.toFixed(0)} images/s${sampling.ratio === null ? '' : ` (tfjs/PyTorch ${sampling.ratio.toFixed(2)})`}; rounds: tfjs ${sampling.rounds.tfjs.map((v) => v.toFixed(0)).join(', ')}, PyTorch ${sampling.rounds.pytorch.map((v) => v.toFixed(0)).join(', ') || 'n/a'} images/s.`,
    );
  }
  const unetNative = rows.filter((r) => r.model === 'unet' && r.tfjs.native && r.ratio !== null);
  if (unetNative.length || sampling) {
    const parts = unetNative.map(
      (r) => `U-Net step at ${r.tfjs.threads} thread(s) ${(r.ratio as number).toFixed(2)}× PyTorch (${(r.ratio as number) <= 1.5 ? 'met' : 'missed'})`,
    );
    if (sampling) parts.push(`sampling ${sampling.tfjsImagesPerSec.toFixed(0)} images/s (${sampling.tfjsImagesPerSec >= 1000 ? 'met' : 'missed'})`);
    md.push('');
    md.push(`Targets of the native-kernel work (U-Net step ≤ 1.5× PyTorch at 1 and 2 threads, 1-step sampling ≥ 1,000 images/s): ${parts.join('; ')}.`);
  }
  md.push('');
  md.push(`Medians over ${steps} (U-Net) / ${steps * 3} (MLP) steps after ${warmup} warm-up steps, median of ${rounds} alternating rounds.`);
  md.push(
    `Command \`${result.command}\`, commit ${result.commit}, seed ${seed}, ${result.date}, wall ${result.wallTimeS.toFixed(0)} s, ${result.machine.cpus} CPUs (${result.machine.cpuModel}), load average at end ${result.machine.loadAvgAtEnd.map((x) => x.toFixed(2)).join(' ')}.`,
  );
  md.push('');

  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'unet-step.json'), JSON.stringify(result, null, 2) + '\n');
  fs.writeFileSync(path.join(outDir, 'unet-step.md'), md.join('\n'));
  process.stdout.write(md.join('\n') + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
