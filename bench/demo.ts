/**
 * `npm run bench:demo`: the teaching page's training speed, measured where a student runs it — the
 * built site in headless Debian chromium on wasm (the kit's kernels registered in the page) — side by
 * side, in the same run, with the same TrainingSession in Node on wasm (with the native kernels where
 * the addon is built) as the yardstick. The job: the 2D MLP of the page's iCT preset (3 × 128, batch
 * 256, dropout 0.3, pseudo-Huber), eight Gaussians, seed 0.
 *
 * Two numbers per round for the page: `stepping` (session.run in a tight loop: compute only) and
 * `page loop` (the page's own training loop with its drawing and SWD readouts every ≥ 0.5 s: what a
 * student sees as steps/s, with the page responsive). Rounds alternate page and Node; the table keeps
 * the median and the spread (min-max) over rounds. Then a screenshot of the page after a full 2000-step
 * CT-vs-iCT run, into results/demo/trained.png.
 *
 * Writes results/bench/demo.json + demo.md and results/demo/trained.png + trained.json.
 * Options: --rounds N (default 3), --steps N (timed steps per round, default 300), --no-screenshot.
 */
import { execSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { buildSite, serveSite, ROOT } from '../demo/site';
import { fromQuery, panelConfig } from '../demo/settings';
import { describeBackend, initBackend } from '../src/backend/index';
import { TOY2D_TEST_SEED, toy2d } from '../src/data/toy2d';
import { CHROMIUM_ARGS, chromiumPath } from '../src/report/export';
import { TrainingSession } from '../src/training/session';
import { median, positiveInt } from './args';

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

function meanShares(xs: LoopShares[]): LoopShares {
  const m = (k: keyof LoopShares): number => xs.reduce((a, x) => a + x[k], 0) / Math.max(1, xs.length);
  return { steps: m('steps'), readouts: m('readouts'), drawing: m('drawing'), yielded: m('yielded'), other: m('other') };
}

const QUERY = 'data=eight-gaussians&steps=100000&backend=wasm&compare=0&a=ict&seed=0';

async function pageStepping(page: Page, steps: number): Promise<number> {
  return page.evaluate(async (n) => {
    const run = window.ctlabDemo.state.panels[0];
    if (!run) throw new Error('no panel');
    await run.session.run(5); // warm-up
    const t0 = performance.now();
    const done = await run.session.run(n);
    return done / ((performance.now() - t0) / 1000);
  }, steps);
}

interface LoopShares {
  steps: number;
  readouts: number;
  drawing: number;
  yielded: number;
  other: number;
}

/** The page's own loop over `steps` steps: steps/s as the student sees it, and where its wall time went. */
async function pageLoop(page: Page, steps: number): Promise<{ stepsPerSec: number; shares: LoopShares }> {
  const start = await page.evaluate(() => window.ctlabDemo.status()[0]?.step ?? 0);
  const before = await page.evaluate(() => ({ ...window.ctlabDemo.state.loopMs }));
  const t0 = Date.now();
  await page.click('#train');
  await page.waitForFunction((target) => (window.ctlabDemo.status()[0]?.step ?? 0) >= target, start + steps, { timeout: 600_000 });
  const wallMs = Date.now() - t0;
  const end = await page.evaluate(() => window.ctlabDemo.status()[0]?.step ?? 0);
  const after = await page.evaluate(() => ({ ...window.ctlabDemo.state.loopMs }));
  await page.click('#train'); // pause
  await page.waitForFunction(() => !window.ctlabDemo.state.running);
  const part = (k: keyof typeof before): number => (after[k] - before[k]) / wallMs;
  const shares = { steps: part('steps'), readouts: part('readouts'), drawing: part('drawing'), yielded: part('yielded'), other: 0 };
  shares.other = Math.max(0, 1 - shares.steps - shares.readouts - shares.drawing - shares.yielded);
  return { stepsPerSec: (end - start) / (wallMs / 1000), shares };
}

/** The same session in Node on the backend initialised last (wasm with or without the native kernels). */
async function nodeStepping(steps: number): Promise<number> {
  const s = fromQuery(QUERY);
  const cfg = panelConfig(s, 0);
  const session = new TrainingSession(cfg, { train: toy2d('eight-gaussians', 20000, 0), test: toy2d('eight-gaussians', 2000, TOY2D_TEST_SEED), shape: [2] });
  try {
    await session.run(5);
    const t0 = performance.now();
    const done = await session.run(steps);
    return done / ((performance.now() - t0) / 1000);
  } finally {
    session.dispose();
  }
}

async function main(): Promise<void> {
  const rounds = positiveInt('rounds', 3);
  const steps = positiveInt('steps', 300);
  const screenshot = !process.argv.includes('--no-screenshot');
  const t0 = Date.now();
  const commit = execSync('git rev-parse HEAD', { cwd: ROOT, encoding: 'utf8' }).trim();
  const dirty = execSync('git status --porcelain', { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
  const info = await initBackend({ backend: 'wasm' });
  const site = await buildSite(path.join(os.tmpdir(), `ctlab-demo-bench-${process.pid}`));
  const server = await serveSite(site.out, 0);
  const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: [...CHROMIUM_ARGS] });
  const chromiumVersion = browser.version();
  const rows: { round: number; pageStepping: number; pageLoop: number; loopShares: LoopShares; node: number; nodeWasm: number }[] = [];
  const wasmOnly = await initBackend({ backend: 'wasm', native: false, log: false });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${server.url}?${QUERY}`);
    await page.waitForFunction(() => window.ctlabDemo?.ready === true, null, { timeout: 120_000 });
    for (let r = 0; r < rounds; r++) {
      const ps = await pageStepping(page, steps);
      const pl = await pageLoop(page, steps);
      await initBackend({ backend: 'wasm', native: false, log: false });
      const nw = await nodeStepping(steps);
      await initBackend({ backend: 'wasm', log: false });
      const nd = await nodeStepping(steps);
      rows.push({ round: r, pageStepping: ps, pageLoop: pl.stepsPerSec, loopShares: pl.shares, node: nd, nodeWasm: nw });
      process.stderr.write(
        `round ${r}: page ${ps.toFixed(1)} steps/s (stepping), ${pl.stepsPerSec.toFixed(1)} (page loop); node ${nd.toFixed(1)}, node without native ${nw.toFixed(1)}\n`,
      );
    }
    await page.close();
    if (screenshot) {
      const shot = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const q = 'data=eight-gaussians&steps=2000&backend=wasm&compare=1&a=ict&b=ct&seed=0';
      const s0 = Date.now();
      await shot.goto(`${server.url}?${q}`);
      await shot.waitForFunction(() => window.ctlabDemo?.ready === true, null, { timeout: 120_000 });
      await shot.click('#train');
      await shot.waitForFunction(() => window.ctlabDemo.status().every((p) => p.done) && !window.ctlabDemo.state.running, null, { timeout: 1_200_000 });
      const status = await shot.evaluate(() => window.ctlabDemo.status());
      const dir = path.join(ROOT, 'results', 'demo');
      fs.mkdirSync(dir, { recursive: true });
      await shot.screenshot({ path: path.join(dir, 'trained.png'), fullPage: true }); // both panels, A above B
      const record = {
        command: `node dist/bench/demo.js ${process.argv.slice(2).join(' ')}`.trim(),
        commit,
        dirty,
        query: q,
        backend: 'wasm (page, kit kernels registered)',
        chromium: chromiumVersion,
        seed: 0,
        wallSec: (Date.now() - s0) / 1000,
        panels: status.map((p, i) => ({ panel: i === 0 ? 'a (ict)' : 'b (ct)', step: p.step, swd1: p.swd1, swd2: p.swd2, untrainedSwd1: p.untrainedSwd1 })),
        note: 'SWD: 1000 samples against the 2000 held-out points, 256 directions (the kit’s sampleSwd); the page’s readout, not an eval.json',
      };
      fs.writeFileSync(path.join(dir, 'trained.json'), JSON.stringify(record, null, 2) + '\n');
      await shot.close();
    }
  } finally {
    await browser.close();
    await server.close();
    fs.rmSync(site.out, { recursive: true, force: true });
  }
  const summary = (k: 'pageStepping' | 'pageLoop' | 'node' | 'nodeWasm'): { median: number; min: number; max: number } => {
    const xs = rows.map((r) => r[k]);
    return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
  };
  const out = {
    command: `node dist/bench/demo.js ${process.argv.slice(2).join(' ')}`.trim(),
    commit,
    dirty,
    date: new Date().toISOString(),
    machine: `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, load average ${os.loadavg()[0]?.toFixed(2)} at start of write`,
    chromium: chromiumVersion,
    job: 'iCT preset 2D MLP 3×128, batch 256, dropout 0.3, eight-gaussians, seed 0',
    yardstick: `the same TrainingSession in Node: ${describeBackend(info)}; and on wasm alone (${describeBackend(wasmOnly)}), the kernels the page has`,
    stepsPerRound: steps,
    rounds: rows,
    pageStepping: summary('pageStepping'),
    pageLoop: summary('pageLoop'),
    node: summary('node'),
    nodeWasm: summary('nodeWasm'),
    loopShares: meanShares(rows.map((r) => r.loopShares)),
    ratioPageLoopToNode: summary('pageLoop').median / summary('node').median,
    target: 'page loop ≥ 100 steps/s (issue #14)',
    wallSec: (Date.now() - t0) / 1000,
  };
  const bench = path.join(ROOT, 'results', 'bench');
  fs.mkdirSync(bench, { recursive: true });
  fs.writeFileSync(path.join(bench, 'demo.json'), JSON.stringify(out, null, 2) + '\n');
  const f = (x: { median: number; min: number; max: number }): string => `${x.median.toFixed(1)} (${x.min.toFixed(1)}–${x.max.toFixed(1)})`;
  const md = [
    '# Teaching page: training steps/s in headless chromium (wasm)',
    '',
    `\`${out.command}\` at ${commit.slice(0, 7)}${dirty ? ' (dirty tree)' : ''}, ${out.date}; ${out.machine}; chromium ${chromiumVersion}.`,
    `Job: ${out.job}. Median over ${rows.length} rounds of ${steps} steps (min–max).`,
    '',
    '| measurement | steps/s |',
    '|---|---|',
    `| page, its own training loop (drawing + SWD readouts) | ${f(out.pageLoop)} |`,
    `| page, session.run alone (compute only) | ${f(out.pageStepping)} |`,
    `| Node yardstick, same session (${describeBackend(info)}) | ${f(out.node)} |`,
    `| Node, same session on wasm alone (the page's kernels, no native ones) | ${f(out.nodeWasm)} |`,
    '',
    `Where the page loop's wall time went (mean over rounds): steps ${pct(out.loopShares.steps)}, SWD readouts and samples ${pct(out.loopShares.readouts)}, drawing ${pct(out.loopShares.drawing)}, the page's turns between slices ${pct(out.loopShares.yielded)}, the rest ${pct(out.loopShares.other)}.`,
    '',
    `Page loop / Node: ${out.ratioPageLoopToNode.toFixed(2)}. Target: ${out.target}${out.pageLoop.median >= 100 ? ' — met' : ' — not met in this run'}.`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(bench, 'demo.md'), md);
  process.stdout.write(md);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
