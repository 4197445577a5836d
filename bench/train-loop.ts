/**
 * `npm run bench` (second part): the training loop a user runs, timed whole. Each row runs the kit's
 * own `train()` (src/training/trainer.ts: data draw, noise pairs and levels, dropout masks, the
 * target pass, loss, optimizer, EMA, metrics every logEvery steps, checkpoints every
 * checkpointEvery steps, progress lines) in a child process on wasm + the native kernels, and, in
 * the same run and alternating with it, bench/pytorch_loop.py: the same config's run as a PyTorch
 * user writes it (nn.Module, torch.optim, dropout, foreach EMA, torch.save at the same cadence;
 * U-Net rows in both memory formats, the faster one is the yardstick). Time per step is the step
 * loop's wall time over its steps (`loopSec` of train(); setup, data loading and the final
 * evaluation are outside it, on both sides).
 *
 * Jobs: `2d`: the 2D job of issue #17 (eight Gaussians, MLP 3×256, batch 512, Adam lr 1e-3, no
 * dropout, EMA 0.999, the iCT preset's other axes, the toy preset's log/checkpoint cadence);
 * `fashion-mnist`: the iCT preset on Fashion-MNIST 16×16 (U-Net [32, 64], batch 32, dropout 0.3,
 * RAdam, checkpoints every 200 steps), shortened to --fmnist-steps. Evaluation during training is
 * off in both (it is sampling, timed by the step bench's sampling row).
 *
 * Writes results/bench/train-loop.json ({rows: [{job, threads, ctlabMsPerStep, pytorchMsPerStep,
 * ratio, ...}], command, commit, ...}) and train-loop.md.
 * Options: --rounds N (default 2), --threads 1,2, --jobs 2d,fashion-mnist, --steps-2d N (default
 * 3000), --fmnist-steps N (default 200), --out DIR, --no-pytorch.
 */
import { spawnSync, execSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeBackend, initBackend } from '../src/backend/index';
import { buildConfig } from '../src/config/presets';
import type { TrainConfig } from '../src/config/schema';
import { validateConfig } from '../src/config/schema';
import { train } from '../src/training/trainer';
import { arg, flag, median, positiveInt } from './args';

type Job = '2d' | 'fashion-mnist';

