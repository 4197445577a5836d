/**
 * Two small Fashion-MNIST classifiers, the kit's default feature networks for FID/KID
 * (./image-eval) and for the LPIPS-style distance (../losses/lpips). Plain tf ops on a list of
 * weight tensors (the style of ../models/unet), so the same code runs the trained, frozen nets
 * (weights in data/feature-nets/<name>.bin, the checkpoint format of ../training/checkpoint) and
 * trains them (bench/train-classifiers.ts).
 *
 * Input: [B, 28, 28, 1] in [−1, 1] (the model range of ../data/images). Two nets of different
 * architecture, activation and seed, so a result can be checked against a second, independent
 * evaluator (iCT's caution: a loss built on the evaluator's own features biases the evaluation —
 * train with one net's LPIPS, evaluate with the other):
 *
 * 'fmnist-cnn' (arch 'cnn', ReLU, seed 1), 98,442 parameters:
 *   conv3x3(1→16) ReLU [layer 0: 28×28×16] → avgpool 2
 *   conv3x3(16→32) ReLU [layer 1: 14×14×32] → avgpool 2
 *   conv3x3(32→64) ReLU [layer 2: 7×7×64] → avgpool 2 (valid: 3×3×64) → flatten 576
 *   dense(576→128) ReLU [features, 128] → dense(128→10) logits
 * 'fmnist-strided' (arch 'strided', ELU, seed 2), 76,666 parameters, no pooling:
 *   conv5x5(1→12) ELU [layer 0: 28×28×12]
 *   conv3x3/2(12→24) ELU [layer 1: 14×14×24]
 *   conv3x3/2(24→48) ELU [layer 2: 7×7×48]
 *   conv3x3/2 valid(48→48) ELU [3×3×48] → flatten 432
 *   dense(432→96) ELU [features, 96] → dense(96→10) logits
 * Convolutions are 'same'-padded unless marked valid. Initialisation: He normal (std √(2/fan_in)),
 * zero biases, drawn from Rng(seed, INIT_STREAM).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../util/rng';

export type ClassifierArch = 'cnn' | 'strided';

/** Names of the shipped classifiers (files data/feature-nets/<name>.bin). */
export const SHIPPED_FEATURE_NETS = ['fmnist-cnn', 'fmnist-strided'] as const;
export type ShippedFeatureNetName = (typeof SHIPPED_FEATURE_NETS)[number];

export interface ClassifierSpec {
  name: ShippedFeatureNetName;
  arch: ClassifierArch;
  /** Seed of the initialisation and of the training data order. */
  seed: number;
}

export const CLASSIFIER_SPECS: Readonly<Record<ShippedFeatureNetName, ClassifierSpec>> = {
  'fmnist-cnn': { name: 'fmnist-cnn', arch: 'cnn', seed: 1 },
  'fmnist-strided': { name: 'fmnist-strided', arch: 'strided', seed: 2 },
};

export const CLASSIFIER_INPUT_SHAPE: [number, number, number] = [28, 28, 1];
export const NUM_CLASSES = 10;
const INIT_STREAM = 0xc1a5;

export interface ClassifierParamSpec {
  name: string;
  shape: number[];
  /** Fan-in for He initialisation; 0 = a bias (zeros). */
  fanIn: number;
}

interface ConvLayer {
  kind: 'conv';
  name: string;
  k: number;
  cin: number;
  cout: number;
  stride: number;
  pad: 'same' | 'valid';
  /** Activation output reported by `layers()`. */
  tap: boolean;
  /** 2×2 average pooling (valid) after the activation. */
  pool: boolean;
}

interface ArchDef {
  act: 'relu' | 'elu';
  convs: ConvLayer[];
  /** Flattened size after the convolutions. */
  flat: number;
  featureDim: number;
}

const conv = (name: string, k: number, cin: number, cout: number, stride: number, pad: 'same' | 'valid', tap: boolean, pool: boolean): ConvLayer => ({
  kind: 'conv',
  name,
  k,
  cin,
  cout,
  stride,
  pad,
  tap,
  pool,
});

