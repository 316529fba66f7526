/** Messages between WorkerEnvPool and env-worker (structured-clone friendly: no classes). */
import type { Box } from '../../../core/geometry/index.ts';
import type { EnvImage, LowResLogits, ModelInfo, PromptPoint } from './model.ts';

export interface WireMask {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export interface WirePrompt {
  readonly box: Box;
  readonly points: readonly PromptPoint[];
  readonly prevLogits?: LowResLogits;
  readonly prevMask?: WireMask;
}

export interface WireOutput {
  readonly mask: WireMask;
  readonly lowResLogits?: LowResLogits;
  readonly predictedIou: number;
  readonly stability: number;
}

export type WorkerRequest =
  | {
      readonly type: 'transition';
      readonly id: number;
      readonly image: EnvImage;
      readonly prompts: readonly WirePrompt[];
    }
  | { readonly type: 'info'; readonly id: number }
  | { readonly type: 'close'; readonly id: number };

export type WorkerResponse =
  | {
      readonly id: number;
      readonly ok: true;
      readonly outputs: readonly WireOutput[];
      readonly info?: ModelInfo;
    }
  | {
      readonly id: number;
      readonly ok: false;
      readonly error: WorkerError;
    };

/** An error as it crosses from a worker: a ValidationError keeps its field and (cloneable) value. */
export interface WorkerError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly field?: string;
  readonly value?: unknown;
}
