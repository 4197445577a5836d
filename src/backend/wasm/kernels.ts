/**
 * Training kernels for the TF.js wasm backend (tfjs-backend-wasm 4.22): the one it lacks
 * (`Conv2DBackpropFilter`) and faster versions of those that are slow for training. Each is built
 * from the backend's own XNNPACK kernels (called directly, so no tensors reach the engine), plus
 * small JS loops on the wasm heap.
 *
 * - Conv2DBackpropFilter: a convolution over transposed tensors: x as [Ci,H,W,N] (batch Ci, channels
 *   N), dy as the filter [Ho,Wo,N,Co], dilation = stride; output [Ci,KH,KW,Co] -> [KH,KW,Ci,Co];
 *   the batch is split into chunks of up to 8 samples whose results are summed.
 * - Conv2DBackpropInput: a convolution of dy (zero-inserted for stride > 1) with the flipped,
 *   in/out-swapped filter (the shipped kernel is a scalar loop).
 * - BatchMatMul with a transposed operand: transpose explicitly first (the shipped kernel falls back
 *   to a naive loop whenever an operand is transposed).
 * - _FusedMatMul with a transposed operand or a batch: BatchMatMul, Add, activation (the shipped
 *   kernel adds the bias per row there: wrong).
 * - Transpose of a 2-D matrix: as a 3-D transpose (the 2-D path is slow for tall matrices).
 * - Sum / Mean over a block of axes with an inner remainder: as a full-window AvgPool.
 * - Identity, and Cast to the same dtype: share the buffer (reference count), as Reshape does.
 * - Concat / SplitV of float32: block copies (the shipped ones copy element by element / slice).
 * - ResizeNearestNeighborGrad for integer factors: a block-sum AvgPool; AvgPoolGrad for
 *   non-overlapping windows: a nearest upsampling (both shipped kernels are slow loops).
 * - CtlabAdamStep / CtlabEmaStep: the fused optimizer update of src/optim (new buffers each step).
 *
 * Pitfalls: heap views must be taken after allocating outputs (heap growth detaches them), and no
 * buffer may be updated in place (XNNPACK caches packed weights by buffer id).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { ADAM_KERNEL, EMA_KERNEL } from '../../optim/index';

type TI = tf.TensorInfo;
type Attrs = Record<string, unknown>;

const BACKEND = 'wasm';
const originals = new Map<string, tf.KernelConfig>();

function original(name: string): tf.KernelFunc {
  const c = originals.get(name) ?? tf.getKernel(name, BACKEND);
  if (!c) throw new Error(`wasm backend has no kernel ${name}`);
  return c.kernelFunc;
}

/** Run one of the backend's shipped kernels on TensorInfos (results are not tracked by the engine). */
function run(b: BackendWasm, name: string, inputs: Record<string, TI>, attrs: Attrs = {}): TI {
  return original(name)({ inputs, backend: b, attrs: attrs as tf.NamedAttrMap }) as TI;
}

function free(b: BackendWasm, ...ts: TI[]): void {
  for (const t of ts) b.disposeData(t.dataId);
}

/** Number of elements of a shape. */
export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function heapF32(b: BackendWasm, t: TI): Float32Array {
  return b.typedArrayFromHeap(t) as Float32Array;
}

function reshape(b: BackendWasm, x: TI, shape: number[]): TI {
  return run(b, 'Reshape', { x }, { shape });
}

function transpose(b: BackendWasm, x: TI, perm: number[]): TI {
  return transposeKernel({ inputs: { x }, backend: b, attrs: { perm } });
}

// ---------------------------------------------------------------------------------------------
// Conv2D gradients

interface ConvArgs {
  inputs: Record<string, TI>;
  backend: BackendWasm;
  attrs: Attrs;
}