/** The config each job trains (the same file goes to PyTorch). */
export function jobConfig(job: Job, steps: number): TrainConfig {
  if (job === '2d') {
    return validateConfig(
      buildConfig('ict', {
        name: 'bench-loop-2d',
        steps,
        batchSize: 512,
        model: { kind: 'mlp', hidden: 256, depth: 3, embedding: { kind: 'fourier', scale: 0.02, dim: 32 }, dropout: 0 },
        optimizer: { kind: 'adam', lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
        emaRate: 0.999,
        evalEvery: 0,
      }),
    );
  }
  return validateConfig(buildConfig('ict', { name: 'bench-loop-fmnist', steps, evalEvery: 0 }, 'fashion-mnist'));
}

interface KitRow {
  msPerStep: number;
  loopSec: number;
  steps: number;
  peakRssMb: number;
  tensorsFirst: number;
  tensorsLast: number;
  backendLine: string;
}

/** Child mode: one train() run, one JSON line. */
async function worker(): Promise<void> {
  const cfg = JSON.parse(fs.readFileSync(arg('config', ''), 'utf8')) as TrainConfig;
  const threads = Number(arg('threads', '1'));
  const out = arg('out', '');
  const info = await initBackend({ backend: 'wasm', threads, log: false });
  const r = await train(cfg, { outDir: out, backend: 'wasm', command: 'bench/train-loop.ts worker' });
  const tensors = fs
    .readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"numTensors"'))
    .map((l) => (JSON.parse(l) as { numTensors: number }).numTensors);
  const row: KitRow = {
    msPerStep: (r.loopSec / r.steps) * 1000,
    loopSec: r.loopSec,
    steps: r.steps,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    tensorsFirst: tensors[0] ?? NaN,
    tensorsLast: tensors[tensors.length - 1] ?? NaN,
    backendLine: describeBackend(info),
  };
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

interface TorchRow {
  msPerStep: number;
  loopSec: number;
  steps: number;
  channelsLast: boolean;
  peakRssMb: number;
  torch: string;
}

function lastJson<T>(stdout: string, what: string, stderr: string): T {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) throw new Error(`${what}: no result line; stderr: ${stderr.slice(-2000)}`);
  return JSON.parse(line) as T;
}

function runKit(cfgFile: string, threads: number, scratch: string): KitRow {
  const out = fs.mkdtempSync(path.join(scratch, 'kit-'));
  const env = { ...process.env, CTLAB_THREADS: String(threads) };
  const r = spawnSync(process.execPath, [__filename, '--worker', '--config', cfgFile, '--threads', String(threads), '--out', out], { encoding: 'utf8', env });
  fs.rmSync(out, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`ctlab train() row failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  return lastJson<KitRow>(r.stdout, 'ctlab row', r.stderr);
}

const PYTHON = '/usr/bin/python3';

function torchAvailable(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function runTorch(cfgFile: string, threads: number, channelsLast: boolean, scratch: string): TorchRow {
  const out = fs.mkdtempSync(path.join(scratch, 'torch-'));
  const script = path.join(__dirname, '..', '..', 'bench', 'pytorch_loop.py');
  const args = [script, '--config', cfgFile, '--out', out, '--threads', String(threads), ...(channelsLast ? ['--channels-last'] : [])];
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } });
  fs.rmSync(out, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`PyTorch row failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  return lastJson<TorchRow>(r.stdout, 'PyTorch row', r.stderr);
}

interface Row {
  job: Job;
  threads: number;
  steps: number;
  ctlabMsPerStep: number;
  pytorchMsPerStep: number | null;
  ratio: number | null;
  ctlabRoundsMs: number[];
  pytorchRoundsMs: number[];
  pytorchChannelsLast: boolean | null;
  pytorchOtherFormatMs: number | null;
  ctlabPeakRssMb: number;
  pytorchPeakRssMb: number | null;
  tensorsFirst: number;
  tensorsLast: number;
}

async function main(): Promise<void> {
  if (flag('worker')) return worker();
  const t0 = Date.now();
  const rounds = positiveInt('rounds', 2);
  const threadsList = arg('threads', '1,2')
    .split(',')
    .map((s) => Number(s));
  const jobs = arg('jobs', '2d,fashion-mnist').split(',') as Job[];
  for (const j of jobs) if (j !== '2d' && j !== 'fashion-mnist') throw new Error(`--jobs: unknown job '${j}' (2d, fashion-mnist)`);
  const steps: Record<Job, number> = { '2d': positiveInt('steps-2d', 3000), 'fashion-mnist': positiveInt('fmnist-steps', 200) };
  const outDir = arg('out', path.join(__dirname, '..', '..', 'results', 'bench'));
  const torch = flag('no-pytorch') ? null : torchAvailable();
  const root = path.join(__dirname, '..', '..');
  const commit = execSync('git rev-parse HEAD', { cwd: root, encoding: 'utf8' }).trim();
  const dirty = execSync('git status --porcelain', { cwd: root, encoding: 'utf8' }).trim() !== '';
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ctlab-train-loop-'));
  const info = await initBackend({ backend: 'wasm', log: false });
  const rows: Row[] = [];
  let backendLine = describeBackend(info);
  try {
    for (const job of jobs) {
      const cfg = jobConfig(job, steps[job]);
      const cfgFile = path.join(scratch, `${job}.json`);
      fs.writeFileSync(cfgFile, JSON.stringify(cfg, null, 2));
      const isUnet = cfg.model.kind === 'unet';
      for (const threads of threadsList) {
        const kit: KitRow[] = [];
        const pt: TorchRow[] = [];
        const ptOther: TorchRow[] = [];
        for (let r = 0; r < rounds; r++) {
          const k = runKit(cfgFile, threads, scratch);
          kit.push(k);
          backendLine = k.backendLine;
          if (torch) {
            pt.push(runTorch(cfgFile, threads, false, scratch));
            if (isUnet) ptOther.push(runTorch(cfgFile, threads, true, scratch));
          }
          process.stderr.write(
            `${job} threads ${threads} round ${r}: ctlab ${k.msPerStep.toFixed(2)} ms/step` +
              (torch
                ? `, PyTorch ${pt[pt.length - 1]?.msPerStep.toFixed(2)}${isUnet ? ` (channels_last ${ptOther[ptOther.length - 1]?.msPerStep.toFixed(2)})` : ''}`
                : '') +
              '\n',
          );
        }
        const kitMs = median(kit.map((k) => k.msPerStep));
        const contiguous = pt.length ? median(pt.map((p) => p.msPerStep)) : null;
        const cl = ptOther.length ? median(ptOther.map((p) => p.msPerStep)) : null;
        const useCl = cl !== null && contiguous !== null && cl < contiguous;
        const ptMs = useCl ? cl : contiguous;
        const ptRows = useCl ? ptOther : pt;
        rows.push({
          job,
          threads,
          steps: steps[job],
          ctlabMsPerStep: kitMs,
          pytorchMsPerStep: ptMs,
          ratio: ptMs ? kitMs / ptMs : null,
          ctlabRoundsMs: kit.map((k) => k.msPerStep),
          pytorchRoundsMs: ptRows.map((p) => p.msPerStep),
          pytorchChannelsLast: ptMs === null ? null : useCl,
          pytorchOtherFormatMs: isUnet && ptMs !== null ? (useCl ? contiguous : cl) : null,
          ctlabPeakRssMb: Math.max(...kit.map((k) => k.peakRssMb)),
          pytorchPeakRssMb: ptRows.length ? Math.max(...ptRows.map((p) => p.peakRssMb)) : null,
          tensorsFirst: kit[0]?.tensorsFirst ?? NaN,
          tensorsLast: kit[0]?.tensorsLast ?? NaN,
        });
      }
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const command = `node dist/bench/train-loop.js ${process.argv.slice(2).join(' ')}`.trim();
  const out = {
    command,
    commit,
    dirty,
    date: new Date().toISOString(),
    machine: `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}`,
    loadAverageAtEnd: os.loadavg(),
    backend: backendLine.replace(/^ctlab: /, ''),
    pytorch: torch ? `torch ${torch} (${PYTHON})` : null,
    seed: 0,
    rounds,
    jobs: Object.fromEntries(jobs.map((j) => [j, jobConfig(j, steps[j])])),
    rows,
    target: 'whole-loop time ≤ 0.8× PyTorch at 1 and 2 threads on both jobs (issue #17)',
    wallSec: (Date.now() - t0) / 1000,
  };
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'train-loop.json'), JSON.stringify(out, null, 2) + '\n');
  const n = (x: number | null, d = 2): string => (x === null || !Number.isFinite(x) ? '–' : x.toFixed(d));
  const md = [
    '# The training loop a user runs: ctlab train() vs a PyTorch training loop (CPU)',
    '',
    `\`${command}\` at ${commit.slice(0, 7)}${dirty ? ' (dirty tree)' : ''}, ${out.date}; ${out.machine}, load average at end ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}; ${backendLine}; ${out.pytorch ?? 'PyTorch not run'}. Wall ${out.wallSec.toFixed(0)} s.`,
    '',
    `Jobs: 2d = eight Gaussians, MLP 3×256, batch 512, Adam, no dropout, EMA 0.999, ${steps['2d']} steps; fashion-mnist = the iCT preset (U-Net [32, 64], batch 32, dropout 0.3, RAdam), ${steps['fashion-mnist']} steps. Both: logging and checkpoints at the preset's cadence, no evaluation during training.`,
    '',
    '| job | threads | ctlab ms/step | PyTorch ms/step | ratio ctlab/PyTorch | rounds ctlab / PyTorch (ms) | peak RSS ctlab / PyTorch (MB) | tensors first → last log |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.job} | ${r.threads} | ${n(r.ctlabMsPerStep)} | ${n(r.pytorchMsPerStep)}${r.pytorchChannelsLast ? ' (channels_last)' : ''} | ${n(r.ratio)} | ${r.ctlabRoundsMs.map((x) => n(x)).join(', ')} / ${r.pytorchRoundsMs.map((x) => n(x)).join(', ')} | ${n(r.ctlabPeakRssMb, 0)} / ${n(r.pytorchPeakRssMb, 0)} | ${r.tensorsFirst} → ${r.tensorsLast} |`,
    ),
    '',
    `Each row: the median over ${rounds} alternating rounds of whole runs (the step loop's wall time over its steps; setup, data loading and the final evaluation excluded on both sides). Target: ${out.target}: ${rows
      .map((r) => `${r.job}@${r.threads}: ${r.ratio === null ? 'no yardstick' : r.ratio <= 0.8 ? 'met' : 'not met'}`)
      .join(', ')}.`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(outDir, 'train-loop.md'), md);
  process.stdout.write(md);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
