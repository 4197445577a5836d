/** Shared test helpers: temp dirs, a tiny fast config, the compiled CLI's path. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildConfig, type PresetName } from '../src/config/presets';
import type { TrainConfig } from '../src/config/schema';

export function tempDir(prefix = 'ctlab-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A small, fast 2D config (tiny MLP, small batch) on top of a preset. */
export function tinyConfig(preset: PresetName, override: Record<string, unknown> = {}): TrainConfig {
  return buildConfig(preset, {
    steps: 60,
    batchSize: 64,
    data: { kind: 'toy2d', name: 'eight-gaussians', trainSize: 2000, testSize: 400 },
    model: { hidden: 32, depth: 2 },
    evalEvery: 0,
    checkpointEvery: 20,
    logEvery: 10,
    ...override,
  });
}

/** dist/src/cli.js, from dist/test/<this file>. */
export const CLI = path.resolve(__dirname, '..', 'src', 'cli.js');