function convInfo(xShape: number[], filterShape: number[], attrs: Attrs): tf.backend_util.Conv2DInfo {
  const dataFormat = tf.backend_util.convertConv2DDataFormat((attrs.dataFormat as 'NHWC' | 'NCHW' | undefined) ?? 'NHWC');
  if (dataFormat !== 'channelsLast') throw new Error('wasm training kernels support only NHWC');
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as number | [number, number],
    1,
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    dataFormat,
  );
}

/** Conv2D with stride 1 and explicit padding, through the shipped XNNPACK kernel. */
function conv(b: BackendWasm, x: TI, filter: TI, pads: [number, number, number, number], dilations: [number, number]): TI {
  const [t, bo, l, r] = pads;
  const pad = [
    [0, 0],
    [t, bo],
    [l, r],
    [0, 0],
  ];
  return run(b, 'Conv2D', { x, filter }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations, dimRoundingMode: undefined });
}

/** Batch samples per chunk of the filter-gradient convolution (see conv2DBackpropFilter). */
let filterGradChunk = 8;
export function setFilterGradChunk(n: number): void {
  filterGradChunk = Math.max(1, Math.floor(n));
}

/** Copy a contiguous block of `src` (element offset, shape) into a new tensor. */
function block(b: BackendWasm, src: TI, offset: number, shape: number[]): TI {
  const out = b.makeOutput(shape, 'float32');
  const n = size(shape);
  heapF32(b, out).set(heapF32(b, src).subarray(offset, offset + n));
  return out;
}

function conv2DBackpropFilter(args: ConvArgs): TI {
  const b = args.backend;
  const { x, dy } = args.inputs as { x: TI; dy: TI };
  const filterShape = args.attrs.filterShape as [number, number, number, number];
  const ci = convInfo(x.shape, filterShape, args.attrs);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outHeight: Ho, outWidth: Wo, outChannels: Co } = ci;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = ci;
  const pt = ci.padInfo.top;
  const pl = ci.padInfo.left;
  let pb = KH + (Ho - 1) * sh - H - pt;
  let pr = KW + (Wo - 1) * sw - W - pl;
  const temps: TI[] = [];
  let xs: TI = x;
  let h2 = H;
  let w2 = W;
  if (pb < 0 || pr < 0) {
    // rows/cols of x that no output reads (valid padding with a stride): crop them
    h2 = H + Math.min(pb, 0);
    w2 = W + Math.min(pr, 0);
    xs = run(b, 'Slice', { x }, { begin: [0, 0, 0, 0], size: [N, h2, w2, Ci] });
    temps.push(xs);
    pb = Math.max(pb, 0);
    pr = Math.max(pr, 0);
  }
  // The batch is the reduction (GEMM K) dimension, and dy is the packed operand: chunks of the
  // batch keep it cache-sized. Layouts: x -> [chunks, Ci, H, W, Nc], dy -> [chunks, Ho, Wo, Nc, Co].
  let nc = 1;
  for (let c = Math.min(filterGradChunk, N); c >= 1; c--) {
    if (N % c === 0) {
      nc = N / c;
      break;
    }
  }
  const Nc = N / nc;
  const x5 = reshape(b, xs, [nc, Nc, h2, w2, Ci]);
  const xt = transpose(b, x5, [0, 4, 2, 3, 1]);
  const dy5 = reshape(b, dy, [nc, Nc, Ho, Wo, Co]);
  const dyt = transpose(b, dy5, [0, 2, 3, 1, 4]);
  temps.push(x5, xt, dy5, dyt);
  let acc: TI | null = null;
  const xChunk = Ci * h2 * w2 * Nc;
  const dyChunk = Ho * Wo * Nc * Co;
  for (let j = 0; j < nc; j++) {
    const xj = nc === 1 ? reshape(b, xt, [Ci, h2, w2, Nc]) : block(b, xt, j * xChunk, [Ci, h2, w2, Nc]);
    const dyj = nc === 1 ? reshape(b, dyt, [Ho, Wo, Nc, Co]) : block(b, dyt, j * dyChunk, [Ho, Wo, Nc, Co]);
    const g = conv(b, xj, dyj, [pt, pb, pl, pr], [sh, sw]); // [Ci, KH, KW, Co]
    free(b, xj, dyj);
    if (acc === null) acc = g;
    else {
      const av = heapF32(b, acc);
      const gv = heapF32(b, g);
      for (let i = 0; i < av.length; i++) av[i] = (av[i] as number) + (gv[i] as number);
      free(b, g);
    }
  }
  temps.push(acc as TI);
  const out = transpose(b, acc as TI, [1, 2, 0, 3]);
  free(b, ...temps);
  out.shape = [KH, KW, Ci, Co];
  return out;
}

