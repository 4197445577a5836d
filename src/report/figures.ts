/**
 * Figures as plain plotly.js specs ({ data, layout }), minimal typed: pure data, so the browser page,
 * the notebooks and the reports build the same figure. Writing them as HTML pages is ./plot's part
 * (the Node shell), rendering them to PNG/SVG ./export's.
 */

/** Axis or plot value: numbers, or strings for categories. `null` leaves a gap. */
export type Datum = number | string | null;

/** Marker style. */
export interface Marker {
  color?: string;
  size?: number;
  opacity?: number;
  symbol?: string;
}

/** Line style. */
export interface Line {
  color?: string;
  width?: number;
  dash?: 'solid' | 'dot' | 'dash' | 'dashdot' | 'longdash';
  shape?: 'linear' | 'spline' | 'hv' | 'vh';
}

/** Per-point error bars. */
export interface ErrorBars {
  type: 'data';
  array: number[];
  arrayminus?: number[];
  symmetric?: boolean;
  visible?: boolean;
}

interface TraceBase {
  x: Datum[];
  y: Datum[];
  name?: string;
  showlegend?: boolean;
  legendgroup?: string;
  hoverinfo?: 'all' | 'skip' | 'none' | 'x+y' | 'x+y+name';
  opacity?: number;
  marker?: Marker;
  error_y?: ErrorBars;
  /** Fixed trace id (plotly invents a random one otherwise). */
  uid?: string;
}

/** Scatter trace: points, lines or both; `fill` draws bands. */
export interface ScatterTrace extends TraceBase {
  type: 'scatter';
  mode?: 'markers' | 'lines' | 'lines+markers' | 'none';
  line?: Line;
  fill?: 'none' | 'tozeroy' | 'tonexty' | 'toself';
  fillcolor?: string;
  connectgaps?: boolean;
}

/** Bar trace. */
export interface BarTrace extends TraceBase {
  type: 'bar';
  orientation?: 'v' | 'h';
}

/** The trace kinds ctlab uses (all in plotly's basic bundle). */
export type Trace = ScatterTrace | BarTrace;

/** Title text. */
export interface Title {
  text: string;
}

/** Axis settings. */
export interface Axis {
  title?: Title;
  type?: 'linear' | 'log' | 'category';
  range?: [number, number];
  zeroline?: boolean;
  showgrid?: boolean;
  /** e.g. 'x' on the y axis with scaleratio 1 for equal units. */
  scaleanchor?: 'x' | 'y';
  scaleratio?: number;
}

/** Layout settings. */
export interface Layout {
  title?: Title;
  xaxis?: Axis;
  yaxis?: Axis;
  width?: number;
  height?: number;
  showlegend?: boolean;
  legend?: { x?: number; y?: number; orientation?: 'v' | 'h' };
  margin?: { l?: number; r?: number; t?: number; b?: number };
  barmode?: 'group' | 'stack' | 'overlay';
  font?: { family?: string; size?: number };
}

/** A plotly figure spec. */
export interface Figure {
  data: Trace[];
  layout: Layout;
}

/** Plotly's default colour cycle, assigned explicitly so bands match their lines. */
export const PALETTE: readonly string[] = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** The palette's colour for series `i` (cycling). */
function paletteColor(i: number): string {
  return PALETTE[i % PALETTE.length] as string;
}

/** `#rrggbb` with alpha as `rgba(...)`. */
function withAlpha(hex: string, alpha: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return hex;
  return `rgba(${parseInt(m[1] as string, 16)},${parseInt(m[2] as string, 16)},${parseInt(m[3] as string, 16)},${alpha})`;
}

/** Common figure options. */
export interface FigureOptions {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  width?: number;
  height?: number;
  logX?: boolean;
  logY?: boolean;
}

