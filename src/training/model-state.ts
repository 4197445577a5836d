/**
 * The tensors of a consistency-training run: the student θ, the target θ⁻ (an EMA target only;
 * iCT's θ⁻ = stopgrad θ reuses the student), the sampling EMA of θ and the optimizer. All three
 * weight lists belong to one `Network` (src/models/types), built from the config.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from '../config/schema';
import { buildNetwork } from '../models/build';
import type { Network } from '../models/types';
import { createOptimizer, type Optimizer } from '../optim';

export interface ModelState {
  net: Network & { dispose(): void };
  student: tf.Variable[];
  target: tf.Variable[] | null;
  ema: tf.Variable[];
  optimizer: Optimizer;
  dispose(): void;
}

let varCounter = 0;

/** A fresh state: every weight list starts at the network's seeded initialisation. */
export function createModelState(cfg: TrainConfig, shape: readonly number[]): ModelState {
  const net = buildNetwork(cfg, shape);
  const init = net.init(cfg.seed);
  const id = varCounter++;
  const make = (role: string, trainable: boolean): tf.Variable[] =>
    net.params.map((p, i) => tf.tidy(() => tf.variable(tf.tensor(init[i] as Float32Array, p.shape), trainable, `ctlab${id}/${role}/${p.name}`)));
  const student = make('student', true);
  const target = cfg.target.kind === 'ema' ? make('target', false) : null;
  const ema = make('ema', false);
  const optimizer = createOptimizer({ ...cfg.optimizer }, student);
  return {
    net,
    student,
    target,
    ema,
    optimizer,
    dispose() {
      tf.dispose([...student, ...(target ?? []), ...ema]);
      optimizer.dispose();
      net.dispose();
    },
  };
}