function conv2DBackpropInput(args: ConvArgs): TI {
  const b = args.backend;
  const { dy, filter } = args.inputs as { dy: TI; filter: TI };
  const inputShape = args.attrs.inputShape as [number, number, number, number];
  const ci = convInfo(inputShape, filter.shape, args.attrs);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outHeight: Ho, outWidth: Wo, outChannels: Co } = ci;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = ci;
  // flipped filter with in/out swapped: F[kh,kw,co,ci] = W[KH-1-kh, KW-1-kw, ci, co]
  const f = b.makeOutput([KH, KW, Co, Ci], 'float32');
  let src: TI = dy;
  const temps: TI[] = [f];
  const Hu = (Ho - 1) * sh + 1;
  const Wu = (Wo - 1) * sw + 1;
  if (sh > 1 || sw > 1) {
    src = b.makeOutput([N, Hu, Wu, Co], 'float32');
    temps.push(src);
  }
  {
    const w = heapF32(b, filter);
    const fv = heapF32(b, f);
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const so = ((KH - 1 - kh) * KW + (KW - 1 - kw)) * Ci * Co;
        const d = (kh * KW + kw) * Co * Ci;
        for (let c = 0; c < Ci; c++) for (let o = 0; o < Co; o++) fv[d + o * Ci + c] = w[so + c * Co + o] as number;
      }
    }
    if (src !== dy) {
      const u = heapF32(b, src);
      const dv = heapF32(b, dy);
      u.fill(0);
      for (let n = 0; n < N; n++)
        for (let h = 0; h < Ho; h++)
          for (let x = 0; x < Wo; x++) {
            const s = ((n * Ho + h) * Wo + x) * Co;
            const d = ((n * Hu + h * sh) * Wu + x * sw) * Co;
            u.set(dv.subarray(s, s + Co), d);
          }
    }
  }
  const top = KH - 1 - ci.padInfo.top;
  const left = KW - 1 - ci.padInfo.left;
  const bottom = H + KH - 1 - Hu - top;
  const right = W + KW - 1 - Wu - left;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) {
    free(b, ...temps);
    return original('Conv2DBackpropInput')({ inputs: args.inputs, backend: b, attrs: args.attrs as tf.NamedAttrMap }) as TI;
  }
  const out = conv(b, src, f, [top, bottom, left, right], [1, 1]);
  free(b, ...temps);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Transpose, BatchMatMul, reductions, identity

function squeezePerm(shape: readonly number[], perm: readonly number[]): [number[], number[]] {
  const keep: number[] = [];
  shape.forEach((d, i) => {
    if (d !== 1) keep.push(i);
  });
  const newIndex = new Map(keep.map((axis, j) => [axis, j]));
  const newPerm = perm.filter((p) => shape[p] !== 1).map((p) => newIndex.get(p) as number);
  return [keep.map((i) => shape[i] as number), newPerm];
}

