#!/usr/bin/env node
/*
 * Builds the optional native kernels (native/ctlab_native.cc: oneDNN + OpenBLAS, an N-API addon) with
 * node-gyp. `npm run build:native` builds (and fails loudly when it cannot); `npm ci` runs it with
 * --install, where it never fails the install: without the libraries it prints one line saying how
 * to get the faster path and the kit runs on the wasm kernels. CTLAB_NATIVE=0 skips it in --install
 * mode. Skips the build when the addon is newer than its sources (--force rebuilds).
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const dir = path.join(root, 'native');
const out = path.join(dir, 'build', 'Release', 'ctlab_native.node');
const install = process.argv.includes('--install');
const force = process.argv.includes('--force');
const HINT = 'apt-get install libdnnl-dev libopenblas-dev && npm run build:native';

process.on('uncaughtException', (e) => done(false, `build script error: ${e && e.message ? e.message : String(e)}`));

function done(ok, msg) {
  if (ok) {
    process.stderr.write(`ctlab: native kernels ${msg}\n`);
    process.exit(0);
  }
  process.stderr.write(`ctlab: native CPU kernels not built (${msg}); training will use the wasm kernels. For the faster path: ${HINT}\n`);
  process.exit(install ? 0 : 1);
}

if (install && ['0', 'off', 'false', 'no'].includes((process.env.CTLAB_NATIVE || '').toLowerCase())) {
  process.stderr.write('ctlab: native kernels skipped (CTLAB_NATIVE=0)\n');
  process.exit(0);
}
if (process.platform !== 'linux') done(false, `${process.platform} is not supported yet (Linux only)`);

const libDirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib'];
const hasLib = (name) => libDirs.some((d) => fs.existsSync(path.join(d, name)));
const missing = [];
if (!fs.existsSync('/usr/include/oneapi/dnnl/dnnl.hpp') || !hasLib('libdnnl.so')) missing.push('libdnnl-dev');
const cblas = ['/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/aarch64-linux-gnu/cblas.h', '/usr/include/cblas.h', '/usr/include/openblas/cblas.h'];
if (!cblas.some((f) => fs.existsSync(f)) || !hasLib('libopenblas.so')) missing.push('libopenblas-dev');
if (missing.length) done(false, `missing ${missing.join(', ')}`);

function newest(files) {
  return Math.max(...files.map((f) => fs.statSync(f).mtimeMs));
}
const sources = [path.join(dir, 'ctlab_native.cc'), path.join(dir, 'binding.gyp')];
for (const f of sources) if (!fs.existsSync(f)) done(false, `${path.relative(root, f)} missing`);

/** Load the built addon in a fresh process: it must link and answer. */
function loads() {
  const r = spawnSync(
    process.execPath,
    [
      '-e',
      `const m = require(${JSON.stringify(out)}); const v = m.versions(); process.stdout.write('oneDNN ' + v.onednn + ' (' + v.onednnRuntime + '), ' + v.openblas.split(' ').slice(0, 2).join(' '))`,
    ],
    { encoding: 'utf8' },
  );
  return r.status === 0
    ? { ok: true, what: r.stdout }
    : {
        ok: false,
        what:
          (r.stderr || '')
            .trim()
            .split('\n')
            .find((l) => /Error/.test(l)) || `exit ${r.status}`,
      };
}

if (!force && fs.existsSync(out) && fs.statSync(out).mtimeMs >= newest(sources)) {
  const l = loads();
  if (l.ok) done(true, `up to date: ${l.what}`);
}

const gypCandidates = [
  process.env.npm_config_node_gyp,
  path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
];
try {
  gypCandidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
} catch {
  /* not installed locally */
}
const gyp = gypCandidates.find((p) => p && fs.existsSync(p));
if (!gyp) done(false, 'node-gyp not found (it ships with npm)');

// Node's headers: the system's (/usr/include/node), or next to this node binary; else node-gyp fetches them
const nodeDirs = ['/usr', path.join(path.dirname(process.execPath), '..')];
const nodedir = nodeDirs.find((d) => fs.existsSync(path.join(d, 'include', 'node', 'node_api.h')));
const args = [gyp, 'rebuild', '--loglevel=error', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
process.stderr.write(`ctlab: building the native kernels (node-gyp${nodedir ? `, headers from ${nodedir}/include/node` : ''})...\n`);
const r = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', env: process.env });
if (r.status !== 0) {
  const log = `${r.stdout || ''}\n${r.stderr || ''}`.trim().split('\n');
  const err = log.find((l) => /error/i.test(l)) || log.pop() || `exit ${r.status}`;
  if (!install) process.stderr.write(log.slice(-30).join('\n') + '\n');
  done(false, `node-gyp failed: ${err.trim().slice(0, 200)}`);
}
const l = loads();
if (!l.ok) done(false, `built but does not load: ${l.what.slice(0, 200)}`);
done(true, `built: ${l.what}`);
