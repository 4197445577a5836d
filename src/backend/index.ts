/**
 * Run-time choice of the TF.js backend: tfjs-node-gpu (CUDA), then webgpu on a hardware adapter
 * (Dawn from the optional `webgpu` package, ./webgpu), then tfjs-node (libtensorflow on CPU), then
 * wasm completed with the training kernels it lacks, then the pure-JS cpu backend as a last resort.
 * A software WebGPU adapter (lavapipe) is used only with CTLAB_WEBGPU_ALLOW_SOFTWARE=1.
 * `--backend` / `CTLAB_BACKEND` force one; the choice, and why each better one did not load, is returned (and written into every run directory by the trainer).
 *
 * On wasm, the optional native kernels (./native: oneDNN convolutions, OpenBLAS GEMM) are registered
 * over the wasm training kernels when the addon is built; `CTLAB_NATIVE=0` or `native: false` keeps
 * the wasm kernels, `CTLAB_NATIVE=1` makes a missing addon an error. `BackendInfo.native` records
 * whether they are active, with how many threads, and why not.
 *
 * Threads: the `threads` option (default: `CTLAB_THREADS`, else 2 where the machine has an idle
 * second core, see backend/wasm) is the count for the heavy kernels. With the native kernels it goes to oneDNN and
 * OpenBLAS (`CTLAB_NATIVE_THREADS` overrides it) and the wasm backend runs single-threaded
 * (`CTLAB_WASM_THREADS` overrides that): what is left on wasm is element-wise work its thread pool
 * does not split, while its waiting pthread workers compete with OpenMP's for the cores; measured
 * on the bench U-Net step at 2 threads (2-core AMD EPYC, three alternating rounds): 119-186 ms
 * with wasm at 1 thread against 156-215 ms with wasm at 2. Without them, wasm gets the count.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { defaultThreads, wasmSetup as wasmTrainingSetup } from './wasm/index';
import { registerCpuFixes } from './cpu/kernels';
import {
  NATIVE_HINT,
  loadNativeAddon,
  nativeSpinFromEnv,
  nativeInfo,
  nativeLoadError,
  nativeRequestFromEnv,
  registerNativeKernels,
  unregisterNativeKernels,
  type NativeInfo,
} from './native/index';
import { loadWebgpu, probeWebgpu, type WebgpuAdapterInfo } from './webgpu/index';

export type { NativeInfo } from './native/index';
export type { WebgpuAdapterInfo } from './webgpu/index';

export const BACKEND_NAMES = ['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendRequest = (typeof BACKEND_NAMES)[number];

/** The automatic order: GPU backends first, then the CPU ones from fastest to the pure-JS fallback. */
export const AUTO_ORDER: readonly Exclude<BackendRequest, 'auto'>[] = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'];

export interface BackendAttempt {
  name: Exclude<BackendRequest, 'auto'>;
  ok: boolean;
  /** Why it did not load (absent when ok). */
  error?: string;
}

export interface BackendInfo {
  /** The kit's name for the backend in use. */
  name: Exclude<BackendRequest, 'auto'>;
  /** TF.js's own name for it (`tf.getBackend()`). */
  tfName: string;
  /** What was asked for, and where the request came from. */
  requested: BackendRequest;
  requestedBy: 'default' | 'option' | 'env:CTLAB_BACKEND';
  /** Threads of the heavy kernels: the native kernels' count where they are active, else wasm's. */
  threads: number;
  /** Threads of the wasm backend itself (XNNPACK's pool); 1 on other backends. */
  wasmThreads: number;
  attempts: BackendAttempt[];
  tfjsVersion: string;
  /** Native CPU kernels on wasm (oneDNN / OpenBLAS): active or why not. */
  native: NativeInfo;
  /** On webgpu: the adapter (vendor, architecture, device, description, isFallbackAdapter). */
  webgpu?: WebgpuAdapterInfo;
}

export interface BackendOptions {
  /** Force a backend; default: `CTLAB_BACKEND` if set, else 'auto'. */
  backend?: BackendRequest;
  /** Threads for the heavy kernels (native kernels where active, else wasm); default: 2 where a second core is idle, else 1. */
  threads?: number;
  /** Print the choice once to stderr (default true). */
  log?: boolean;
  /**
   * Native kernels on wasm: true requires them (error when the addon is absent), false keeps the
   * wasm kernels; default: `CTLAB_NATIVE` (0 off, 1 required), else used when built.
   */
  native?: boolean;
}

let current: BackendInfo | null = null;

function message(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0]?.slice(0, 300) ?? text;
}

