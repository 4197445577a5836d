/**
 * Run-time backend choice (src/backend/index.ts + src/backend/wasm): the automatic order, forcing
 * by option and by CTLAB_BACKEND, and the wasm thread count. Each case runs in a fresh process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import type { BackendInfo } from '../../src/backend/index';

const BACKEND = path.join(__dirname, '..', '..', 'src', 'backend', 'index.js');

function child(code: string, env: Record<string, string>): { info: BackendInfo; extra: number[]; shared: boolean; stderr: string } {
  const script = `
    const tf = require('@tensorflow/tfjs');
    const b = require(${JSON.stringify(BACKEND)});
    (async () => {
      const info = await b.initBackend(${code});
      const x = tf.tensor4d(Array.from({ length: 2 * 6 * 6 * 3 }, (_, i) => Math.sin(i)), [2, 6, 6, 3]);
      const w = tf.tensor4d(Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)), [3, 3, 3, 4]);
      const y = tf.conv2d(x, w, 1, 'same');
      const heap = tf.getBackend() === 'wasm' ? tf.backend().wasm.HEAPF32.buffer : null;
      const shared = heap !== null && typeof SharedArrayBuffer !== 'undefined' && heap instanceof SharedArrayBuffer;
      process.stdout.write(JSON.stringify({ info, extra: Array.from(y.dataSync()), shared }) + '\\n');
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    cwd: path.join(__dirname, '..', '..', '..'),
    env: {
      ...process.env,
      CTLAB_BACKEND: '',
      CTLAB_THREADS: '',
      CTLAB_WASM_THREADS: '',
      CTLAB_NATIVE: '',
      CTLAB_NATIVE_THREADS: '',
      CTLAB_WEBGPU_ALLOW_SOFTWARE: '',
      OMP_WAIT_POLICY: undefined,
      ...env,
    },
  });
  assert.equal(r.status, 0, r.stderr);
  const line = r.stdout.trim().split('\n').pop() as string;
  return { ...(JSON.parse(line) as { info: BackendInfo; extra: number[]; shared: boolean }), stderr: r.stderr };
}

test('auto: tfjs-node-gpu, webgpu (hardware adapter only) and tfjs-node are tried first, wasm with the training kernels is chosen here, the choice is printed once', () => {
  const { info, stderr } = child('{}', {});
  const names = info.attempts.map((a) => a.name);
  assert.deepEqual(names, ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'].slice(0, names.length), 'tried in order');
  assert.equal(info.attempts[names.length - 1]?.ok, true);
  assert.equal(info.requested, 'auto');
  assert.equal(info.requestedBy, 'default');
  if (info.name === 'wasm') {
    // where libtensorflow is absent and Dawn finds no hardware adapter (this machine), each attempt carries its error
    for (const a of info.attempts.slice(0, 3)) {
      assert.equal(a.ok, false);
      assert.ok(a.error && a.error.length > 0);
    }
    assert.match(stderr, /ctlab: backend wasm, \d thread\(s\)[^;\n]*; not used: tensorflow-gpu \(/);
  }
  assert.equal(stderr.split('\n').filter((l) => l.startsWith('ctlab: backend')).length, 1);
});

test('CTLAB_BACKEND forces a backend; an option overrides it', () => {
  const env = child('{}', { CTLAB_BACKEND: 'cpu' });
  assert.equal(env.info.name, 'cpu');
  assert.equal(env.info.requestedBy, 'env:CTLAB_BACKEND');
  assert.deepEqual(env.info.attempts, [{ name: 'cpu', ok: true }]);
  const opt = child("{ backend: 'wasm' }", { CTLAB_BACKEND: 'cpu' });
  assert.equal(opt.info.name, 'wasm');
  assert.equal(opt.info.requestedBy, 'option');
  // same convolution on both
  opt.extra.forEach((v, i) => assert.ok(Math.abs(v - (env.extra[i] as number)) < 1e-4));
});

test('wasm runs with two threads when asked (option or CTLAB_WASM_THREADS) and computes the same', () => {
  const one = child("{ backend: 'wasm', threads: 1 }", {});
  const two = child("{ backend: 'wasm' }", { CTLAB_WASM_THREADS: '2' });
  assert.equal(one.info.wasmThreads, 1);
  assert.equal(two.info.wasmThreads, 2);
  assert.match(two.stderr, /backend wasm, 2 thread\(s\)/);
  two.extra.forEach((v, i) => assert.ok(Math.abs(v - (one.extra[i] as number)) < 1e-5));
});

test('native kernels: used on wasm where the addon is built, recorded in BackendInfo, CTLAB_NATIVE=0 switches them off; they take the thread count and wasm runs on 1 (CTLAB_WASM_THREADS overrides: the threaded heap is a SharedArrayBuffer); same results', () => {
  const off = child("{ backend: 'wasm', threads: 1 }", { CTLAB_NATIVE: '0' });
  assert.equal(off.info.native.active, false);
  assert.match(off.info.native.reason, /switched off \(env:CTLAB_NATIVE\)/);
  assert.doesNotMatch(off.stderr, /native CPU kernels not in use/, 'no hint when switched off on purpose');
  const cpu = child("{ backend: 'cpu' }", {});
  assert.equal(cpu.info.native.active, false);
  if (process.env.CTLAB_NATIVE === '0') return; // the suite runs without the addon on purpose
  for (const threads of [1, 2]) {
    const on = child(`{ backend: 'wasm', threads: ${threads} }`, {});
    assert.equal(on.info.native.active, true, `native kernels not active: ${on.info.native.reason} (build them: npm run build:native, or set CTLAB_NATIVE=0)`);
    assert.equal(on.info.native.threads, threads);
    assert.equal(on.info.threads, threads);
    assert.equal(on.info.wasmThreads, 1, 'wasm runs single-threaded beside the native kernels');
    assert.equal(on.shared, false);
    assert.match(on.stderr, new RegExp(`backend wasm, 1 thread\\(s\\) \\+ native kernels on ${threads} thread\\(s\\) \\(oneDNN`));
    on.extra.forEach((v, i) => assert.ok(Math.abs(v - (off.extra[i] as number)) < 1e-4, `conv output ${i}: native ${v} vs wasm ${off.extra[i]}`));
  }
  const threaded = child("{ backend: 'wasm', threads: 2 }", { CTLAB_WASM_THREADS: '2' });
  assert.equal(threaded.info.native.active, true);
  assert.equal(threaded.info.wasmThreads, 2);
  assert.equal(threaded.info.native.threads, 2);
  assert.equal(threaded.shared, true, 'the threaded wasm build shares its memory');
  threaded.extra.forEach((v, i) =>
    assert.ok(Math.abs(v - (off.extra[i] as number)) < 1e-4, `conv output ${i}: native on the shared heap ${v} vs wasm ${off.extra[i]}`),
  );
  const fromEnv = child("{ backend: 'wasm' }", { CTLAB_THREADS: '1' });
  assert.equal(fromEnv.info.threads, 1, 'CTLAB_THREADS is the default thread count');
  assert.equal(fromEnv.info.native.threads, 1);
  assert.equal(fromEnv.info.native.ompWaitPolicy, 'PASSIVE', 'one native thread: no workers to keep spinning');
  const sleeping = child("{ backend: 'wasm', threads: 2 }", {});
  assert.equal(sleeping.info.native.ompWaitPolicy, 'PASSIVE', 'by default workers sleep between kernels, even at 2 threads');
  const spinning = child("{ backend: 'wasm', threads: 2 }", { CTLAB_NATIVE_SPIN: '1' });
  assert.equal(spinning.info.native.ompWaitPolicy, 'ACTIVE', 'CTLAB_NATIVE_SPIN=1: workers spin between kernels');
  const oneThreadSpin = child("{ backend: 'wasm', threads: 1 }", { CTLAB_NATIVE_SPIN: '1' });
  assert.equal(oneThreadSpin.info.native.ompWaitPolicy, 'PASSIVE', 'one native thread: no workers to keep spinning');
  const userPolicy = child("{ backend: 'wasm', threads: 2 }", { OMP_WAIT_POLICY: 'passive' });
  assert.equal(userPolicy.info.native.ompWaitPolicy, 'passive', "the user's OMP_WAIT_POLICY is kept");
  const required = child("{ backend: 'wasm', threads: 1 }", { CTLAB_NATIVE: '1', CTLAB_NATIVE_THREADS: '2' });
  assert.equal(required.info.native.active, true);
  assert.equal(required.info.native.threads, 2, 'CTLAB_NATIVE_THREADS overrides the threads option');
  assert.equal(required.info.threads, 2);
  assert.equal(required.info.wasmThreads, 1);
});

test('a missing addon: wasm kernels run, one line says how to get the native path; CTLAB_NATIVE=1 makes it an error', () => {
  const missing = { CTLAB_NATIVE_ADDON: path.join(__dirname, 'no-such-addon.node') };
  const auto = child("{ backend: 'wasm', threads: 1 }", missing);
  assert.equal(auto.info.native.active, false);
  assert.match(auto.info.native.reason, /addon not built/);
  const hints = auto.stderr.split('\n').filter((l) => l.includes('npm run build:native'));
  assert.equal(hints.length, 1, auto.stderr);
  assert.match(hints[0] as string, /apt-get install libdnnl-dev libopenblas-dev && npm run build:native/);
  const script = `require(${JSON.stringify(BACKEND)}).initBackend({ backend: 'wasm', threads: 1 }).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(3); });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ...missing, CTLAB_NATIVE: '1', CTLAB_BACKEND: '' } });
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /native kernels required \(env:CTLAB_NATIVE\) but addon not built/);
});
