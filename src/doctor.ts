/**
 * `ctlab doctor`: what this machine has for the kit, each missing piece with the command that
 * fixes it. Required (exit code 1 when missing): a Node version the kit supports and a TF.js backend
 * that starts (the one CTLAB_BACKEND asks for, else any); with `slurm`, Slurm's client too.
 * Everything else (faster backends, the native addon, chromium, Jupyter + tslab, Fashion-MNIST, and
 * Slurm's client without `slurm`) is reported but optional: the 2D training path needs none of it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, type BackendAttempt } from './backend';
import { loadNativeAddon, nativeAddonPath, nativeLoadError, NATIVE_HINT } from './backend/native/index';
import { FASHION_MNIST_FILE_NAMES, FASHION_MNIST_SYSTEM_DIR } from './data/idx';
import { chromiumPath, isChromiumAvailable } from './report/export';

export type CheckState = 'ok' | 'missing' | 'info';

export interface Check {
  name: string;
  state: CheckState;
  /** What was found, or why not. */
  detail: string;
  /** The command that fixes it (when not ok). */
  fix?: string;
  /** Whether the main job (training) needs it: a missing required check makes the exit code 1. */
  required: boolean;
}

export interface DoctorOptions {
  /** The Slurm executor will be used: its client (sbatch) becomes required. */
  slurm?: boolean;
  /** The repository root (for native/, jupyter/); default: found from this file. */
  root?: string;
}

const MIN_NODE = [20, 19] as const;

function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'src'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

