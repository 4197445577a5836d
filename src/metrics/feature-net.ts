/**
 * Feature networks from disk (the Node shell's half; the interface, input preparation and the
 * classifier net on given weights are in ./features, in the browser-safe core).
 *
 * `loadFeatureNet(nameOrPath)` accepts
 * - a shipped name, 'fmnist-cnn' or 'fmnist-strided' (see ./classifiers: two independent Fashion-MNIST
 *   classifiers, weights in data/feature-nets/<name>.bin; features = the penultimate dense layer);
 * - a path to a classifier checkpoint `<file>.bin` written by bench/train-classifiers.ts (its
 *   `meta.arch` names the architecture);
 * - a path to a directory with a TF.js graph model (`model.json` + weight shards, e.g. an Inception-v3
 *   converted with `tensorflowjs_converter`), or to that `model.json` itself. It is read from disk
 *   by a small `tf.io.IOHandler` (no tfjs-node needed) and run with `tf.loadGraphModel`.
 *   The features are the output of the node named after `#` (`dir#pool_3`), else `features` of an
 *   optional `feature-net.json` beside model.json, else the model's first output; outputs of any
 *   rank are flattened to [B, featureDim].
 *
 * `feature-net.json` (optional, all fields optional) for graph models:
 *   { "name": "inception-v3",
 *     "features": "pool_3",                     // output node for features()
 *     "layers": ["conv1/Relu", "mixed_1/concat"], // output nodes for layers() (LPIPS-style distance)
 *     "inputShape": [299, 299, 3],              // [H, W, C]; default: the model's input signature
 *     "inputRange": [0, 1] }                    // the pixel range the net expects; default [-1, 1]
 *
 * Input handling (both kinds): images are [B, H, W, C] in [−1, 1]. A different size is resized to the
 * net's input size with bilinear interpolation (half-pixel centres, edge-clamped, no antialiasing:
 * PyTorch's `interpolate(mode='bilinear', align_corners=False)`), done as two small matrix products
 * so that it is exactly differentiable on every backend. One channel is repeated to three for a
 * 3-channel net; three channels are averaged to one for a 1-channel net. Then the [−1, 1] range is
 * mapped linearly to the net's `inputRange`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { readRecordFile } from '../run/run-dir';
import { loadCheckpoint } from '../training/checkpoint';
import { classifierParamSpecs, SHIPPED_FEATURE_NETS } from './classifiers';
import { ClassifierFeatureNet, prepareImages, type FeatureNet } from './features';

export { bilinearMatrix, ClassifierFeatureNet, DEFAULT_FEATURE_NET, prepareImages, resizeBilinear, type FeatureNet } from './features';

/**
 * Folder of the shipped weights: `CTLAB_FEATURE_NETS_DIR` when set, else the first
 * `data/feature-nets` found walking up from this file (works from src/ and from dist/src/).
 */
export function featureNetsDir(): string {
  const env = process.env.CTLAB_FEATURE_NETS_DIR;
  if (env !== undefined && env !== '') return env;
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const cand = path.join(dir, 'data', 'feature-nets');
    if (fs.existsSync(cand)) return cand;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return path.resolve(__dirname, '..', '..', '..', 'data', 'feature-nets');
}

export function loadClassifierFeatureNet(file: string, name?: string): ClassifierFeatureNet {
  const ck = loadCheckpoint(file);
  const arch = ck.meta.arch;
  if (arch !== 'cnn' && arch !== 'strided') throw new Error(`${file}: meta.arch is ${JSON.stringify(arch)}, expected 'cnn' or 'strided'`);
  const specs = classifierParamSpecs(arch);
  const byName = new Map(ck.tensors.map((t) => [t.name, t]));
  const weights = specs.map((s) => {
    const t = byName.get(s.name);
    if (!t) throw new Error(`${file}: no tensor '${s.name}'`);
    if (!tf.util.arraysEqual(t.shape, s.shape)) throw new Error(`${file}: tensor '${s.name}' has shape [${t.shape}], expected [${s.shape}]`);
    return t.data;
  });
  const metaName = typeof ck.meta.name === 'string' ? ck.meta.name : path.basename(file, '.bin');
  return new ClassifierFeatureNet(name ?? metaName, arch, weights);
}

// ---------------------------------------------------------------------------------------------
// Graph models from disk

/** Options of a graph-model feature net (the `feature-net.json` fields). */
export const graphFeatureNetConfigSchema = z.strictObject({
  name: z.string().min(1).optional(),
  features: z.string().min(1).optional(),
  layers: z.array(z.string().min(1)).optional(),
  inputShape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]).optional(),
  inputRange: z.tuple([z.number(), z.number()]).optional(),
});
export type GraphFeatureNetConfig = z.infer<typeof graphFeatureNetConfigSchema>;

/**
 * A `tf.io.IOHandler` that loads a TF.js model (`model.json` in the layers or graph format, with
 * its weight shards) from the local file system; shard paths are relative to model.json's folder.
 */
export function fileSystemModelHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    load: async (): Promise<tf.io.ModelArtifacts> => {
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8')) as tf.io.ModelJSON;
      } catch (e) {
        throw new Error(`${modelJsonPath}: cannot read model.json (${e instanceof Error ? e.message : String(e)})`);
      }
      if (json.modelTopology === undefined) throw new Error(`${modelJsonPath}: no modelTopology`);
      const dir = path.dirname(modelJsonPath);
      // the IOHandler API wants a promise; the shards are read synchronously and a failure must reject it
      // eslint-disable-next-line @typescript-eslint/require-await
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs = tf.io.getWeightSpecs(manifest);
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          for (const p of group.paths) {
            const file = path.join(dir, decodeURIComponent(p));
            let buf: Buffer;
            try {
              buf = fs.readFileSync(file);
            } catch (e) {
              throw new Error(`${modelJsonPath}: weight shard ${p} cannot be read (${e instanceof Error ? e.message : String(e)})`);
            }
            buffers.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
          }
        }
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

