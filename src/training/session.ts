/**
 * An in-memory training session: the trainer's own step (`trainStep`) on arrays held in memory, with
 * no file, checkpoint or process around it. The teaching page trains with it (several steps per
 * animation frame), and a notebook can too; `ctlab train` adds run directories, checkpoints, resume
 * and logging around the same step. Runs of the same config and data give the same weights in both.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from '../config/schema';
import { validateConfig } from '../config/schema';
import { evaluateRun, sampleDistances, sampleSwd, type EvalResult } from '../metrics/evaluate';
import { sampleConsistency } from '../sampling/multistep';
import { gridSize, stepContext, targetEmaAt, trainStep, type StepContext } from './ct-step';
import { createModelState, type ModelState } from './model-state';

export interface SessionData {
  /** Row-major training examples [n, ...shape]. */
  train: Float32Array;
  /** Held-out examples for the session's metrics. */
  test: Float32Array;
  /** Shape of one example ([2] for points). */
  shape: number[];
}

export interface SessionStatus {
  /** Steps done (k). */
  step: number;
  totalSteps: number;
  /** Loss of the last step (NaN before the first). */
  loss: number;
  /** N(k) and μ(k) of the next step. */
  n: number;
  mu: number;
  done: boolean;
}

export class NonFiniteSessionLoss extends Error {
  constructor(
    readonly step: number,
    readonly value: number,
  ) {
    super(`non-finite loss (${value}) at step ${step}; no weight was touched. Lower the learning rate or reset.`);
    this.name = 'NonFiniteSessionLoss';
  }
}

export class TrainingSession {
  readonly cfg: TrainConfig;
  readonly data: SessionData;
  private readonly state: ModelState;
  private readonly ctx: StepContext;
  private k = 0;
  private lastLoss = NaN;
  private disposed = false;

  /** A fresh session (the config is validated; its `steps` is the session's length). */
  constructor(config: TrainConfig, data: SessionData) {
    this.cfg = validateConfig(config);
    const dim = data.shape.reduce((a, b) => a * b, 1);
    if (data.train.length === 0 || data.train.length % dim !== 0) {
      throw new RangeError(`session: train holds ${data.train.length} values, not a whole number (>= 1) of examples of shape [${data.shape}]`);
    }
    if (data.test.length === 0 || data.test.length % dim !== 0) {
      throw new RangeError(`session: test holds ${data.test.length} values, not a whole number (>= 1) of examples of shape [${data.shape}]`);
    }
    this.data = data;
    this.state = createModelState(this.cfg, data.shape);
    this.ctx = stepContext(this.cfg, this.state.net, data.train, data.shape);
  }

  status(): SessionStatus {
    const k = Math.min(this.k, this.cfg.steps - 1);
    return {
      step: this.k,
      totalSteps: this.cfg.steps,
      loss: this.lastLoss,
      n: gridSize(this.cfg, k),
      mu: targetEmaAt(this.cfg, k),
      done: this.k >= this.cfg.steps,
    };
  }

  /** One training step (the trainer's); throws NonFiniteSessionLoss (weights untouched) on a non-finite loss. */
  async step(): Promise<SessionStatus> {
    if (this.disposed) throw new Error('session: used after dispose()');
    if (this.k >= this.cfg.steps) return this.status();
    const r = await trainStep(this.cfg, this.state, this.k, this.ctx);
    if (!r.applied) throw new NonFiniteSessionLoss(this.k + 1, r.loss);
    this.k++;
    this.lastLoss = r.loss;
    return this.status();
  }

  /**
   * Up to `maxSteps` steps, stopping early once `budgetMs` has passed (measured with `now`), so a page
   * can fill an animation frame without freezing. Returns the steps done.
   */
  async run(maxSteps: number, budgetMs = Infinity, now: () => number = () => Date.now()): Promise<number> {
    const t0 = now();
    let done = 0;
    while (done < maxSteps && this.k < this.cfg.steps) {
      await this.step();
      done++;
      if (now() - t0 >= budgetMs) break;
    }
    return done;
  }

  /** Samples of the sampling EMA along a descending σ list (CM Alg. 1). */
  sample(sigmas: readonly number[], n: number, seed: number): Float32Array {
    const { sigmaMin, sigmaMax, sigmaData } = this.cfg.noise;
    return sampleConsistency(this.state.net, this.state.ema, { sigmas, n, seed, sigmaMin, sigmaMax, sigmaData, shape: this.data.shape });
  }

  /** SWD (and MMD²) of samples along `sigmas` against the held-out set. */
  distances(sigmas: readonly number[], n: number, seed: number): { swd: number; mmd: number } {
    return sampleDistances(this.sample(sigmas, n, seed), this.data.test, this.state.net.dataDim);
  }

  /** SWD alone (the live readout: MMD² costs O(n²)) of given samples against the held-out set. */
  swd(samples: Float32Array): number {
    return sampleSwd(samples, this.data.test, this.state.net.dataDim);
  }

  /** The trainer's end-of-run evaluation (1- and 2-step SWD/MMD² on the whole held-out set). */
  evaluate(): EvalResult {
    return evaluateRun(this.cfg, this.state.net, this.state.ema, this.data.test, this.data.shape);
  }

  /** The sampling-EMA weights (copies; the caller disposes them). */
  emaWeights(): tf.Tensor[] {
    return this.state.ema.map((v) => v.clone());
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.state.dispose();
  }
}
