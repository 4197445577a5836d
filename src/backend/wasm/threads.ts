/**
 * Threads for the wasm backend in Node. As shipped, tfjs-backend-wasm 4.22 never uses its threaded
 * build in Node (`WASM_HAS_MULTITHREAD_SUPPORT` is false there, so `setThreadsCount` is ignored),
 * and the threaded build cannot start as the package starts it (its pthread workers are Blob URLs,
 * which Node's worker_threads reject: ERR_WORKER_PATH).
 *
 * Here the 'wasm' backend is re-registered with a factory that starts the threaded SIMD build
 * itself: the pthread worker is a file written from the worker source the build exports, the main
 * script is the build's own .js file, and while the module and the backend start, `os.cpus()`
 * reports at least 2·threads CPUs (the C++ side uses half the logical cores).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BackendWasm, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

interface EmscriptenModule {
  cwrap: (name: string, ret: string | null, args: string[]) => (...a: number[]) => number;
  tfjs?: Record<string, (...a: number[]) => number>;
}
type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

const WASM_PRIORITY = 2; // the package's own priority for 'wasm'

function packageDir(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
}

/** Run f while os.cpus() reports at least n CPUs. */
async function withCpus<T>(n: number, f: () => Promise<T> | T): Promise<T> {
  // the real module object (the TS namespace import has getters only), as Emscripten's require('os') sees it
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeOs = require('node:os') as { cpus: () => os.CpuInfo[] };
  const real = nodeOs.cpus;
  const patched = (): os.CpuInfo[] => {
    const c = real();
    const first = c[0];
    while (first && c.length < n) c.push(first);
    return c;
  };
  nodeOs.cpus = patched;
  try {
    return await f();
  } finally {
    nodeOs.cpus = real;
  }
}

async function startThreadedModule(threads: number): Promise<EmscriptenModule> {
  const dir = packageDir();
  const jsPath = path.join(dir, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
  const wasmPath = path.join(dir, 'dist', 'tfjs-backend-wasm-threaded-simd.wasm');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const factory = require(jsPath) as Factory;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const workerSrc = (require(path.join(dir, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents?: string }).wasmWorkerContents;
  if (typeof workerSrc !== 'string') throw new Error('threaded wasm build exports no worker source');
  const workerFile = path.join(os.tmpdir(), `ctlab-tfjs-wasm-worker-${tf.version.tfjs}-${process.pid}.cjs`);
  // the main script ends with `module.exports...`: give the worker's global scope a module object
  fs.writeFileSync(workerFile, 'globalThis.module={exports:{}};globalThis.exports=globalThis.module.exports;\n' + workerSrc.replace(/\n/g, '\\n'));
  const cleanup = (): void => {
    try {
      fs.unlinkSync(workerFile);
    } catch {
      /* already gone */
    }
  };
  process.once('exit', cleanup);
  const module = await withCpus(2 * threads, () =>
    factory({
      locateFile: (p: string) => (p.endsWith('.worker.js') ? workerFile : p.endsWith('.wasm') ? wasmPath : path.join(dir, 'wasm-out', p)),
      mainScriptUrlOrBlob: jsPath,
    }),
  );
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  return module;
}

let configured: number | null = null;

interface PThreadPool {
  PThread?: { runningWorkers?: { unref?: () => void }[]; unusedWorkers?: { unref?: () => void }[] };
}

/**
 * The pool's pthread workers would keep Node's event loop alive after the work is done (a CLI or
 * a test process would never exit): unref them, as Node allows for workers that only serve calls.
 */
function unrefWorkers(module: EmscriptenModule): void {
  const pool = (module as EmscriptenModule & PThreadPool).PThread;
  for (const w of [...(pool?.runningWorkers ?? []), ...(pool?.unusedWorkers ?? [])]) w.unref?.();
}

/**
 * Make the 'wasm' backend start with `threads` threads (1: the package's own start). Must run
 * before the wasm backend is first initialised; returns the count that will be requested.
 * A later call with another count, once wasm is running, does nothing and returns the first count.
 */
export function configureWasmThreads(threads: number): number {
  const n = Math.max(1, Math.floor(threads));
  if (configured !== null && tf.engine().registry.wasm !== undefined) return configured;
  configured = n;
  if (n === 1) return 1;
  const prior = tf.findBackendFactory('wasm');
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      try {
        const wasm = await startThreadedModule(n);
        setThreadsCount(n);
        const backend = await withCpus(2 * n, () => new BackendWasm(wasm as unknown as ConstructorParameters<typeof BackendWasm>[0]));
        unrefWorkers(wasm);
        return backend;
      } catch (e) {
        // fall back to the package's single-threaded start
        threadStartError = e instanceof Error ? e.message : String(e);
        configured = 1;
        if (!prior) throw e;
        return prior();
      }
    },
    WASM_PRIORITY,
  );
  return n;
}

export let threadStartError: string | null = null;

/** Threads XNNPACK actually uses (after the backend started), or 1. */
export function wasmThreadsInUse(): number {
  const b = tf.engine().registry.wasm as BackendWasm | undefined;
  if (!b) return configured ?? 1;
  const fn = (b.wasm as unknown as EmscriptenModule).tfjs?.getThreadsCount;
  return fn ? fn() : 1;
}
