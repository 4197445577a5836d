/**
 * The teaching page end to end: the built site (demo/site.ts) served on localhost and driven in
 * headless Debian chromium through playwright-core. It trains iCT and CT side by side for a fixed
 * budget on wasm, checks the page's own sliced-Wasserstein readouts, pauses and resumes, toggles
 * every control, reloads from the shared URL, and fails on any console error or page error.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildSite, serveSite } from '../../demo/site';
import { CHROMIUM_ARGS, chromiumPath } from '../../src/report/export';
import { tempDir } from '../helpers';

/** A panel's status as the page reports it (the type demo/main.ts declares on window.ctlabDemo). */
type PanelStatus = ReturnType<Window['ctlabDemo']['status']>[number];

let browser: Browser;
let server: { url: string; close(): Promise<void> };
const problems: string[] = [];

before(async () => {
  const out = path.join(tempDir('ctlab-demo-'), 'site');
  const b = await buildSite(out);
  for (const f of [
    'index.html',
    'main.js',
    'tfjs-backend-wasm.wasm',
    'tfjs-backend-wasm-simd.wasm',
    'tfjs-backend-wasm-threaded-simd.wasm',
    'notebooks/01-weighting.ts',
  ]) {
    assert.ok(b.files.includes(f), `site lacks ${f}: ${b.files.join(', ')}`);
  }
  // self-contained: no absolute or remote URL in the page or the bundle's imports
  const html = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);
  server = await serveSite(out, 0);
  browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: [...CHROMIUM_ARGS] });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function open(query: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(`${server.url}?${query}`);
  await page.waitForFunction(() => window.ctlabDemo?.ready === true, null, { timeout: 120_000 });
  return page;
}

const status = (page: Page): Promise<PanelStatus[]> => page.evaluate(() => window.ctlabDemo.status());

test('iCT and CT side by side on wasm: the SWD readouts fall, iCT ahead; pause and resume', async () => {
  const page = await open('steps=300&backend=wasm&compare=1&a=ict&b=ct&seed=0');
  assert.equal(await page.getAttribute('#backend-note', 'data-backend'), 'wasm');
  const fresh = await status(page);
  assert.equal(fresh.length, 2);
  assert.ok(fresh.every((p) => p.step === 0 && Number.isFinite(p.untrainedSwd1)));
  await page.click('#train');
  await page.waitForFunction(() => window.ctlabDemo.status().every((p) => p.step >= 20), null, { timeout: 120_000 });
  await page.click('#train'); // pause
  await page.waitForFunction(() => !window.ctlabDemo.state.running, null, { timeout: 30_000 });
  const paused = (await status(page)).map((p) => p.step);
  await page.waitForTimeout(700);
  assert.deepEqual(
    (await status(page)).map((p) => p.step),
    paused,
    'no step while paused',
  );
  assert.equal(await page.textContent('#train'), 'train');
  await page.click('#train'); // resume to the end
  await page.waitForFunction(() => window.ctlabDemo.status().every((p) => p.done) && !window.ctlabDemo.state.running, null, { timeout: 300_000 });
  const [ict, ct] = await status(page);
  assert.ok(ict && ct);
  assert.equal(ict.step, 300);
  assert.equal(ict.error, null);
  assert.ok(ict.swd1 < 0.4, `iCT 1-step SWD ${ict.swd1} after 300 steps (bound 0.4; untrained ${ict.untrainedSwd1})`);
  assert.ok(ict.swd1 < ict.untrainedSwd1 - 0.05, `iCT 1-step SWD ${ict.swd1} vs untrained ${ict.untrainedSwd1}`);
  assert.ok(ict.swd1 < ct.swd1, `iCT ${ict.swd1} not ahead of CT ${ct.swd1}`);
  // the readout on the page is the number the page computed
  assert.equal(Number(await page.getAttribute('#a-swd1', 'data-value')), ict.swd1);
  assert.ok(ict.stepsPerSec > 0);
  await page.close();
  assert.deepEqual(problems, []);
});

