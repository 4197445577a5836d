/**
 * The results folder of one image run (results/images): the FID/KID table per feature net beside
 * the floor and the ceiling, the sample grids and a provenance file, built from the run's records
 * alone (config.json, run.json, eval.json). `ctlab eval --out` writes it after evaluating;
 * `ctlab report --images <run or records dir>` rebuilds it from a fresh clone. The grids need the
 * run's samples/: where they are absent (committed records), the PNGs already in the folder stay.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exampleShape } from '../data/source';
import { writeUpscaledGrid } from '../data/grid-upscale';
import { writeTable } from '../report/table';
import { gridPath, readImageEval, readRunConfig, readRunJson, writeJson } from '../run/run-dir';

export interface ImageReport {
  out: string;
  /** Grids copied from the run's samples/ (none from records without samples). */
  grids: string[];
}

/** Write `out`/fid.{csv,md}, provenance.json and (when the run has them) the sample grids. */
export function writeImageReport(runDir: string, out: string): ImageReport {
  const cfg = readRunConfig(runDir);
  const info = readRunJson(runDir);
  const ev = readImageEval(runDir);
  if (!ev) throw new Error(`${runDir}: no image eval.json (evaluate it first: ctlab eval --run ${runDir} --n 2000)`);
  if (cfg.data.kind !== 'fashion-mnist') throw new Error(`${runDir}: config.data.kind is '${cfg.data.kind}', not image data`);
  const [h, w] = ev.shape ?? exampleShape(cfg.data);
  fs.mkdirSync(out, { recursive: true });
  const rows = Object.entries(ev.scores).flatMap(([net, s]) => [
    { 'feature net': net, what: `model, 1-step (σ = ${ev.sigmas.oneStep.join(', ')})`, FID: s.oneStep.fid, KID: s.oneStep.kid },
    { 'feature net': net, what: `model, 2-step (σ = ${ev.sigmas.twoStep.join(', ')})`, FID: s.twoStep.fid, KID: s.twoStep.kid },
    { 'feature net': net, what: 'floor: training images', FID: s.floor.fid, KID: s.floor.kid },
    { 'feature net': net, what: 'ceiling: Gaussian noise', FID: s.ceiling.fid, KID: s.ceiling.kid },
  ]);
  const cut =
    ev.step < cfg.steps
      ? `The run was cut short: evaluated at step ${ev.step} of ${cfg.steps} (status: ${info.status}); it resumes with \`ctlab train --resume --out ${ev.run}\`.`
      : `The run completed its ${cfg.steps} steps.`;
  const e = ev.evaluation;
  const evaluated = e
    ? `evaluated by \`${e.command}\` at commit ${e.commit}${e.dirty ? ' (dirty tree)' : ''} in ${Math.round(e.wallSec)} s`
    : 'the evaluation command was not recorded (an eval.json written before it was)';
  writeTable(rows, path.join(out, 'fid'), {
    title: `${cfg.name} on ${cfg.data.kind} ${h}×${w}: FID/KID against ${ev.n} held-out test images`,
    notes: [
      cut,
      `FID and KID use the kit's own Fashion-MNIST classifiers (data/feature-nets/), not Inception: the numbers are not comparable with published FIDs. ${ev.n} samples per row; the floor compares ${ev.n} training images with the same reference. KID is the unbiased cubic-kernel MMD² (20 subsets).`,
      `Provenance: trained by \`${info.command}\` (commit ${info.commit}, backend ${info.backend.name} with ${info.backend.threads} thread(s), seed ${cfg.seed}, training wall ${Math.round(info.wallSec)} s); ${evaluated}.`,
    ],
  });
  const grids: string[] = [];
  for (const [which, written] of [
    ['1step', ev.grids?.oneStep],
    ['2step', ev.grids?.twoStep],
  ] as const) {
    const from = gridPath(runDir, written);
    if (from === null) continue;
    const to = path.join(out, `samples-${which}.png`);
    // read back tile by tile and written at >= 64 px with index labels and a title (never a 16-px grid)
    writeUpscaledGrid(
      fs.readFileSync(from),
      to,
      { h: h as number, w: w as number },
      { title: `${cfg.name}, step ${ev.step}: ${which === '1step' ? '1-step' : '2-step'} samples`, file: from },
    );
    grids.push(to);
  }
  writeJson(path.join(out, 'provenance.json'), {
    run: ev.run,
    step: ev.step,
    totalSteps: cfg.steps,
    status: info.status,
    trainCommit: info.commit,
    evalCommit: e?.commit ?? null,
    backend: info.backend,
    seed: cfg.seed,
    trainWallSec: info.wallSec,
    evalWallSec: e?.wallSec ?? null,
    config: cfg,
  });
  return { out, grids };
}
