/**
 * A small U-Net for images (NHWC), as plain tf ops (no tfjs-layers), in two forms:
 * - `UNetNetwork` implements `Network` (./types): the raw F_θ as a pure function of a weight list,
 *   what the trainer uses (student, teacher and EMA are three weight lists);
 * - `UNet` / `createUNet` own `tf.Variable`s and apply the CM parametrization
 *   f_θ(x, σ) = c_skip(σ)·x + c_out(σ)·F_θ(c_in(σ)·x, c_noise(σ)) (src/consistency/scalings).
 *
 * Layout (levels = channels.length, resolution halves per level):
 *   emb   = Dense(E) ∘ SiLU ∘ Dense(E) of the noise embedding (Fourier or positional, ./embedding)
 *   h     = Conv3x3(x → ch[0])
 *   down  : per level l: numResBlocks × ResBlock(→ ch[l]) (each output kept as a skip),
 *           then AvgPool 2x2 (no parameters) except at the last level
 *   mid   : ResBlock(ch[-1] → ch[-1])
 *   up    : per level l from the last: numResBlocks × ResBlock(concat(h, skip) → ch[l]),
 *           then nearest 2x upsampling except at level 0
 *   out   = Conv3x3(SiLU(GroupNorm(h)) → x channels)
 *   ResBlock(x): h = Conv3x3(SiLU(GN(x))) + Dense(emb); h = Conv3x3(Dropout(SiLU(GN(h))));
 *                return h + (x, or Conv1x1(x) when the width changes)
 *
 * Optional self-attention (`attentionHeads` > 0; off by default) at the lowest resolution only, as
 * ADM / the CM code place it at their `attention_resolutions` (openai/consistency_models cm/unet.py,
 * UNetModel; NCSN++ does the same with `attn_resolutions`): an Attention block after every ResBlock
 * of the last level on the down path, after the mid ResBlock, and after every ResBlock of the last
 * level on the up path (skips are taken after the attention, as ADM's input_blocks do).
 *   Attention(x): h = GN(x) as [B, T = H·W, C]; q, k, v = 1×1 projections (Dense over C) of h;
 *                 per head (C/heads channels each) a = softmax(q·kᵀ/√(C/heads))·v;
 *                 return x + Dense_out(concat of the heads)
 * Dense_out starts at zero (weights and bias), so each block starts as the identity.
 *
 * GroupNorm (and GroupNorm followed by SiLU) comes from ./groupnorm: one fused kernel where the
 * backend has it (the native kernels), else a composite form with a hand-written gradient.
 *
 * Parameters are a pure function of (config, seed) (src/util/rng). Dropout masks come from a
 * `DropoutMasks` object: give the same object (or two made from the same seed and stream) to the
 * student and teacher passes and they use identical masks (CM/iCT share the dropout RNG).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../util/rng';
import { embedNoise, embeddingFrequencies, NoiseEmbeddingSpec } from './embedding';
import type { ScalingOptions } from '../consistency/scalings';
import { consistencyFunction } from '../consistency/model';
import type { DropoutMasks as DropoutMasksList, Network, ParamSpec as NetworkParamSpec } from './types';
import { groupNorm, groupNormSilu } from './groupnorm';

export { groupNorm, groupNormReference, groupNormSilu } from './groupnorm';

export interface UNetConfig {
  /** Image channels (1 for grayscale). */
  imageChannels: number;
  /** Channel width per resolution level, e.g. [32, 64] = two resolutions. */
  channels: number[];
  /** Residual blocks per level (down path; the up path has the same number). Default 1. */
  numResBlocks?: number;
  /** Noise embedding; default Fourier, scale 0.02 (iCT), dim = channels[0]. */
  embedding?: NoiseEmbeddingSpec;
  /** Width of the embedding MLP; default 4·channels[0]. */
  embDim?: number;
  /** GroupNorm groups (must divide every width); default min(8, channels[0]). */
  groups?: number;
  /** Dropout probability inside ResBlocks; default 0. */
  dropout?: number;
  /** CM scalings (σ_data, σ_min). */
  scalings?: ScalingOptions;
  /**
   * Self-attention heads at the lowest resolution (see the file comment); 0 (the default) = no
   * attention. The last width channels[-1] must be divisible by it.
   */
  attentionHeads?: number;
}

