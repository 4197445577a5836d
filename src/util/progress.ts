/**
 * Progress on long work: a cli-progress bar (step, loss, steps/s, ETA) on a terminal; on a pipe or
 * a log file, one plain line every ~10% so logs stay readable.
 */
import { SingleBar } from 'cli-progress';

export interface Progress {
  update(done: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

export interface ProgressOptions {
  label: string;
  total: number;
  /** Start value (a resumed run starts past 0). */
  start?: number;
  /** Names of extra fields shown after the counts, e.g. ['loss']. */
  fields?: string[];
  /** false: print nothing. Default: on, to stderr. */
  enabled?: boolean;
  stream?: NodeJS.WriteStream;
}

function fmt(v: string | number | undefined): string {
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  if (typeof v === 'number') return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toPrecision(4);
  return v ?? '';
}

function eta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

export function createProgress(opts: ProgressOptions): Progress {
  if (opts.enabled === false)
    return {
      update() {
        /* progress off */
      },
      stop() {
        /* progress off */
      },
    };
  const stream = opts.stream ?? process.stderr;
  const start = opts.start ?? 0;
  const t0 = Date.now();
  const rate = (done: number): number => (done - start) / Math.max(1e-3, (Date.now() - t0) / 1000);
  const fieldNames = opts.fields ?? [];

  if (stream.isTTY) {
    const extra = fieldNames.map((f) => ` | ${f} {${f}}`).join('');
    const bar = new SingleBar({
      format: `${opts.label} |{bar}| {value}/{total}${extra} | {rate}/s | ETA {etaText}`,
      stream,
      hideCursor: true,
      clearOnComplete: false,
      barsize: 24,
    });
    const blank = Object.fromEntries(fieldNames.map((f) => [f, '']));
    bar.start(opts.total, start, { ...blank, rate: '0', etaText: '?' });
    return {
      update(done, fields = {}) {
        const r = rate(done);
        const shown = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, fmt(v)]));
        bar.update(done, { ...shown, rate: r.toFixed(1), etaText: eta((opts.total - done) / r) });
      },
      stop() {
        bar.stop();
      },
    };
  }

  let nextReport = start;
  const stepSize = Math.max(1, Math.ceil(opts.total / 10));
  return {
    update(done, fields = {}) {
      if (done < nextReport && done < opts.total) return;
      nextReport = done + stepSize;
      const r = rate(done);
      const extra = Object.entries(fields)
        .map(([k, v]) => ` ${k} ${fmt(v)}`)
        .join('');
      stream.write(`${opts.label} ${done}/${opts.total}${extra} | ${r.toFixed(1)}/s | ETA ${eta((opts.total - done) / r)}\n`);
    },
    stop() {
      /* nothing to flush: every report is one whole line */
    },
  };
}