function transposeKernel(args: { inputs: Record<string, TI>; backend: unknown; attrs?: Attrs }): TI {
  const b = args.backend as BackendWasm;
  const x = args.inputs.x as TI;
  const perm = (args.attrs?.perm as number[]) ?? [];
  const [shape, p] = squeezePerm(x.shape, perm);
  const outShape = perm.map((i) => x.shape[i] as number);
  if (shape.length === 2 && p[0] === 1 && x.dtype === 'float32') {
    const [R, C] = shape as [number, number];
    // a tall 2-D transpose is much faster as [R1, R2, C] -> [C, R1, R2]
    let r1 = 1;
    if (R >= 64) {
      for (let d = Math.floor(Math.sqrt(R)); d >= 2; d--) {
        if (R % d === 0) {
          r1 = d;
          break;
        }
      }
    }
    if (r1 > 1) {
      const x3 = reshape(b, x, [r1, R / r1, C]);
      const t = run(b, 'Transpose', { x: x3 }, { perm: [2, 0, 1] });
      free(b, x3);
      t.shape = outShape;
      return t;
    }
  }
  return run(b, 'Transpose', { x }, { perm });
}

function batchMatMul(args: { inputs: Record<string, TI>; backend: unknown; attrs?: Attrs }): TI {
  const b = args.backend as BackendWasm;
  const { a, b: bb } = args.inputs as { a: TI; b: TI };
  const transposeA = (args.attrs?.transposeA as boolean) ?? false;
  const transposeB = (args.attrs?.transposeB as boolean) ?? false;
  if (!transposeA && !transposeB) return run(b, 'BatchMatMul', { a, b: bb }, { transposeA, transposeB });
  const swapLast = (t: TI): TI => {
    const r = t.shape.length;
    const perm = Array.from({ length: r }, (_, i) => i);
    perm[r - 1] = r - 2;
    perm[r - 2] = r - 1;
    return transpose(b, t, perm);
  };
  const at = transposeA ? swapLast(a) : a;
  const bt = transposeB ? swapLast(bb) : bb;
  const out = run(b, 'BatchMatMul', { a: at, b: bt }, { transposeA: false, transposeB: false });
  if (at !== a) free(b, at);
  if (bt !== bb) free(b, bt);
  return out;
}

const ACTIVATION_KERNELS: Record<string, string> = { relu: 'Relu', relu6: 'Relu6', elu: 'Elu', sigmoid: 'Sigmoid', leakyrelu: 'LeakyRelu', prelu: 'Prelu' };

/**
 * _FusedMatMul with a transposed operand or a batch: the shipped kernel adds the bias per row there
 * (wrong; right only for plain 2-D products), so: BatchMatMul (above), then Add and the activation.
 */
function fusedMatMul(args: { inputs: Record<string, TI>; backend: unknown; attrs?: Attrs }): TI {
  const b = args.backend as BackendWasm;
  const { a, b: bb, bias, preluActivationWeights } = args.inputs as { a: TI; b: TI; bias?: TI; preluActivationWeights?: TI };
  const attrs = args.attrs ?? {};
  const transposeA = (attrs.transposeA as boolean | undefined) ?? false;
  const transposeB = (attrs.transposeB as boolean | undefined) ?? false;
  const activation = (attrs.activation as string | undefined) ?? 'linear';
  const plain = !transposeA && !transposeB && size(a.shape.slice(0, -2)) === 1 && size(bb.shape.slice(0, -2)) === 1;
  const act = ACTIVATION_KERNELS[activation];
  if (plain || (activation !== 'linear' && !act)) return original('_FusedMatMul')({ inputs: args.inputs, backend: b, attrs: attrs as tf.NamedAttrMap }) as TI;
  let out = batchMatMul({ inputs: { a, b: bb }, backend: b, attrs: { transposeA, transposeB } });
  if (bias) {
    const withBias = run(b, 'Add', { a: out, b: bias });
    free(b, out);
    out = withBias;
  }
  if (act) {
    const inputs: Record<string, TI> = activation === 'prelu' ? { x: out, alpha: preluActivationWeights as TI } : { x: out };
    const activated = run(b, act, inputs, activation === 'leakyrelu' ? { alpha: attrs.leakyreluAlpha ?? 0.2 } : {});
    free(b, out);
    out = activated;
  }
  return out;
}

