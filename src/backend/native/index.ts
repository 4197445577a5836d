/**
 * Optional native CPU kernels for the wasm backend: an N-API addon (native/ctlab_native.cc, built by
 * `npm ci` / `npm run build:native` where Debian's libdnnl-dev and libopenblas-dev are installed)
 * that runs the heavy kernels of a training step on the wasm backend's own tensors:
 *
 * - Conv2D, FusedConv2D (bias, linear activation), Conv2DBackpropInput, Conv2DBackpropFilter:
 *   oneDNN convolution primitives on the NHWC tensors in place (filters reordered per call);
 * - BatchMatMul and _FusedMatMul (bias, linear activation), transposes included: dnnl_sgemm, or
 *   OpenBLAS sgemm where it measured faster (`gemmEngineFor`);
 * - Concat and SplitV of float32 tensors: row copies (memcpy), for the U-Net's skip connections;
 * - ResizeNearestNeighbor of float32 NHWC tensors (the U-Net's upsampling): pixel copies from the
 *   source rows and columns of TF.js's own formula (`nearestSourceIndices`), split over the threads;
 * - Add, Sub, Multiply of large float32 tensors (>= 32768 elements) with the U-Net's broadcasts
 *   (same shape, a per-(image, channel), per-channel or per-image operand: `binaryGeometry`),
 *   split over the threads (wasm's element-wise kernels run on one);
 * - the fused Adam/RAdam and EMA updates of src/optim: the wasm kernel's JS loops, in C;
 * - dropout masks (not a TF.js kernel: `Rng.fillDropoutMask` calls it while it is registered), the
 *   same xoshiro128** draws in C;
 * - GroupNorm (+ SiLU) forward and backward (`CtlabGroupNorm`, `CtlabGroupNormGrad`, see
 *   src/models/groupnorm.ts): kernels of ctlab's own that TF.js lacks, so they have no fallback;
 *   the model uses them only where they are registered;
 * - the whole MLP consistency network, forward and backward (`CtlabMlp`, `CtlabMlpGrad`, see
 *   src/models/mlp.ts): the noise embedding, the GEMMs with the bias and SiLU·mask in one pass after
 *   each, and the gradient for the weights, x and σ, one call each way (also no fallback);
 * - the CT loss's weighted mean distance and its gradient (`CtlabWeightedDistance`, src/losses/distance.ts).
 *
 * The addon reads and writes the wasm heap through a Float32Array view (a SharedArrayBuffer with
 * the threaded build) at the tensors' offsets (`dataIdMap`), and outputs are allocated with
 * `makeOutput`, so tensors never leave the heap. Anything else (other dtypes, activations,
 * NCHW, broadcasts it does not cover, zero-size tensors, geometry oneDNN refuses) goes to the kernel
 * registered before (ctlab's wasm training kernels or the shipped ones).
 *
 * Switches: `CTLAB_NATIVE=0` (or the `native: false` option) keeps the wasm kernels;
 * `CTLAB_NATIVE=1` makes a missing addon an error instead of a note. `CTLAB_NATIVE_CONV=openblas`
 * runs convolutions as im2col + OpenBLAS GEMM instead of oneDNN, `=onednn-blocked` runs oneDNN on
 * its preferred activation layout (nChw8c on AVX2) with reorders around each primitive (not the
 * default: in a standalone probe the blocked 3x3 convolutions were 7-35% faster than on NHWC, but
 * inside the U-Net the reorders ate it: training step at batch 32, 2 threads, per step: oneDNN
 * convolutions 81 ms instead of 84 plus reorders 16 ms instead of 4; 1-step sampling at batch 256,
 * five alternating pairs, medians 198 vs 217 ms per call, within this VM's noise),
 * `CTLAB_NATIVE_GEMM=openblas|onednn` runs every matmul on one library (for A/B measurements;
 * default 'auto').
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { ADAM_KERNEL, EMA_KERNEL } from '../../optim/index';
import { GROUP_NORM_GRAD_KERNEL, GROUP_NORM_KERNEL } from '../../models/groupnorm';
import {
  MLP_GRAD_KERNEL,
  MLP_KERNEL,
  SILU_GRAD_KERNEL,
  SILU_KERNEL,
  WEIGHTED_DISTANCE_GRAD_KERNEL,
  WEIGHTED_DISTANCE_KERNEL,
  type MlpAttrs,
  type WeightedDistanceAttrs,
} from '../../kernels';
import { concatLayout, orderedInputs, size, splitVLayout } from '../wasm/kernels';
import { setDropoutMaskFiller } from '../../util/rng';

type TI = tf.TensorInfo;
type Attrs = Record<string, unknown>;

/** The addon's functions (native/ctlab_native.cc). */
export interface NativeAddon {
  /** kind 0 forward (y = x*w + bias), 1 backward data (writes x), 2 backward weights (writes w); engine 0 oneDNN, 1 im2col+OpenBLAS, 2 im2col+dnnl_sgemm. */
  conv2d(kind: number, engine: number, heap: Float32Array, xOff: number, wOff: number, biasOff: number, yOff: number, geometry: number[]): void;
  /** engine 0 OpenBLAS, 1 dnnl_sgemm; geometry [batch, M, N, K, transA, transB, strideA, strideB]. */
  matmul(engine: number, heap: Float32Array, aOff: number, bOff: number, cOff: number, geometry: number[]): void;
  setThreads(n: number): void;
  getThreads(): { requested: number; openmp: number; openblas: number };
  /** The implementation oneDNN picked for kind 0/1/2 (forward, backward data, backward weights) on engine 0 (NHWC) or 3 (blocked). */
  convImpl(kind: number, geometry: number[], engine: number): string;
  /** simd: the build of ctlab's own vectorised loops that runs: 'avx512', 'avx2+fma' or 'baseline' (CTLAB_NATIVE_SIMD=avx2|baseline caps it). */
  versions(): { onednn: string; onednnRuntime: string; openblas: string; simd: string };
  clearCache(): void;
  /** dst[r·dstStride + j] = src[r·srcStride + j] for r < rows, j < width (element offsets). */
  copyRows(heap: Float32Array, srcOff: number, srcStride: number, dstOff: number, dstStride: number, rows: number, width: number): void;
  /** Rows [p, g, m, v, pOut, mOut, vOut, len]; scalars [beta1, beta2, stepSize, vScale, eps, weightDecay, adaptive]. */
  adamStep(heap: Float32Array, table: Float64Array, scalars: Float64Array): void;
  /** Rows [teacher, student, out, len]: out = rate·teacher + (1 − rate)·student. */
  emaStep(heap: Float32Array, table: Float64Array, rate: number): void;
  /** GroupNorm (+ SiLU when geometry[4] = 1) of x [B, HW, C] in G groups; writes y, mean [B, G], rstd [B, G]. geometry [B, HW, C, G, silu]. */
  groupNorm(
    heap: Float32Array,
    xOff: number,
    gammaOff: number,
    betaOff: number,
    yOff: number,
    meanOff: number,
    rstdOff: number,
    geometry: number[],
    eps: number,
  ): void;
  /** out[o,m,i] = a[o·aO + m·aM + i·aI] op b[o·bO + m·bM + i·bI]; op 0 add, 1 sub, 2 mul; geometry [O, M, I, aO, aM, aI, bO, bM, bI]. */
  binary(op: number, heap: Float32Array, aOff: number, bOff: number, outOff: number, geometry: number[]): void;
  /** y[b, i, j, :] = x[b, rows[i], cols[j], :] for NHWC x [B, H, W, C]; geometry [B, H, W, C, OH, OW]. */
  resizeNearest(heap: Float32Array, xOff: number, yOff: number, geometry: number[], rows: number[], cols: number[]): void;
  /** Dropout mask with exactly Rng.fillDropoutMask's draws (xoshiro128** state [s0..s3] updated in place). */
  dropoutMask(out: Float32Array, state: Int32Array, p: number, keep: number): void;
  /** y = x·σ(x)·mask over n elements (maskOff −1: no mask). */
  silu(heap: Float32Array, xOff: number, maskOff: number, yOff: number, n: number): void;
  /** dx = dy·mask·σ(x)·(1 + x·(1 − σ(x))) over n elements (maskOff −1: no mask). */
  siluGrad(heap: Float32Array, dyOff: number, xOff: number, maskOff: number, dxOff: number, n: number): void;
  /** The whole MLP forward (src/kernels.ts MLP_KERNEL); table and geometry as mlpTables() builds them. */
  mlpForward(heap: Float32Array, table: Float64Array, geometry: Float64Array): void;
  /** Its gradient (MLP_GRAD_KERNEL). */
  mlpBackward(heap: Float32Array, table: Float64Array, geometry: Float64Array): void;
  /** out = mean_b w_b·d(x_b, y_b); offsets [x, y, w, out], geometry [B, D, kind 0 l2 | 1 l1 | 2 pseudo-Huber]. */
  weightedDistance(heap: Float32Array, offsets: number[], geometry: number[], c: number): void;
  /** Its gradient; offsets [g, x, y, w, dx, dy, dw]. */
  weightedDistanceGrad(heap: Float32Array, offsets: number[], geometry: number[], c: number): void;
  /** GroupNorm's gradient from dy and the forward's x, γ, β, mean, rstd; writes dx, dγ, dβ. */
  groupNormGrad(
    heap: Float32Array,
    dyOff: number,
    xOff: number,
    gammaOff: number,
    betaOff: number,
    meanOff: number,
    rstdOff: number,
    dxOff: number,
    dgammaOff: number,
    dbetaOff: number,
    geometry: number[],
  ): void;
}

