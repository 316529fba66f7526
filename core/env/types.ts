/**
 * The environment-model plugin contract. sam-env is stateless: a model turns (image, prompt) into a
 * mask. `embed` is the expensive per-image step (a SAM encoder run, or GrabCut's downscale); its result
 * is cached by the server keyed by (model id, image digest) and is only an optimisation.
 */
import type { BinaryMask } from '../mask/index.ts';
import type { Box, Point } from '../geometry/index.ts';

/** A decoded image: RGB, 3 bytes per pixel, row-major (HWC). */
export interface EnvImage {
  /** Lowercase hex sha256 of the encoded bytes that were sent (or of `rgb` when sent raw). */
  readonly digest: string;
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
}

export interface PromptPoint {
  /** Absolute pixels of the original image. */
  readonly point: Point;
  /** 1 = positive (foreground) click, 0 = negative (background) click. */
  readonly label: 0 | 1;
}

/** Low-resolution mask logits fed back into the next transition (SAM: 256×256, clamped to ±32). */
export interface LowResLogits {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

export interface TransitionPrompt {
  readonly box: Box;
  /** Accumulated refinement clicks, oldest first. */
  readonly points: readonly PromptPoint[];
  /** Logits from the previous step of the same episode, when the model supports mask input. */
  readonly prevLogits?: LowResLogits;
  /** Previous binary mask of the episode (used by models without logit feedback, e.g. GrabCut). */
  readonly prevMask?: BinaryMask;
}

export interface TransitionOutput {
  readonly mask: BinaryMask;
  readonly lowResLogits?: LowResLogits;
  /** The model's own quality estimate in [0, 1] (SAM's IoU head; GrabCut: a heuristic). */
  readonly predictedIou: number;
  /** Stability score in [0, 1]: agreement of the mask at logit thresholds ±delta. */
  readonly stability: number;
}

export interface ModelInfo {
  /** Stable id used in cache keys and metrics, e.g. `grabcut@256` or `sam2-onnx:samexporter:<sha8>`. */
  readonly id: string;
  /** Export family: `grabcut`, `sam2-samexporter`, `sam2-rectlabel`, `sam2-ort`, `sam1-meta`, … */
  readonly family: string;
  /** Model input side in pixels (SAM: 1024; GrabCut: its working resolution). */
  readonly inputSize: number;
  readonly supportsMaskInput: boolean;
  /** Low-res logit side when mask input is supported (SAM: 256). */
  readonly lowResSize: number;
  /** Max points per prompt, box corners excluded. */
  readonly maxPoints: number;
  /** Max prompts decoded in one run. */
  readonly maxBatch: number;
}

/** Per-image state produced by `embed` (opaque to the server apart from its size). */
export interface ImageEmbedding {
  readonly byteSize: number;
  /** Release native memory, if any (called on cache eviction). */
  dispose?(): void;
}

export interface EnvModel<E extends ImageEmbedding = ImageEmbedding> {
  readonly info: ModelInfo;
  /** Warm up (run once on a dummy input) and check the model's inputs; throws a domain error. */
  init(): Promise<void>;
  embed(image: EnvImage): Promise<E>;
  /** Decodes several prompts on one image; results in prompt order. */
  decode(embedding: E, image: EnvImage, prompts: readonly TransitionPrompt[]): Promise<TransitionOutput[]>;
  close(): Promise<void>;
}

/**
 * What the agent loop and the actors need from an environment: transitions for several prompts on
 * one image. Implemented by the sam-env gRPC client (cluster) and by an in-process model pool.
 */
export interface EnvPort {
  info(): Promise<ModelInfo>;
  transitionGroup(image: EnvImage, prompts: readonly TransitionPrompt[]): Promise<TransitionOutput[]>;
  close(): Promise<void>;
}
