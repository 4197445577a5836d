/**
 * The kit's layers and the one rule between them: a file imports only files of its own layer or of a
 * lower one, and the browser-safe core (layers 1-4, entry src/core.ts) imports no node: module and no
 * package but TF.js's core API, zod and @noble/hashes. The map below is the README's layout section
 * in data; every file under src/ must be in exactly one layer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { layerViolations, SRC } from './layer-map';

test('every source file sits in one layer, and no file imports a higher layer or (in the core) Node', () => {
  const { violations, unplaced } = layerViolations(SRC);
  assert.deepEqual(unplaced, [], `files in no layer (add them to LAYERS and to the README's layout section): ${unplaced.join(', ')}`);
  assert.deepEqual(
    violations.map((v) => `${v.file} -> ${v.imports}: ${v.why}`),
    [],
  );
});

test('the walk catches what it should: upward imports, Node in the core, packages outside the core list', () => {
  const tmp = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'ctlab-layers-'));
  try {
    const write = (rel: string, text: string): void => {
      fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
      fs.writeFileSync(path.join(tmp, rel), text);
    };
    // today's mistakes, as the [seams] issue lists them
    write('metrics/mmd.ts', "import { train } from '../training/trainer';\n");
    write('training/trainer.ts', 'export const train = 1;\n');
    write('losses/distance.ts', "import type { X } from '../training/checkpoint';\nexport const x: X | null = null;\n");
    write('training/checkpoint.ts', 'export type X = number;\n');
    write('schedules/karras.ts', "import * as fs from 'node:fs';\nimport * as tf from '@tensorflow/tfjs';\nexport const a = [fs, tf];\n");
    write('experiments/runner.ts', "import { train } from '../training/trainer';\nexport const r = train;\n"); // downward: fine
    write('consistency/model.ts', "const p = require('pngjs');\nexport const q = import('./scalings');\n");
    write('consistency/scalings.ts', 'export const s = 1;\n');
    write('stray.ts', 'export const s = 1;\n');
    const { violations, unplaced } = layerViolations(tmp);
    const got = violations.map((v) => `${v.file} -> ${v.imports}`).sort();
    assert.deepEqual(got, [
      'consistency/model.ts -> pngjs',
      'losses/distance.ts -> training/checkpoint.ts',
      'metrics/mmd.ts -> training/trainer.ts',
      'schedules/karras.ts -> @tensorflow/tfjs',
      'schedules/karras.ts -> node:fs',
    ]);
    assert.deepEqual(unplaced, ['stray.ts']);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