/**
 * 'onednn': oneDNN on the NHWC tensors as they are; 'onednn-blocked': activations reordered to
 * oneDNN's preferred layout (nChw8c on AVX2) and back around each primitive; 'openblas' /
 * 'dnnl-sgemm': im2col + GEMM.
 */
export type ConvEngine = 'onednn' | 'onednn-blocked' | 'openblas' | 'dnnl-sgemm';
/** 'auto': dnnl_sgemm, except OpenBLAS for large products with a transposed A (measured faster there). */
export type GemmEngine = 'auto' | 'openblas' | 'onednn';
const CONV_ENGINE_CODE: Record<ConvEngine, number> = { onednn: 0, openblas: 1, 'dnnl-sgemm': 2, 'onednn-blocked': 3 };
const GEMM_ENGINE_CODE: Record<Exclude<GemmEngine, 'auto'>, number> = { openblas: 0, onednn: 1 };

/**
 * The GEMM library for one product under 'auto'. Measured per case on the MLP and U-Net shapes
 * (1 and 2 threads, AMD EPYC, AVX2): dnnl_sgemm was faster or equal everywhere (by 5-40% on the
 * small and skinny ones), except A^T·B with M·N·K >= 2^25 (e.g. the MLP's 256x256 weight gradient
 * over 512 rows), where OpenBLAS was ~5% faster. And on an AVX-512 EPYC (1 thread, two rounds):
 * products with at most 4 output columns (a 2D MLP's output layer, [512, 256]·[256, 2]) took 10-23 µs
 * on OpenBLAS against 61-72 on dnnl_sgemm ([1000, 256]·[256, 2]: 21-28 against 114-119); from 16
 * columns on, dnnl_sgemm was ahead again.
 */
export function gemmEngineFor(ta: boolean, m: number, n: number, k: number): Exclude<GemmEngine, 'auto'> {
  return n <= 4 || (ta && m * n * k >= 2 ** 25) ? 'openblas' : 'onednn';
}

export interface NativeInfo {
  /** Native kernels registered on the wasm backend. */
  active: boolean;
  /** Why not (absent when active), or what asked for it. */
  reason: string;
  /** Library versions and threads, when active. */
  onednn?: string;
  openblas?: string;
  /** The build of ctlab's own vectorised loops (GroupNorm, element-wise ops): 'avx512', 'avx2+fma' or 'baseline'. */
  simd?: string;
  threads?: number;
  convEngine?: ConvEngine;
  gemmEngine?: GemmEngine;
  /** OpenMP's wait policy as loaded (ACTIVE: workers spin between kernels; PASSIVE: they sleep). */
  ompWaitPolicy?: string;
  kernels?: string[];
}

/** How to get the native path, printed once where it is absent. */
export const NATIVE_HINT = 'apt-get install libdnnl-dev libopenblas-dev && npm run build:native';

/** The built addon's path: <repo>/native/build/Release/ctlab_native.node (CTLAB_NATIVE_ADDON overrides). */
export function nativeAddonPath(): string {
  const env = process.env.CTLAB_NATIVE_ADDON;
  if (env) return path.resolve(env);
  // this file is dist/src/backend/native/index.js (or src/... under ts-node): find the repo root
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'native', 'binding.gyp'))) break;
    dir = path.dirname(dir);
  }
  return path.join(dir, 'native', 'build', 'Release', 'ctlab_native.node');
}

let addon: NativeAddon | null = null;
let loadError: string | null = null;
let ompWaitPolicy = 'default';

/**
 * Load the addon (once); returns it, or null with `nativeLoadError()` saying why. `spin`: the
 * OpenMP wait policy libgomp reads when it loads, unless OMP_WAIT_POLICY is set: ACTIVE (workers
 * spin between kernels) or PASSIVE (workers sleep). The backend asks for spinning only where the
 * kernels run on 2+ threads and CTLAB_NATIVE_SPIN=1 says the machine is otherwise idle. On an idle
 * machine spinning pays: 1-step sampling at 2 threads ran at 1,282-1,367 images/s ACTIVE against
 * 857-901 PASSIVE (three alternating rounds). With anything else running it is ruinous: with two
 * other processes (at nice 19) on this 2-core VM, the 2D MLP step at 2 threads took 188 ms ACTIVE,
 * 150 ms with a bounded spin (GOMP_SPINCOUNT=100000) and 19.7 ms PASSIVE (22.3 ms on 1 thread).
 */
/** CTLAB_NATIVE_SPIN: 1/on/true/yes lets OpenMP's workers spin between kernels (see loadNativeAddon). */
export function nativeSpinFromEnv(): boolean {
  const v = (process.env.CTLAB_NATIVE_SPIN ?? '').trim().toLowerCase();
  if (v === '' || ['0', 'off', 'false', 'no'].includes(v)) return false;
  if (['1', 'on', 'true', 'yes'].includes(v)) return true;
  throw new RangeError(`CTLAB_NATIVE_SPIN: expected 0 or 1, got '${process.env.CTLAB_NATIVE_SPIN}'`);
}

