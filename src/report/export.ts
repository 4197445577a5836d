/**
 * Static PNG/SVG export of plotly figures through a headless Debian chromium driven by
 * playwright-core: one browser per batch, plotly loaded once, then Plotly.toImage per figure.
 * A missing or broken chromium is reported as { ok: false, reason }, never thrown.
 */
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { plotlyBundleSource, type Figure } from './plot';

/** Flags for a headless chromium in a container without network, GPU or sandbox. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** The chromium executable: `$CHROMIUM_PATH`, else Debian's `/usr/bin/chromium`. */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH || '/usr/bin/chromium';
}

/** Whether the chromium executable exists and is executable (does not launch it). */
export function isChromiumAvailable(executablePath: string = chromiumPath()): boolean {
  try {
    accessSync(executablePath, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The one line callers print when export did not happen. */
export function exportSkippedMessage(reason: string): string {
  return `static export skipped: ${reason}; install Debian chromium (bash scripts/system-deps.sh)`;
}

/** Image format. */
export type ImageFormat = 'png' | 'svg';

/** Image size in CSS pixels; PNGs have (width·scale) × (height·scale) pixels. */
export interface ImageSize {
  width?: number;
  height?: number;
  scale?: number;
}

/** Options for {@link openRenderer}. */
export interface RendererOptions {
  /** Default {@link chromiumPath}(). */
  executablePath?: string;
  /** Launch timeout in ms (default 60 000). */
  launchTimeoutMs?: number;
}

/** A live browser page with plotly loaded; close it when done. */
export interface ImageRenderer {
  /** Milliseconds spent launching chromium and loading plotly. */
  readonly launchMs: number;
  /** PNG bytes of a figure. */
  png(fig: Figure, size?: ImageSize): Promise<Buffer>;
  /** Deterministic SVG text of a figure (see {@link normalizeSvg}). */
  svg(fig: Figure, size?: ImageSize): Promise<string>;
  close(): Promise<void>;
}

/** Outcome of a step that needs chromium. */
export type Outcome<T> = ({ ok: true } & T) | { ok: false; reason: string };

/** Plotly's API as seen inside the page. */
interface PlotlyInPage {
  toImage(
    fig: { data: unknown[]; layout: unknown },
    opts: { format: ImageFormat; width: number; height: number; scale: number; imageDataOnly: boolean },
  ): Promise<string>;
}

interface RenderArgs {
  fig: Figure;
  format: ImageFormat;
  width: number;
  height: number;
  scale: number;
}

/** Default size: the figure's layout size, else plotly's 700 × 450. */
function resolveSize(fig: Figure, size: ImageSize = {}): { width: number; height: number; scale: number } {
  return {
    width: size.width ?? fig.layout.width ?? 700,
    height: size.height ?? fig.layout.height ?? 450,
    scale: size.scale ?? 1,
  };
}

/** First line of an error plus, for launch errors, chromium's exit status and first stderr line. */
function shortError(err: unknown): string {
  // eslint-disable-next-line no-control-regex -- strips the ANSI colour codes (ESC [ ... m) of playwright's messages
  const msg = (err instanceof Error ? err.message : String(err)).replace(/\u001b\[[0-9;]*m/g, '');
  const lines = msg.split('\n').map((l) => l.trim());
  const parts = [lines.find((l) => l !== '') ?? msg];
  const exit = /process did exit: (exitCode=[^,]*, signal=[^>]*)>/.exec(msg);
  if (exit) parts.push(`chromium exited (${exit[1]})`);
  const stderr = lines.find((l) => l.includes('[err]'));
  if (stderr) parts.push(stderr.replace(/^.*\[err\]\s*/, ''));
  return parts.join('; ').slice(0, 400);
}

/** Runs inside the page: seeds Math.random, fixes trace uids, returns Plotly.toImage's data. */
async function renderInPage(args: RenderArgs): Promise<string> {
  // mulberry32, reset per figure, so plotly's random ids are the same on every run
  let s = 0x2f6b1d3;
  Math.random = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const plotly = (window as unknown as { Plotly: PlotlyInPage }).Plotly;
  const data = args.fig.data.map((trace, i) => ({ uid: String(i), ...trace }));
  return plotly.toImage(
    { data, layout: args.fig.layout },
    { format: args.format, width: args.width, height: args.height, scale: args.scale, imageDataOnly: true },
  );
}

/**
 * Makes plotly SVG output byte-stable: renames ids built from plotly's random per-plot uid
 * (`defs-1a2b3c`, `clip1a2b3cxyplot`, ...) to use `fig` instead, and sorts each tag's attributes
 * (plotly sets some in a different order on a page's first plot).
 */
export function normalizeSvg(svg: string): string {
  let out = svg;
  const uid = /\bid="defs-([0-9a-z]+)"/.exec(out)?.[1];
  if (uid) {
    const ids = new Set<string>();
    for (const [, id] of out.matchAll(/\bid="([^"]*)"/g)) if (id?.includes(uid)) ids.add(id);
    for (const id of ids) {
      const fixed = id.split(uid).join('fig');
      out = out.split(`"${id}"`).join(`"${fixed}"`).split(`#${id})`).join(`#${fixed})`).split(`#${id}"`).join(`#${fixed}"`);
    }
  }
  return out.replace(/<([A-Za-z_][\w:.-]*)((?:\s+[^\s=/>]+="[^"]*")*)(\s*\/?)>/g, (_m, name: string, attrs: string, end: string) => {
    const list = [...attrs.matchAll(/\s+([^\s=/>]+)="([^"]*)"/g)].map((a) => [a[1] as string, a[2] as string] as const);
    list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return `<${name}${list.map(([k, v]) => ` ${k}="${v}"`).join('')}${end.trim()}>`;
  });
}

/**
 * Launches chromium and loads plotly into a blank page. Returns { ok: false, reason } when
 * chromium is missing or does not start.
 */
export async function openRenderer(opts: RendererOptions = {}): Promise<Outcome<{ renderer: ImageRenderer }>> {
  const executablePath = opts.executablePath ?? chromiumPath();
  if (!isChromiumAvailable(executablePath)) return { ok: false, reason: `chromium not found at ${executablePath}` };
  const t0 = performance.now();
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath,
      args: [...CHROMIUM_ARGS],
      timeout: opts.launchTimeoutMs ?? 60_000,
    });
  } catch (err) {
    return { ok: false, reason: `chromium failed to launch: ${shortError(err)}` };
  }
  let page: Page;
  try {
    page = await browser.newPage();
    await page.setContent('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body></body></html>');
    await page.addScriptTag({ path: plotlyBundleSource() });
  } catch (err) {
    await browser.close().catch(() => undefined);
    return { ok: false, reason: `could not load plotly into chromium: ${shortError(err)}` };
  }
  const launchMs = performance.now() - t0;
  const render = (fig: Figure, format: ImageFormat, size?: ImageSize): Promise<string> =>
    page.evaluate(renderInPage, { fig, format, ...resolveSize(fig, size) });
  const renderer: ImageRenderer = {
    launchMs,
    png: async (fig, size) => Buffer.from(await render(fig, 'png', size), 'base64'),
    svg: async (fig, size) => normalizeSvg(await render(fig, 'svg', size)),
    close: () => browser.close(),
  };
  return { ok: true, renderer };
}

/** Options for {@link exportFigures}. */
export interface ExportOptions extends ImageSize, RendererOptions {
  /** Default ['png', 'svg']. */
  formats?: ImageFormat[];
}

/** Outcome of {@link exportFigures}; on failure `files` lists what was written before it. */
export type ExportResult = { ok: true; files: string[]; launchMs: number; renderMs: number } | { ok: false; reason: string; files: string[] };

/**
 * Writes `<outBase>.png` / `<outBase>.svg` for each figure, in one chromium session. Size per
 * figure: opts.width/height, else the figure's layout size, else 700 × 450; PNG pixels × scale.
 * Never throws for a missing chromium or a figure plotly rejects: see the result's `reason`.
 */
export async function exportFigures(figs: { fig: Figure; outBase: string }[], opts: ExportOptions = {}): Promise<ExportResult> {
  const formats = opts.formats ?? ['png', 'svg'];
  const opened = await openRenderer(opts);
  if (!opened.ok) return { ok: false, reason: opened.reason, files: [] };
  const { renderer } = opened;
  const files: string[] = [];
  const t0 = performance.now();
  try {
    for (const { fig, outBase } of figs) {
      mkdirSync(dirname(outBase), { recursive: true });
      for (const format of formats) {
        const path = `${outBase}.${format}`;
        try {
          writeFileSync(path, format === 'png' ? await renderer.png(fig, opts) : await renderer.svg(fig, opts));
        } catch (err) {
          return { ok: false, reason: `${path}: ${shortError(err)}`, files };
        }
        files.push(path);
      }
    }
  } finally {
    await renderer.close().catch(() => undefined);
  }
  return { ok: true, files, launchMs: renderer.launchMs, renderMs: performance.now() - t0 };
}

/**
 * PNG bytes of each figure, rendered in one chromium session (for notebook display helpers).
 */
export async function figuresToPng(figs: Figure[], size: ImageSize & RendererOptions = {}): Promise<Outcome<{ pngs: Buffer[] }>> {
  const opened = await openRenderer(size);
  if (!opened.ok) return opened;
  const pngs: Buffer[] = [];
  try {
    for (const fig of figs) pngs.push(await opened.renderer.png(fig, size));
  } catch (err) {
    return { ok: false, reason: `render failed: ${shortError(err)}` };
  } finally {
    await opened.renderer.close().catch(() => undefined);
  }
  return { ok: true, pngs };
}
