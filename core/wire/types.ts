/**
 * Domain types of the messages that cross process boundaries (gRPC to sam-env, NATS between learner
 * and actors). These are what the code works with; the protobuf shapes stay inside core/wire's
 * codecs and core/generated/. Coordinates are absolute pixels of the original image (core/geometry);
 * times are Unix epoch milliseconds.
 */
import type { Box, Point } from '../geometry/index.ts';

/** Lowercase hex SHA-256, 64 characters. */
export type Sha256Hex = string;

/** Where an image's pixels come from. Absent source = "you have seen this digest before". */
export type ImageSource =
  /** A complete PNG or JPEG file. */
  | { readonly kind: 'encoded'; readonly bytes: Uint8Array }
  /** Decoded RGB, 3 bytes per pixel, row-major. */
  | { readonly kind: 'raw'; readonly width: number; readonly height: number; readonly rgb: Uint8Array }
  /** Key in the shared image store. */
  | { readonly kind: 'store'; readonly key: string };

export interface ImageRef {
  /** SHA-256 of the encoded bytes (or of the raw RGB bytes). */
  readonly digest: Sha256Hex;
  readonly source?: ImageSource;
}

/**
 * COCO compressed RLE (pycocotools string form, column-major runs starting with zeros). core/mask's
 * `CocoRle` is the same data as { size: [height, width], counts }.
 */
export interface RleMask {
  readonly height: number;
  readonly width: number;
  readonly counts: string;
}

/** A refinement click: label 1 = positive (foreground), 0 = negative (background). */
export interface LabeledPoint {
  readonly point: Point;
  readonly label: 0 | 1;
}

/** Low-resolution mask logits (row-major float32), echoed back to the env on the next step. */
export interface LogitGrid {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

// ---------------------------------------------------------------------------------------------
// sam-env

/** One prompt for a transition. */
export interface EnvPrompt {
  readonly box: Box;
  /** Accumulated refinement clicks, oldest first. */
  readonly points: readonly LabeledPoint[];
  readonly prevLogits?: LogitGrid;
  /** Previous image-sized mask (for models without logit feedback). */
  readonly prevMask?: RleMask;
}

export interface EnvTransitionResult {
  readonly mask: RleMask;
  readonly lowResLogits?: LogitGrid;
  /** Model's own quality estimate in [0, 1]. */
  readonly predictedIou: number;
  /** Stability score in [0, 1]. */
  readonly stability: number;
  /** Mask area in pixels. */
  readonly area: number;
}

export interface EnvLimits {
  readonly maxPoints: number;
  readonly maxGroupSize: number;
  readonly maxBatch: number;
  readonly maxImageBytes: number;
  readonly maxImageSide: number;
  readonly maxMessageBytes: number;
}

export interface EnvInfo {
  readonly modelId: string;
  readonly family: string;
  readonly inputSize: number;
  readonly supportsMaskInput: boolean;
  readonly lowResSize: number;
  readonly limits: EnvLimits;
  readonly serverVersion: string;
}

// ---------------------------------------------------------------------------------------------
// training messages (NATS)

export type TaskKind = 'localization' | 'mask_understanding' | 'auxiliary';
export const TASK_KINDS: readonly TaskKind[] = ['localization', 'mask_understanding', 'auxiliary'];

/** What the policy sees, and what the learner needs to rebuild the policy input. */
export interface Observation {
  readonly image: ImageRef;
  readonly query: string;
  /** Current mask M (absent for localization). */
  readonly currentMask?: RleMask;
  /** Box that produced the current mask. */
  readonly box?: Box;
  readonly points: readonly LabeledPoint[];
  /** Refinement step index (0 = box step). */
  readonly step: number;
  readonly currentLogits?: LogitGrid;
}

export interface Task {
  readonly taskId: string;
  readonly kind: TaskKind;
  readonly dataset: string;
  readonly sampleId: string;
  readonly observation: Observation;
  readonly gtMask: RleMask;
  readonly gtBox: Box;
  /** G, rollouts per group. */
  readonly groupSize: number;
  readonly seed: number;
  /** 0 = any. */
  readonly minPolicyVersion: number;
  readonly createdAtMs: number;
  readonly ignoreMask?: RleMask;
}

/** A parsed action: a box, or a refinement with optional positive/negative points (both null = stop). */
export type Action =
  | { readonly kind: 'box'; readonly box: Box }
  | { readonly kind: 'refine'; readonly positive: Point | null; readonly negative: Point | null };

export interface SamplingStats {
  readonly temperature: number;
  readonly topP: number;
  readonly topK: number;
  /** Mean per-token entropy, nats. */
  readonly meanEntropy: number;
  readonly sampleMs: number;
  readonly envMs: number;
}

export interface Rollout {
  /** Generated token ids (float32/uint32 on the wire). */
  readonly tokenIds: readonly number[];
  /** Natural-log behaviour probabilities, one per token (float32 on the wire). */
  readonly behaviourLogprobs: readonly number[];
  readonly actionText: string;
  /** Absent when the text did not parse. */
  readonly action?: Action;
  /** Parser message; '' when the action parsed. */
  readonly formatError: string;
  readonly reward: number;
  readonly rewardBreakdown: Readonly<Record<string, number>>;
  readonly resultMask?: RleMask;
  readonly iou: number;
  readonly stats: SamplingStats;
  /**
   * How much of dynamic sampling's draws this rollout stands for (its action type's share of the
   * draws over its share of the group; > 0, mean 1 over a group). Absent = 1.
   */
  readonly drawWeight?: number;
}

export interface RolloutGroup {
  readonly groupId: string;
  readonly taskId: string;
  readonly kind: TaskKind;
  readonly policyVersion: number;
  readonly actorId: string;
  readonly observation: Observation;
  readonly rollouts: readonly Rollout[];
  readonly samplesDrawn: number;
  readonly goodEnough: boolean;
  readonly promptTokenIds: readonly number[];
  readonly envModelId: string;
  readonly createdAtMs: number;
  readonly attempt: number;
}

export interface PolicyRelease {
  /** Monotonic, ≥ 1. */
  readonly version: number;
  /** SHA-256 of the weight bytes. */
  readonly digest: Sha256Hex;
  readonly objectName: string;
  readonly byteSize: number;
  readonly createdAtMs: number;
  readonly architecture: string;
  readonly step: number;
}