export function loadNativeAddon(opts: { spin?: boolean } = {}): NativeAddon | null {
  if (addon || loadError) return addon;
  const file = nativeAddonPath();
  if (!fs.existsSync(file)) {
    const rel = path.relative(process.cwd(), file);
    loadError = `addon not built (${rel && !rel.startsWith('..') ? rel : file} missing)`;
    return null;
  }
  // libgomp reads the variable once, when it loads; it is removed again so child processes
  // (PyTorch in the bench) keep their own default
  const setPolicy = process.env.OMP_WAIT_POLICY === undefined;
  if (setPolicy) process.env.OMP_WAIT_POLICY = opts.spin ? 'ACTIVE' : 'PASSIVE';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const m = require(file) as Partial<NativeAddon>;
    for (const fn of [
      'conv2d',
      'matmul',
      'setThreads',
      'getThreads',
      'convImpl',
      'versions',
      'clearCache',
      'copyRows',
      'adamStep',
      'emaStep',
      'groupNorm',
      'groupNormGrad',
      'binary',
      'resizeNearest',
      'dropoutMask',
      'silu',
      'siluGrad',
      'mlpForward',
      'mlpBackward',
      'weightedDistance',
      'weightedDistanceGrad',
    ] as const) {
      if (typeof m[fn] !== 'function') throw new Error(`addon lacks ${fn}(): rebuild it with npm run build:native`);
    }
    addon = m as NativeAddon;
    ompWaitPolicy = process.env.OMP_WAIT_POLICY || 'default';
  } catch (e) {
    loadError = `addon did not load: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`;
  } finally {
    if (setPolicy) delete process.env.OMP_WAIT_POLICY;
  }
  return addon;
}

export function nativeLoadError(): string | null {
  return loadError;
}

/** What CTLAB_NATIVE asks for: 'off' (0/off/false/no), 'on' (1/on/true/yes: required), or 'auto'. */
export function nativeRequestFromEnv(): 'auto' | 'on' | 'off' {
  const v = (process.env.CTLAB_NATIVE ?? '').trim().toLowerCase();
  if (v === '' || v === 'auto') return 'auto';
  if (['0', 'off', 'false', 'no'].includes(v)) return 'off';
  if (['1', 'on', 'true', 'yes'].includes(v)) return 'on';
  throw new RangeError(`CTLAB_NATIVE: expected 0, 1 or auto, got '${process.env.CTLAB_NATIVE}'`);
}

function envEngine<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new RangeError(`${name}: expected one of ${allowed.join(', ')}, got '${v}'`);
}

// ---------------------------------------------------------------------------------------------
// Kernels

const BACKEND = 'wasm';
/** Kernels the native ones replace (each keeps the one it replaced as its fallback). */
const REPLACED_KERNELS = [
  'Conv2D',
  'FusedConv2D',
  'Conv2DBackpropInput',
  'Conv2DBackpropFilter',
  'BatchMatMul',
  '_FusedMatMul',
  'Concat',
  'SplitV',
  'ResizeNearestNeighbor',
  'Add',
  'Sub',
  'Multiply',
  ADAM_KERNEL,
  EMA_KERNEL,
] as const;
/** Kernels only the native path has (no fallback: callers check that they are registered). */
const ADDED_KERNELS = [
  GROUP_NORM_KERNEL,
  GROUP_NORM_GRAD_KERNEL,
  SILU_KERNEL,
  SILU_GRAD_KERNEL,
  MLP_KERNEL,
  MLP_GRAD_KERNEL,
  WEIGHTED_DISTANCE_KERNEL,
  WEIGHTED_DISTANCE_GRAD_KERNEL,
] as const;
export const NATIVE_KERNELS = [...REPLACED_KERNELS, ...ADDED_KERNELS] as const;
export type NativeKernel = (typeof NATIVE_KERNELS)[number];

/** The kernel each native one replaced (its fallback), by name. */
const previous = new Map<string, tf.KernelConfig>();
let convEngine: ConvEngine = 'onednn';
let gemmEngine: GemmEngine = 'auto';
let nativeThreads = 1;
/** Geometries oneDNN refused (skip straight to the fallback). */
const refused = new Set<string>();

export function setConvEngine(e: ConvEngine): void {
  convEngine = e;
}
export function setGemmEngine(e: GemmEngine): void {
  gemmEngine = e;
}

function lib(): NativeAddon {
  if (!addon) throw new Error('ctlab native kernels: addon not loaded');
  return addon;
}

function fallback(name: string, args: { inputs: Record<string, TI>; backend: unknown; attrs?: Attrs }): TI {
  const prev = previous.get(name);
  if (!prev) throw new Error(`ctlab native kernels: no fallback kernel for ${name}`);
  return prev.kernelFunc({ inputs: args.inputs, backend: args.backend as tf.KernelBackend, attrs: (args.attrs ?? {}) as tf.NamedAttrMap }) as TI;
}

function heap(b: BackendWasm): Float32Array {
  // take the view after allocating outputs: heap growth replaces it
  return (b.wasm as unknown as { HEAPF32: Float32Array }).HEAPF32;
}

function off(b: BackendWasm, t: TI): number {
  const d = b.dataIdMap.get(t.dataId);
  if (!d) throw new Error('ctlab native kernels: tensor not on the wasm backend');
  return d.memoryOffset / 4;
}

interface KArgs {
  inputs: Record<string, TI>;
  backend: unknown;
  attrs?: Attrs;
}

/** Geometry [N,H,W,Ci,Co,KH,KW,sh,sw,dh,dw,pt,pl,pb,pr,Ho,Wo] of an NHWC convolution, or null (NCHW). */
function geometry(xShape: number[], filterShape: number[], attrs: Attrs): number[] | null {
  const fmt = (attrs.dataFormat as string | undefined) ?? 'NHWC';
  if (fmt !== 'NHWC') return null;
  const ci = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as number | [number, number],
    (attrs.dilations as number | [number, number] | undefined) ?? 1,
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
  const p = ci.padInfo;
  if (p.top < 0 || p.left < 0 || p.bottom < 0 || p.right < 0) return null;
  const g = [
    ci.batchSize,
    ci.inHeight,
    ci.inWidth,
    ci.inChannels,
    ci.outChannels,
    ci.filterHeight,
    ci.filterWidth,
    ci.strideHeight,
    ci.strideWidth,
    ci.dilationHeight,
    ci.dilationWidth,
    p.top,
    p.left,
    p.bottom,
    p.right,
    ci.outHeight,
    ci.outWidth,
  ];
  // windows reaching past the padded input (rounding 'ceil'): not expressible without extra padding
  const effH = (ci.filterHeight - 1) * ci.dilationHeight + 1;
  const effW = (ci.filterWidth - 1) * ci.dilationWidth + 1;
  if ((ci.outHeight - 1) * ci.strideHeight + effH > ci.inHeight + p.top + p.bottom) return null;
  if ((ci.outWidth - 1) * ci.strideWidth + effW > ci.inWidth + p.left + p.right) return null;
  return g;
}

/** Run one native conv; false if it cannot (the caller falls back). */
function runConv(b: BackendWasm, kind: 0 | 1 | 2, g: number[], x: number, w: number, bias: number, y: number): boolean {
  const key = `${kind}:${convEngine}:${g.join(',')}`;
  if (refused.has(key)) return false;
  try {
    lib().conv2d(kind, CONV_ENGINE_CODE[convEngine], heap(b), x, w, bias, y, g);
    return true;
  } catch (e) {
    if ((e as { code?: string }).code !== 'CTLAB_NATIVE_DNNL') throw e;
    refused.add(key);
    return false;
  }
}