test('every control once, then the shared URL reproduces the settings', async () => {
  const page = await open('steps=40&backend=wasm&compare=1');
  const url = (): Promise<URLSearchParams> => page.evaluate(() => location.search).then((q) => new URLSearchParams(q));
  const selects = await page.$$eval('#controls select', (els) =>
    els.map((e) => ({ id: e.id, options: Array.from((e as HTMLSelectElement).options).map((o) => o.value), value: (e as HTMLSelectElement).value })),
  );
  const ids = selects.map((s) => s.id);
  for (const t of [
    'data',
    'backend',
    'a-preset',
    'b-preset',
    'a-weighting',
    'a-embedding',
    'a-dropout',
    'a-target',
    'a-distance',
    'a-curriculum',
    'a-noise-sampler',
    'b-curriculum',
  ]) {
    assert.ok(ids.includes(t), `no control #${t} (have ${ids.join(', ')})`);
  }
  for (const s of selects) {
    if (s.id === 'data' || s.id === 'backend' || s.id.endsWith('-preset')) continue; // below
    const other = s.options.find((o) => o !== s.value);
    assert.ok(other, `#${s.id} has one option`);
    await page.selectOption(`#${s.id}`, other);
    const [panel, ...rest] = s.id.split('-');
    assert.equal((await url()).get(`${panel}.${rest.join('-')}`), other, `#${s.id} → URL`);
  }
  for (const [id, value] of [
    ['#steps', '60'],
    ['#batch', '128'],
    ['#lr', '0.002'],
    ['#seed', '4'],
  ] as const) {
    await page.fill(id, value);
    await page.dispatchEvent(id, 'change');
    assert.equal((await url()).get(id.slice(1)), value, `${id} → URL`);
  }
  await page.selectOption('#b-preset', 'ict');
  assert.equal((await url()).get('b.target'), 'stopgrad', 'a preset sets its techniques');
  await page.selectOption('#data', 'two-moons');
  assert.equal((await url()).get('data'), 'two-moons');
  await page.uncheck('#compare');
  assert.equal((await url()).get('compare'), '0');
  assert.equal(await page.isHidden('#panel-b'), true);
  await page.check('#compare');
  // draw points: at least 8 clicks on the pad, then train on them
  await page.selectOption('#data', 'drawn');
  assert.equal(await page.isVisible('#draw'), true);
  for (let i = 0; i < 12; i++) await page.click('#draw', { position: { x: 40 + 12 * i, y: 60 + (i % 3) * 40 } });
  await page.click('#draw-use');
  assert.ok(((await url()).get('points') ?? '').length > 20, 'drawn points in the URL');
  assert.equal(await page.textContent('#draw-count'), '12 points');
  await page.selectOption('#backend', 'cpu');
  await page.waitForFunction(() => document.querySelector('#backend-note')?.getAttribute('data-backend') === 'cpu', null, { timeout: 60_000 });
  // a short run on the drawn points, on cpu
  await page.click('#train');
  await page.waitForFunction(() => window.ctlabDemo.status().every((p) => p.done), null, { timeout: 120_000 });
  assert.equal(await page.isHidden('#errors'), true, `errors shown: ${await page.textContent('#errors')}`);
  const shared = await page.inputValue('#share');
  const settings = await page.evaluate(() => JSON.stringify(window.ctlabDemo.state.settings));
  await page.click('#reset');
  assert.deepEqual(
    (await status(page)).map((p) => p.step),
    [0, 0],
  );
  await page.close();
  const again = await browser.newPage();
  again.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await again.goto(shared);
  await again.waitForFunction(() => window.ctlabDemo?.ready === true, null, { timeout: 120_000 });
  assert.equal(await again.evaluate(() => JSON.stringify(window.ctlabDemo.state.settings)), settings);
  assert.equal(
    await again.inputValue('#a-curriculum'),
    (JSON.parse(settings) as { panels: { choices: Record<string, string> }[] }).panels[0]?.choices.curriculum,
  );
  await again.close();
  assert.deepEqual(problems, []);
});

test('a bad shared URL is refused with the field named, and the page starts from the defaults', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}?a.dropout=0.5&backend=wasm`);
  await page.waitForFunction(() => window.ctlabDemo?.ready === true, null, { timeout: 120_000 });
  assert.match((await page.textContent('#errors')) ?? '', /a\.dropout: expected one of 0, 0\.1, 0\.3, got '0\.5' \(in the URL; using the defaults\)/);
  await page.close();
});
