/**
 * Builds the teaching page (demo/main.ts over the kit's core) into a static folder with esbuild, and
 * serves it on localhost. `npm run demo` builds and serves; `npm run demo:build` writes the site
 * alone (relative paths, no CDN: the bundle, the page, tfjs's three .wasm files and the notebook
 * sources the page links to), ready to publish as it is.
 *
 *   node dist/demo/site.js build [--out demo-site]
 *   node dist/demo/site.js serve [--out demo-site] [--port 8080]
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import * as esbuild from 'esbuild';

/** The repository root, from dist/demo/site.js or demo/site.ts. */
export const ROOT = path.resolve(__dirname, '..', path.basename(path.resolve(__dirname, '..')) === 'dist' ? '..' : '.');

const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

export interface SiteBuild {
  out: string;
  files: string[];
  bundleBytes: number;
  wallMs: number;
}

/** Bundle the page into `out` (created; previous contents replaced). */
export async function buildSite(out: string): Promise<SiteBuild> {
  const t0 = Date.now();
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(path.join(out, 'notebooks'), { recursive: true });
  const r = await esbuild.build({
    entryPoints: [path.join(ROOT, 'demo', 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true, // environment.md: tfjs 4.22 unminified under esbuild hangs in setBackend
    sourcemap: false,
    outfile: path.join(out, 'main.js'),
    logLevel: 'silent',
    metafile: true,
    // tfjs-backend-wasm's emscripten glue names node modules it never loads in a browser
    external: ['fs', 'path', 'worker_threads', 'perf_hooks', 'os', 'crypto'],
  });
  if (r.errors.length > 0) throw new Error(`demo build: ${r.errors.map((e) => e.text).join('; ')}`);
  fs.copyFileSync(path.join(ROOT, 'demo', 'index.html'), path.join(out, 'index.html'));
  const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  for (const f of WASM_FILES) fs.copyFileSync(path.join(wasmDir, f), path.join(out, f));
  for (const f of fs.readdirSync(path.join(ROOT, 'notebooks'))) {
    if (/^\d\d-.*\.ts$/.test(f)) fs.copyFileSync(path.join(ROOT, 'notebooks', f), path.join(out, 'notebooks', f));
  }
  const files = listFiles(out);
  return { out, files, bundleBytes: fs.statSync(path.join(out, 'main.js')).size, wallMs: Date.now() - t0 };
}

function listFiles(dir: string, rel = ''): string[] {
  return fs
    .readdirSync(path.join(dir, rel), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(dir, path.join(rel, e.name)) : [path.join(rel, e.name)]));
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.json': 'application/json',
};

/** Serve a built site on 127.0.0.1 (port 0: any free one). Resolves once listening. */
export function serveSite(dir: string, port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const root = path.resolve(dir);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const rel = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
    const file = path.resolve(root, '.' + rel);
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`not found: ${rel}`);
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      const p = typeof a === 'object' && a ? a.port : port;
      resolve({ url: `http://127.0.0.1:${p}/`, close: () => new Promise<void>((r) => server.close(() => r())) });
    });
  });
}

async function cli(argv: string[]): Promise<void> {
  const cmd = argv[0];
  const opt = (name: string, fallback: string): string => {
    const i = argv.indexOf(name);
    const v = i >= 0 ? argv[i + 1] : undefined;
    if (i >= 0 && v === undefined) throw new Error(`${name}: expected a value`);
    return v ?? fallback;
  };
  if (cmd !== 'build' && cmd !== 'serve') throw new Error(`demo: expected 'build' or 'serve', got '${cmd ?? ''}'`);
  const out = path.resolve(opt('--out', path.join(ROOT, 'demo-site')));
  const b = await buildSite(out);
  process.stdout.write(`demo: built ${b.files.length} files into ${out} (bundle ${(b.bundleBytes / 1e6).toFixed(2)} MB, ${b.wallMs} ms)\n`);
  if (cmd === 'serve') {
    const port = Number(opt('--port', '8080'));
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: expected a port number, got '${opt('--port', '')}'`);
    const s = await serveSite(out, port);
    process.stdout.write(`demo: serving ${out} at ${s.url} (Ctrl-C stops)\n`);
  }
}

if (require.main === module) {
  cli(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