function shapeFromModel(model: tf.GraphModel, file: string): [number, number, number] | null {
  const inputs = model.inputs;
  if (inputs.length !== 1) throw new Error(`${file}: the graph model has ${inputs.length} inputs, a feature net needs exactly one`);
  const s = inputs[0]?.shape;
  if (s?.length !== 4) return null;
  const hwc = s.slice(1);
  if (hwc.some((v) => !(Number.isInteger(v) && v > 0))) return null;
  return hwc as [number, number, number];
}

/** A feature net on a TF.js graph model. */
export class GraphFeatureNet implements FeatureNet {
  readonly featureDim: number;
  private readonly inputName: string;

  constructor(
    readonly name: string,
    private readonly model: tf.GraphModel,
    readonly inputShape: [number, number, number],
    readonly featuresNode: string,
    readonly layerNodes: readonly string[],
    readonly inputRange: [number, number],
  ) {
    this.inputName = model.inputs[0]?.name ?? '';
    const probe = tf.tidy(() => this.features(tf.zeros<tf.Rank.R4>([1, ...inputShape])));
    this.featureDim = probe.shape[1];
    probe.dispose();
  }

  private run(images: tf.Tensor4D, nodes: string[]): tf.Tensor[] {
    const x = prepareImages(images, this.inputShape, this.inputRange);
    const out = this.model.execute({ [this.inputName]: x }, nodes);
    return Array.isArray(out) ? out : [out];
  }

  features(images: tf.Tensor4D): tf.Tensor2D {
    const y = this.run(images, [this.featuresNode])[0] as tf.Tensor;
    return tf.reshape(y, [y.shape[0], -1]);
  }

  layers(images: tf.Tensor4D): tf.Tensor4D[] {
    if (this.layerNodes.length === 0) {
      throw new Error(`feature net ${this.name}: no layer nodes configured (list them under "layers" in feature-net.json beside model.json)`);
    }
    return this.run(images, [...this.layerNodes]).map((t, i) => {
      if (t.rank !== 4) throw new Error(`feature net ${this.name}: layer node ${this.layerNodes[i]} has rank ${t.rank}, expected [B, h, w, c]`);
      return t as tf.Tensor4D;
    });
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** Load a graph model from `dir` (or a model.json path), with `#node` / feature-net.json options. */
export async function loadGraphFeatureNet(modelPath: string, featuresNode?: string, overrides: GraphFeatureNetConfig = {}): Promise<GraphFeatureNet> {
  const modelJson = fs.statSync(modelPath).isDirectory() ? path.join(modelPath, 'model.json') : modelPath;
  if (!fs.existsSync(modelJson)) throw new Error(`${modelPath}: no model.json (expected a TF.js graph model folder: model.json + weight shards)`);
  const cfgFile = path.join(path.dirname(modelJson), 'feature-net.json');
  let cfg: GraphFeatureNetConfig = {};
  if (fs.existsSync(cfgFile)) cfg = readRecordFile(graphFeatureNetConfigSchema, cfgFile); // errors name the file and the field
  cfg = { ...cfg, ...overrides };
  const model = await tf.loadGraphModel(fileSystemModelHandler(modelJson));
  const inputShape = cfg.inputShape ?? shapeFromModel(model, modelJson);
  if (inputShape === null) {
    model.dispose();
    throw new Error(`${modelJson}: the input's size is not fixed in the model; give "inputShape": [H, W, C] in ${cfgFile}`);
  }
  const node = featuresNode ?? cfg.features ?? model.outputs[0]?.name ?? '';
  const inputRange = cfg.inputRange ?? [-1, 1];
  const name = cfg.name ?? `${path.basename(path.dirname(path.resolve(modelJson)))}#${node}`;
  try {
    return new GraphFeatureNet(name, model, [...inputShape], node, cfg.layers ?? [], [inputRange[0], inputRange[1]]);
  } catch (e) {
    model.dispose();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Load a feature net: a shipped name ('fmnist-cnn', 'fmnist-strided'), a classifier checkpoint
 * (.bin), or a TF.js graph-model folder / model.json with an optional `#featuresNode`.
 */
export async function loadFeatureNet(nameOrPath: string): Promise<FeatureNet> {
  const hash = nameOrPath.lastIndexOf('#');
  const target = hash >= 0 ? nameOrPath.slice(0, hash) : nameOrPath;
  const node = hash >= 0 ? nameOrPath.slice(hash + 1) : undefined;
  if ((SHIPPED_FEATURE_NETS as readonly string[]).includes(target)) {
    if (node !== undefined) throw new Error(`loadFeatureNet: '#${node}' applies to graph models only, not to the shipped net ${target}`);
    const file = path.join(featureNetsDir(), `${target}.bin`);
    if (!fs.existsSync(file))
      throw new Error(
        `loadFeatureNet: weights of ${target} not found at ${file} (set CTLAB_FEATURE_NETS_DIR, or train them: npm run build && node dist/bench/train-classifiers.js)`,
      );
    return loadClassifierFeatureNet(file, target);
  }
  if (!fs.existsSync(target)) {
    throw new Error(`loadFeatureNet: '${target}' is neither a shipped net (${SHIPPED_FEATURE_NETS.join(', ')}) nor an existing path`);
  }
  if (fs.statSync(target).isFile() && target.endsWith('.bin')) return loadClassifierFeatureNet(target);
  return loadGraphFeatureNet(target, node);
}
