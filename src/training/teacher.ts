/**
 * The teacher of consistency distillation: a finished EDM run directory, loaded and checked before
 * a CD student trains (CM Alg. 2 needs a pre-trained diffusion model). Refused, naming the file or
 * field: a directory that is not a run, a run that is not EDM, an unfinished run, another data set
 * or shape, a missing or corrupt final checkpoint.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from '../config/schema';
import { exampleShape } from '../data/source';
import { buildNetwork } from '../models/build';
import { readRunConfig, readRunJson, runPaths } from '../run/run-dir';
import { checkpointFileName, loadCheckpoint } from './checkpoint';
import type { DistillTeacher } from './edm-step';

/** What the student's run.json records about its teacher. */
export interface TeacherProvenance {
  /** The directory as the config gives it (relative paths stay relative). */
  dir: string;
  configHash: string;
  commit: string;
  dirty: boolean;
  step: number;
  /** The teacher's own training cost. */
  wallSec: number;
  totalSteps: number;
}

export class TeacherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TeacherError';
  }
}

function describeData(cfg: TrainConfig): string {
  const d = cfg.data;
  return d.kind === 'toy2d' ? `toy2d '${d.name}'` : d.kind === 'fashion-mnist' ? `fashion-mnist ${d.size}×${d.size}` : `csv '${d.path}'`;
}

/** Check the teacher run of a CD config without loading its weights. Returns its config and provenance. */
export function checkTeacher(student: TrainConfig): { config: TrainConfig; provenance: TeacherProvenance; checkpoint: string } {
  if (student.method?.kind !== 'cd') throw new TeacherError("config.method.kind: expected 'cd' to load a teacher");
  const dir = student.method.teacher;
  const field = 'config.method.teacher';
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new TeacherError(`${field}: ${dir} is not a directory (expected a finished EDM run: ctlab train --preset edm)`);
  if (!fs.existsSync(runPaths(dir).config)) throw new TeacherError(`${field}: ${dir} is not a ctlab run directory (no config.json)`);
  let cfg: TrainConfig;
  try {
    cfg = readRunConfig(dir);
  } catch (e) {
    throw new TeacherError(`${field}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (cfg.method?.kind !== 'edm') {
    throw new TeacherError(
      `${field}: ${runPaths(dir).config} is not an EDM diffusion run (config.method is ${cfg.method ? `'${cfg.method.kind}'` : 'absent: a consistency-training run'}); a CD teacher is trained with --preset edm`,
    );
  }
  if (!fs.existsSync(runPaths(dir).run)) throw new TeacherError(`${field}: ${dir} has no run.json (the teacher has not started)`);
  const run = readRunJson(dir);
  if (run.status !== 'completed') {
    throw new TeacherError(
      `${field}: ${runPaths(dir).run} has status '${run.status}' at step ${run.step} of ${run.totalSteps}; the teacher must be a completed run (finish it: ctlab train --resume --out ${dir})`,
    );
  }
  const a = exampleShape(student.data);
  const b = exampleShape(cfg.data);
  if (a.join('x') !== b.join('x')) {
    throw new TeacherError(`${field}: the teacher's data shape [${b}] (${runPaths(dir).config} data) differs from the student's [${a}] (config.data)`);
  }
  const sameData = JSON.stringify({ ...cfg.data, trainSize: 0, testSize: 0 }) === JSON.stringify({ ...student.data, trainSize: 0, testSize: 0 });
  if (!sameData) {
    throw new TeacherError(
      `${field}: the teacher was trained on ${describeData(cfg)} (${runPaths(dir).config} data), the student's config.data is ${describeData(student)}`,
    );
  }
  const ckpt = path.join(runPaths(dir).checkpoints, checkpointFileName(cfg.steps));
  if (!fs.existsSync(ckpt)) throw new TeacherError(`${field}: the teacher's final checkpoint ${ckpt} is missing`);
  const provenance: TeacherProvenance = {
    dir,
    configHash: run.configHash,
    commit: run.commit,
    dirty: run.dirty,
    step: run.step,
    wallSec: run.wallSec,
    totalSteps: run.totalSteps,
  };
  if (student.method.teacherConfigHash !== undefined && student.method.teacherConfigHash !== run.configHash) {
    throw new TeacherError(
      `${field}: ${dir} now holds a run of config ${run.configHash}, but config.method.teacherConfigHash pins ${student.method.teacherConfigHash}`,
    );
  }
  return { config: cfg, provenance, checkpoint: ckpt };
}

/** Check and load the teacher: its sampling-EMA weights from the final checkpoint, frozen. */
export function loadTeacher(student: TrainConfig): { teacher: DistillTeacher & { dispose(): void }; provenance: TeacherProvenance; config: TrainConfig } {
  const { config, provenance, checkpoint } = checkTeacher(student);
  if (student.method?.kind !== 'cd') throw new TeacherError("config.method.kind: expected 'cd'");
  let ck;
  try {
    ck = loadCheckpoint(checkpoint);
  } catch (e) {
    throw new TeacherError(`config.method.teacher: the teacher's checkpoint ${checkpoint} is unreadable (${e instanceof Error ? e.message : String(e)})`);
  }
  if (ck.meta.configHash !== provenance.configHash) {
    throw new TeacherError(`config.method.teacher: ${checkpoint} was written by config ${String(ck.meta.configHash)}, not the run's ${provenance.configHash}`);
  }
  const shape = exampleShape(config.data);
  const net = buildNetwork(config, shape);
  const byName = new Map(ck.tensors.map((t) => [t.name, t]));
  const weights = net.params.map((p) => {
    const t = byName.get(`ema/${p.name}`);
    if (t?.shape.join(',') !== p.shape.join(',')) {
      net.dispose();
      throw new TeacherError(`config.method.teacher: ${checkpoint} lacks ema/${p.name} of shape [${p.shape}]`);
    }
    return tf.tensor((t as { data: Float32Array }).data, p.shape);
  });
  const teacher = {
    net,
    weights,
    sigmaData: config.noise.sigmaData,
    solver: student.method.solver,
    dispose(): void {
      tf.dispose(weights);
      net.dispose();
    },
  };
  return { teacher, provenance, config };
}