/** Hook for extra kernel registration on wasm (the training kernels); replaced by backend/wasm. */
export type WasmSetup = (threads: number | undefined) => Promise<number>;
let wasmSetup: WasmSetup = () => Promise.resolve(1);
export function setWasmSetup(setup: WasmSetup): void {
  wasmSetup = setup;
}
setWasmSetup(wasmTrainingSetup);

type NativeMode = 'auto' | 'on' | 'off';
let currentNativeMode: NativeMode | null = null;
let hintPrinted = false;

/** The native kernels' thread count: CTLAB_NATIVE_THREADS, else the threads asked for, else the machine's default. */
function nativeThreadCount(threads: number | undefined): number {
  const env = process.env.CTLAB_NATIVE_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`CTLAB_NATIVE_THREADS: expected a positive integer, got '${env}'`);
    return n;
  }
  return threads ?? defaultThreads().threads;
}

/** CTLAB_THREADS: the default of the `threads` option (e.g. 1 per process when jobs run side by side); undefined when unset. */
export function threadsFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const set = env.CTLAB_THREADS;
  if (set === undefined || set === '') return undefined;
  const n = Number(set);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`CTLAB_THREADS: expected a positive integer, got '${set}'`);
  return n;
}

/** Register (or remove) the native kernels on wasm as asked; returns what is active and why. */
function setupNative(mode: NativeMode, by: string, threads: number): NativeInfo {
  if (mode === 'off') {
    unregisterNativeKernels();
    return { active: false, reason: `switched off (${by})` };
  }
  if (!loadNativeAddon()) {
    unregisterNativeKernels();
    const why = nativeLoadError() ?? 'addon not loaded';
    if (mode === 'on') throw new Error(`native kernels required (${by}) but ${why}; build them with: ${NATIVE_HINT}`);
    return { active: false, reason: why };
  }
  const info = registerNativeKernels(threads);
  return { ...info, reason: `addon loaded (${by})` };
}

let lastAdapter: WebgpuAdapterInfo | undefined;