function conv2D(args: KArgs, name: 'Conv2D' | 'FusedConv2D'): TI {
  const b = args.backend as BackendWasm;
  const attrs = args.attrs ?? {};
  const { x, filter, bias, preluActivationWeights } = args.inputs as { x: TI; filter: TI; bias?: TI; preluActivationWeights?: TI };
  const activation = (attrs.activation as string | undefined) ?? 'linear';
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || activation !== 'linear' || preluActivationWeights) return fallback(name, args);
  const g = geometry(x.shape, filter.shape, attrs);
  if (!g || size(x.shape) === 0 || size(filter.shape) === 0) return fallback(name, args);
  const Co = g[4] as number;
  if (bias && (bias.dtype !== 'float32' || size(bias.shape) !== Co || (bias.shape.length > 1 && bias.shape[bias.shape.length - 1] !== Co)))
    return fallback(name, args);
  const out = b.makeOutput([g[0] as number, g[15] as number, g[16] as number, Co], 'float32');
  if (!runConv(b, 0, g, off(b, x), off(b, filter), bias ? off(b, bias) : -1, off(b, out))) {
    b.disposeData(out.dataId);
    return fallback(name, args);
  }
  return out;
}

function conv2DBackpropInput(args: KArgs): TI {
  const b = args.backend as BackendWasm;
  const attrs = args.attrs ?? {};
  const { dy, filter } = args.inputs as { dy: TI; filter: TI };
  const inputShape = attrs.inputShape as number[];
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') return fallback('Conv2DBackpropInput', args);
  const g = geometry(inputShape, filter.shape, attrs);
  if (!g || size(inputShape) === 0 || size(dy.shape) === 0) return fallback('Conv2DBackpropInput', args);
  const out = b.makeOutput(inputShape.slice(), 'float32');
  if (!runConv(b, 1, g, off(b, out), off(b, filter), -1, off(b, dy))) {
    b.disposeData(out.dataId);
    return fallback('Conv2DBackpropInput', args);
  }
  return out;
}

function conv2DBackpropFilter(args: KArgs): TI {
  const b = args.backend as BackendWasm;
  const attrs = args.attrs ?? {};
  const { x, dy } = args.inputs as { x: TI; dy: TI };
  const filterShape = attrs.filterShape as number[];
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') return fallback('Conv2DBackpropFilter', args);
  const g = geometry(x.shape, filterShape, attrs);
  if (!g || size(x.shape) === 0 || size(dy.shape) === 0) return fallback('Conv2DBackpropFilter', args);
  const out = b.makeOutput(filterShape.slice(), 'float32');
  if (!runConv(b, 2, g, off(b, x), off(b, out), -1, off(b, dy))) {
    b.disposeData(out.dataId);
    return fallback('Conv2DBackpropFilter', args);
  }
  return out;
}

/** C = op(A)·op(B) with broadcast batch dims (one side's batch of 1, or equal batches). */
function matMul(args: KArgs, name: 'BatchMatMul' | '_FusedMatMul'): TI {
  const b = args.backend as BackendWasm;
  const attrs = args.attrs ?? {};
  const { a, b: bb, bias, preluActivation } = args.inputs as { a: TI; b: TI; bias?: TI; preluActivation?: TI };
  const ta = (attrs.transposeA as boolean | undefined) ?? false;
  const tb = (attrs.transposeB as boolean | undefined) ?? false;
  const activation = (attrs.activation as string | undefined) ?? 'linear';
  if (a.dtype !== 'float32' || bb.dtype !== 'float32' || activation !== 'linear' || preluActivation) return fallback(name, args);
  const ra = a.shape.length;
  const rb = bb.shape.length;
  if (ra < 2 || rb < 2) return fallback(name, args);
  const M = ta ? (a.shape[ra - 1] as number) : (a.shape[ra - 2] as number);
  const K = ta ? (a.shape[ra - 2] as number) : (a.shape[ra - 1] as number);
  const K2 = tb ? (bb.shape[rb - 1] as number) : (bb.shape[rb - 2] as number);
  const N = tb ? (bb.shape[rb - 2] as number) : (bb.shape[rb - 1] as number);
  if (K !== K2) throw new Error(`${name}: inner dimensions differ (${a.shape} x ${bb.shape}, transposeA=${ta}, transposeB=${tb})`);
  const batchA = a.shape.slice(0, -2);
  const batchB = bb.shape.slice(0, -2);
  const nA = size(batchA);
  const nB = size(batchB);
  if (M * N * K === 0 || (nA !== nB && nA !== 1 && nB !== 1)) return fallback(name, args);
  const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(batchA, batchB);
  const batch = size(outBatch);
  if (batch !== Math.max(nA, nB)) return fallback(name, args);
  if (bias && (bias.dtype !== 'float32' || size(bias.shape) !== N)) return fallback(name, args);
  const out = b.makeOutput([...outBatch, M, N], 'float32');
  const h = heap(b);
  const engine = gemmEngine === 'auto' ? gemmEngineFor(ta, M, N, K) : gemmEngine;
  lib().matmul(GEMM_ENGINE_CODE[engine], h, off(b, a), off(b, bb), off(b, out), [
    batch,
    M,
    N,
    K,
    ta ? 1 : 0,
    tb ? 1 : 0,
    nA === 1 ? 0 : M * K,
    nB === 1 ? 0 : K * N,
  ]);
  if (bias) {
    const o = h.subarray(off(b, out), off(b, out) + batch * M * N);
    const bv = h.subarray(off(b, bias), off(b, bias) + N);
    for (let r = 0; r < batch * M; r++) {
      const base = r * N;
      for (let j = 0; j < N; j++) o[base + j] = (o[base + j] as number) + (bv[j] as number);
    }
  }
  return out;
}

/** Concat of float32 tensors: one row copy per input (memcpy), e.g. the U-Net's skip connections. */
function concat(args: KArgs): TI {
  const b = args.backend as BackendWasm;
  const inputs = orderedInputs(args.inputs);
  const first = inputs[0];
  if (!first || inputs.length < 2 || inputs.some((t) => t.dtype !== 'float32' || size(t.shape) === 0)) return fallback('Concat', args);
  const { outer, widths, total, outShape } = concatLayout(inputs, args.attrs?.axis);
  const out = b.makeOutput(outShape, 'float32');
  const h = heap(b);
  const o = off(b, out);
  let col = 0;
  inputs.forEach((t, i) => {
    const w = widths[i] as number;
    lib().copyRows(h, off(b, t), w, o + col, total, outer, w);
    col += w;
  });
  return out;
}

/** SplitV of a float32 tensor (Concat's gradient): one row copy per part. */
function splitV(args: KArgs): TI[] {
  const b = args.backend as BackendWasm;
  const x = args.inputs.x as TI;
  if (x.dtype !== 'float32' || size(x.shape) === 0) return fallback('SplitV', args) as unknown as TI[];
  const { outer, widths, total, shapes } = splitVLayout(x, args.attrs);
  const outs = shapes.map((shape) => b.makeOutput(shape, 'float32'));
  const h = heap(b);
  const xo = off(b, x);
  let col = 0;
  outs.forEach((out, i) => {
    const w = widths[i] as number;
    if (w > 0) lib().copyRows(h, xo + col, total, off(b, out), w, outer, w);
    col += w;
  });
  return outs;
}