function normAxes(axis: unknown, rank: number): number[] {
  const list = axis === undefined || axis === null ? Array.from({ length: rank }, (_, i) => i) : Array.isArray(axis) ? (axis as number[]) : [axis as number];
  return Array.from(new Set(list.map((a) => (a < 0 ? a + rank : a)))).sort((p, q) => p - q);
}

function makeReduce(name: 'Sum' | 'Mean') {
  return (args: { inputs: Record<string, TI>; backend: unknown; attrs?: Attrs }): TI => {
    const b = args.backend as BackendWasm;
    const x = args.inputs.x as TI;
    const attrs = args.attrs ?? {};
    const rank = x.shape.length;
    const axes = normAxes(attrs.axis, rank);
    const keepDims = (attrs.keepDims as boolean) ?? false;
    const contiguous = axes.length > 0 && axes.every((a, i) => i === 0 || a === (axes[i - 1] as number) + 1);
    const first = axes[0] ?? 0;
    const last = axes[axes.length - 1] ?? 0;
    const A = size(x.shape.slice(0, first));
    const R = size(x.shape.slice(first, last + 1));
    const C = size(x.shape.slice(last + 1));
    if (x.dtype !== 'float32' || !contiguous || C === 1 || R <= 1 || size(x.shape) === 0) {
      return run(b, name, { x }, attrs);
    }
    const x4 = reshape(b, x, [A, R, 1, C]);
    const pooled = run(b, 'AvgPool', { x: x4 }, { filterSize: [R, 1], strides: [1, 1], pad: 'valid', dimRoundingMode: undefined });
    free(b, x4);
    if (name === 'Sum') {
      const v = heapF32(b, pooled);
      for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) * R; // fresh output buffer: not shared yet
    }
    const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    pooled.shape = outShape;
    return pooled;
  };
}

