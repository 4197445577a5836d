/**
 * The WebGPU backend in Node: `@tensorflow/tfjs-backend-webgpu` 4.22 over Dawn, from the optional
 * npm package `webgpu` (it ships a prebuilt `dawn.node`). Dawn talks to the machine's Vulkan driver:
 * a GPU's (NVIDIA, AMD, Intel) or Mesa's lavapipe, a CPU driver that Dawn accepts from Mesa 25 on.
 *
 * The backend registers itself only when `navigator.gpu` exists at its import and reads the
 * `GPUBufferUsage`/`GPUMapMode`/`GPUTextureUsage` globals, so `loadWebgpu` installs Dawn's globals
 * and `navigator.gpu` first, asks for the adapter itself (same power preference as the backend),
 * and refuses a software adapter unless `CTLAB_WEBGPU_ALLOW_SOFTWARE=1` (or the option) allows it:
 * lavapipe is a correctness path, ~350 ms per bench U-Net step, never a silent choice.
 *
 * `CTLAB_DAWN_NODE` names a `dawn.node` to load instead of the one in `node_modules/webgpu` (the
 * packed GPU bench of bench/gpu/ carries its own). The kit's fused kernels (GroupNorm+SiLU, Adam,
 * EMA) have no WebGPU versions: their callers check `tf.getKernel(name, tf.getBackend())` and run
 * the composite form of tfjs ops, which the backend has.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** What the adapter says about itself (GPUAdapterInfo), recorded in run.json's backend block. */
export interface WebgpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Dawn's flag for a software (CPU) adapter such as lavapipe or SwiftShader. */
  isFallbackAdapter: boolean;
  /** Whether the kit counts it as software (the flag, or a known CPU driver's name). */
  software: boolean;
}

export interface WebgpuOptions {
  /** Use a software adapter when it is the only one; default `CTLAB_WEBGPU_ALLOW_SOFTWARE=1`. */
  allowSoftware?: boolean;
}

export const WEBGPU_ALLOW_HINT = 'set CTLAB_WEBGPU_ALLOW_SOFTWARE=1 to use it (a slow correctness path)';
export const WEBGPU_INSTALL_HINT =
  'a GPU needs its Vulkan driver (NVIDIA: the driver ships nvidia_icd.json; point VK_DRIVER_FILES at it where it is not found); for a CPU correctness path install Mesa >= 25 lavapipe (Debian 12: apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1, or scripts/system-deps.sh) and set CTLAB_WEBGPU_ALLOW_SOFTWARE=1';

/** CTLAB_WEBGPU_ALLOW_SOFTWARE: 1/true/yes allow a software adapter. */
export function allowSoftwareFromEnv(): boolean {
  return /^(1|true|yes|on)$/i.test(process.env.CTLAB_WEBGPU_ALLOW_SOFTWARE ?? '');
}

interface GpuAdapterLike {
  info?: Partial<Record<'vendor' | 'architecture' | 'device' | 'description', string>> & { isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(opts?: { powerPreference?: string }): Promise<GpuAdapterLike | null>;
}
interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

let dawn: { gpu: GpuLike; file: string } | null = null;
let backendImported = false;

/** The dawn.node to load: CTLAB_DAWN_NODE, else the one the `webgpu` package ships for this platform. */
export function dawnNodePath(): string {
  const env = process.env.CTLAB_DAWN_NODE;
  if (env !== undefined && env !== '') return path.resolve(env);
  let main: string;
  try {
    main = require.resolve('webgpu');
  } catch {
    throw new Error("the optional npm package 'webgpu' (Dawn) is not installed; install it with: npm install webgpu");
  }
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  return path.join(path.dirname(main), 'dist', `${process.platform}-${arch}`, 'dawn.node');
}

/** Load Dawn once, install its globals and `navigator.gpu`. */
function loadDawn(): GpuLike {
  if (dawn) return dawn.gpu;
  const file = dawnNodePath();
  let mod: DawnModule;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a native addon at a path found at run time
    mod = require(file) as DawnModule;
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
    throw new Error(`dawn.node did not load from ${file} (${why.slice(0, 200)})`);
  }
  Object.assign(globalThis, mod.globals);
  const gpu = mod.create([]);
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  dawn = { gpu, file };
  return gpu;
}

function adapterInfo(a: GpuAdapterLike): WebgpuAdapterInfo {
  const i = a.info ?? {};
  const isFallbackAdapter = Boolean(i.isFallbackAdapter ?? a.isFallbackAdapter);
  const info = { vendor: i.vendor ?? '', architecture: i.architecture ?? '', device: i.device ?? '', description: i.description ?? '' };
  const software = isFallbackAdapter || info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${info.device} ${info.description}`);
  return { ...info, isFallbackAdapter, software };
}

/** One line naming the adapter. */
export function describeAdapter(a: WebgpuAdapterInfo): string {
  return `${a.vendor || '?'} ${a.device || a.architecture || '?'}${a.software ? ', software' : ''}${a.description ? `: ${a.description}` : ''}`;
}

/**
 * The adapter the webgpu backend would run on, without switching backends: resolves to its info,
 * or rejects with one line saying what was found and how to install or allow one.
 */
export async function probeWebgpu(opts: WebgpuOptions = {}): Promise<WebgpuAdapterInfo> {
  const allow = opts.allowSoftware ?? allowSoftwareFromEnv();
  const gpu = loadDawn();
  // the backend asks with this preference unless WEBGPU_USE_LOW_POWER_GPU is set
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error(`no WebGPU adapter found (Dawn sees no usable Vulkan driver); ${WEBGPU_INSTALL_HINT}`);
  const info = adapterInfo(adapter);
  if (info.software && !allow)
    throw new Error(`only a software WebGPU adapter was found (${describeAdapter(info)}); ${WEBGPU_ALLOW_HINT}, or install a GPU's Vulkan driver`);
  return info;
}

/**
 * Readbacks on webgpu go through `data()`: the backend's synchronous read needs OffscreenCanvas,
 * which Node lacks. Its readSync is wrapped so that a `dataSync()` on a tensor that lives on the GPU
 * fails with a message that says so instead of a ReferenceError deep in the backend.
 */
function guardReadSync(): void {
  const backend = tf.findBackend('webgpu') as unknown as {
    readSync?: (id: object) => unknown;
    __ctlabGuard?: boolean;
    tensorMap?: { get(id: object): { values?: unknown } | undefined };
  };
  if (!backend || backend.__ctlabGuard || typeof backend.readSync !== 'function' || (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas !== undefined)
    return;
  const inner = backend.readSync.bind(backend);
  backend.readSync = (id: object) => {
    const d = backend.tensorMap?.get(id);
    if (d?.values != null) return inner(id);
    throw new Error(
      'dataSync()/arraySync() are not available on the webgpu backend in Node (no OffscreenCanvas); this path needs await tensor.data(), or another backend',
    );
  };
  backend.__ctlabGuard = true;
}

/** Start the webgpu backend on the adapter `probeWebgpu` accepts; resolves to that adapter's info. */
export async function loadWebgpu(opts: WebgpuOptions = {}): Promise<WebgpuAdapterInfo> {
  const info = await probeWebgpu(opts);
  if (!backendImported) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- must load after navigator.gpu exists (it registers itself only then)
    require('@tensorflow/tfjs-backend-webgpu');
    backendImported = true;
  }
  if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend did not initialise');
  guardReadSync();
  return info;
}
