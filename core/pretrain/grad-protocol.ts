/** Messages between the data-parallel trainer (data-parallel.ts) and its workers (grad-worker.ts). */
import type {
  ActionTokens,
  NamedWeight,
  PolicyConfig,
  PolicyTrainOptions,
  PreparedBatch,
  SupervisedLossOptions,
} from '../policy/index.ts';

export interface GradWorkerInit {
  readonly __entry: string;
  readonly config: PolicyConfig;
  readonly weights: readonly NamedWeight[];
  readonly train: PolicyTrainOptions;
  /**
   * Keep a moving average of the weights (WeightAverage), folded in after every applied step and
   * returned with the weights at the end; only the first worker is asked to (the copies are
   * identical).
   */
  readonly averageDecay?: number;
}

/** The mean gradients of the previous step, applied before anything else. */
export interface ApplyGradients {
  readonly grads: Map<string, Float32Array>;
  readonly loss: number;
  readonly learningRate: number;
}

export type GradWorkerRequest =
  | {
      readonly type: 'step';
      readonly id: number;
      readonly apply?: ApplyGradients;
      readonly batch: PreparedBatch;
      readonly targets: readonly ActionTokens[];
      readonly loss: SupervisedLossOptions;
      /** Sub-batches whose losses are reported without gradients (per-task loss curves). */
      readonly probe: readonly { batch: PreparedBatch; targets: readonly ActionTokens[] }[];
    }
  | { readonly type: 'weights'; readonly id: number; readonly apply?: ApplyGradients }
  /** End: the worker closes its port and its thread exits by itself (core/threads endWorker). */
  | { readonly type: 'close' };

export type GradWorkerResponse =
  | { readonly type: 'ready'; readonly id: number }
  | {
      readonly type: 'grads';
      readonly id: number;
      readonly loss: number;
      readonly grads: Map<string, Float32Array>;
      readonly parts: readonly number[];
    }
  | {
      readonly type: 'weights';
      readonly id: number;
      readonly weights: NamedWeight[];
      /** The moving average, from the worker that keeps one. */
      readonly average?: NamedWeight[];
    }
  | { readonly type: 'error'; readonly id: number; readonly message: string };