export interface UNetApplyOptions {
  /** Training mode: dropout active (when dropout > 0). */
  training: boolean;
  /** Dropout masks (needed when training with dropout > 0); share between student and teacher. */
  dropout?: DropoutMasks;
  /** Run the network with these parameter values instead of `params` (e.g. the EMA/teacher copy). */
  params?: readonly tf.Tensor[];
}

const INIT_STREAM = 0x0e7;
let instances = 0;

/**
 * Deterministic dropout masks: mask k (the k-th dropout site of a forward pass) is drawn from
 * Rng(seed, stream, k) and cached, so every pass that uses this object (or another made from the
 * same seed and stream) sees the same masks. Values are 0 or 1/(1 − p). Call `dispose()` after the step.
 */
export class DropoutMasks {
  private readonly cache = new Map<string, tf.Tensor>();
  constructor(
    readonly seed: number,
    readonly stream = 0,
  ) {}

  /** The mask for site k with this shape and probability (kept outside any tidy). */
  mask(k: number, shape: number[], p: number): tf.Tensor {
    const key = `${k}:${shape.join('x')}:${p}`;
    let m = this.cache.get(key);
    if (!m) {
      // the trainer's masks (src/training/ct-step) are drawn the same way
      const data = new Rng(this.seed, this.stream, k).fillDropoutMask(new Float32Array(shape.reduce((a, b) => a * b, 1)), p, 1 / (1 - p));
      m = tf.keep(tf.tensor(data, shape));
      this.cache.set(key, m);
    }
    return m;
  }

  /** Masks for a list of sites (site k gets shape k), as the `Network.apply` mask list. */
  masks(shapes: number[][], p: number): tf.Tensor[] {
    return shapes.map((shape, k) => this.mask(k, shape, p));
  }

  dispose(): void {
    for (const m of this.cache.values()) m.dispose();
    this.cache.clear();
  }
}

/** A parameter's name, shape and initialisation ('normal' with std, or a constant fill). */
export interface TypedParamSpec extends NetworkParamSpec {
  init: { std: number } | { value: number };
}

interface ResBlockSpec {
  prefix: string;
  cin: number;
  cout: number;
  /** Followed by an Attention block named `${prefix}.attn` (lowest resolution, attention on). */
  attn: boolean;
}

function resolveConfig(c: UNetConfig): Required<UNetConfig> {
  if (!(c.channels.length >= 1)) throw new RangeError('UNet: channels must list at least one width');
  const ch0 = c.channels[0] as number;
  const groups = c.groups ?? Math.min(8, ch0);
  for (const w of c.channels) {
    if (!Number.isInteger(w) || w < 1) throw new RangeError(`UNet: bad width ${w}`);
    if (w % groups !== 0) throw new RangeError(`UNet: groups ${groups} must divide every width (got ${w})`);
  }
  const dropout = c.dropout ?? 0;
  if (!(dropout >= 0 && dropout < 1)) throw new RangeError(`UNet: dropout must lie in [0, 1), got ${dropout}`);
  const attentionHeads = c.attentionHeads ?? 0;
  const last = c.channels[c.channels.length - 1] as number;
  if (!Number.isInteger(attentionHeads) || attentionHeads < 0) throw new RangeError(`UNet: attentionHeads must be an integer >= 0, got ${attentionHeads}`);
  if (attentionHeads > 0 && last % attentionHeads !== 0) {
    throw new RangeError(`UNet: attentionHeads ${attentionHeads} must divide the lowest-resolution width ${last}`);
  }
  return {
    imageChannels: c.imageChannels,
    channels: c.channels.slice(),
    numResBlocks: c.numResBlocks ?? 1,
    embedding: c.embedding ?? { kind: 'fourier', scale: 0.02, dim: ch0 },
    embDim: c.embDim ?? 4 * ch0,
    groups,
    dropout,
    scalings: c.scalings ?? {},
    attentionHeads,
  };
}

