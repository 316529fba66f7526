/**
 * Public types of the pointer policy: optimiser settings, sampling options and results, weights,
 * and the learner's log-prob tensors.
 */
import type { BoxAction, PointAction } from '../actions/index.ts';
import type { Rng } from '../rng/index.ts';
import type { ActionKind, ActionTokens } from './action-codec.ts';
import type { tf } from './tf-runtime.ts';

/** Optimiser settings of a trainable policy. */
export interface PolicyTrainOptions {
  /** Adam step size. Default 1e-3. */
  readonly learningRate: number;
  /** Decoupled weight decay per unit learning rate. Default 0.01 (the paper's AdamW). */
  readonly weightDecay: number;
  /** Adam β1. Default 0.9. */
  readonly beta1: number;
  /** Adam β2. Default 0.999. */
  readonly beta2: number;
  /** Adam ε. Default 1e-8. */
  readonly epsilon: number;
  /** Clip the gradient to this global L2 norm; 0 disables. Default 1. */
  readonly maxGradNorm: number;
}

export const DEFAULT_TRAIN_OPTIONS: PolicyTrainOptions = {
  learningRate: 1e-3,
  weightDecay: 0.01,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  maxGradNorm: 1,
};

export interface SampleOptions {
  /** Sampling temperature; 0 = greedy. Default 1. */
  readonly temperature?: number;
  /** The random stream (sampling consumes it in batch order). */
  readonly rng: Rng;
  /** Which action to emit, for the whole batch or per observation. */
  readonly kind: ActionKind | readonly ActionKind[];
  /**
   * The batch's observations already encoded by `encodeObservations` (same policy, same weights):
   * only the action heads run. For drawing one state's actions in several calls.
   */
  readonly encoded?: EncodedObservations;
  /**
   * How positions and sizes are read from the heads: 'tokens' at the drawn tokens' cells (the
   * default: the action is exactly what its tokens say); 'mean' at each head's mean under its
   * distribution, given the tokens drawn before it (the offset cell within the drawn patch, the
   * size bins in log space), which places the box and the clicks finer than the grid. The tokens
   * and their log-probs are the drawn ones either way.
   */
  readonly decode?: PositionDecode;
}

/** How a sampled action's positions and sizes are read from its heads (SampleOptions.decode). */
export type PositionDecode = 'tokens' | 'mean';

/** Encoder output for a batch's observations, kept across sampling calls; `dispose()` frees it. */
export interface EncodedObservations {
  /** Observations encoded (U). */
  readonly count: number;
  dispose(): void;
}

export interface SampledAction {
  readonly tokens: ActionTokens;
  /** log π(token | prefix) at temperature 1, one per token. */
  readonly logprobs: Float32Array;
  /** The decoded action in pixels of the original image. */
  readonly action: BoxAction | PointAction;
}

export interface NamedWeight {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface TokenLogProbs {
  /** [B, MAX_ACTION_TOKENS] log-probs, 0 at padding. */
  readonly logprobs: tf.Tensor2D;
  /** [B, MAX_ACTION_TOKENS] 1 for real tokens. */
  readonly mask: tf.Tensor2D;
}

export interface PolicyCreateOptions {
  /** Seed or Rng for the initial weights. Default seed 0. */
  readonly seed?: number | string | Rng;
  /** Start from these weights instead of a seeded initialisation. */
  readonly weights?: readonly NamedWeight[];
  /** A frozen policy (a reference copy) refuses train steps. Default false. */
  readonly frozen?: boolean;
  readonly train?: Partial<PolicyTrainOptions>;
}
