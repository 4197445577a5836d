/**
 * LPIPS-style perceptual distance (Zhang, Isola, Efros, Shechtman & Wang 2018, "The Unreasonable
 * Effectiveness of Deep Features as a Perceptual Metric"), the distance CM used for its best CT
 * runs (ict-facts §2; iCT replaced it by Pseudo-Huber, partly because a loss built on the
 * evaluator's network biases the evaluation, §3).
 *
 * For images x, y and chosen layers l with activations f_l [B, h_l, w_l, c_l]:
 *   f̂ = f / ‖f‖₂ over channels at every position (LPIPS `normalize_tensor`; here
 *       f·(Σ_c f² + ε²)^(−½), ε = 1e-10, which differs from LPIPS's f/(‖f‖ + ε) by < 1e-9 relative
 *       and keeps the gradient finite at f = 0),
 *   d(x, y) = Σ_l mean_{h,w} Σ_c w_{l,c} (f̂_l(x) − f̂_l(y))²,
 * one value per example, differentiable in x and y (gradients flow through the frozen net: its
 * weights are constants, not variables).
 *
 * Two sources of networks and weights:
 * - `createLpips(net)` / `loadDefaultLpips(name)`: a kit feature net (default the shipped
 *   Fashion-MNIST classifier 'fmnist-cnn', ../metrics/classifiers) with UNIFORM weights w_{l,c} = 1.
 *   These are NOT learned LPIPS weights: nobody calibrated them against human judgements; it is an
 *   "LPIPS-like" distance on a small classifier's features. If you train with it, evaluate with the
 *   other shipped net ('fmnist-strided') so the loss and the evaluator do not share features.
 * - `loadLpips(dir)`: real LPIPS weights (AlexNet or VGG16 backbone + the learned linear heads
 *   lin0..lin4, version 0.1), in this kit's format (below), run as plain tf ops.
 *
 * Format of an LPIPS folder for `loadLpips(dir)`:
 *   dir/lpips.json  { "net": "alexnet" | "vgg16", "weights": "lpips.bin", "resize": 224 }
 *     - weights: checkpoint file name (default "lpips.bin"), format of ../training/checkpoint;
 *     - resize: images are resized (bilinear) to resize × resize before the backbone (default 224,
 *       as CM's LPIPS loss upsampled 32×32 CIFAR-10 to 224); null keeps the input size (AlexNet
 *       needs at least 32×32, VGG16 at least 16×16).
 *   dir/<weights>  tensors
 *     conv{i}.w  [k, k, c_in, c_out]  (TF's HWIO layout; from PyTorch's [c_out, c_in, k, k] weight
 *                                      permute (2, 3, 1, 0)), conv{i}.b [c_out], i = 1..5 (AlexNet)
 *                                      or 1..13 (VGG16) in the order of torchvision's `features`;
 *     lin{l}.w   [c_l]                (LPIPS's `lin{l}.model.1.weight` [1, c_l, 1, 1] flattened;
 *                                      must be ≥ 0), l = 0..4.
 * Input: images in [−1, 1], grayscale repeated to 3 channels, then LPIPS's ScalingLayer
 * (x − shift)/scale with shift = [−.030, −.088, −.188], scale = [.458, .448, .450].
 * AlexNet (torchvision): conv 11×11/4 pad 2 (3→64) ReLU [tap 0], maxpool 3/2, conv 5×5 pad 2
 * (64→192) ReLU [tap 1], maxpool 3/2, conv 3×3 pad 1 (192→384) ReLU [tap 2], conv 3×3 (384→256) ReLU
 * [tap 3], conv 3×3 (256→256) ReLU [tap 4]. VGG16: 3×3 pad 1 convs 64,64 | 128,128 | 256×3 | 512×3 |
 * 512×3 with ReLU, 2×2 maxpool between the groups, taps relu1_2, relu2_2, relu3_3, relu4_3, relu5_3.
 */
import * as tf from '@tensorflow/tfjs-core';
import { prepareImages, type FeatureNet } from '../metrics/features';

/** LPIPS's ScalingLayer constants (lpips/pretrained_networks.py / lpips.py, version 0.1). */
export const LPIPS_SHIFT = [-0.03, -0.088, -0.188] as const;
export const LPIPS_SCALE = [0.458, 0.448, 0.45] as const;
export const LPIPS_EPS = 1e-10;

export type LpipsBackboneName = 'alexnet' | 'vgg16';

/** Per-layer channel counts of the LPIPS taps. */
export const LPIPS_CHANNELS: Readonly<Record<LpipsBackboneName, readonly number[]>> = {
  alexnet: [64, 192, 384, 256, 256],
  vgg16: [64, 128, 256, 512, 512],
};