function identityKernel(args: { inputs: Record<string, TI>; backend: unknown }): TI {
  const b = args.backend as BackendWasm;
  const x = args.inputs.x as TI;
  if (x.dtype === 'string') return run(b, 'Identity', { x });
  b.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

function castKernel(args: { inputs: Record<string, TI>; backend: unknown; attrs?: Attrs }): TI {
  const b = args.backend as BackendWasm;
  const x = args.inputs.x as TI;
  if (x.dtype === args.attrs?.dtype && x.dtype !== 'string') {
    b.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
  }
  return run(b, 'Cast', { x }, args.attrs);
}

/** A kernel's `axis` attribute (a number or a one-element list, possibly negative) as 0..rank-1. */
export function parseAxis(axis: unknown, rank: number): number {
  const a = Array.isArray(axis) ? (axis[0] as number) : (axis as number);
  return a < 0 ? a + rank : a;
}

/**
 * Concat along an axis as row copies: `outer` rows; input i contributes `widths[i]` contiguous
 * values to each output row of `total` values. Inputs in kernel order ('0', '1', ...).
 */
export interface ConcatLayout {
  inputs: TI[];
  outer: number;
  widths: number[];
  total: number;
  outShape: number[];
}

/** Kernel inputs of Concat/SplitV in their numeric order. */
export function orderedInputs(inputs: Record<string, TI>): TI[] {
  return Object.keys(inputs)
    .sort((p, q) => Number(p) - Number(q))
    .map((k) => inputs[k] as TI);
}

export function concatLayout(inputs: TI[], axisAttr: unknown): ConcatLayout {
  const first = inputs[0] as TI;
  const axis = parseAxis(axisAttr, first.shape.length);
  const widths = inputs.map((t) => size(t.shape.slice(axis)));
  const outShape = first.shape.slice();
  outShape[axis] = inputs.reduce((a, t) => a + (t.shape[axis] as number), 0);
  return { inputs, outer: size(first.shape.slice(0, axis)), widths, total: widths.reduce((a, c) => a + c, 0), outShape };
}

/**
 * SplitV as row copies: `outer` rows of `total` values in x; part i takes `widths[i]` contiguous
 * values of each row and has shape `shapes[i]`.
 */
export interface SplitLayout {
  outer: number;
  widths: number[];
  total: number;
  shapes: number[][];
}

export function splitVLayout(x: TI, attrs: Attrs | undefined): SplitLayout {
  const axis = parseAxis(attrs?.axis, x.shape.length);
  const sizes = tf.backend_util.prepareSplitSize(x, attrs?.numOrSizeSplits as number | number[], axis);
  const rest = size(x.shape.slice(axis + 1));
  const shapes = sizes.map((sz) => {
    const shape = x.shape.slice();
    shape[axis] = sz;
    return shape;
  });
  return { outer: size(x.shape.slice(0, axis)), widths: sizes.map((sz) => sz * rest), total: (x.shape[axis] as number) * rest, shapes };
}

/** Concat of float32 tensors: block copies (the shipped kernel copies element by element). */
function concatKernel(args: { inputs: Record<string, TI>; backend: unknown; attrs?: Attrs }): TI {
  const b = args.backend as BackendWasm;
  const inputs = orderedInputs(args.inputs);
  const first = inputs[0];
  if (first?.dtype !== 'float32' || inputs.length < 2 || inputs.some((t) => size(t.shape) === 0)) {
    return original('Concat')({ inputs: args.inputs, backend: b, attrs: (args.attrs ?? {}) as tf.NamedAttrMap }) as TI;
  }
  const { outer, widths, total, outShape } = concatLayout(inputs, args.attrs?.axis);
  const out = b.makeOutput(outShape, 'float32');
  const o = heapF32(b, out);
  const vs = inputs.map((t) => heapF32(b, t));
  let off = 0;
  vs.forEach((v, i) => {
    const w = widths[i] as number;
    for (let r = 0; r < outer; r++) o.set(v.subarray(r * w, r * w + w), r * total + off);
    off += w;
  });
  return out;
}

/** SplitV of float32 tensors: block copies (the shipped kernel slices each part). */
function splitVKernel(args: { inputs: Record<string, TI>; backend: unknown; attrs?: Attrs }): TI[] {
  const b = args.backend as BackendWasm;
  const x = args.inputs.x as TI;
  if (x.dtype !== 'float32') return original('SplitV')({ inputs: args.inputs, backend: b, attrs: (args.attrs ?? {}) as tf.NamedAttrMap }) as TI[];
  const { outer, widths, total, shapes } = splitVLayout(x, args.attrs);
  const outs = shapes.map((shape) => b.makeOutput(shape, 'float32'));
  const v = heapF32(b, x);
  let off = 0;
  outs.forEach((out, i) => {
    const w = widths[i] as number;
    const o = heapF32(b, out);
    for (let r = 0; r < outer; r++) o.set(v.subarray(r * total + off, r * total + off + w), r * w);
    off += w;
  });
  return outs;
}

function pair(v: unknown): [number, number] {
  return Array.isArray(v) ? [v[0] as number, (v[1] ?? v[0]) as number] : [v as number, v as number];
}

/**
 * Gradient of an exact 2x (or kxk) nearest-neighbour upsampling: the sum over each block, as an
 * AvgPool times the block size (the shipped kernel is slow; the cpu backend's is wrong for batch > 1).
 */
function resizeNearestNeighborGrad(args: { inputs: Record<string, TI>; backend: unknown; attrs?: Attrs }): TI {
  const b = args.backend as BackendWasm;
  const { images, dy } = args.inputs as { images: TI; dy: TI };
  const [N, h, w, C] = images.shape as [number, number, number, number];
  const [, H, W] = dy.shape as [number, number, number, number];
  const kh = H / h;
  const kw = W / w;
  const exact = Number.isInteger(kh) && Number.isInteger(kw) && kh >= 1 && kw >= 1 && !(args.attrs?.alignCorners as boolean);
  if (!exact || dy.dtype !== 'float32' || N === 0 || C === 0) {
    return original('ResizeNearestNeighborGrad')({ inputs: args.inputs, backend: b, attrs: (args.attrs ?? {}) as tf.NamedAttrMap }) as TI;
  }
  // halfPixelCenters with an integer factor k: source = floor((d + 0.5)/k) = floor(d/k) as well
  const out = run(b, 'AvgPool', { x: dy }, { filterSize: [kh, kw], strides: [kh, kw], pad: 'valid', dimRoundingMode: undefined });
  const v = heapF32(b, out);
  const k = kh * kw;
  for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) * k;
  return out;
}