/**
 * Source indices of nearest-neighbour resizing along one axis, by tfjs-backend-cpu's formula for
 * ResizeNearestNeighbor (alignCorners: ratio (in − 1)/(out − 1) and rounding; halfPixelCenters:
 * sampling at pixel centres), so the native copies pick the pixels TF.js picks.
 */
export function nearestSourceIndices(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): number[] {
  const ratio = (alignCorners && outSize > 1 ? inSize - 1 : inSize) / (alignCorners && outSize > 1 ? outSize - 1 : outSize);
  const out: number[] = [];
  for (let i = 0; i < outSize; i++) {
    const frac = halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
    let src = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
    if (halfPixelCenters) src = Math.max(0, src);
    out.push(src);
  }
  return out;
}

/** ResizeNearestNeighbor of a float32 NHWC tensor: one pixel copy per output pixel (memcpy of C floats). */
function resizeNearestNeighbor(args: KArgs): TI {
  const b = args.backend as BackendWasm;
  const x = args.inputs.images as TI;
  const [newH, newW] = (args.attrs?.size ?? []) as number[];
  if (x.dtype !== 'float32' || x.shape.length !== 4 || size(x.shape) === 0 || !newH || !newW) return fallback('ResizeNearestNeighbor', args);
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const alignCorners = args.attrs?.alignCorners === true;
  const halfPixelCenters = args.attrs?.halfPixelCenters === true;
  const out = b.makeOutput([B, newH, newW, C], 'float32');
  const rows = nearestSourceIndices(H, newH, alignCorners, halfPixelCenters);
  const cols = nearestSourceIndices(W, newW, alignCorners, halfPixelCenters);
  lib().resizeNearest(heap(b), off(b, x), off(b, out), [B, H, W, C, newH, newW], rows, cols);
  return out;
}

/** Element-wise ops on fewer elements stay on wasm (the call costs more than the threads win). */
export const NATIVE_BINARY_MIN = 1 << 15;

/**
 * The native binary kernel's geometry [O, M, I, aO, aM, aI, bO, bM, bI] for a op b with broadcast
 * shapes, or null when the broadcast does not fit three groups of dimensions: dimensions of size 1
 * in the output are dropped, neighbours that both operands have (or lack) alike are merged, and at
 * most three groups may remain (e.g. [B,H,W,C] with [B,1,1,C]: B | H·W | C).
 */
export function binaryGeometry(aShape: readonly number[], bShape: readonly number[]): number[] | null {
  const rank = Math.max(aShape.length, bShape.length);
  const pad = (s: readonly number[]): number[] => [...new Array<number>(rank - s.length).fill(1), ...s];
  const a = pad(aShape);
  const b = pad(bShape);
  const groups: { size: number; inA: boolean; inB: boolean }[] = [];
  for (let d = 0; d < rank; d++) {
    const n = Math.max(a[d] as number, b[d] as number);
    if ((a[d] !== n && a[d] !== 1) || (b[d] !== n && b[d] !== 1)) return null;
    if (n === 1) continue;
    const inA = a[d] === n;
    const inB = b[d] === n;
    const last = groups[groups.length - 1];
    if (last?.inA === inA && last.inB === inB) last.size *= n;
    else groups.push({ size: n, inA, inB });
  }
  if (groups.length > 3) return null;
  while (groups.length < 3) groups.unshift({ size: 1, inA: true, inB: true });
  const strides = (has: (g: { inA: boolean; inB: boolean }) => boolean): number[] =>
    groups.map((g, k) => (has(g) && g.size > 1 ? groups.slice(k + 1).reduce((p, h) => p * (has(h) ? h.size : 1), 1) : 0));
  return [...groups.map((g) => g.size), ...strides((g) => g.inA), ...strides((g) => g.inB)];
}

const BINARY_OP = { Add: 0, Sub: 1, Multiply: 2 } as const;

/** Add / Sub / Multiply of large float32 tensors on the native threads; the rest on wasm. */
function binary(args: KArgs, name: keyof typeof BINARY_OP): TI {
  const b = args.backend as BackendWasm;
  const { a, b: bb } = args.inputs as { a: TI; b: TI };
  if (a.dtype !== 'float32' || bb.dtype !== 'float32') return fallback(name, args);
  const g = binaryGeometry(a.shape, bb.shape);
  if (!g || (g[0] as number) * (g[1] as number) * (g[2] as number) < NATIVE_BINARY_MIN) return fallback(name, args);
  const out = b.makeOutput(tf.backend_util.assertAndGetBroadcastShape(a.shape, bb.shape), 'float32');
  lib().binary(BINARY_OP[name], heap(b), off(b, a), off(b, bb), off(b, out), g);
  return out;
}

/** The fused optimizer update of src/optim (same arithmetic as the wasm kernel's JS loop), in C. */
function adamStep(args: KArgs): TI[] {
  const b = args.backend as BackendWasm;
  const at = args.attrs ?? {};
  const n = at.n as number;
  const ins = (k: string): TI => args.inputs[k] as TI;
  for (let i = 0; i < n; i++) {
    if (['p', 'g', 'm', 'v'].some((k) => ins(`${k}${i}`).dtype !== 'float32')) return fallback(ADAM_KERNEL, args) as unknown as TI[];
  }
  const outs: TI[] = [];
  for (let k = 0; k < 3; k++) for (let i = 0; i < n; i++) outs.push(b.makeOutput(ins(`p${i}`).shape, 'float32'));
  const table = new Float64Array(8 * n);
  for (let i = 0; i < n; i++) {
    table.set(
      [
        off(b, ins(`p${i}`)),
        off(b, ins(`g${i}`)),
        off(b, ins(`m${i}`)),
        off(b, ins(`v${i}`)),
        off(b, outs[i] as TI),
        off(b, outs[n + i] as TI),
        off(b, outs[2 * n + i] as TI),
        size(ins(`p${i}`).shape),
      ],
      8 * i,
    );
  }
  const scalars = Float64Array.of(
    at.beta1 as number,
    at.beta2 as number,
    at.stepSize as number,
    at.vScale as number,
    at.eps as number,
    at.weightDecay as number,
    at.adaptive ? 1 : 0,
  );
  lib().adamStep(heap(b), table, scalars);
  return outs;
}

function emaStep(args: KArgs): TI[] {
  const b = args.backend as BackendWasm;
  const n = args.attrs?.n as number;
  const rate = args.attrs?.rate as number;
  const ins = (k: string): TI => args.inputs[k] as TI;
  for (let i = 0; i < n; i++) if (ins(`t${i}`).dtype !== 'float32' || ins(`s${i}`).dtype !== 'float32') return fallback(EMA_KERNEL, args) as unknown as TI[];
  const outs: TI[] = [];
  for (let i = 0; i < n; i++) outs.push(b.makeOutput(ins(`t${i}`).shape, 'float32'));
  const table = new Float64Array(4 * n);
  for (let i = 0; i < n; i++) table.set([off(b, ins(`t${i}`)), off(b, ins(`s${i}`)), off(b, outs[i] as TI), size(ins(`t${i}`).shape)], 4 * i);
  lib().emaStep(heap(b), table, rate);
  return outs;
}

