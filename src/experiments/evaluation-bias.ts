/**
 * Evaluation bias: does a loss built on one feature network's features flatter the FID measured in
 * that network's feature space? Every completed image run of the ablations is scored by both
 * shipped classifiers (`ctlab eval`); the LPIPS-style distance compares fmnist-cnn's features, so
 * if the bias exists, runs trained with it have a lower FID(fmnist-cnn) / FID(fmnist-strided)
 * ratio than runs trained with pixel distances. This is the Fashion-MNIST stand-in for iCT's
 * concern that LPIPS (ImageNet features) and FID (Inception, ImageNet features) are not independent.
 *
 * Writes <out>/evaluation-bias.{csv,md} and a scatter plot <out>/evaluation-bias.{html,png,svg}.
 */
import * as path from 'node:path';
import { DEFAULT_FEATURE_NET } from '../metrics/feature-net';
import { scatterFigure, type Figure, type PointSeries } from '../report/plot';
import { writeTable, type Row } from '../report/table';
import type { AblationPlan } from '../run/records';
import { planEntryDir, readImageEval, readRunConfig, runStatus } from '../run/run-dir';

/** The two shipped evaluators: the one the LPIPS-style distance is built on, and the independent one. */
export const LOSS_NET = DEFAULT_FEATURE_NET;
export const INDEPENDENT_NET = 'fmnist-strided';

export interface BiasRun {
  /** Run directory label without its hash (e.g. "baseline", "distance-lpips"). */
  label: string;
  dir: string;
  distance: string;
  /** Feature net the training loss compared, or null for pixel distances. */
  lossNet: string | null;
  fid1: Record<string, number>;
  fid2: Record<string, number>;
}

/** The completed, evaluated runs of an image plan, one per run directory (under `runsRoot` when given, else where the plan says). */
export function collectBiasRuns(plan: AblationPlan, runsRoot?: string): BiasRun[] {
  const dirs = [...new Set(plan.entries.map((e) => (runsRoot === undefined ? e.dir : planEntryDir(runsRoot, e))))].sort();
  const out: BiasRun[] = [];
  for (const dir of dirs) {
    if (runStatus(dir) !== 'completed') continue;
    const ev = readImageEval(dir);
    if (!ev?.scores[LOSS_NET] || !ev.scores[INDEPENDENT_NET]) continue;
    const cfg = readRunConfig(dir);
    const lossNet = cfg.distance.kind === 'lpips' ? (cfg.distance.net ?? DEFAULT_FEATURE_NET) : null;
    const fid1: Record<string, number> = {};
    const fid2: Record<string, number> = {};
    for (const [net, s] of Object.entries(ev.scores)) {
      fid1[net] = s.oneStep.fid;
      fid2[net] = s.twoStep.fid;
    }
    const seed = path.basename(dir);
    out.push({
      label: `${path.basename(path.dirname(dir)).replace(/-[0-9a-f]{8}$/, '')}${seed === 'seed0' ? '' : `/${seed}`}`,
      dir,
      distance: cfg.distance.kind,
      lossNet,
      fid1,
      fid2,
    });
  }
  return out;
}

/** FID in the loss net's space over FID in the independent net's space (1-step samples). */
export function biasRatio(r: BiasRun): number {
  return (r.fid1[LOSS_NET] as number) / (r.fid1[INDEPENDENT_NET] as number);
}

/**
 * The ratio alone is confounded by quality (noise scores 216 / 151 here, training images 0.45 /
 * 1.10), so the pixel-loss runs define the expected relation: a least-squares line
 * log FID(loss net) = a + b·log FID(independent net) through them. A run's excess is
 * exp(residual): 0.8 means its loss-net FID is 20% below what a pixel-loss run of the same
 * independent FID gets.
 */
export function biasFit(runs: readonly BiasRun[]): { a: number; b: number; n: number } | null {
  const px = runs.filter((r) => r.lossNet === null);
  if (px.length < 3) return null;
  const xs = px.map((r) => Math.log(r.fid1[INDEPENDENT_NET] as number));
  const ys = px.map((r) => Math.log(r.fid1[LOSS_NET] as number));
  const mx = xs.reduce((s, v) => s + v, 0) / xs.length;
  const my = ys.reduce((s, v) => s + v, 0) / ys.length;
  let sxx = 0;
  let sxy = 0;
  xs.forEach((x, i) => {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * ((ys[i] as number) - my);
  });
  if (sxx < 1e-12) return null;
  const b = sxy / sxx;
  return { a: my - b * mx, b, n: px.length };
}

/** exp(residual) of a run against the pixel-loss fit (see {@link biasFit}). */
export function biasExcess(r: BiasRun, fit: { a: number; b: number }): number {
  return Math.exp(Math.log(r.fid1[LOSS_NET] as number) - (fit.a + fit.b * Math.log(r.fid1[INDEPENDENT_NET] as number)));
}

