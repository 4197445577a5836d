/**
 * The browser-safe core (src/core.ts, `ctlab/core`): it bundles for the browser with esbuild
 * (platform browser) from core files only, with no node: import; it type-checks without Node's
 * types (so it names no Node global); and the bundle trains, samples and scores in a real headless
 * chromium, giving the same numbers as the same code under Node on the same (cpu) backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import '@tensorflow/tfjs'; // Node: the cpu backend and the gradients, as the shell loads them
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath } from '../../src/report/export';
import { LAYERS, layerOf, ROOT } from '../layers/layer-map';
import { runCoreDemo, type PageResult } from './browser-entry';

const ENTRY = path.join(ROOT, 'test', 'core', 'browser-entry.ts');

async function bundle(): Promise<{ code: string; inputs: string[] }> {
  const r = await esbuild.build({
    // a page brings its backend and TF.js's gradients (tfjs-core registers none), then runs the demo
    stdin: {
      contents:
        "import '@tensorflow/tfjs-backend-cpu';\nimport '@tensorflow/tfjs-core/dist/register_all_gradients';\nimport { startPage } from './browser-entry';\nstartPage();\n",
      resolveDir: path.dirname(ENTRY),
      sourcefile: 'page.ts',
      loader: 'ts',
    },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    write: false,
    metafile: true,
    minify: true, // environment.md: tfjs 4.22 unminified under esbuild hangs in setBackend
    logLevel: 'silent',
  });
  return { code: r.outputFiles[0]?.text ?? '', inputs: Object.keys(r.metafile.inputs) };
}

test('src/core.ts bundles for the browser from core files only, with no node: import', async () => {
  const { code, inputs } = await bundle();
  assert.ok(code.length > 100_000, `bundle of ${code.length} bytes`);
  assert.deepEqual(
    inputs.filter(
      (f) =>
        f.startsWith('node:') ||
        /(^|\/)node_modules\/(pngjs|playwright-core|arquero|commander|cli-progress|@tensorflow\/tfjs-node|@tensorflow\/tfjs-backend-wasm)\//.test(f),
    ),
    [],
  );
  const ours = inputs.filter((f) => f.startsWith('src/')).map((f) => f.slice('src/'.length));
  assert.ok(ours.includes('core.ts') && ours.includes('training/ct-step.ts'), ours.join(', '));
  const shell = ours.filter((f) => !LAYERS[layerOf(f)]?.core);
  assert.deepEqual(shell, [], `shell files in the browser bundle: ${shell.join(', ')}`);
  // and an import of a shell file would be refused: esbuild cannot resolve node:fs for the browser
  await assert.rejects(
    esbuild.build({ entryPoints: [path.join(ROOT, 'src', 'training', 'checkpoint.ts')], bundle: true, platform: 'browser', write: false, logLevel: 'silent' }),
    /node:fs|node:path/,
  );
});

test('the core type-checks without Node types (tsconfig.core.json), and a Node global in it would fail', () => {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const ok = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.core.json')], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctlab-core-leak-'));
  try {
    fs.writeFileSync(
      path.join(dir, 'leak.ts'),
      "import { SIGMA_MAX } from '" + path.join(ROOT, 'src', 'core').replace(/\\/g, '/') + "';\nexport const x = process.env.X ?? SIGMA_MAX;\n",
    );
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({ extends: path.join(ROOT, 'tsconfig.core.json'), compilerOptions: { rootDir: '/' }, files: [path.join(dir, 'leak.ts')] }),
    );
    const bad = spawnSync(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stdout, /Cannot find name 'process'/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the bundle trains, samples and scores in headless chromium, with the numbers Node gets', async () => {
  const { code } = await bundle();
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: [...CHROMIUM_ARGS] });
  let page: PageResult | undefined;
  try {
    const p = await browser.newPage();
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(e.message));
    await p.setContent('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body></body></html>');
    await p.addScriptTag({ content: code });
    await p.waitForFunction(() => window.ctlabResult !== undefined, undefined, { timeout: 120_000 });
    page = await p.evaluate(() => window.ctlabResult);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
  assert.ok(page, 'the page wrote its result');
  assert.equal(page.error, undefined, page.error);
  assert.deepEqual(page.nodeGlobals, [], 'the page sees no Node global');
  assert.equal(page.backend, 'cpu');
  assert.equal(page.losses.length, 3);
  for (const l of page.losses) assert.ok(Number.isFinite(l) && l > 0, `loss ${l}`);
  assert.equal(page.sampleShape, 512);
  assert.ok(Number.isFinite(page.swd) && page.swd > 0);
  // the same code in Node, on the same backend, gives the same bits (one V8, one float32 cpu kernel set)
  const node = await runCoreDemo();
  assert.deepEqual(page.losses, node.losses);
  assert.equal(page.swd, node.swd);
  assert.equal(page.checkpointBytes, node.checkpointBytes);
});