/** AvgPool gradient for non-overlapping windows (filter = stride, valid): nearest upsampling / k. */
function avgPoolGrad(args: { inputs: Record<string, TI>; backend: unknown; attrs?: Attrs }): TI {
  const b = args.backend as BackendWasm;
  const { dy, input } = args.inputs as { dy: TI; input: TI };
  const [fh, fw] = pair(args.attrs?.filterSize);
  const [sh, sw] = pair(args.attrs?.strides);
  const [, H, W] = input.shape as [number, number, number, number];
  const [, ho, wo] = dy.shape as [number, number, number, number];
  const simple = fh === sh && fw === sw && args.attrs?.pad === 'valid' && ho * fh === H && wo * fw === W && dy.dtype === 'float32';
  if (!simple) return original('AvgPoolGrad')({ inputs: args.inputs, backend: b, attrs: (args.attrs ?? {}) as tf.NamedAttrMap }) as TI;
  const out = run(b, 'ResizeNearestNeighbor', { images: dy }, { size: [H, W], alignCorners: false, halfPixelCenters: false });
  const v = heapF32(b, out);
  const inv = 1 / (fh * fw);
  for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) * inv;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Fused optimizer kernels (see src/optim): one call updates every variable.

function adamStep(args: { inputs: Record<string, TI>; backend: unknown; attrs?: Attrs }): TI[] {
  const b = args.backend as BackendWasm;
  const at = args.attrs ?? {};
  const n = at.n as number;
  const beta1 = at.beta1 as number;
  const beta2 = at.beta2 as number;
  const stepSize = at.stepSize as number;
  const vScale = at.vScale as number;
  const eps = at.eps as number;
  const wd = at.weightDecay as number;
  const adaptive = at.adaptive as boolean;
  const ins = (k: string): TI => args.inputs[k] as TI;
  const outs: TI[] = [];
  for (let i = 0; i < n; i++) outs.push(b.makeOutput(ins(`p${i}`).shape, 'float32'));
  for (let i = 0; i < n; i++) outs.push(b.makeOutput(ins(`p${i}`).shape, 'float32'));
  for (let i = 0; i < n; i++) outs.push(b.makeOutput(ins(`p${i}`).shape, 'float32'));
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  for (let i = 0; i < n; i++) {
    const p = heapF32(b, ins(`p${i}`));
    const g = heapF32(b, ins(`g${i}`));
    const m = heapF32(b, ins(`m${i}`));
    const v = heapF32(b, ins(`v${i}`));
    const po = heapF32(b, outs[i] as TI);
    const mo = heapF32(b, outs[n + i] as TI);
    const vo = heapF32(b, outs[2 * n + i] as TI);
    const len = p.length;
    for (let j = 0; j < len; j++) {
      const pj = p[j] as number;
      const gj = wd !== 0 ? (g[j] as number) + wd * pj : (g[j] as number);
      const mj = beta1 * (m[j] as number) + c1 * gj;
      const vj = beta2 * (v[j] as number) + c2 * gj * gj;
      mo[j] = mj;
      vo[j] = vj;
      po[j] = adaptive ? pj - (stepSize * mj) / (Math.sqrt(vj) * vScale + eps) : pj - stepSize * mj;
    }
  }
  return outs;
}

