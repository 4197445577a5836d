/**
 * What the trainer and samplers need from a network F_θ: a pure function of a weight list, so that
 * the student, the target θ⁻ and the sampling EMA are just three weight lists of one model.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface ParamSpec {
  name: string;
  shape: number[];
}

/** Dropout masks for one forward pass (already scaled by 1/(1 − p)); shared by student and teacher. */
export type DropoutMasks = readonly tf.Tensor[];

/** Options of one `Network.apply` call. */
export interface ApplyOptions {
  /**
   * The caller takes no gradient through this call (a stop-gradient target pass or sampling, outside
   * any gradient tape), so the network may skip what only a gradient needs (the whole-MLP kernel
   * then keeps no activations). A gradient through such a call is an error where a network uses
   * the promise (TF.js: "gradient function not found for CtlabMlp") and unaffected elsewhere.
   */
  constant?: boolean;
}

export interface Network {
  /** Names and shapes of the weights, in the order `apply` expects them. */
  readonly params: readonly ParamSpec[];
  /** Initial weights, deterministic in the seed. */
  init(seed: number): Float32Array[];
  /** Shapes of the dropout masks for a batch of size b (empty when dropout is 0). */
  dropoutShapes(batch: number): number[][];
  /**
   * The raw network F_θ(c_in·x, σ): input already scaled by c_in; `sigma` [B] is the noise level
   * (the embedding computes c_noise from it). Returns a tensor shaped like x.
   */
  apply(weights: readonly tf.Tensor[], xIn: tf.Tensor, sigma: tf.Tensor1D, masks: DropoutMasks | null, opts?: ApplyOptions): tf.Tensor;
  /**
   * Optional: skip + cOut·apply(weights, xIn, σ, masks), the consistency function from its prepared
   * input (src/consistency/model.ts `consistencyOfPrepared` calls it where a network has it), for a
   * network that runs it as one call (the whole-MLP kernel). cOut broadcasts against the output.
   */
  applyAffine?(
    weights: readonly tf.Tensor[],
    xIn: tf.Tensor,
    sigma: tf.Tensor1D,
    masks: DropoutMasks | null,
    skip: tf.Tensor,
    cOut: tf.Tensor,
    opts?: ApplyOptions,
  ): tf.Tensor;
  /** Per-example data dimension d (e.g. 2 for points, C·H·W for images). */
  readonly dataDim: number;
}