async function tryLoad(name: BackendAttempt['name'], threads: number | undefined): Promise<number> {
  switch (name) {
    case 'webgpu':
      lastAdapter = await loadWebgpu();
      return 1;
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional package named at run time, loaded for its side effect
      require(pkg); // registers the 'tensorflow' backend; throws when the package or libtensorflow is absent
      if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but the backend did not initialise`);
      return 1;
    }
    case 'wasm': {
      const n = await wasmSetup(threads);
      if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend did not initialise');
      return n;
    }
    case 'cpu':
      registerCpuFixes();
      if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend did not initialise');
      return 1;
  }
}

function parseRequest(value: string, source: string): BackendRequest {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendRequest;
  throw new Error(`${source}: expected one of ${BACKEND_NAMES.join(', ')}, got '${value}'`);
}

/**
 * Choose and initialise the backend. Idempotent: a second call with the same request returns the
 * first answer; a call with another explicit request switches.
 */
export async function initBackend(opts: BackendOptions = {}): Promise<BackendInfo> {
  const env = process.env.CTLAB_BACKEND;
  let requested: BackendRequest = 'auto';
  let requestedBy: BackendInfo['requestedBy'] = 'default';
  if (opts.backend !== undefined) {
    requested = parseRequest(opts.backend, 'backend');
    requestedBy = 'option';
  } else if (env !== undefined && env !== '') {
    requested = parseRequest(env, 'CTLAB_BACKEND');
    requestedBy = 'env:CTLAB_BACKEND';
  }
  const nativeMode: NativeMode = opts.native === undefined ? nativeRequestFromEnv() : opts.native ? 'on' : 'off';
  const nativeBy = opts.native === undefined ? (nativeMode === 'auto' ? 'default' : 'env:CTLAB_NATIVE') : 'option';
  if (current && (current.requested === requested || requested === 'auto') && opts.threads === undefined && nativeMode === currentNativeMode) return current;

  const order: BackendAttempt['name'][] = requested === 'auto' ? [...AUTO_ORDER] : [requested];
  const attempts: BackendAttempt[] = [];
  const threads = opts.threads ?? threadsFromEnv();
  // with the native kernels ahead, wasm itself runs single-threaded unless CTLAB_WASM_THREADS says
  // otherwise; OpenMP's workers sleep between kernels unless CTLAB_NATIVE_SPIN=1 asks them to spin
  // (see loadNativeAddon: spinning is faster only while nothing else runs on the machine)
  const nativeN = nativeMode === 'off' ? 1 : nativeThreadCount(threads);
  const nativeAhead = order.includes('wasm') && nativeMode !== 'off' && loadNativeAddon({ spin: nativeN > 1 && nativeSpinFromEnv() }) !== null;
  const wasmEnv = process.env.CTLAB_WASM_THREADS;
  const wasmThreads = nativeAhead ? (wasmEnv !== undefined && wasmEnv !== '' ? undefined : 1) : threads;
  for (const name of order) {
    try {
      const started = await tryLoad(name, name === 'wasm' ? wasmThreads : threads);
      attempts.push({ name, ok: true });
      let native: NativeInfo;
      if (name === 'wasm') native = setupNative(nativeMode, nativeBy, nativeAhead ? nativeN : started);
      else {
        unregisterNativeKernels();
        native = { active: false, reason: `not on the wasm backend (${name})` };
      }
      currentNativeMode = nativeMode;
      current = {
        name,
        tfName: tf.getBackend(),
        requested,
        requestedBy,
        threads: native.active ? (native.threads ?? started) : started,
        wasmThreads: name === 'wasm' ? started : 1,
        attempts,
        tfjsVersion: tf.version.tfjs,
        native,
        ...(name === 'webgpu' && lastAdapter ? { webgpu: lastAdapter } : {}),
      };
      if (opts.log !== false) {
        process.stderr.write(describeBackend(current) + '\n');
        if (name === 'wasm' && !native.active && nativeMode === 'auto' && !hintPrinted) {
          hintPrinted = true;
          process.stderr.write(
            `ctlab: native CPU kernels not in use (${native.reason}); training runs on the wasm kernels; for the faster native path: ${NATIVE_HINT}\n`,
          );
        }
      }
      return current;
    } catch (e) {
      if (e instanceof Error && e.message.startsWith('native kernels required')) throw e;
      attempts.push({ name, ok: false, error: message(e) });
    }
  }
  // asked by name: one line saying what was found and what to do, never a fallback
  if (requested === 'webgpu') throw new Error(`--backend webgpu: ${attempts[0]?.error ?? 'did not start'}`);
  throw new Error(`no TF.js backend could be started (${requested} requested): ` + attempts.map((a) => `${a.name}: ${a.error ?? 'ok'}`).join('; '));
}

/** Whether native kernels are active now (see `BackendInfo.native`). */
export function nativeInUse(): NativeInfo {
  return nativeInfo();
}

/** The backend chosen by the last `initBackend`, or null. */
export function currentBackend(): BackendInfo | null {
  return current;
}

export interface BackendAvailability {
  name: Exclude<BackendRequest, 'auto'>;
  available: boolean;
  /** What was found (the adapter, the package) or why it would not load. */
  detail: string;
}

/**
 * Which backends of the automatic order could load here and why the others could not, without
 * switching the backend in use (for `ctlab doctor`). tfjs-node(-gpu) are checked by resolving the
 * package (libtensorflow itself loads only on use); webgpu by asking Dawn for its adapter.
 */
export async function backendAvailability(): Promise<BackendAvailability[]> {
  const out: BackendAvailability[] = [];
  for (const name of AUTO_ORDER) {
    switch (name) {
      case 'tensorflow-gpu':
      case 'tensorflow': {
        const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
        try {
          out.push({ name, available: true, detail: `${pkg} at ${require.resolve(pkg)}` });
        } catch (e) {
          out.push({ name, available: false, detail: message(e) });
        }
        break;
      }
      case 'webgpu':
        try {
          const a = await probeWebgpu();
          out.push({ name, available: true, detail: `adapter ${a.vendor} ${a.architecture} (${a.description})${a.software ? ', software' : ''}` });
        } catch (e) {
          out.push({ name, available: false, detail: message(e) });
        }
        break;
      case 'wasm':
        out.push({ name, available: true, detail: `native kernels: ${loadNativeAddon() ? 'built' : (nativeLoadError() ?? 'absent')}` });
        break;
      case 'cpu':
        out.push({ name, available: true, detail: 'pure JS, always there' });
        break;
    }
  }
  return out;
}

/** One line: the backend in use and why better ones were not. */
export function describeBackend(info: BackendInfo): string {
  const skipped = info.attempts.filter((a) => !a.ok).map((a) => `${a.name} (${a.error})`);
  return (
    `ctlab: backend ${info.name}, ${info.wasmThreads} thread(s)` +
    (info.webgpu ? ` on ${info.webgpu.vendor} ${info.webgpu.architecture}${info.webgpu.software ? ' (software adapter)' : ''}` : '') +
    (info.native.active
      ? ` + native kernels on ${info.native.threads ?? '?'} thread(s) (oneDNN ${info.native.onednn ?? '?'}, ${(info.native.openblas ?? 'OpenBLAS').split(' ').slice(0, 2).join(' ')})`
      : '') +
    (info.requestedBy !== 'default' ? ` [forced by ${info.requestedBy}]` : '') +
    (skipped.length ? `; not used: ${skipped.join('; ')}` : '')
  );
}