function onPath(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

function nodeCheck(): Check {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  const ok = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  return {
    name: 'node',
    state: ok ? 'ok' : 'missing',
    detail: `${process.version} (the kit needs >= ${MIN_NODE.join('.')}: arquero is ESM-only and needs require(esm))`,
    required: true,
    ...(ok ? {} : { fix: 'install Node 20.19 or newer (e.g. nvm install 20 && nvm use 20)' }),
  };
}

const BACKEND_FIX: Record<BackendAttempt['name'], string> = {
  'tensorflow-gpu': 'npm install @tensorflow/tfjs-node-gpu (downloads libtensorflow; needs CUDA 11.2 + cuDNN 8.1 and an NVIDIA GPU)',
  webgpu: 'a GPU with a Vulkan driver (npm ci brings dawn.node via the optional webgpu package); a software adapter only with CTLAB_WEBGPU_ALLOW_SOFTWARE=1',
  tensorflow: 'npm install @tensorflow/tfjs-node (downloads libtensorflow from storage.googleapis.com)',
  wasm: 'npm ci (reinstalls @tensorflow/tfjs-backend-wasm)',
  cpu: 'npm ci (reinstalls @tensorflow/tfjs)',
};

async function backendChecks(): Promise<Check[]> {
  const env = process.env.CTLAB_BACKEND;
  const asked = env !== undefined && env !== '' ? `CTLAB_BACKEND=${env}` : 'auto';
  try {
    const info = await initBackend({ log: false });
    const checks: Check[] = [
      { name: 'backend', state: 'ok', detail: `${info.name} would load (${asked}; ${info.threads} thread(s) for the heavy kernels)`, required: true },
    ];
    for (const a of info.attempts.filter((x) => !x.ok)) {
      checks.push({ name: `backend ${a.name}`, state: 'info', detail: `not loaded: ${firstLine(a.error ?? '')}`, fix: BACKEND_FIX[a.name], required: false });
    }
    const order: BackendAttempt['name'][] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
    for (const name of order.slice(order.indexOf(info.name) + 1)) {
      checks.push({
        name: `backend ${name}`,
        state: 'ok',
        detail: `not tried: ${info.name} comes first${asked === 'auto' ? '' : ` (${asked})`}`,
        required: false,
      });
    }
    return checks;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const fix = env && env in BACKEND_FIX ? `${BACKEND_FIX[env as BackendAttempt['name']]}, or unset CTLAB_BACKEND` : 'npm ci';
    return [{ name: 'backend', state: 'missing', detail: firstLine(msg), fix, required: true }];
  }
}

function firstLine(s: string): string {
  const line = s.split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

function nativeCheck(): Check {
  const addon = loadNativeAddon();
  if (addon)
    return {
      name: 'native addon',
      state: 'ok',
      detail: `${nativeAddonPath()} (oneDNN ${addon.versions().onednn}, ${addon.versions().openblas.split(' ').slice(0, 2).join(' ')})`,
      required: false,
    };
  return {
    name: 'native addon',
    state: 'info',
    detail: `${nativeLoadError() ?? 'not loaded'}; training runs on the wasm kernels (slower)`,
    fix: NATIVE_HINT,
    required: false,
  };
}

function chromiumCheck(): Check {
  const exe = chromiumPath();
  return isChromiumAvailable(exe)
    ? { name: 'chromium', state: 'ok', detail: `${exe} (static PNG/SVG figures)`, required: false }
    : {
        name: 'chromium',
        state: 'info',
        detail: `${exe} not found or not executable: figures are written as HTML only`,
        fix: 'bash scripts/system-deps.sh (Debian chromium), or CHROMIUM_PATH=/path/to/chromium',
        required: false,
      };
}

function jupyterChecks(root: string): Check[] {
  const py = '/usr/bin/python3';
  const r = fs.existsSync(py) ? spawnSync(py, ['-c', 'import nbclient, ipykernel'], { stdio: 'ignore', timeout: 20_000 }) : null;
  const jupyterOk = r !== null && r.status === 0;
  const tslab = path.join(root, 'jupyter', 'node_modules', '.bin', 'tslab');
  const spec = path.join(root, 'jupyter', 'kernels', 'tslab', 'kernel.json');
  const tslabOk = fs.existsSync(tslab) && fs.existsSync(spec);
  return [
    jupyterOk
      ? { name: 'jupyter', state: 'ok', detail: `${py} has nbclient and ipykernel (notebooks)`, required: false }
      : {
          name: 'jupyter',
          state: 'info',
          detail: `${py} ${r === null ? 'not found' : 'lacks nbclient/ipykernel'}: notebooks cannot be executed`,
          fix: 'apt-get install -y --no-install-recommends jupyter-nbconvert python3-nbclient python3-ipykernel jupyter-client',
          required: false,
        },
    tslabOk
      ? { name: 'tslab kernel', state: 'ok', detail: `${path.relative(root, tslab)} and the kernel spec ${path.relative(root, spec)}`, required: false }
      : {
          name: 'tslab kernel',
          state: 'info',
          detail: `${fs.existsSync(tslab) ? `kernel spec ${spec}` : tslab} missing: notebooks cannot be executed`,
          fix: 'npm ci --prefix jupyter (or bash scripts/notebooks.sh, which also installs Jupyter)',
          required: false,
        },
  ];
}

function fashionCheck(): Check {
  const dir = FASHION_MNIST_SYSTEM_DIR;
  const missing = FASHION_MNIST_FILE_NAMES.filter((f) => !fs.existsSync(path.join(dir, f)) && !fs.existsSync(path.join(dir, f.replace(/\.gz$/, ''))));
  return missing.length === 0
    ? { name: 'fashion-mnist', state: 'ok', detail: `${dir}/ holds the four IDX files (--data fashion-mnist)`, required: false }
    : {
        name: 'fashion-mnist',
        state: 'info',
        detail: `${dir}/ lacks ${missing.join(', ')}: --data fashion-mnist needs them (2D toy sets do not)`,
        fix: 'apt-get install dataset-fashion-mnist',
        required: false,
      };
}

function slurmCheck(required: boolean): Check {
  const sbatch = onPath('sbatch');
  if (sbatch) return { name: 'slurm', state: 'ok', detail: `${sbatch} (the Slurm executor can submit jobs)`, required };
  return {
    name: 'slurm',
    state: required ? 'missing' : 'info',
    detail: `sbatch not on PATH: ${required ? 'the Slurm executor cannot submit jobs' : 'needed only for the Slurm executor (ctlab doctor --slurm checks it as required)'}`,
    fix: 'apt-get install slurm-client (and a slurm.conf naming your cluster), or run on a login node where sbatch is on PATH',
    required,
  };
}

/** Run every check (starts the TF.js backend it reports). */
export async function runDoctor(opts: DoctorOptions = {}): Promise<Check[]> {
  const root = opts.root ?? repoRoot();
  return [nodeCheck(), ...(await backendChecks()), nativeCheck(), chromiumCheck(), ...jupyterChecks(root), fashionCheck(), slurmCheck(opts.slurm === true)];
}

/** One line per check, `ok`, `MISSING` (required) or `--` (optional, absent), with its fix indented below. */
export function formatChecks(checks: readonly Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines: string[] = [];
  for (const c of checks) {
    const tag = c.state === 'ok' ? 'ok     ' : c.required ? 'MISSING' : '--     ';
    lines.push(`${tag} ${c.name.padEnd(width)}  ${c.detail}`);
    if (c.state !== 'ok' && c.fix) lines.push(`${' '.repeat(8 + width)}  fix: ${c.fix}`);
  }
  const bad = checks.filter((c) => c.required && c.state !== 'ok');
  lines.push(bad.length ? `doctor: ${bad.length} required check(s) failed: ${bad.map((c) => c.name).join(', ')}` : 'doctor: everything training needs is here');
  return lines.join('\n') + '\n';
}

/** Whether every required check passed. */
export function doctorOk(checks: readonly Check[]): boolean {
  return checks.every((c) => !c.required || c.state === 'ok');
}