/** Network layout: the parameter list and the block structure, from the config alone. */
function layout(cfg: Required<UNetConfig>): { params: TypedParamSpec[]; down: ResBlockSpec[][]; mid: ResBlockSpec; up: ResBlockSpec[][] } {
  const params: TypedParamSpec[] = [];
  const E = cfg.embDim;
  const dense = (name: string, i: number, o: number, scale = 1): void => {
    params.push({ name: `${name}.w`, shape: [i, o], init: { std: scale / Math.sqrt(i) } });
    params.push({ name: `${name}.b`, shape: [o], init: { value: 0 } });
  };
  const conv = (name: string, k: number, i: number, o: number, scale = 1): void => {
    params.push({ name: `${name}.w`, shape: [k, k, i, o], init: { std: scale / Math.sqrt(k * k * i) } });
    params.push({ name: `${name}.b`, shape: [o], init: { value: 0 } });
  };
  const gn = (name: string, c: number): void => {
    params.push({ name: `${name}.gamma`, shape: [c], init: { value: 1 } });
    params.push({ name: `${name}.beta`, shape: [c], init: { value: 0 } });
  };
  const res = (s: ResBlockSpec): void => {
    gn(`${s.prefix}.norm1`, s.cin);
    conv(`${s.prefix}.conv1`, 3, s.cin, s.cout);
    dense(`${s.prefix}.emb`, E, s.cout);
    gn(`${s.prefix}.norm2`, s.cout);
    conv(`${s.prefix}.conv2`, 3, s.cout, s.cout, 0.5);
    if (s.cin !== s.cout) conv(`${s.prefix}.skip`, 1, s.cin, s.cout);
    if (s.attn) {
      const a = `${s.prefix}.attn`;
      gn(`${a}.norm`, s.cout);
      dense(`${a}.q`, s.cout, s.cout);
      dense(`${a}.k`, s.cout, s.cout);
      dense(`${a}.v`, s.cout, s.cout);
      // Zero-initialised output projection, so the block starts as the identity: ADM's
      // `self.proj_out = zero_module(conv_nd(1, channels, channels, 1))` (openai/guided-diffusion
      // guided_diffusion/unet.py and openai/consistency_models cm/unet.py, AttentionBlock).
      params.push({ name: `${a}.out.w`, shape: [s.cout, s.cout], init: { value: 0 } });
      params.push({ name: `${a}.out.b`, shape: [s.cout], init: { value: 0 } });
    }
  };
  dense('emb.0', cfg.embedding.dim, E);
  dense('emb.1', E, E);
  const ch = cfg.channels;
  const attnAt = (l: number): boolean => cfg.attentionHeads > 0 && l === ch.length - 1;
  conv('in', 3, cfg.imageChannels, ch[0] as number);
  const down: ResBlockSpec[][] = [];
  const skips: number[] = [];
  let c = ch[0] as number;
  ch.forEach((w, l) => {
    const blocks: ResBlockSpec[] = [];
    for (let r = 0; r < cfg.numResBlocks; r++) {
      const s = { prefix: `down.${l}.${r}`, cin: c, cout: w, attn: attnAt(l) };
      res(s);
      blocks.push(s);
      c = w;
      skips.push(c);
    }
    down.push(blocks);
  });
  const mid = { prefix: 'mid', cin: c, cout: c, attn: cfg.attentionHeads > 0 };
  res(mid);
  const up: ResBlockSpec[][] = [];
  for (let l = ch.length - 1; l >= 0; l--) {
    const w = ch[l] as number;
    const blocks: ResBlockSpec[] = [];
    for (let r = 0; r < cfg.numResBlocks; r++) {
      const s = { prefix: `up.${l}.${r}`, cin: c + (skips.pop() as number), cout: w, attn: attnAt(l) };
      res(s);
      blocks.push(s);
      c = w;
    }
    up.push(blocks);
  }
  gn('out.norm', c);
  conv('out.conv', 3, c, cfg.imageChannels, 0.1);
  return { params, down, mid, up };
}

