/**
 * Corrections to the pure-JS cpu backend, which is ctlab's test oracle, so its kernels have to be
 * right:
 *
 * - ResizeNearestNeighborGrad: tfjs-backend-cpu 4.22 offsets dy by the *input's* batch stride
 *   (`batchOffset + dyR * dyStrides[1]`, with batchOffset = b · imagesStrides[0]), so every image
 *   after the first reads the wrong part of dy: the U-Net's gradients were wrong for batch > 1.
 *   Replaced by the scatter the forward op implies: dx[b, r(y), c(x), :] += dy[b, y, x, :], with
 *   r(y) = min(H − 1, alignCorners ? round(y·s) : floor(y·s)) as the shipped kernel computes it.
 */
import * as tf from '@tensorflow/tfjs';

type TI = tf.TensorInfo;
interface CpuData {
  values: Float32Array;
}
interface CpuBackendLike {
  data: { get(id: unknown): CpuData };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): TI;
}

function resizeNearestNeighborGrad(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: tf.NamedAttrMap }): TI {
  const { images, dy } = args.inputs as { images: TI; dy: TI };
  const b = args.backend as CpuBackendLike;
  const alignCorners = Boolean(args.attrs.alignCorners);
  const [batch, xH, xW, depth] = images.shape as [number, number, number, number];
  const [, yH, yW] = dy.shape as [number, number, number, number];
  const dyv = b.data.get(dy.dataId).values;
  const out = new Float32Array(batch * xH * xW * depth);
  const scale = (x: number, y: number): number => (alignCorners && y > 1 ? x - 1 : x) / (alignCorners && y > 1 ? y - 1 : y);
  const hs = scale(xH, yH);
  const ws = scale(xW, yW);
  const src = (i: number, s: number, n: number): number => Math.min(n - 1, alignCorners ? Math.round(i * s) : Math.floor(i * s));
  for (let n = 0; n < batch; n++) {
    for (let y = 0; y < yH; y++) {
      const r = src(y, hs, xH);
      for (let x = 0; x < yW; x++) {
        const c = src(x, ws, xW);
        const from = ((n * yH + y) * yW + x) * depth;
        const to = ((n * xH + r) * xW + c) * depth;
        for (let d = 0; d < depth; d++) out[to + d] = (out[to + d] as number) + (dyv[from + d] as number);
      }
    }
  }
  return b.makeTensorInfo(images.shape.slice(), images.dtype, out);
}

let registered = false;

/** Put the corrected kernels on the 'cpu' backend (idempotent). */
export function registerCpuFixes(): void {
  if (registered) return;
  if (tf.getKernel('ResizeNearestNeighborGrad', 'cpu')) tf.unregisterKernel('ResizeNearestNeighborGrad', 'cpu');
  tf.registerKernel({ kernelName: 'ResizeNearestNeighborGrad', backendName: 'cpu', kernelFunc: resizeNearestNeighborGrad as unknown as tf.KernelFunc });
  registered = true;
}
