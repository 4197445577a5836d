/**
 * `npm run bench:simd`: ctlab's own vectorised native loops (src/backend/native, native/ctlab_native.cc)
 * in each build the CPU can run (AVX-512, AVX2+FMA, baseline; CTLAB_NATIVE_SIMD caps the one the
 * addon picks), side by side in one run: the fused GroupNorm+SiLU forward and backward kernels at
 * the U-Net's shapes (batch 32 as trained, 256 as sampled) and the element-wise Add of two
 * [32, 16, 16, 64] tensors. Each ISA runs in its own process (the build is fixed when the addon
 * loads); rounds alternate the ISAs; each number is the median call time over a round (1 thread).
 *
 * Writes results/bench/simd.json and simd.md. Options: --rounds N (default 3), --calls N (default 200).
 */
import { spawnSync, execSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index';
import { GROUP_NORM_GRAD_KERNEL, GROUP_NORM_KERNEL, type GroupNormAttrs } from '../src/kernels';
import { median, positiveInt } from './args';

type Isa = 'avx512' | 'avx2' | 'baseline';
const CASES = [
  { name: 'GroupNorm+SiLU forward [32,16,16,64]', shape: [32, 16, 16, 64], op: 'gn' },
  { name: 'GroupNorm+SiLU backward [32,16,16,64]', shape: [32, 16, 16, 64], op: 'gn-grad' },
  { name: 'GroupNorm+SiLU forward [256,16,16,64]', shape: [256, 16, 16, 64], op: 'gn' },
  { name: 'GroupNorm+SiLU backward [256,16,16,64]', shape: [256, 16, 16, 64], op: 'gn-grad' },
  { name: 'Add [32,16,16,64]', shape: [32, 16, 16, 64], op: 'add' },
] as const;

async function worker(calls: number): Promise<void> {
  const info = await initBackend({ backend: 'wasm', threads: 1, log: false });
  if (!info.native.active) throw new Error(`native kernels not active: ${info.native.reason}`);
  const attrs: GroupNormAttrs = { groups: 8, eps: 1e-5, silu: true };
  const out: Record<string, number> = { simd: 0 };
  for (const c of CASES) {
    const x = tf.randomNormal(c.shape as unknown as number[], 0, 1, 'float32', 1);
    const y2 = tf.randomNormal(c.shape as unknown as number[], 0, 1, 'float32', 2);
    const C = c.shape[3];
    const gamma = tf.ones([C]);
    const beta = tf.zeros([C]);
    const [, mean, rstd] = tf.engine().runKernel(GROUP_NORM_KERNEL, { x, gamma, beta }, attrs) as unknown as tf.Tensor[];
    const call = (): void => {
      const r =
        c.op === 'gn'
          ? (tf.engine().runKernel(GROUP_NORM_KERNEL, { x, gamma, beta }, attrs) as unknown as tf.Tensor[])
          : c.op === 'gn-grad'
            ? (tf
                .engine()
                .runKernel(
                  GROUP_NORM_GRAD_KERNEL,
                  { dy: y2, x, gamma, beta, mean: mean as tf.Tensor, rstd: rstd as tf.Tensor },
                  attrs,
                ) as unknown as tf.Tensor[])
            : [tf.add(x, y2)];
      tf.dispose(r);
    };
    for (let i = 0; i < 5; i++) call();
    const times: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t = process.hrtime.bigint();
      call();
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    out[c.name] = median(times);
    tf.dispose([x, y2, gamma, beta, mean, rstd]);
  }
  process.stdout.write(`${JSON.stringify({ ...out, simd: info.native.simd })}\n`);
}

async function main(): Promise<void> {
  const calls = positiveInt('calls', 200);
  if (process.argv.includes('--worker')) return worker(calls);
  const rounds = positiveInt('rounds', 3);
  const t0 = Date.now();
  const root = path.join(__dirname, '..', '..');
  const commit = execSync('git rev-parse HEAD', { cwd: root, encoding: 'utf8' }).trim();
  const dirty = execSync('git status --porcelain', { cwd: root, encoding: 'utf8' }).trim() !== '';
  const isas: Isa[] = ['avx512', 'avx2', 'baseline'];
  const got: Record<Isa, Record<string, number | string>[]> = { avx512: [], avx2: [], baseline: [] };
  for (let r = 0; r < rounds; r++) {
    for (const isa of isas) {
      const res = spawnSync(process.execPath, [__filename, '--worker', '--calls', String(calls)], {
        encoding: 'utf8',
        env: { ...process.env, CTLAB_NATIVE_SIMD: isa, CTLAB_THREADS: '1' },
      });
      if (res.status !== 0) throw new Error(`${isa} worker failed: ${res.stderr.slice(-1500)}`);
      got[isa].push(JSON.parse(res.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number | string>);
    }
  }
  const ran = isas.filter((i) => got[i].every((g) => g.simd === (i === 'avx2' ? 'avx2+fma' : i)));
  const rows = CASES.map((c) => ({
    kernel: c.name,
    ms: Object.fromEntries(ran.map((i) => [i, median(got[i].map((g) => g[c.name] as number))])),
    roundsMs: Object.fromEntries(ran.map((i) => [i, got[i].map((g) => g[c.name] as number)])),
  }));
  const out = {
    command: `node dist/bench/simd.js ${process.argv.slice(2).join(' ')}`.trim(),
    commit,
    dirty,
    date: new Date().toISOString(),
    machine: `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}`,
    loadAverageAtEnd: os.loadavg(),
    builds: ran,
    threads: 1,
    rounds,
    callsPerRound: calls,
    rows,
    wallSec: (Date.now() - t0) / 1000,
  };
  const dir = path.join(root, 'results', 'bench');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'simd.json'), JSON.stringify(out, null, 2) + '\n');
  const f = (x: number | undefined): string => (x === undefined ? '–' : x.toFixed(3));
  const md = [
    "# ctlab's vectorised native loops by ISA build (1 thread)",
    '',
    `\`${out.command}\` at ${commit.slice(0, 7)}${dirty ? ' (dirty tree)' : ''}, ${out.date}; ${out.machine}, load average at end ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(
        ' ',
      )}. Median call time over ${calls} calls, median of ${rounds} alternating rounds (ms; rounds in brackets). Builds this CPU runs: ${ran.join(', ')}.`,
    '',
    `| kernel | ${ran.join(' | ')} | AVX-512 / AVX2 |`,
    `|---|${ran.map(() => '---|').join('')}---|`,
    ...rows.map(
      (r) =>
        `| ${r.kernel} | ${ran.map((i) => `${f(r.ms[i])} (${(r.roundsMs[i] ?? []).map((x) => x.toFixed(3)).join(', ')})`).join(' | ')} | ${r.ms.avx512 !== undefined && r.ms.avx2 !== undefined ? (r.ms.avx512 / r.ms.avx2).toFixed(2) : '–'} |`,
    ),
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'simd.md'), md);
  process.stdout.write(md);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