const ARCHS: Readonly<Record<ClassifierArch, ArchDef>> = {
  cnn: {
    act: 'relu',
    convs: [conv('conv1', 3, 1, 16, 1, 'same', true, true), conv('conv2', 3, 16, 32, 1, 'same', true, true), conv('conv3', 3, 32, 64, 1, 'same', true, true)],
    flat: 3 * 3 * 64,
    featureDim: 128,
  },
  strided: {
    act: 'elu',
    convs: [
      conv('conv1', 5, 1, 12, 1, 'same', true, false),
      conv('conv2', 3, 12, 24, 2, 'same', true, false),
      conv('conv3', 3, 24, 48, 2, 'same', true, false),
      conv('conv4', 3, 48, 48, 2, 'valid', false, false),
    ],
    flat: 3 * 3 * 48,
    featureDim: 96,
  },
};

function archDef(arch: ClassifierArch): ArchDef {
  const a = ARCHS[arch];
  if (a === undefined) throw new RangeError(`classifier: unknown arch '${String(arch)}', expected one of ${Object.keys(ARCHS).join(', ')}`);
  return a;
}

/** Feature dimension (penultimate dense layer) of an architecture. */
export function classifierFeatureDim(arch: ClassifierArch): number {
  return archDef(arch).featureDim;
}

/** Shapes [h, w, c] of the activations `layers()` reports for a 28×28×1 input. */
export function classifierLayerShapes(arch: ClassifierArch): [number, number, number][] {
  const a = archDef(arch);
  const out: [number, number, number][] = [];
  let h = 28;
  for (const c of a.convs) {
    h = c.pad === 'same' ? Math.ceil(h / c.stride) : Math.floor((h - c.k) / c.stride) + 1;
    if (c.tap) out.push([h, h, c.cout]);
    if (c.pool) h = Math.floor(h / 2);
  }
  return out;
}

/** The parameter list (order = the weight list order): per conv w [k,k,cin,cout], b; fc1; fc2. */
export function classifierParamSpecs(arch: ClassifierArch): ClassifierParamSpec[] {
  const a = archDef(arch);
  const specs: ClassifierParamSpec[] = [];
  for (const c of a.convs) {
    specs.push({ name: `${c.name}.w`, shape: [c.k, c.k, c.cin, c.cout], fanIn: c.k * c.k * c.cin });
    specs.push({ name: `${c.name}.b`, shape: [c.cout], fanIn: 0 });
  }
  specs.push({ name: 'fc1.w', shape: [a.flat, a.featureDim], fanIn: a.flat });
  specs.push({ name: 'fc1.b', shape: [a.featureDim], fanIn: 0 });
  specs.push({ name: 'fc2.w', shape: [a.featureDim, NUM_CLASSES], fanIn: a.featureDim });
  specs.push({ name: 'fc2.b', shape: [NUM_CLASSES], fanIn: 0 });
  return specs;
}

/** Number of parameters of an architecture. */
export function classifierNumParams(arch: ClassifierArch): number {
  return classifierParamSpecs(arch).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
}

/** He-normal initial weights, a pure function of (arch, seed). */
export function initClassifierParams(arch: ClassifierArch, seed: number): Float32Array[] {
  const rng = new Rng(seed, INIT_STREAM);
  return classifierParamSpecs(arch).map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (s.fanIn > 0) rng.fillNormal(data, 0, Math.sqrt(2 / s.fanIn));
    return data;
  });
}

export interface ClassifierOutputs {
  /** Tapped conv activations (after the nonlinearity), each [B, h, w, c]. */
  layers: tf.Tensor4D[];
  /** Penultimate features (after the nonlinearity), [B, featureDim]. */
  features: tf.Tensor2D;
  /** Class logits [B, 10]. */
  logits: tf.Tensor2D;
}

/**
 * Forward pass. `params` in `classifierParamSpecs(arch)` order; x [B, 28, 28, 1] in [−1, 1].
 * Call inside a tidy (or a gradient function).
 */
