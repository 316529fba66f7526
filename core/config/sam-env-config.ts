/** Configuration of the sam-env gRPC service (env section `SAMV_SAM_ENV__*`). */
import { z } from 'zod';
import { MetricsPortSchema } from './bus-config.ts';

export const SamEnvLimitsSchema = z.strictObject({
  /** Largest encoded image accepted in a request, bytes. Default 16 MiB. */
  maxImageBytes: z
    .number()
    .int()
    .positive()
    .default(16 * 1024 * 1024),
  /** Largest decoded image, pixels (width × height). Default 4096 × 4096. */
  maxImagePixels: z
    .number()
    .int()
    .positive()
    .default(4096 * 4096),
  /** Most prompt points in one transition. Default 16. */
  maxPoints: z.number().int().positive().default(16),
  /** Most transitions in one batched request (one group on one image). Default 64. */
  maxTransitionsPerRequest: z.number().int().positive().default(64),
  /** Largest gRPC message received, bytes. Default 32 MiB. */
  maxReceiveMessageBytes: z
    .number()
    .int()
    .positive()
    .default(32 * 1024 * 1024),
});

export const SamEnvConfigSchema = z.strictObject({
  /** Listen address. Default 0.0.0.0 (all interfaces; loopback deployments pass 127.0.0.1). */
  host: z.string().min(1).default('0.0.0.0'),
  /** Listen port; 0 picks a free one. Default 50051. */
  port: z.number().int().min(0).max(65535).default(50051),
  /** Env model plugin: `grabcut` (CPU, no weights) or `sam2-onnx`. Default grabcut. */
  model: z.enum(['grabcut', 'sam2-onnx']).default('grabcut'),
  /** Directory holding the ONNX encoder/decoder for `sam2-onnx`. */
  modelDir: z.string().min(1).optional(),
  /** onnxruntime execution provider for `sam2-onnx`. Default cpu. */
  executionProvider: z.enum(['cpu', 'cuda']).default('cpu'),
  /** Image-embedding cache budget, bytes. Default 512 MiB. */
  embeddingCacheBytes: z
    .number()
    .int()
    .nonnegative()
    .default(512 * 1024 * 1024),
  /** Most prompts decoded in one micro-batched decoder run. Default 16. */
  maxBatch: z.number().int().positive().default(16),
  /** How long a micro-batch waits for more prompts before running, ms. Default 2. */
  maxBatchWaitMs: z.number().nonnegative().default(2),
  /** Transitions processed at once across requests (back-pressure beyond). Default 64. */
  maxConcurrent: z.number().int().positive().default(64),
  /** Graceful shutdown budget before forcing, ms. Default 10000. */
  shutdownGraceMs: z.number().int().nonnegative().default(10_000),
  /** Prometheus `/metrics` port; null = none, 0 = any free port. Default null. */
  metricsPort: MetricsPortSchema,
  /**
   * Shared image store that `ImageRef.store_key` names: `nats://host:4222[/bucket]` (NATS Object
   * Store, bucket "images" by default), `file:///abs/dir` or a directory path. null = none (a store
   * key is answered NOT_FOUND). Default null.
   */
  imageStore: z.string().trim().min(1).nullable().default(null),
  limits: SamEnvLimitsSchema.prefault({}),
});

export type SamEnvConfig = z.infer<typeof SamEnvConfigSchema>;