/**
 * Self-attention over the H·W positions with a residual add (see the file comment). `P(name)` gives
 * the block's weights: norm.gamma/beta [C], q/k/v/out .w [C, C] and .b [C]. Only BatchMatMul (with
 * a transposed operand), Softmax, Transpose, Reshape and elementwise ops: all have gradients on the
 * wasm backend (Softmax's gradient is composed of Mul, Sum and Sub).
 */
export function attentionBlock(x: tf.Tensor4D, P: (name: string) => tf.Tensor, groups: number, heads: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, H, W, C] = x.shape;
    const T = H * W;
    const d = C / heads;
    if (!Number.isInteger(d)) throw new RangeError(`attention: ${heads} heads do not divide ${C} channels`);
    const h = tf.reshape(groupNorm(x, P('norm.gamma') as tf.Tensor1D, P('norm.beta') as tf.Tensor1D, groups), [B * T, C]);
    const proj = (n: string, t: tf.Tensor): tf.Tensor2D => tf.add<tf.Tensor2D>(tf.matMul(t, P(`${n}.w`)), P(`${n}.b`));
    // [B·T, C] -> [B·heads, T, d] (head j = channels j·d .. (j+1)·d − 1)
    const split = (t: tf.Tensor2D): tf.Tensor3D =>
      heads === 1 ? tf.reshape(t, [B, T, C]) : tf.reshape(tf.transpose(tf.reshape(t, [B, T, heads, d]), [0, 2, 1, 3]), [B * heads, T, d]);
    const q = split(tf.mul<tf.Tensor2D>(proj('q', h), 1 / Math.sqrt(d)));
    const k = split(proj('k', h));
    const v = split(proj('v', h));
    const w = tf.softmax(tf.matMul(q, k, false, true)); // [B·heads, T, T], over the keys
    const a = tf.matMul(w, v); // [B·heads, T, d]
    const merged = heads === 1 ? tf.reshape(a, [B * T, C]) : tf.reshape(tf.transpose(tf.reshape(a, [B, heads, T, d]), [0, 2, 1, 3]), [B * T, C]);
    return tf.add<tf.Tensor4D>(x, tf.reshape(proj('out', merged), [B, H, W, C]));
  });
}

export interface UNetNetworkSpec extends UNetConfig {
  /** Image height and width (each divisible by 2^(levels − 1)). */
  height: number;
  width: number;
}

/**
 * The U-Net as a `Network` (src/models/types): a pure function of a weight list, for the trainer
 * (student, teacher and EMA are three weight lists of one model). `apply` is the raw F_θ.
 */
export class UNetNetwork implements Network {
  readonly config: Readonly<Required<UNetConfig>>;
  readonly params: readonly TypedParamSpec[];
  readonly dataDim: number;
  private readonly index: Map<string, number>;
  private readonly structure: ReturnType<typeof layout>;
  private readonly freqs: tf.Tensor1D;
  readonly height: number;
  readonly width: number;

  /** @param embeddingSeed seed of the fixed Fourier frequencies (part of the model, not trained) */
  constructor(spec: UNetNetworkSpec, embeddingSeed: number) {
    this.config = resolveConfig(spec);
    const down = 2 ** (this.config.channels.length - 1);
    if (!(spec.height > 0 && spec.width > 0) || spec.height % down !== 0 || spec.width % down !== 0) {
      throw new RangeError(`UNet: image size ${spec.height}x${spec.width} must be positive and divisible by ${down}`);
    }
    this.height = spec.height;
    this.width = spec.width;
    this.dataDim = spec.height * spec.width * this.config.imageChannels;
    this.structure = layout(this.config);
    this.params = this.structure.params;
    this.index = new Map(this.params.map((p, i) => [p.name, i]));
    this.freqs = tf.keep(tf.tensor1d(embeddingFrequencies(this.config.embedding, embeddingSeed)));
  }