/** [B, H·W, C, G, silu] of a fused GroupNorm call, checking what the kernel supports. */
function groupNormGeometry(name: string, x: TI, gamma: TI, beta: TI, attrs: Attrs): number[] {
  const groups = attrs.groups as number;
  if (x.shape.length !== 4) throw new Error(`${name}: x must be [B, H, W, C], got [${x.shape}]`);
  const [B, H, W, C] = x.shape as [number, number, number, number];
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0) throw new Error(`${name}: groups must divide the ${C} channels, got ${groups}`);
  if (B * H * W * C === 0) throw new Error(`${name}: empty input [${x.shape}]`);
  for (const [k, t] of [
    ['x', x],
    ['gamma', gamma],
    ['beta', beta],
  ] as const)
    if (t.dtype !== 'float32') throw new Error(`${name}: ${k} must be float32, got ${t.dtype}`);
  if (size(gamma.shape) !== C || size(beta.shape) !== C)
    throw new Error(`${name}: gamma and beta must have ${C} elements, got [${gamma.shape}] and [${beta.shape}]`);
  return [B, H * W, C, groups, attrs.silu ? 1 : 0];
}

/** Fused GroupNorm (+ SiLU): outputs y, mean [B, G], rstd [B, G]. */
function groupNormKernel(args: KArgs): TI[] {
  const b = args.backend as BackendWasm;
  const attrs = args.attrs ?? {};
  const { x, gamma, beta } = args.inputs as { x: TI; gamma: TI; beta: TI };
  const g = groupNormGeometry(GROUP_NORM_KERNEL, x, gamma, beta, attrs);
  const stats = [g[0] as number, g[3] as number];
  const outs = [b.makeOutput(x.shape.slice(), 'float32'), b.makeOutput(stats, 'float32'), b.makeOutput(stats, 'float32')] as [TI, TI, TI];
  lib().groupNorm(heap(b), off(b, x), off(b, gamma), off(b, beta), off(b, outs[0]), off(b, outs[1]), off(b, outs[2]), g, attrs.eps as number);
  return outs;
}

/** Its gradient: outputs dx, dγ, dβ. */
function groupNormGradKernel(args: KArgs): TI[] {
  const b = args.backend as BackendWasm;
  const attrs = args.attrs ?? {};
  const { dy, x, gamma, beta, mean, rstd } = args.inputs as { dy: TI; x: TI; gamma: TI; beta: TI; mean: TI; rstd: TI };
  const g = groupNormGeometry(GROUP_NORM_GRAD_KERNEL, x, gamma, beta, attrs);
  if (dy.dtype !== 'float32' || dy.shape.join() !== x.shape.join())
    throw new Error(`${GROUP_NORM_GRAD_KERNEL}: dy must be float32 [${x.shape}], got ${dy.dtype} [${dy.shape}]`);
  const stats = (g[0] as number) * (g[3] as number);
  if (size(mean.shape) !== stats || size(rstd.shape) !== stats) throw new Error(`${GROUP_NORM_GRAD_KERNEL}: mean and rstd must have B·G = ${stats} elements`);
  const outs = [b.makeOutput(x.shape.slice(), 'float32'), b.makeOutput(gamma.shape.slice(), 'float32'), b.makeOutput(beta.shape.slice(), 'float32')] as [
    TI,
    TI,
    TI,
  ];
  lib().groupNormGrad(
    heap(b),
    off(b, dy),
    off(b, x),
    off(b, gamma),
    off(b, beta),
    off(b, mean),
    off(b, rstd),
    off(b, outs[0]),
    off(b, outs[1]),
    off(b, outs[2]),
    g,
  );
  return outs;
}

/** Input `key` of a kernel without fallback: present and float32, or an error naming both. */
function float32Input(name: string, ins: Record<string, TI>, key: string): TI {
  const t = ins[key];
  if (!t) throw new Error(`${name}: missing input ${key}`);
  if (t.dtype !== 'float32') throw new Error(`${name}: ${key} must be float32, got ${t.dtype}`);
  return t;
}

/**
 * The layer widths and input shapes of an MLP kernel call, checked (these kernels have no fallback);
 * the forward's dropout masks too (the gradient takes them inside the saved h and f).
 */
function mlpShapes(
  name: string,
  ins: Record<string, TI>,
  attrs: MlpAttrs,
  masks: boolean,
): { B: number; Dx: number; E: number; widths: number[]; fanIn: number[] } {
  const L = attrs.layers;
  if (!Number.isInteger(L) || L < 1) throw new Error(`${name}: layers must be an integer >= 1, got ${L}`);
  if (attrs.embedding !== 'fourier' && attrs.embedding !== 'positional')
    throw new Error(`${name}: embedding must be 'fourier' or 'positional', got '${attrs.embedding}'`);
  const get = (k: string): TI => float32Input(name, ins, k);
  const x = get('x');
  const sigma = get('sigma');
  const freqs = get('freqs');
  if (x.shape.length !== 2) throw new Error(`${name}: x must be [B, D], got [${x.shape}]`);
  const [B, Dx] = x.shape as [number, number];
  if (B * Dx === 0) throw new Error(`${name}: empty input [${x.shape}]`);
  if (sigma.shape.join() !== String(B)) throw new Error(`${name}: sigma must be [${B}], got [${sigma.shape}]`);
  if (freqs.shape.length !== 1 || freqs.shape[0] === 0) throw new Error(`${name}: freqs must be [E/2], got [${freqs.shape}]`);
  const E = 2 * (freqs.shape[0] as number);
  const widths: number[] = [];
  const fanIn: number[] = [];
  let k = Dx + E;
  for (let l = 0; l < L; l++) {
    const w = get(`w${l}`);
    if (w.shape.length !== 2 || w.shape[0] !== k) throw new Error(`${name}: w${l} must be [${k}, H], got [${w.shape}]`);
    fanIn.push(k);
    k = w.shape[1] as number;
    widths.push(k);
    const bias = ins[`b${l}`];
    if (bias && size(bias.shape) !== k) throw new Error(`${name}: b${l} must have ${k} elements, got [${bias.shape}]`);
  }
  if (masks)
    for (let l = 0; l < L - 1; l++) {
      const m = get(`m${l}`);
      if (m.shape.join() !== `${B},${widths[l]}`) throw new Error(`${name}: m${l} must be [${B}, ${widths[l]}], got [${m.shape}]`);
    }
  return { B, Dx, E, widths, fanIn };
}

function engineCode(ta: boolean, m: number, n: number, k: number): number {
  return GEMM_ENGINE_CODE[gemmEngine === 'auto' ? gemmEngineFor(ta, m, n, k) : gemmEngine];
}

const EMBEDDING_CODE = { fourier: 0, positional: 1 } as const;