/** One paragraph on what the runs show, computed from them. */
export function biasFinding(runs: readonly BiasRun[]): string {
  const lp = runs.filter((r) => r.lossNet === LOSS_NET);
  const px = runs.filter((r) => r.lossNet === null);
  const fit = biasFit(runs);
  if (lp.length === 0 || !fit)
    return `not enough runs to tell: ${lp.length} trained on ${LOSS_NET} features, ${px.length} on pixel distances (at least 1 and 3 needed)`;
  const pe = px.map((r) => biasExcess(r, fit)).sort((x, y) => x - y);
  const lo = pe[0] as number;
  const hi = pe[pe.length - 1] as number;
  const ind = px.map((r) => r.fid1[INDEPENDENT_NET] as number);
  const inRange = (r: BiasRun): boolean => {
    const v = r.fid1[INDEPENDENT_NET] as number;
    return v >= Math.min(...ind) && v <= Math.max(...ind);
  };
  const parts = lp.map((r) => {
    const q = biasExcess(r, fit);
    const where = q < lo ? 'below every pixel-loss run' : q > hi ? 'above every pixel-loss run' : "inside the pixel-loss runs' spread";
    return `${r.label} ${q.toFixed(2)} (${where}${inRange(r) ? '' : `; its ${INDEPENDENT_NET} FID is outside the pixel-loss runs' range, so this is an extrapolation`})`;
  });
  const usable = lp.filter(inRange);
  const below = usable.filter((r) => biasExcess(r, fit) < lo).length;
  const verdict =
    usable.length === 0
      ? `it cannot tell: every LPIPS-style run is outside the quality range of the pixel-loss runs, so the comparison rests on extrapolating the line`
      : below === usable.length
        ? `every comparable run trained on ${LOSS_NET} features looks better to ${LOSS_NET} than a pixel-loss run of the same ${INDEPENDENT_NET} FID: the bias shows`
        : below > 0
          ? 'mixed: some LPIPS-style runs are flattered by their own feature net, some are not'
          : `no sign of the bias at this scale: the comparable LPIPS-style runs are not flattered by ${LOSS_NET}`;
  return (
    `Pixel-loss runs (n=${fit.n}) give log FID(${LOSS_NET}) = ${fit.a.toFixed(2)} + ${fit.b.toFixed(2)}·log FID(${INDEPENDENT_NET}) (1-step). ` +
    `Measured over predicted FID(${LOSS_NET}): pixel-loss runs ${lo.toFixed(2)}–${hi.toFixed(2)}; LPIPS-style runs ${parts.join(', ')}. ` +
    `So ${verdict}. Each point is one run (one seed): a pattern to look at, not a statistical test.`
  );
}

/** Table and scatter plot of the evaluation bias; returns the figure for static export (or null). */
export function writeEvaluationBias(
  plans: readonly AblationPlan[],
  outRoot: string,
  provenance: string,
  runsRoot?: string,
): { files: string[]; fig: { fig: Figure; outBase: string } | null } {
  const runs = plans.flatMap((p) => collectBiasRuns(p, runsRoot).map((r) => ({ ...r, data: p.data })));
  if (runs.length === 0) return { files: [], fig: null };
  const fit = biasFit(runs);
  const rows: Row[] = runs.map((r) => ({
    data: r.data,
    run: r.label,
    distance: r.distance,
    'loss features': r.lossNet ?? 'pixels',
    [`FID 1-step (${LOSS_NET})`]: Number((r.fid1[LOSS_NET] as number).toFixed(3)),
    [`FID 1-step (${INDEPENDENT_NET})`]: Number((r.fid1[INDEPENDENT_NET] as number).toFixed(3)),
    'ratio (1-step)': Number(biasRatio(r).toFixed(3)),
    'measured / predicted (1-step)': fit ? Number(biasExcess(r, fit).toFixed(3)) : null,
    [`FID 2-step (${LOSS_NET})`]: Number((r.fid2[LOSS_NET] as number).toFixed(3)),
    [`FID 2-step (${INDEPENDENT_NET})`]: Number((r.fid2[INDEPENDENT_NET] as number).toFixed(3)),
  }));
  const t = writeTable(rows, path.join(outRoot, 'evaluation-bias'), {
    title: 'Evaluation bias: a loss on one feature net, FID in that net and in an independent one',
    notes: [
      `Every completed image run of the ablations, scored by both shipped Fashion-MNIST classifiers. The LPIPS-style distance compares ${LOSS_NET}'s features; ${INDEPENDENT_NET} is an independent classifier (other architecture, other seed). The ratio FID(${LOSS_NET}) / FID(${INDEPENDENT_NET}) depends on sample quality (noise: 216 / 151, training images: 0.45 / 1.10 in results/images), so each run is compared with the line the pixel-loss runs define (log-log least squares): "measured / predicted" below 1 means the run looks better to ${LOSS_NET} than a pixel-loss run of the same ${INDEPENDENT_NET} FID.`,
      biasFinding(runs),
      provenance,
    ],
  });
  const groups = new Map<string, typeof runs>();
  for (const r of runs) groups.set(r.lossNet ?? 'pixels', [...(groups.get(r.lossNet ?? 'pixels') ?? []), r]);
  const series: PointSeries[] = [...groups.entries()].map(([k, rs]) => ({
    name: k === 'pixels' ? 'loss on pixels (ℓ2, pseudo-Huber)' : `LPIPS-style loss on ${k}`,
    x: rs.map((r) => r.fid1[INDEPENDENT_NET] as number),
    y: rs.map((r) => r.fid1[LOSS_NET] as number),
    size: 9,
    opacity: 0.9,
  }));
  const fig = scatterFigure(series, {
    title: 'Each image run under both evaluators (1-step FID; lower is better)',
    xTitle: `FID, ${INDEPENDENT_NET} (independent)`,
    yTitle: `FID, ${LOSS_NET} (the LPIPS-style loss's features)`,
    width: 640,
    height: 480,
    logX: true,
    logY: true,
  });
  if (fit) {
    const xs = runs.map((r) => r.fid1[INDEPENDENT_NET] as number);
    const x0 = Math.min(...xs);
    const x1 = Math.max(...xs);
    fig.data.push({
      type: 'scatter',
      mode: 'lines',
      name: 'pixel-loss fit',
      x: [x0, x1],
      y: [x0, x1].map((x) => Math.exp(fit.a + fit.b * Math.log(x))),
      line: { color: '#7f7f7f', dash: 'dash' },
    });
  }
  return { files: [t.csvPath, t.mdPath], fig: { fig, outBase: path.join(outRoot, 'evaluation-bias') } };
}
