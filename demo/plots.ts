/**
 * Canvas drawings of the page: they redraw many times a second while a model trains, which a plotly
 * figure (the kit's static plots) is too heavy for. Each takes plain arrays from the kit.
 */

export const COLORS = { data: '#b8bcc4', one: '#1f77b4', two: '#ff7f0e', path: '#d62728', grid: '#2ca02c', axis: '#555' };

/** The 2D view every scatter shares: [-VIEW, VIEW]² in data units. */
export const VIEW = 2.2;

function ctx2d(c: HTMLCanvasElement): CanvasRenderingContext2D {
  const g = c.getContext('2d');
  if (!g) throw new Error(`canvas #${c.id}: no 2D context`);
  return g;
}

export function toCanvas(c: HTMLCanvasElement, x: number, y: number): [number, number] {
  return [((x + VIEW) / (2 * VIEW)) * c.width, ((VIEW - y) / (2 * VIEW)) * c.height];
}

export function fromCanvas(c: HTMLCanvasElement, px: number, py: number): [number, number] {
  return [(px / c.width) * 2 * VIEW - VIEW, VIEW - (py / c.height) * 2 * VIEW];
}

export interface ScatterLayer {
  points: ArrayLike<number>;
  color: string;
  size: number;
  alpha?: number;
}

export function scatter(c: HTMLCanvasElement, layers: readonly ScatterLayer[], path: readonly [number, number][] = []): void {
  const g = ctx2d(c);
  g.clearRect(0, 0, c.width, c.height);
  g.strokeStyle = '#eee';
  g.beginPath();
  const [ox, oy] = toCanvas(c, 0, 0);
  g.moveTo(0, oy);
  g.lineTo(c.width, oy);
  g.moveTo(ox, 0);
  g.lineTo(ox, c.height);
  g.stroke();
  for (const l of layers) {
    g.fillStyle = l.color;
    g.globalAlpha = l.alpha ?? 0.6;
    for (let i = 0; i + 1 < l.points.length; i += 2) {
      const [px, py] = toCanvas(c, l.points[i] as number, l.points[i + 1] as number);
      g.fillRect(px - l.size / 2, py - l.size / 2, l.size, l.size);
    }
  }
  g.globalAlpha = 1;
  if (path.length > 0) {
    g.strokeStyle = COLORS.path;
    g.fillStyle = COLORS.path;
    g.lineWidth = 2;
    g.beginPath();
    path.forEach(([x, y], i) => {
      const [px, py] = toCanvas(c, x, y);
      if (i === 0) g.moveTo(px, py);
      else g.lineTo(px, py);
    });
    g.stroke();
    path.forEach(([x, y], i) => {
      const [px, py] = toCanvas(c, x, y);
      g.beginPath();
      g.arc(px, py, i === path.length - 1 ? 5 : 3.5, 0, 2 * Math.PI);
      g.fill();
      g.fillText(String(i + 1), px + 6, py - 6);
    });
    g.lineWidth = 1;
  }
}

/** Bars of pair probabilities over the noise grid (log σ on x). */
export function noiseGrid(c: HTMLCanvasElement, sigmas: ArrayLike<number>, probs: ArrayLike<number>): void {
  const g = ctx2d(c);
  g.clearRect(0, 0, c.width, c.height);
  const n = probs.length;
  if (n === 0) return;
  const lo = Math.log(sigmas[0] as number);
  const hi = Math.log(sigmas[sigmas.length - 1] as number);
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, probs[i] as number);
  const pad = 18;
  const w = c.width;
  const h = c.height - pad;
  g.fillStyle = COLORS.grid;
  for (let i = 0; i < n; i++) {
    // a bar for pair (σ_i, σ_{i+1}) between the two levels
    const a = (Math.log(sigmas[i] as number) - lo) / (hi - lo);
    const b = (Math.log(sigmas[i + 1] as number) - lo) / (hi - lo);
    const bh = ((probs[i] as number) / (max || 1)) * (h - 4);
    g.fillRect(a * w, h - bh, Math.max(1, (b - a) * w - 1), bh);
  }
  g.fillStyle = COLORS.axis;
  g.font = '11px sans-serif';
  g.fillText(`σ=${(sigmas[0] as number).toFixed(3)}`, 2, c.height - 4);
  const last = `σ=${(sigmas[sigmas.length - 1] as number).toFixed(0)}`;
  g.fillText(last, w - g.measureText(last).width - 2, c.height - 4);
  g.fillText(`log σ →   N = ${n + 1} levels`, w / 2 - 50, c.height - 4);
}

/** A curve y(k) for k = 0..K with a marker at the current step. */
export function curve(c: HTMLCanvasElement, ys: ArrayLike<number>, current: number, label: string): void {
  const g = ctx2d(c);
  g.clearRect(0, 0, c.width, c.height);
  const n = ys.length;
  if (n === 0) return;
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, ys[i] as number);
  const pad = 16;
  const h = c.height - pad;
  const x = (k: number): number => (k / Math.max(1, n - 1)) * (c.width - 4) + 2;
  const y = (v: number): number => h - (v / (max || 1)) * (h - 6);
  g.strokeStyle = COLORS.one;
  g.beginPath();
  // at most two vertices per pixel column: a 100k-step curve costs what a 400-step one does
  const stride = Math.max(1, Math.floor(n / (2 * c.width)));
  for (let k = 0; k < n; k += stride) {
    if (k === 0) g.moveTo(x(k), y(ys[k] as number));
    else g.lineTo(x(k), y(ys[k] as number));
  }
  g.lineTo(x(n - 1), y(ys[n - 1] as number));
  g.stroke();
  const kk = Math.min(n - 1, Math.max(0, current));
  g.fillStyle = COLORS.path;
  g.beginPath();
  g.arc(x(kk), y(ys[kk] as number), 4, 0, 2 * Math.PI);
  g.fill();
  g.fillStyle = COLORS.axis;
  g.font = '11px sans-serif';
  g.fillText(`${label} (max ${max})`, 4, c.height - 3);
}
