/**
 * LPIPS weights from disk (the Node shell's half of ./lpips): the kit's default LPIPS-like distance
 * on a shipped classifier, and real LPIPS weights (backbone + lin heads) from a folder:
 *   <dir>/lpips.json  { "net": "alexnet" | "vgg16", "weights"?: "lpips.bin", "resize"?: 224 | null }
 *   <dir>/lpips.bin   a ctlab checkpoint with conv<i>.w [k,k,cin,cout], conv<i>.b [cout], lin<l>.w [c]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { readRecordFile } from '../run/run-dir';
import { loadCheckpoint } from '../training/checkpoint';
import { DEFAULT_FEATURE_NET, loadFeatureNet } from '../metrics/feature-net';
import { backboneLayout, createLpips, LPIPS_CHANNELS, LpipsBackbone, type PerceptualDistance } from './lpips';

/** The kit's default LPIPS-like distance: a shipped classifier's layers, uniform weights (NOT learned). */
export async function loadDefaultLpips(name: string = DEFAULT_FEATURE_NET): Promise<PerceptualDistance> {
  const net = await loadFeatureNet(name);
  return createLpips(net, { ownsNet: true });
}

/** Contents of lpips.json. */
export const lpipsConfigSchema = z.object({
  net: z.enum(['alexnet', 'vgg16'], { error: '"net" must be "alexnet" or "vgg16"' }),
  weights: z.string().min(1).optional(),
  resize: z.number().nullable().optional(), // checked below with its own message
});
export type LpipsConfig = z.infer<typeof lpipsConfigSchema>;

/** Load real LPIPS weights (backbone + lin heads) from a folder in the format described above. */
export function loadLpips(dir: string): PerceptualDistance {
  const cfgFile = path.join(dir, 'lpips.json');
  if (!fs.existsSync(cfgFile)) throw new Error(`loadLpips: ${cfgFile} not found (see src/losses/lpips.ts for the format)`);
  const cfg = readRecordFile(lpipsConfigSchema, cfgFile); // errors name the file and the field (and what it held)
  const file = path.join(dir, cfg.weights ?? 'lpips.bin');
  const ck = loadCheckpoint(file);
  const byName = new Map(ck.tensors.map((t) => [t.name, t]));
  const get = (name: string, shape: number[]): Float32Array => {
    const t = byName.get(name);
    if (!t) throw new Error(`${file}: no tensor '${name}'`);
    if (!tf.util.arraysEqual(t.shape, shape)) throw new Error(`${file}: tensor '${name}' has shape [${t.shape}], expected [${shape}]`);
    return t.data;
  };
  const layout = backboneLayout(cfg.net);
  const convs = layout.map((c, i) => ({ w: get(`conv${i + 1}.w`, [c.k, c.k, c.cin, c.cout]), b: get(`conv${i + 1}.b`, [c.cout]) }));
  const lins = LPIPS_CHANNELS[cfg.net].map((c, l) => get(`lin${l}.w`, [c]));
  const resize = cfg.resize === undefined ? 224 : cfg.resize;
  if (resize !== null && !(Number.isInteger(resize) && resize > 0))
    throw new Error(`${cfgFile}: "resize" must be a positive integer or null, got ${JSON.stringify(resize)}`);
  const backbone = new LpipsBackbone(cfg.net, convs, resize);
  try {
    return createLpips(backbone, { weights: lins, ownsNet: true, name: `lpips(${cfg.net}, learned weights)` });
  } catch (e) {
    backbone.dispose();
    throw e;
  }
}