export interface PerceptualDistance {
  readonly name: string;
  /** The feature net whose layers are compared. */
  readonly net: FeatureNet;
  /** Per-example distance [B] of image batches [B, H, W, C] in [−1, 1]. Differentiable; call in a tidy. */
  distance(x: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor1D;
  dispose(): void;
}

/**
 * The LPIPS head: per-layer channel normalisation, squared difference, channel weights (null =
 * all 1), spatial mean, sum over layers → [B]. `fx[l]` and `fy[l]` are [B, h, w, c] activations.
 */
export function lpipsFromLayers(
  fx: readonly tf.Tensor4D[],
  fy: readonly tf.Tensor4D[],
  weights: readonly (tf.Tensor1D | null)[] = [],
  eps = LPIPS_EPS,
): tf.Tensor1D {
  if (fx.length !== fy.length || fx.length === 0) throw new RangeError(`lpips: ${fx.length} and ${fy.length} layers, expected the same positive number`);
  if (weights.length !== 0 && weights.length !== fx.length) throw new RangeError(`lpips: ${weights.length} weight vectors for ${fx.length} layers`);
  let total: tf.Tensor1D | null = null;
  fx.forEach((a, l) => {
    const b = fy[l] as tf.Tensor4D;
    if (!tf.util.arraysEqual(a.shape, b.shape)) throw new RangeError(`lpips: layer ${l} shapes [${a.shape}] and [${b.shape}] differ`);
    const [bs, h, w, c] = a.shape;
    const norm = (f: tf.Tensor4D): tf.Tensor4D => tf.mul(f, tf.rsqrt(tf.add(tf.sum(tf.square(f), 3, true), eps * eps)));
    const diff2 = tf.reshape(tf.square(tf.sub(norm(a), norm(b))), [bs * h * w, c]);
    const wl = weights[l] ?? null;
    let perPos: tf.Tensor;
    if (wl === null) perPos = tf.sum(diff2, 1);
    else {
      if (wl.shape[0] !== c) throw new RangeError(`lpips: layer ${l} has ${c} channels but ${wl.shape[0]} weights`);
      perPos = tf.matMul(diff2, tf.reshape(wl, [c, 1]));
    }
    const d = tf.mean<tf.Tensor1D>(tf.reshape(perPos, [bs, h * w]), 1);
    total = total === null ? d : tf.add<tf.Tensor1D>(total, d);
  });
  return total as unknown as tf.Tensor1D;
}

export interface CreateLpipsOptions {
  /** Per-layer channel weights (length = that layer's channels, ≥ 0); default all 1 (NOT learned). */
  weights?: readonly Float32Array[];
  eps?: number;
  /** Dispose the net with the distance (default false). */
  ownsNet?: boolean;
  name?: string;
}

/** An LPIPS-style distance on a feature net's `layers()`. */
export function createLpips(net: FeatureNet, opts: CreateLpipsOptions = {}): PerceptualDistance {
  let weights: tf.Tensor1D[] = [];
  if (opts.weights !== undefined) {
    weights = opts.weights.map((w, l) => {
      for (let i = 0; i < w.length; i++) {
        if (!((w[i] as number) >= 0)) throw new RangeError(`lpips: weight ${i} of layer ${l} is ${w[i]}, expected ≥ 0`);
      }
      return tf.keep(tf.tensor1d(w));
    });
  }
  const eps = opts.eps ?? LPIPS_EPS;
  return {
    name: opts.name ?? `lpips-like(${net.name}${opts.weights === undefined ? ', uniform weights' : ''})`,
    net,
    distance(x: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor1D {
      if (!tf.util.arraysEqual(x.shape, y.shape)) throw new RangeError(`lpips: image shapes [${x.shape}] and [${y.shape}] differ`);
      return lpipsFromLayers(net.layers(x), net.layers(y), weights, eps);
    },
    dispose(): void {
      tf.dispose(weights);
      weights = [];
      if (opts.ownsNet === true) net.dispose();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Real LPIPS backbones

export interface BackboneConv {
  k: number;
  stride: number;
  pad: number;
  cin: number;
  cout: number;
  /** Max pooling (window, stride) before this conv. */
  poolBefore?: [number, number];
  tap: boolean;
}

export function backboneLayout(net: LpipsBackboneName): BackboneConv[] {
  if (net === 'alexnet') {
    return [
      { k: 11, stride: 4, pad: 2, cin: 3, cout: 64, tap: true },
      { k: 5, stride: 1, pad: 2, cin: 64, cout: 192, poolBefore: [3, 2], tap: true },
      { k: 3, stride: 1, pad: 1, cin: 192, cout: 384, poolBefore: [3, 2], tap: true },
      { k: 3, stride: 1, pad: 1, cin: 384, cout: 256, tap: true },
      { k: 3, stride: 1, pad: 1, cin: 256, cout: 256, tap: true },
    ];
  }
  if (net === 'vgg16') {
    const groups = [
      [64, 64],
      [128, 128],
      [256, 256, 256],
      [512, 512, 512],
      [512, 512, 512],
    ];
    const out: BackboneConv[] = [];
    let cin = 3;
    groups.forEach((g, gi) => {
      g.forEach((cout, j) => {
        out.push({ k: 3, stride: 1, pad: 1, cin, cout, tap: j === g.length - 1, ...(gi > 0 && j === 0 ? { poolBefore: [2, 2] as [number, number] } : {}) });
        cin = cout;
      });
    });
    return out;
  }
  throw new RangeError(`lpips: unknown backbone '${String(net)}', expected alexnet or vgg16`);
}

/** Tensor names and shapes of an LPIPS weights file for a backbone (conv{i}.w/b, lin{l}.w). */
export function lpipsWeightSpecs(net: LpipsBackboneName): { name: string; shape: number[] }[] {
  const specs: { name: string; shape: number[] }[] = [];
  backboneLayout(net).forEach((c, i) => {
    specs.push({ name: `conv${i + 1}.w`, shape: [c.k, c.k, c.cin, c.cout] });
    specs.push({ name: `conv${i + 1}.b`, shape: [c.cout] });
  });
  LPIPS_CHANNELS[net].forEach((c, l) => specs.push({ name: `lin${l}.w`, shape: [c] }));
  return specs;
}

/** An AlexNet / VGG16 feature extractor (the LPIPS taps) as a FeatureNet. */
export class LpipsBackbone implements FeatureNet {
  readonly name: string;
  readonly inputShape: [number, number, number];
  readonly featureDim: number;
  private readonly layout: BackboneConv[];
  private convs: { w: tf.Tensor4D; b: tf.Tensor1D }[];
  private readonly shift: tf.Tensor1D;
  private readonly scale: tf.Tensor1D;

  /**
   * @param weights conv weights in layout order ([k,k,cin,cout] and [cout] arrays)
   * @param resize input size (square) images are resized to; null keeps the size (then
   *   `inputShape` reports [0, 0, 3] and no resize happens).
   */
  constructor(
    readonly backbone: LpipsBackboneName,
    weights: readonly { w: Float32Array; b: Float32Array }[],
    readonly resize: number | null = 224,
  ) {
    this.layout = backboneLayout(backbone);
    if (weights.length !== this.layout.length) throw new RangeError(`lpips ${backbone}: expected ${this.layout.length} conv layers, got ${weights.length}`);
    this.convs = this.layout.map((c, i) => {
      const wt = weights[i] as { w: Float32Array; b: Float32Array };
      if (wt.w.length !== c.k * c.k * c.cin * c.cout || wt.b.length !== c.cout) throw new RangeError(`lpips ${backbone}: conv${i + 1} has the wrong size`);
      return { w: tf.keep(tf.tensor4d(wt.w, [c.k, c.k, c.cin, c.cout])), b: tf.keep(tf.tensor1d(wt.b)) };
    });
    this.shift = tf.keep(tf.tensor1d([...LPIPS_SHIFT]));
    this.scale = tf.keep(tf.tensor1d([...LPIPS_SCALE]));
    this.name = `lpips-${backbone}`;
    this.inputShape = resize === null ? [0, 0, 3] : [resize, resize, 3];
    this.featureDim = LPIPS_CHANNELS[backbone][4] as number;
  }

  layers(images: tf.Tensor4D): tf.Tensor4D[] {
    const [, h, w] = images.shape;
    const shape: [number, number, number] = this.resize === null ? [h, w, 3] : [this.resize, this.resize, 3];
    let x = tf.div<tf.Tensor4D>(tf.sub(prepareImages(images, shape), this.shift), this.scale);
    const taps: tf.Tensor4D[] = [];
    this.layout.forEach((c, i) => {
      if (c.poolBefore) x = tf.maxPool(x, c.poolBefore[0], c.poolBefore[1], 'valid');
      const cv = this.convs[i] as { w: tf.Tensor4D; b: tf.Tensor1D };
      if (x.shape[1] + 2 * c.pad < c.k || x.shape[2] + 2 * c.pad < c.k) {
        throw new RangeError(`lpips ${this.backbone}: input ${h}x${w} is too small (conv${i + 1} sees ${x.shape[1]}x${x.shape[2]})`);
      }
      x = tf.relu(tf.add(tf.conv2d(x, cv.w, c.stride, c.pad), cv.b)) as tf.Tensor4D;
      if (c.tap) taps.push(x);
    });
    return taps;
  }

  /** Spatial mean of the last tap, [B, c]. */
  features(images: tf.Tensor4D): tf.Tensor2D {
    const taps = this.layers(images);
    return tf.mean<tf.Tensor2D>(taps[taps.length - 1] as tf.Tensor4D, [1, 2]);
  }

  dispose(): void {
    for (const c of this.convs) tf.dispose([c.w, c.b]);
    this.convs = [];
    tf.dispose([this.shift, this.scale]);
  }
}