  /** Initial weights, a pure function of the seed: N(0, (scale/√fan_in)²) kernels, zero biases, GroupNorm γ = 1, β = 0. */
  init(seed: number): Float32Array[] {
    const rng = new Rng(seed, INIT_STREAM);
    return this.params.map((p) => {
      const n = p.shape.reduce((a, b) => a * b, 1);
      return 'std' in p.init ? rng.fillNormal(new Float32Array(n), 0, p.init.std) : new Float32Array(n).fill(p.init.value);
    });
  }

  numParams(): number {
    return this.params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
  }

  /** One mask per ResBlock (forward order), shaped like that block's hidden activation. */
  dropoutShapes(batch: number): number[][] {
    if (this.config.dropout === 0) return [];
    const out: number[][] = [];
    const L = this.config.channels.length;
    const hw = (l: number): [number, number] => [this.height / 2 ** l, this.width / 2 ** l];
    this.structure.down.forEach((blocks, l) => blocks.forEach((s) => out.push([batch, ...hw(l), s.cout])));
    out.push([batch, ...hw(L - 1), this.structure.mid.cout]);
    this.structure.up.forEach((blocks, i) => blocks.forEach((s) => out.push([batch, ...hw(L - 1 - i), s.cout])));
    return out;
  }

  apply(weights: readonly tf.Tensor[], xIn: tf.Tensor, sigma: tf.Tensor1D, masks: DropoutMasksList | null): tf.Tensor {
    const cfg = this.config;
    if (weights.length !== this.params.length) throw new RangeError(`UNet: expected ${this.params.length} weight tensors, got ${weights.length}`);
    if (xIn.rank !== 4 || xIn.shape[1] !== this.height || xIn.shape[2] !== this.width || xIn.shape[3] !== cfg.imageChannels) {
      throw new RangeError(`UNet: input must be [B, ${this.height}, ${this.width}, ${cfg.imageChannels}], got [${xIn.shape}]`);
    }
    const P = (name: string): tf.Tensor => weights[this.index.get(name) as number] as tf.Tensor;
    let site = 0;
    const dense = (name: string, x: tf.Tensor2D): tf.Tensor2D => tf.add<tf.Tensor2D>(tf.matMul(x, P(`${name}.w`)), P(`${name}.b`));
    const conv = (name: string, x: tf.Tensor4D): tf.Tensor4D =>
      tf.fused.conv2d({ x, filter: P(`${name}.w`) as tf.Tensor4D, strides: 1, pad: 'same', bias: P(`${name}.b`) });
    const silu = <T extends tf.Tensor>(x: T): T => tf.mul<T>(x, tf.sigmoid(x));
    const normSilu = (name: string, x: tf.Tensor4D): tf.Tensor4D =>
      groupNormSilu(x, P(`${name}.gamma`) as tf.Tensor1D, P(`${name}.beta`) as tf.Tensor1D, cfg.groups);
    const attention = (prefix: string, x: tf.Tensor4D): tf.Tensor4D => attentionBlock(x, (n) => P(`${prefix}.${n}`), cfg.groups, cfg.attentionHeads);
    const resBlock = (s: ResBlockSpec, x: tf.Tensor4D, emb: tf.Tensor2D): tf.Tensor4D => {
      let h = conv(`${s.prefix}.conv1`, normSilu(`${s.prefix}.norm1`, x));
      const e = dense(`${s.prefix}.emb`, emb);
      h = tf.add<tf.Tensor4D>(h, tf.reshape(e, [e.shape[0], 1, 1, s.cout]));
      h = normSilu(`${s.prefix}.norm2`, h);
      const mask = masks?.[site++];
      if (mask) h = tf.mul<tf.Tensor4D>(h, mask);
      h = conv(`${s.prefix}.conv2`, h);
      const skip = s.cin !== s.cout ? conv(`${s.prefix}.skip`, x) : x;
      const out = tf.add<tf.Tensor4D>(skip, h);
      return s.attn ? attention(`${s.prefix}.attn`, out) : out;
    };
    return tf.tidy(() => {
      const e0 = embedNoise(sigma, cfg.embedding, this.freqs);
      const emb = dense('emb.1', silu(dense('emb.0', e0)));
      let h = conv('in', xIn as tf.Tensor4D);
      const skips: tf.Tensor4D[] = [];
      const L = cfg.channels.length;
      this.structure.down.forEach((blocks, l) => {
        for (const s of blocks) {
          h = resBlock(s, h, emb);
          skips.push(h);
        }
        if (l < L - 1) h = tf.avgPool(h, 2, 2, 'valid');
      });
      h = resBlock(this.structure.mid, h, emb);
      this.structure.up.forEach((blocks, i) => {
        const l = L - 1 - i;
        for (const s of blocks) h = resBlock(s, tf.concat([h, skips.pop() as tf.Tensor4D], 3), emb);
        if (l > 0) h = tf.image.resizeNearestNeighbor(h, [h.shape[1] * 2, h.shape[2] * 2]);
      });
      return conv('out.conv', normSilu('out.norm', h));
    });
  }