function emaStep(args: { inputs: Record<string, TI>; backend: unknown; attrs?: Attrs }): TI[] {
  const b = args.backend as BackendWasm;
  const n = args.attrs?.n as number;
  const rate = args.attrs?.rate as number;
  const outs: TI[] = [];
  for (let i = 0; i < n; i++) outs.push(b.makeOutput((args.inputs[`t${i}`] as TI).shape, 'float32'));
  const c = 1 - rate;
  for (let i = 0; i < n; i++) {
    const t = heapF32(b, args.inputs[`t${i}`] as TI);
    const s = heapF32(b, args.inputs[`s${i}`] as TI);
    const o = heapF32(b, outs[i] as TI);
    if (rate === 0) o.set(s);
    else for (let j = 0; j < t.length; j++) o[j] = rate * (t[j] as number) + c * (s[j] as number);
  }
  return outs;
}

// ---------------------------------------------------------------------------------------------

export const TRAINING_KERNELS = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'BatchMatMul',
  '_FusedMatMul',
  'Transpose',
  'Sum',
  'Mean',
  'Identity',
  'Cast',
  'Concat',
  'SplitV',
  'ResizeNearestNeighborGrad',
  'AvgPoolGrad',
  ADAM_KERNEL,
  EMA_KERNEL,
] as const;
export type TrainingKernel = (typeof TRAINING_KERNELS)[number];

const IMPLS: Record<TrainingKernel, tf.KernelFunc> = {
  Conv2DBackpropFilter: conv2DBackpropFilter as unknown as tf.KernelFunc,
  Conv2DBackpropInput: conv2DBackpropInput as unknown as tf.KernelFunc,
  BatchMatMul: batchMatMul as unknown as tf.KernelFunc,
  _FusedMatMul: fusedMatMul as unknown as tf.KernelFunc,
  Transpose: transposeKernel as unknown as tf.KernelFunc,
  Sum: makeReduce('Sum') as unknown as tf.KernelFunc,
  Mean: makeReduce('Mean') as unknown as tf.KernelFunc,
  Identity: identityKernel as unknown as tf.KernelFunc,
  Cast: castKernel as unknown as tf.KernelFunc,
  Concat: concatKernel as unknown as tf.KernelFunc,
  SplitV: splitVKernel as unknown as tf.KernelFunc,
  ResizeNearestNeighborGrad: resizeNearestNeighborGrad as unknown as tf.KernelFunc,
  AvgPoolGrad: avgPoolGrad as unknown as tf.KernelFunc,
  [ADAM_KERNEL]: adamStep as unknown as tf.KernelFunc,
  [EMA_KERNEL]: emaStep as unknown as tf.KernelFunc,
};

let registered: TrainingKernel[] = [];

/**
 * Register the training kernels for 'wasm' (all, or the subset given). Must run before the wasm
 * backend initialises: an overridden kernel keeps the shipped one's setup function, which the backend
 * runs at initialisation. Idempotent.
 */
export function registerTrainingKernels(which: readonly TrainingKernel[] = TRAINING_KERNELS): TrainingKernel[] {
  for (const name of which) {
    if (registered.includes(name)) continue;
    const shipped = tf.getKernel(name, BACKEND);
    if (shipped && !originals.has(name)) {
      originals.set(name, shipped);
      tf.unregisterKernel(name, BACKEND);
    }
    const cfg: tf.KernelConfig = { kernelName: name, backendName: BACKEND, kernelFunc: IMPLS[name] };
    if (shipped?.setupFunc) cfg.setupFunc = shipped.setupFunc;
    tf.registerKernel(cfg);
    registered.push(name);
  }
  return registered.slice();
}

/** Restore the shipped kernels (for tests and A/B timings); must run before the backend initialises
 * to take effect for setup functions (they are kept on both versions, so it also works after). */
export function unregisterTrainingKernels(which: readonly TrainingKernel[] = TRAINING_KERNELS): void {
  for (const name of which) {
    if (!registered.includes(name)) continue;
    tf.unregisterKernel(name, BACKEND);
    const shipped = originals.get(name);
    if (shipped) tf.registerKernel(shipped);
    registered = registered.filter((k) => k !== name);
  }
}

export function registeredTrainingKernels(): TrainingKernel[] {
  return registered.slice();
}
