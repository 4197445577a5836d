/**
 * A small U-Net for images (NHWC), as plain tf ops on `tf.Variable`s, wrapped in the CM
 * parametrization f_θ(x, σ) = c_skip(σ)·x + c_out(σ)·F_θ(c_in(σ)·x, c_noise(σ)).
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
 * GroupNorm is computed per channel first (per-channel means of x and x² over H, W, then averaged
 * within groups on tiny [B, C] tensors), so every full-size op is a 4-D broadcast over the channel
 * axis: equal to the textbook 5-D formulation, much faster on the wasm backend.
 *
 * Parameters are a pure function of (config, seed) (src/util/rng). Dropout masks come from a
 * `DropoutMasks` object: give the same object (or two made from the same seed and stream) to the
 * student and teacher passes and they use identical masks (CM/iCT share the dropout RNG).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';
import { embedNoise, embeddingFrequencies, NoiseEmbeddingSpec } from './embedding';
import { consistencyScalingsTensor, ScalingOptions } from '../consistency/scalings';

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
}

export interface UNetApplyOptions {
  /** Training mode: dropout active (when dropout > 0). */
  training: boolean;
  /** Dropout masks (needed when training with dropout > 0); share between student and teacher. */
  dropout?: DropoutMasks;
  /** Run the network with these parameter values instead of `params` (e.g. the EMA/teacher copy). */
  params?: readonly tf.Tensor[];
}

const GN_EPS = 1e-5;
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
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      const rng = new Rng(this.seed, this.stream, k);
      const threshold = p * 4294967296;
      const keep = 1 / (1 - p);
      for (let i = 0; i < n; i++) data[i] = rng.nextU32() >= threshold ? keep : 0;
      m = tf.keep(tf.tensor(data, shape));
      this.cache.set(key, m);
    }
    return m;
  }

  dispose(): void {
    for (const m of this.cache.values()) m.dispose();
    this.cache.clear();
  }
}

interface ParamSpec {
  name: string;
  shape: number[];
  /** 'normal' with std, or a constant fill. */
  init: { std: number } | { value: number };
}

interface ResBlockSpec {
  prefix: string;
  cin: number;
  cout: number;
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
  return {
    imageChannels: c.imageChannels,
    channels: c.channels.slice(),
    numResBlocks: c.numResBlocks ?? 1,
    embedding: c.embedding ?? { kind: 'fourier', scale: 0.02, dim: ch0 },
    embDim: c.embDim ?? 4 * ch0,
    groups,
    dropout,
    scalings: c.scalings ?? {},
  };
}