/** The MLP forward: outputs y and, with attrs.save, h0 … h{L−2} then f0 … f{L−2} (then F with attrs.affine). */
function mlpKernel(args: KArgs): TI[] {
  const b = args.backend as BackendWasm;
  const attrs = args.attrs as unknown as MlpAttrs;
  const ins = args.inputs;
  const { B, Dx, E, widths, fanIn } = mlpShapes(MLP_KERNEL, ins, attrs, attrs.masks);
  const L = widths.length;
  for (let l = 0; l < L; l++) if (!ins[`b${l}`]) throw new Error(`${MLP_KERNEL}: missing input b${l}`);
  const y = b.makeOutput([B, widths[L - 1] as number], 'float32');
  const hidden = attrs.save ? widths.slice(0, -1) : [];
  const saved = [...hidden, ...hidden].map((w) => b.makeOutput([B, w], 'float32'));
  if (attrs.affine) {
    mlpAffineInputs(MLP_KERNEL, ins, B, widths[L - 1] as number, true);
    if (attrs.save) saved.push(b.makeOutput([B, widths[L - 1] as number], 'float32'));
  }
  const o = (k: string): number => off(b, ins[k] as TI);
  const table: number[] = [o('x'), o('sigma'), o('freqs'), off(b, y)];
  for (let l = 0; l < L; l++) table.push(o(`w${l}`), o(`b${l}`));
  if (attrs.masks) for (let l = 0; l < L - 1; l++) table.push(o(`m${l}`));
  if (attrs.affine) table.push(o('skip'), o('cOut'));
  for (const t of saved) table.push(off(b, t));
  const geometry = [B, Dx, E, EMBEDDING_CODE[attrs.embedding], L, attrs.masks ? 1 : 0, attrs.save ? 1 : 0, attrs.affine ? 1 : 0, ...widths];
  for (let l = 0; l < L; l++) geometry.push(engineCode(false, B, widths[l] as number, fanIn[l] as number));
  lib().mlpForward(heap(b), Float64Array.from(table), Float64Array.from(geometry));
  return [y, ...saved];
}

/** The affine inputs of an MLP call (cOut and, forward, skip; gradient: F), checked. */
function mlpAffineInputs(name: string, ins: Record<string, TI>, B: number, Dout: number, forward: boolean): void {
  const cOut = float32Input(name, ins, 'cOut');
  if (size(cOut.shape) !== B) throw new Error(`${name}: cOut must have B = ${B} elements, got [${cOut.shape}]`);
  const k = forward ? 'skip' : 'F';
  const t = float32Input(name, ins, k);
  if (t.shape.join() !== `${B},${Dout}`) throw new Error(`${name}: ${k} must be [${B}, ${Dout}], got [${t.shape}]`);
}

/** The MLP gradient: outputs dx, dsigma, dw0, db0, … (then dskip, dcOut with attrs.affine). */
function mlpGradKernel(args: KArgs): TI[] {
  const b = args.backend as BackendWasm;
  const attrs = args.attrs as unknown as MlpAttrs;
  const ins = args.inputs;
  const { B, Dx, E, widths, fanIn } = mlpShapes(MLP_GRAD_KERNEL, ins, attrs, false);
  const L = widths.length;
  const dy = ins.dy;
  if (dy?.dtype !== 'float32' || dy.shape.join() !== `${B},${widths[L - 1]}`)
    throw new Error(`${MLP_GRAD_KERNEL}: dy must be float32 [${B}, ${widths[L - 1]}], got ${dy ? `${dy.dtype} [${dy.shape}]` : 'nothing'}`);
  for (const k of ['h', 'f'])
    for (let l = 0; l < L - 1; l++) {
      const t = ins[`${k}${l}`];
      if (t?.dtype !== 'float32' || t.shape.join() !== `${B},${widths[l]}`)
        throw new Error(`${MLP_GRAD_KERNEL}: ${k}${l} must be float32 [${B}, ${widths[l]}], got ${t ? `${t.dtype} [${t.shape}]` : 'nothing'}`);
    }
  const outs: TI[] = [b.makeOutput([B, Dx], 'float32'), b.makeOutput([B], 'float32')];
  for (let l = 0; l < L; l++) outs.push(b.makeOutput([fanIn[l] as number, widths[l] as number], 'float32'), b.makeOutput([widths[l] as number], 'float32'));
  if (attrs.affine) {
    mlpAffineInputs(MLP_GRAD_KERNEL, ins, B, widths[L - 1] as number, false);
    outs.push(b.makeOutput([B, widths[L - 1] as number], 'float32'), b.makeOutput((ins.cOut as TI).shape.slice(), 'float32'));
  }
  const o = (k: string): number => off(b, ins[k] as TI);
  const table: number[] = [o('dy'), o('x'), o('sigma'), o('freqs'), off(b, outs[0] as TI), off(b, outs[1] as TI)];
  for (let l = 0; l < L; l++) table.push(o(`w${l}`));
  for (const k of ['h', 'f']) for (let l = 0; l < L - 1; l++) table.push(o(`${k}${l}`));
  if (attrs.affine) table.push(o('cOut'), o('F'));
  for (const t of outs.slice(2)) table.push(off(b, t));
  const geometry = [B, Dx, E, EMBEDDING_CODE[attrs.embedding], L, attrs.masks ? 1 : 0, attrs.affine ? 1 : 0, ...widths];
  for (let l = 0; l < L; l++) geometry.push(engineCode(true, fanIn[l] as number, widths[l] as number, B));
  for (let l = 0; l < L; l++) geometry.push(engineCode(false, B, fanIn[l] as number, widths[l] as number));
  lib().mlpBackward(heap(b), Float64Array.from(table), Float64Array.from(geometry));
  return outs;
}

const DISTANCE_CODE = { l2: 0, l1: 1, 'pseudo-huber': 2 } as const;

/** [B, D, kind] of a weighted-distance call, checking its operands (these kernels have no fallback). */
function distanceGeometry(name: string, ins: Record<string, TI>, attrs: WeightedDistanceAttrs): number[] {
  const get = (k: string): TI => float32Input(name, ins, k);
  const x = get('x');
  const y = get('y');
  const w = get('weight');
  if (!(attrs.kind in DISTANCE_CODE)) throw new Error(`${name}: kind must be l2, l1 or pseudo-huber, got '${attrs.kind}'`);
  if (x.shape.length < 2 || size(x.shape) === 0) throw new Error(`${name}: x must be [B, ...] and not empty, got [${x.shape}]`);
  if (y.shape.join() !== x.shape.join()) throw new Error(`${name}: y must have x's shape [${x.shape}], got [${y.shape}]`);
  const B = x.shape[0] as number;
  if (w.shape.join() !== String(B)) throw new Error(`${name}: weight must be [${B}], got [${w.shape}]`);
  return [B, size(x.shape) / B, DISTANCE_CODE[attrs.kind]];
}

/** mean_b w_b·d(x_b, y_b), a scalar. */
function weightedDistanceKernel(args: KArgs): TI {
  const b = args.backend as BackendWasm;
  const attrs = args.attrs as unknown as WeightedDistanceAttrs;
  const g = distanceGeometry(WEIGHTED_DISTANCE_KERNEL, args.inputs, attrs);
  const out = b.makeOutput([], 'float32');
  const o = (k: string): number => off(b, args.inputs[k] as TI);
  lib().weightedDistance(heap(b), [o('x'), o('y'), o('weight'), off(b, out)], g, attrs.c);
  return out;
}

