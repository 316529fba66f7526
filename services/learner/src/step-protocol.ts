/** Messages between the learner (step-thread.ts) and its step worker (step-worker.ts). */
import type { ErrorCode } from '../../../core/errors/index.ts';
import type { NamedWeight, PolicyConfig, PolicyTrainOptions } from '../../../core/policy/index.ts';
import type { StepBatch } from './batch.ts';
import type { GrpoGradients, StepSettings } from './grpo-step.ts';

export interface StepWorkerInit {
  readonly config: PolicyConfig;
  /** The frozen reference's weights (the KL term and the stop anchor). */
  readonly reference: readonly NamedWeight[];
  readonly train: PolicyTrainOptions;
}

export type StepWorkerRequest =
  | {
      readonly type: 'grads';
      readonly id: number;
      /** The learner's current weights: the worker differentiates at exactly these. */
      readonly weights: readonly NamedWeight[];
      readonly batch: StepBatch;
      readonly settings: StepSettings;
    }
  /** End: the worker disposes its policies and closes its port (core/threads endWorker). */
  | { readonly type: 'close' };

export type StepWorkerResponse =
  | { readonly type: 'ready'; readonly id: number }
  | { readonly type: 'grads'; readonly id: number; readonly result: GrpoGradients }
  | { readonly type: 'error'; readonly id: number; readonly code: ErrorCode; readonly message: string };