/** Network layout: the parameter list and the block structure, from the config alone. */
function layout(cfg: Required<UNetConfig>): { params: ParamSpec[]; down: ResBlockSpec[][]; mid: ResBlockSpec; up: ResBlockSpec[][] } {
  const params: ParamSpec[] = [];
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
  };
  dense('emb.0', cfg.embedding.dim, E);
  dense('emb.1', E, E);
  const ch = cfg.channels;
  conv('in', 3, cfg.imageChannels, ch[0] as number);
  const down: ResBlockSpec[][] = [];
  const skips: number[] = [];
  let c = ch[0] as number;
  ch.forEach((w, l) => {
    const blocks: ResBlockSpec[] = [];
    for (let r = 0; r < cfg.numResBlocks; r++) {
      const s = { prefix: `down.${l}.${r}`, cin: c, cout: w };
      res(s);
      blocks.push(s);
      c = w;
      skips.push(c);
    }
    down.push(blocks);
  });
  const mid = { prefix: 'mid', cin: c, cout: c };
  res(mid);
  const up: ResBlockSpec[][] = [];
  for (let l = ch.length - 1; l >= 0; l--) {
    const w = ch[l] as number;
    const blocks: ResBlockSpec[] = [];
    for (let r = 0; r < cfg.numResBlocks; r++) {
      const s = { prefix: `up.${l}.${r}`, cin: c + (skips.pop() as number), cout: w };
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

export class UNet {
  readonly config: Readonly<Required<UNetConfig>>;
  /** Trainable parameters, in a fixed order (see `paramNames`). */
  readonly params: tf.Variable[];
  readonly paramNames: string[];
  private readonly index: Map<string, number>;
  private readonly structure: ReturnType<typeof layout>;
  private readonly freqs: tf.Tensor1D;

  constructor(config: UNetConfig, seed: number) {
    this.config = resolveConfig(config);
    this.structure = layout(this.config);
    const rng = new Rng(seed, 0x0e7);
    const id = instances++;
    this.paramNames = this.structure.params.map((p) => p.name);
    this.index = new Map(this.paramNames.map((n, i) => [n, i]));
    this.params = this.structure.params.map((p) => {
      const n = p.shape.reduce((a, b) => a * b, 1);
      const data = 'std' in p.init ? rng.fillNormal(new Float32Array(n), 0, p.init.std) : new Float32Array(n).fill(p.init.value);
      const t = tf.tensor(data, p.shape);
      const v = tf.variable(t, true, `unet${id}/${p.name}`);
      t.dispose();
      return v;
    });
    this.freqs = tf.keep(tf.tensor1d(embeddingFrequencies(this.config.embedding, seed)));
  }

  /** Number of scalar parameters. */
  numParams(): number {
    return this.params.reduce((a, p) => a + p.size, 0);
  }

  /** f_θ(x, σ): the consistency function with the CM boundary scalings. x: [B,H,W,C]; σ: [B]. */
  apply(x: tf.Tensor4D, sigma: tf.Tensor1D, opts: UNetApplyOptions): tf.Tensor4D {
    return tf.tidy(() => {
      const { cSkip, cOut, cIn } = consistencyScalingsTensor(sigma, this.config.scalings);
      const col = (t: tf.Tensor1D): tf.Tensor4D => tf.reshape(t, [-1, 1, 1, 1]);
      const F = this.network(tf.mul(x, col(cIn)) as tf.Tensor4D, sigma, opts);
      return tf.add(tf.mul(x, col(cSkip)), tf.mul(F, col(cOut))) as tf.Tensor4D;
    });
  }

  /** F_θ(x_in, σ): the raw network (the noise embedding is computed from σ). */
  network(xIn: tf.Tensor4D, sigma: tf.Tensor1D, opts: UNetApplyOptions): tf.Tensor4D {
    const cfg = this.config;
    const [, H, W] = xIn.shape;
    const down = 2 ** (cfg.channels.length - 1);
    if (H % down !== 0 || W % down !== 0) throw new RangeError(`UNet: image size ${H}x${W} must be divisible by ${down}`);
    const values = opts.params ?? this.params;
    if (values.length !== this.params.length) throw new RangeError(`UNet: expected ${this.params.length} parameter tensors, got ${values.length}`);
    if (opts.training && cfg.dropout > 0 && !opts.dropout) throw new Error('UNet: training with dropout needs opts.dropout (DropoutMasks)');
    const P = (name: string): tf.Tensor => values[this.index.get(name) as number] as tf.Tensor;
    let site = 0;

    const dense = (name: string, x: tf.Tensor2D): tf.Tensor2D => tf.add(tf.matMul(x, P(`${name}.w`) as tf.Tensor2D), P(`${name}.b`)) as tf.Tensor2D;
    const conv = (name: string, x: tf.Tensor4D): tf.Tensor4D =>
      tf.fused.conv2d({ x, filter: P(`${name}.w`) as tf.Tensor4D, strides: 1, pad: 'same', bias: P(`${name}.b`) });
    const silu = <T extends tf.Tensor>(x: T): T => tf.mul(x, tf.sigmoid(x)) as T;
    const groupNorm = (name: string, x: tf.Tensor4D): tf.Tensor4D => {
      const [B, , , C] = x.shape;
      const G = cfg.groups;
      const m = tf.mean(x, [1, 2]); // [B, C]
      const m2 = tf.mean(tf.square(x), [1, 2]); // [B, C]
      const expand = (t: tf.Tensor2D): tf.Tensor2D => {
        if (G === C) return t;
        const g = tf.mean(tf.reshape(t, [B, G, C / G]), 2, true); // [B, G, 1]
        return tf.reshape(tf.broadcastTo(g, [B, G, C / G]), [B, C]); // (tile's gradient is a loop of slices)
      };
      const mean = expand(m as tf.Tensor2D);
      const variance = tf.relu(tf.sub(expand(m2 as tf.Tensor2D), tf.square(mean)));
      const scale = tf.mul(tf.rsqrt(tf.add(variance, GN_EPS)), P(`${name}.gamma`)); // [B, C]
      const shift = tf.sub(P(`${name}.beta`), tf.mul(mean, scale)); // [B, C]
      return tf.add(tf.mul(x, tf.reshape(scale, [B, 1, 1, C])), tf.reshape(shift, [B, 1, 1, C])) as tf.Tensor4D;
    };
    const resBlock = (s: ResBlockSpec, x: tf.Tensor4D, emb: tf.Tensor2D): tf.Tensor4D => {
      let h = conv(`${s.prefix}.conv1`, silu(groupNorm(`${s.prefix}.norm1`, x)));
      const e = dense(`${s.prefix}.emb`, emb);
      h = tf.add(h, tf.reshape(e, [e.shape[0], 1, 1, s.cout])) as tf.Tensor4D;
      h = silu(groupNorm(`${s.prefix}.norm2`, h));
      const k = site++;
      if (opts.training && cfg.dropout > 0 && opts.dropout) {
        h = tf.mul(h, opts.dropout.mask(k, h.shape, cfg.dropout)) as tf.Tensor4D;
      }
      h = conv(`${s.prefix}.conv2`, h);
      const skip = s.cin !== s.cout ? conv(`${s.prefix}.skip`, x) : x;
      return tf.add(skip, h) as tf.Tensor4D;
    };

    return tf.tidy(() => {
      const e0 = embedNoise(sigma, cfg.embedding, this.freqs);
      const emb = dense('emb.1', silu(dense('emb.0', e0)));
      let h = conv('in', xIn);
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
      return conv('out.conv', silu(groupNorm('out.norm', h)));
    });
  }

  /** Copies of the parameters (e.g. to start an EMA / teacher copy), as non-trainable variables. */
  cloneParams(trainable = false): tf.Variable[] {
    return this.params.map((p) => tf.variable(p, trainable));
  }

  dispose(): void {
    tf.dispose(this.params);
    this.freqs.dispose();
  }
}

export function createUNet(config: UNetConfig, seed: number): UNet {
  return new UNet(config, seed);
}