export function classifierForward(arch: ClassifierArch, params: readonly tf.Tensor[], x: tf.Tensor4D): ClassifierOutputs {
  const a = archDef(arch);
  const specs = classifierParamSpecs(arch);
  if (params.length !== specs.length) throw new RangeError(`classifier ${arch}: expected ${specs.length} weight tensors, got ${params.length}`);
  specs.forEach((s, i) => {
    const p = params[i] as tf.Tensor;
    if (!tf.util.arraysEqual(p.shape, s.shape)) throw new RangeError(`classifier ${arch}: weight ${s.name} has shape [${p.shape}], expected [${s.shape}]`);
  });
  if (x.rank !== 4 || x.shape[1] !== 28 || x.shape[2] !== 28 || x.shape[3] !== 1) {
    throw new RangeError(`classifier ${arch}: input must be [B, 28, 28, 1], got [${x.shape}]`);
  }
  const act = <T extends tf.Tensor>(t: T): T => (a.act === 'relu' ? tf.relu(t) : tf.elu(t));
  const layers: tf.Tensor4D[] = [];
  let h: tf.Tensor4D = x;
  let i = 0;
  for (const c of a.convs) {
    const w = params[i++] as tf.Tensor4D;
    const b = params[i++] as tf.Tensor1D;
    h = act(tf.add(tf.conv2d(h, w, c.stride, c.pad), b));
    if (c.tap) layers.push(h);
    if (c.pool) h = tf.avgPool(h, 2, 2, 'valid');
  }
  const batch = x.shape[0];
  const flat = tf.reshape(h, [batch, a.flat]);
  const features = act<tf.Tensor2D>(tf.add(tf.matMul(flat, params[i++] as tf.Tensor2D), params[i++] as tf.Tensor1D));
  const logits = tf.add<tf.Tensor2D>(tf.matMul(features, params[i++] as tf.Tensor2D), params[i++] as tf.Tensor1D);
  return { layers, features, logits };
}

/** Tapped activations only (skips the dense layers). Same contract as `classifierForward`. */
export function classifierLayers(arch: ClassifierArch, params: readonly tf.Tensor[], x: tf.Tensor4D): tf.Tensor4D[] {
  const a = archDef(arch);
  const act = <T extends tf.Tensor>(t: T): T => (a.act === 'relu' ? tf.relu(t) : tf.elu(t));
  const nTaps = a.convs.filter((c) => c.tap).length;
  const layers: tf.Tensor4D[] = [];
  let h: tf.Tensor4D = x;
  let i = 0;
  for (const c of a.convs) {
    if (layers.length === nTaps) break;
    h = act(tf.add(tf.conv2d(h, params[i] as tf.Tensor4D, c.stride, c.pad), params[i + 1] as tf.Tensor1D));
    i += 2;
    if (c.tap) layers.push(h);
    if (c.pool) h = tf.avgPool(h, 2, 2, 'valid');
  }
  return layers;
}

/** Mean softmax cross-entropy of logits [B, 10] against integer labels. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const onehot = tf.oneHot(tf.cast(labels, 'int32'), NUM_CLASSES);
  const lse = tf.logSumExp(logits, 1);
  const picked = tf.sum(tf.mul(logits, onehot), 1);
  return tf.mean(tf.sub(lse, picked));
}

/**
 * Classification accuracy of a net on a data set: images u8-derived model-range floats
 * ([n, 28, 28, 1] flat), labels [n]; batched forward passes.
 */
export function classifierAccuracy(arch: ClassifierArch, params: readonly tf.Tensor[], images: Float32Array, labels: Uint8Array, batchSize = 500): number {
  const n = labels.length;
  if (images.length !== n * 784) throw new RangeError(`classifierAccuracy: ${images.length} values for ${n} labels, expected n·784`);
  let correct = 0;
  for (let s = 0; s < n; s += batchSize) {
    const b = Math.min(batchSize, n - s);
    const pred = tf.tidy(() => {
      const x = tf.tensor4d(images.subarray(s * 784, (s + b) * 784), [b, 28, 28, 1]);
      return tf.argMax(classifierForward(arch, params, x).logits, 1);
    });
    const p = pred.dataSync();
    pred.dispose();
    for (let k = 0; k < b; k++) if (p[k] === labels[s + k]) correct++;
  }
  return correct / n;
}