function baseLayout(opts: FigureOptions): Layout {
  const layout: Layout = {
    xaxis: { ...(opts.xTitle ? { title: { text: opts.xTitle } } : {}), ...(opts.logX ? { type: 'log' } : {}) },
    yaxis: { ...(opts.yTitle ? { title: { text: opts.yTitle } } : {}), ...(opts.logY ? { type: 'log' } : {}) },
  };
  if (opts.title) layout.title = { text: opts.title };
  if (opts.width) layout.width = opts.width;
  if (opts.height) layout.height = opts.height;
  return layout;
}

/** One point cloud for {@link scatterFigure}. */
export interface PointSeries {
  x: number[];
  y: number[];
  name?: string;
  color?: string;
  size?: number;
  opacity?: number;
}

/**
 * Scatter plot of point clouds (e.g. data vs. model samples). `equalAxes` gives x and y the same
 * units per pixel, which 2-D sample plots need.
 */
export function scatterFigure(series: PointSeries[], opts: FigureOptions & { equalAxes?: boolean } = {}): Figure {
  const data: ScatterTrace[] = series.map((s, i) => ({
    type: 'scatter',
    mode: 'markers',
    x: s.x,
    y: s.y,
    ...(s.name !== undefined ? { name: s.name } : {}),
    marker: { color: s.color ?? paletteColor(i), size: s.size ?? 4, opacity: s.opacity ?? 0.6 },
  }));
  const layout = baseLayout(opts);
  if (opts.equalAxes) layout.yaxis = { ...layout.yaxis, scaleanchor: 'x', scaleratio: 1 };
  return { data, layout };
}

/** One curve for {@link lineFigure}; `lo`/`hi` draw a shaded band (e.g. a 95% interval over seeds). */
export interface LineSeries {
  x: Datum[];
  y: Datum[];
  name?: string;
  color?: string;
  dash?: Line['dash'];
  markers?: boolean;
  lo?: number[];
  hi?: number[];
}

/** Line plot of curves, each with an optional shaded lo..hi band drawn under it. */
export function lineFigure(series: LineSeries[], opts: FigureOptions = {}): Figure {
  const data: ScatterTrace[] = [];
  series.forEach((s, i) => {
    const color = s.color ?? paletteColor(i);
    const group = s.name ?? `series${i}`;
    if (s.lo && s.hi) {
      if (s.lo.length !== s.x.length || s.hi.length !== s.x.length) {
        throw new RangeError(`lineFigure: series ${group}: lo/hi must have the length of x`);
      }
      data.push({
        type: 'scatter',
        mode: 'lines',
        x: [...s.x, ...[...s.x].reverse()],
        y: [...s.hi, ...[...s.lo].reverse()],
        fill: 'toself',
        fillcolor: withAlpha(color, 0.2),
        line: { color: 'rgba(0,0,0,0)', width: 0 },
        hoverinfo: 'skip',
        showlegend: false,
        legendgroup: group,
      });
    }
    data.push({
      type: 'scatter',
      mode: s.markers ? 'lines+markers' : 'lines',
      x: s.x,
      y: s.y,
      ...(s.name !== undefined ? { name: s.name } : {}),
      legendgroup: group,
      line: { color, width: 2, ...(s.dash ? { dash: s.dash } : {}) },
    });
  });
  return { data, layout: baseLayout(opts) };
}

/** One bar group for {@link barFigure}; `err` gives symmetric error bars. */
export interface BarSeries {
  x: Datum[];
  y: number[];
  name?: string;
  color?: string;
  err?: number[];
}

/** Grouped bar chart, with optional error bars. */
export function barFigure(series: BarSeries[], opts: FigureOptions = {}): Figure {
  const data: BarTrace[] = series.map((s, i) => ({
    type: 'bar',
    x: s.x,
    y: s.y,
    ...(s.name !== undefined ? { name: s.name } : {}),
    marker: { color: s.color ?? paletteColor(i) },
    ...(s.err ? { error_y: { type: 'data', array: s.err, visible: true } } : {}),
  }));
  return { data, layout: { ...baseLayout(opts), barmode: 'group' } };
}

/** Figure spec as pretty JSON (non-finite numbers become null, i.e. gaps). */
export function figureJson(fig: Figure): string {
  return JSON.stringify(fig, null, 2) + '\n';
}
