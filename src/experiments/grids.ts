/**
 * `ctlab grid upscale`: rebuild a committed old-format sample grid (16-px tiles, no labels) whose run
 * and checkpoints are gone, from its own pixels: nearest-neighbour upscaling to ≥ 64 px per tile,
 * index labels on rows and columns, a title naming the run. The source is a file or a committed blob
 * (`git:<rev>:<path>`, so the command reruns after the file itself was replaced); a provenance record
 * `<out>.grid.json` beside the output names the command, commit, source, its sha256 and the layout read.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { sha256, writeUpscaledGrid, type GridLayout } from '../data/grid-upscale';
import { gitInfo, writeJson } from '../run/run-dir';

export interface GridUpscaleOptions {
  /** A PNG file, or git:<rev>:<path> for a committed version of one. */
  in: string;
  out: string;
  tile: { h: number; w: number };
  gap?: number;
  title?: string;
  command?: string;
}

export interface GridUpscaleRecord {
  command: string;
  commit: string;
  dirty: boolean;
  source: { spec: string; path: string; gitCommit: string | null; sha256: string; bytes: number };
  layout: GridLayout;
  output: { file: string; width: number; height: number; tilePx: number; upscale: number; sha256: string; title: string | null };
  method: string;
  wallSec: number;
}

/** Parse `--tile 16` or `--tile 16x16` (h×w). */
export function parseTile(spec: string): { h: number; w: number } {
  const m = /^(\d+)(?:[x×](\d+))?$/.exec(spec.trim());
  if (!m) throw new RangeError(`--tile: expected <px> or <h>x<w> (e.g. 16 or 16x16), got '${spec}'`);
  const h = Number(m[1]);
  const w = Number(m[2] ?? m[1]);
  if (h < 1 || w < 1) throw new RangeError(`--tile: expected positive sizes, got '${spec}'`);
  return { h, w };
}

function readSource(spec: string): { bytes: Buffer; path: string; gitCommit: string | null } {
  if (spec.startsWith('git:')) {
    const rest = spec.slice(4);
    const colon = rest.indexOf(':');
    if (colon <= 0 || colon === rest.length - 1) throw new RangeError(`--in ${spec}: expected git:<rev>:<path>`);
    const rev = rest.slice(0, colon);
    const file = rest.slice(colon + 1);
    let commit: string;
    try {
      commit = execFileSync('git', ['rev-parse', '--verify', `${rev}^{commit}`], { stdio: ['ignore', 'pipe', 'pipe'] })
        .toString()
        .trim();
    } catch {
      throw new RangeError(`--in ${spec}: '${rev}' is not a commit of this repository`);
    }
    try {
      return {
        bytes: execFileSync('git', ['show', `${commit}:${file}`], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 }),
        path: file,
        gitCommit: commit,
      };
    } catch {
      throw new RangeError(`--in ${spec}: commit ${commit.slice(0, 12)} has no file ${file}`);
    }
  }
  if (!fs.existsSync(spec)) throw new RangeError(`--in ${spec}: no such file`);
  return { bytes: fs.readFileSync(spec), path: spec, gitCommit: null };
}

export function runGridUpscale(opts: GridUpscaleOptions): GridUpscaleRecord {
  const t0 = Date.now();
  const git = gitInfo(); // before the output replaces a tracked file
  const src = readSource(opts.in);
  const srcHash = sha256(src.bytes);
  const r = writeUpscaledGrid(src.bytes, opts.out, opts.tile, {
    ...(opts.gap !== undefined ? { gap: opts.gap } : {}),
    ...(opts.title ? { title: opts.title } : {}),
    file: opts.in,
  });
  const record: GridUpscaleRecord = {
    command: opts.command ?? `ctlab grid upscale --in ${opts.in} --out ${opts.out}`,
    commit: git.commit,
    dirty: git.dirty,
    source: { spec: opts.in, path: src.path, gitCommit: src.gitCommit, sha256: srcHash, bytes: src.bytes.length },
    layout: r.layout,
    output: {
      file: opts.out,
      width: r.width,
      height: r.height,
      tilePx: r.layout.h * r.outScale,
      upscale: r.outScale,
      sha256: r.sha256,
      title: opts.title ?? null,
    },
    method:
      'tiles read back at native size from the source pixels (gaps and nearest-neighbour blocks verified), then each pixel repeated upscale×upscale times; no resampling, no model: the pixels are the source grid’s',
    wallSec: Math.round((Date.now() - t0) / 100) / 10,
  };
  writeJson(gridRecordPath(opts.out), record);
  return record;
}

/** `<dir>/<name>.png` → `<dir>/<name>.grid.json`. */
export function gridRecordPath(out: string): string {
  return out.replace(/\.png$/i, '') + '.grid.json';
}
