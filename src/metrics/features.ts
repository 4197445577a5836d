/**
 * Feature networks in the browser-safe core: the interface every image evaluator (FID/KID in
 * ./image-eval) and the LPIPS-style distance (../losses/lpips) use, the input preparation
 * (bilinear resize, channel and range mapping) and the shipped classifiers as feature nets on given
 * weights. Loading weights from disk (shipped names, checkpoint files, TF.js graph models) is the
 * Node shell's part: ./feature-net.
 *
 * Input handling: images are [B, H, W, C] in [−1, 1]. A different size is resized to the
 * net's input size with bilinear interpolation (half-pixel centres, edge-clamped, no antialiasing:
 * PyTorch's `interpolate(mode='bilinear', align_corners=False)`), done as two small matrix products
 * so that it is exactly differentiable on every backend. One channel is repeated to three for a
 * 3-channel net; three channels are averaged to one for a 1-channel net. Then the [−1, 1] range is
 * mapped linearly to the net's `inputRange`.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  CLASSIFIER_INPUT_SHAPE,
  ClassifierArch,
  classifierFeatureDim,
  classifierForward,
  classifierLayers,
  classifierParamSpecs,
  ShippedFeatureNetName,
} from './classifiers';

export interface FeatureNet {
  readonly name: string;
  /** Input the net expects; images of another size are resized (bilinear) to it first. */
  readonly inputShape: [number, number, number]; // [H, W, C]
  readonly featureDim: number;
  /** Penultimate features for FID/KID: images [B,H,W,C] in [−1, 1] -> [B, featureDim]. Call in a tidy. */
  features(images: tf.Tensor4D): tf.Tensor2D;
  /** Intermediate activations for the LPIPS-style distance (list of [B,h,w,c]). Call in a tidy. */
  layers(images: tf.Tensor4D): tf.Tensor4D[];
  dispose(): void;
}

/** The default evaluator for FID/KID. */
export const DEFAULT_FEATURE_NET: ShippedFeatureNetName = 'fmnist-cnn';

// ---------------------------------------------------------------------------------------------
// Input preparation

/**
 * Row-stochastic [outSize, inSize] matrix of 1-D bilinear interpolation with half-pixel centres:
 * output i samples input coordinate (i + ½)·in/out − ½, clamped to [0, in − 1].
 */
export function bilinearMatrix(inSize: number, outSize: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const scale = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const src = Math.min(inSize - 1, Math.max(0, (i + 0.5) * scale - 0.5));
    const i0 = Math.floor(src);
    const i1 = Math.min(inSize - 1, i0 + 1);
    const f = src - i0;
    m[i * inSize + i0] = (m[i * inSize + i0] as number) + (1 - f);
    m[i * inSize + i1] = (m[i * inSize + i1] as number) + f;
  }
  return m;
}

/** Bilinear resize of [B, H, W, C] to [B, outH, outW, C] as two matrix products (differentiable). */
export function resizeBilinear(x: tf.Tensor4D, outH: number, outW: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  if (h === outH && w === outW) return x;
  return tf.tidy(() => {
    const ry = tf.tensor2d(bilinearMatrix(h, outH), [outH, h]);
    const rx = tf.tensor2d(bilinearMatrix(w, outW), [outW, w]);
    // [B, H, W, C] -> [B, C, H, W] -> rows of W
    let t: tf.Tensor = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [b * c * h, w]);
    t = tf.matMul(t, rx, false, true); // [B·C·H, outW]
    t = tf.transpose(tf.reshape(t, [b * c, h, outW]), [0, 2, 1]); // [B·C, outW, H]
    t = tf.matMul(tf.reshape(t, [b * c * outW, h]), ry, false, true); // [B·C·outW, outH]
    return tf.transpose<tf.Tensor4D>(tf.reshape(t, [b, c, outW, outH]), [0, 3, 2, 1]);
  });
}

/**
 * Bring images [B, H, W, C] in [−1, 1] to a net's input: resize, channel repeat/average, and the
 * linear map of [−1, 1] onto `inputRange`.
 */
export function prepareImages(
  images: tf.Tensor4D,
  inputShape: readonly [number, number, number],
  inputRange: readonly [number, number] = [-1, 1],
): tf.Tensor4D {
  if (images.rank !== 4) throw new RangeError(`feature net: images must be [B, H, W, C], got rank ${images.rank}`);
  const [, h, w, c] = images.shape;
  const [H, W, C] = inputShape;
  let x = images;
  if (c !== C) {
    if (c === 1 && C === 3) x = tf.tile(x, [1, 1, 1, 3]);
    else if (c === 3 && C === 1) x = tf.mean(x, 3, true);
    else throw new RangeError(`feature net: images have ${c} channels, the net expects ${C} (only 1 <-> 3 is converted)`);
  }
  if (h !== H || w !== W) x = resizeBilinear(x, H, W);
  const [lo, hi] = inputRange;
  if (lo !== -1 || hi !== 1) x = tf.add(tf.mul(x, (hi - lo) / 2), (hi + lo) / 2);
  return x;
}

// ---------------------------------------------------------------------------------------------
// Shipped classifiers

/** A feature net on a ./classifiers architecture and its (frozen) weights. */
export class ClassifierFeatureNet implements FeatureNet {
  readonly inputShape: [number, number, number] = [...CLASSIFIER_INPUT_SHAPE];
  readonly featureDim: number;
  private params: tf.Tensor[];

  constructor(
    readonly name: string,
    readonly arch: ClassifierArch,
    weights: readonly Float32Array[],
  ) {
    const specs = classifierParamSpecs(arch);
    if (weights.length !== specs.length) throw new RangeError(`feature net ${name}: expected ${specs.length} weight arrays, got ${weights.length}`);
    this.params = specs.map((s, i) => {
      const data = weights[i] as Float32Array;
      const n = s.shape.reduce((a, b) => a * b, 1);
      if (data.length !== n) throw new RangeError(`feature net ${name}: weight ${s.name} has ${data.length} values, expected ${n} for [${s.shape}]`);
      return tf.keep(tf.tensor(data, s.shape));
    });
    this.featureDim = classifierFeatureDim(arch);
  }

  /** The weight tensors (owned by this net). */
  get weights(): readonly tf.Tensor[] {
    return this.params;
  }

  features(images: tf.Tensor4D): tf.Tensor2D {
    return classifierForward(this.arch, this.params, prepareImages(images, this.inputShape)).features;
  }

  layers(images: tf.Tensor4D): tf.Tensor4D[] {
    return classifierLayers(this.arch, this.params, prepareImages(images, this.inputShape));
  }

  /** Class logits [B, 10] (for accuracy checks). */
  logits(images: tf.Tensor4D): tf.Tensor2D {
    return classifierForward(this.arch, this.params, prepareImages(images, this.inputShape)).logits;
  }

  dispose(): void {
    tf.dispose(this.params);
    this.params = [];
  }
}

/** Load a classifier checkpoint written by bench/train-classifiers.ts. */