/** Its gradient: dx, dy, dweight. */
function weightedDistanceGradKernel(args: KArgs): TI[] {
  const b = args.backend as BackendWasm;
  const attrs = args.attrs as unknown as WeightedDistanceAttrs;
  const g = distanceGeometry(WEIGHTED_DISTANCE_GRAD_KERNEL, args.inputs, attrs);
  const up = args.inputs.g;
  if (up?.dtype !== 'float32' || size(up.shape) !== 1) throw new Error(`${WEIGHTED_DISTANCE_GRAD_KERNEL}: g must be a float32 scalar`);
  const ins = args.inputs;
  const x = ins.x as TI;
  const outs = [b.makeOutput(x.shape.slice(), 'float32'), b.makeOutput(x.shape.slice(), 'float32'), b.makeOutput([g[0] as number], 'float32')] as [TI, TI, TI];
  const o = (k: string): number => off(b, ins[k] as TI);
  lib().weightedDistanceGrad(heap(b), [off(b, up), o('x'), o('y'), o('weight'), ...outs.map((t) => off(b, t))], g, attrs.c);
  return outs;
}

/** The operands of a SiLU kernel: float32 tensors of one shape (the mask optional). */
function siluOperands(name: string, named: [string, TI | undefined][]): number {
  const first = named[0]?.[1];
  if (!first) throw new Error(`${name}: missing input ${named[0]?.[0]}`);
  for (const [k, t] of named) {
    if (!t) continue;
    if (t.dtype !== 'float32') throw new Error(`${name}: ${k} must be float32, got ${t.dtype}`);
    if (t.shape.join() !== first.shape.join()) throw new Error(`${name}: ${k} must have the shape [${first.shape}], got [${t.shape}]`);
  }
  const n = size(first.shape);
  if (n === 0) throw new Error(`${name}: empty input [${first.shape}]`);
  return n;
}

/** y = x·σ(x)·mask. */
function siluKernel(args: KArgs): TI {
  const b = args.backend as BackendWasm;
  const { x, mask } = args.inputs as { x: TI; mask?: TI };
  const n = siluOperands(SILU_KERNEL, [
    ['x', x],
    ['mask', mask],
  ]);
  const y = b.makeOutput(x.shape.slice(), 'float32');
  lib().silu(heap(b), off(b, x), mask ? off(b, mask) : -1, off(b, y), n);
  return y;
}

/** Its gradient: dx. */
function siluGradKernel(args: KArgs): TI {
  const b = args.backend as BackendWasm;
  const { dy, x, mask } = args.inputs as { dy: TI; x: TI; mask?: TI };
  const n = siluOperands(SILU_GRAD_KERNEL, [
    ['x', x],
    ['dy', dy],
    ['mask', mask],
  ]);
  const dx = b.makeOutput(x.shape.slice(), 'float32');
  lib().siluGrad(heap(b), off(b, dy), off(b, x), mask ? off(b, mask) : -1, off(b, dx), n);
  return dx;
}

const IMPLS: Record<NativeKernel, (args: KArgs) => TI | TI[]> = {
  Conv2D: (a) => conv2D(a, 'Conv2D'),
  FusedConv2D: (a) => conv2D(a, 'FusedConv2D'),
  Conv2DBackpropInput: conv2DBackpropInput,
  Conv2DBackpropFilter: conv2DBackpropFilter,
  BatchMatMul: (a) => matMul(a, 'BatchMatMul'),
  _FusedMatMul: (a) => matMul(a, '_FusedMatMul'),
  Concat: concat,
  SplitV: splitV,
  ResizeNearestNeighbor: resizeNearestNeighbor,
  Add: (a) => binary(a, 'Add'),
  Sub: (a) => binary(a, 'Sub'),
  Multiply: (a) => binary(a, 'Multiply'),
  [ADAM_KERNEL]: adamStep,
  [EMA_KERNEL]: emaStep,
  [GROUP_NORM_KERNEL]: groupNormKernel,
  [GROUP_NORM_GRAD_KERNEL]: groupNormGradKernel,
  [SILU_KERNEL]: siluKernel,
  [SILU_GRAD_KERNEL]: siluGradKernel,
  [MLP_KERNEL]: mlpKernel,
  [MLP_GRAD_KERNEL]: mlpGradKernel,
  [WEIGHTED_DISTANCE_KERNEL]: weightedDistanceKernel,
  [WEIGHTED_DISTANCE_GRAD_KERNEL]: weightedDistanceGradKernel,
};

let registered = false;

/**
 * Register the native kernels on 'wasm' over whatever is registered now (kept as each one's
 * fallback, setup function included), with `threads` threads for oneDNN and OpenBLAS. Throws when
 * the addon is not loadable (see `nativeLoadError()`).
 */
export function registerNativeKernels(threads: number): NativeInfo {
  const lib = loadNativeAddon();
  if (!lib) throw new Error(`ctlab native kernels: ${loadError ?? 'addon not loaded'}`);
  convEngine = envEngine('CTLAB_NATIVE_CONV', ['onednn', 'onednn-blocked', 'openblas', 'dnnl-sgemm'] as const, convEngine);
  gemmEngine = envEngine('CTLAB_NATIVE_GEMM', ['auto', 'openblas', 'onednn'] as const, gemmEngine);
  setNativeThreads(threads);
  if (!registered) {
    for (const name of REPLACED_KERNELS) {
      const prev = tf.getKernel(name, BACKEND);
      if (!prev) throw new Error(`ctlab native kernels: wasm has no ${name} kernel to fall back to`);
      previous.set(name, prev);
      tf.unregisterKernel(name, BACKEND);
      const cfg: tf.KernelConfig = { kernelName: name, backendName: BACKEND, kernelFunc: IMPLS[name] as unknown as tf.KernelFunc };
      if (prev.setupFunc) cfg.setupFunc = prev.setupFunc;
      if (prev.disposeFunc) cfg.disposeFunc = prev.disposeFunc;
      tf.registerKernel(cfg);
    }
    for (const name of ADDED_KERNELS) {
      if (tf.getKernel(name, BACKEND)) tf.unregisterKernel(name, BACKEND);
      tf.registerKernel({ kernelName: name, backendName: BACKEND, kernelFunc: IMPLS[name] as unknown as tf.KernelFunc });
    }
    setDropoutMaskFiller((out, state, p, keep) => lib.dropoutMask(out, state, p, keep));
    registered = true;
  }
  return nativeInfo();
}

/** Put back the kernels the native ones replaced (for A/B tests in one process). */
export function unregisterNativeKernels(): void {
  if (!registered) return;
  for (const name of REPLACED_KERNELS) {
    const prev = previous.get(name);
    tf.unregisterKernel(name, BACKEND);
    if (prev) tf.registerKernel(prev);
  }
  for (const name of ADDED_KERNELS) tf.unregisterKernel(name, BACKEND);
  setDropoutMaskFiller(null);
  previous.clear();
  registered = false;
}

export function nativeKernelsRegistered(): boolean {
  return registered;
}

/** Threads for oneDNN (OpenMP) and OpenBLAS. */
export function setNativeThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`native threads: expected a positive integer, got ${n}`);
  lib().setThreads(n);
  nativeThreads = n;
}

export function nativeInfo(): NativeInfo {
  if (!registered || !addon) return { active: false, reason: loadError ?? 'not registered' };
  const v = addon.versions();
  return {
    active: true,
    reason: 'addon loaded',
    onednn: `${v.onednn} (${v.onednnRuntime})`,
    openblas: v.openblas,
    simd: v.simd,
    threads: nativeThreads,
    convEngine,
    gemmEngine,
    ompWaitPolicy,
    kernels: [...NATIVE_KERNELS],
  };
}

/** The addon itself (tests and benchmarks), or null. */
export function nativeAddon(): NativeAddon | null {
  return loadNativeAddon();
}