  dispose(): void {
    this.freqs.dispose();
  }
}

/** The U-Net with its own trainable variables, wrapped in the CM parametrization. */
export class UNet {
  readonly net: UNetNetwork;
  readonly config: Readonly<Required<UNetConfig>>;
  /** Trainable parameters, in `net.params` order. */
  readonly params: tf.Variable[];
  readonly paramNames: string[];

  /** Parameters and Fourier frequencies are a pure function of (config, seed). */
  constructor(spec: UNetNetworkSpec, seed: number) {
    this.net = new UNetNetwork(spec, seed);
    this.config = this.net.config;
    this.paramNames = this.net.params.map((p) => p.name);
    const id = instances++;
    const init = this.net.init(seed);
    this.params = this.net.params.map((p, i) => {
      const t = tf.tensor(init[i] as Float32Array, p.shape);
      const v = tf.variable(t, true, `unet${id}/${p.name}`);
      t.dispose();
      return v;
    });
  }

  numParams(): number {
    return this.net.numParams();
  }

  /** f_θ(x, σ) = c_skip·x + c_out·F_θ(c_in·x, σ). x: [B,H,W,C]; σ: [B] (each ≥ σ_min). */
  apply(x: tf.Tensor4D, sigma: tf.Tensor1D, opts: UNetApplyOptions): tf.Tensor4D {
    const cfg = this.config;
    const weights = opts.params ?? this.params;
    if (opts.training && cfg.dropout > 0 && !opts.dropout) throw new Error('UNet: training with dropout needs opts.dropout (DropoutMasks)');
    return tf.tidy(() => {
      const masks = opts.training && cfg.dropout > 0 && opts.dropout ? opts.dropout.masks(this.net.dropoutShapes(x.shape[0]), cfg.dropout) : null;
      return consistencyFunction(this.net, weights, x, sigma, masks, cfg.scalings) as tf.Tensor4D; // the one CM parametrization
    });
  }

  /** Copies of the parameters (e.g. an EMA / teacher copy), as variables (non-trainable by default). */
  cloneParams(trainable = false): tf.Variable[] {
    return this.params.map((p) => tf.variable(p, trainable));
  }

  dispose(): void {
    tf.dispose(this.params);
    this.net.dispose();
  }
}

/** A U-Net with its variables; `config` needs the image size (height, width). */
export function createUNet(spec: UNetNetworkSpec, seed: number): UNet {
  return new UNet(spec, seed);
}
