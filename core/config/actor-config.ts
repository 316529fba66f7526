/** Configuration of an actor process (env section `SAMV_ACTOR__*`). */
import { z } from 'zod';
import { MetricsPortSchema } from './bus-config.ts';

export const TaskMixSchema = z
  .strictObject({
    /** Relative weight of task 1 (text localization). Default 1. */
    localization: z.number().nonnegative().default(1),
    /** Relative weight of task 2 (mask understanding). Default 1. */
    maskUnderstanding: z.number().nonnegative().default(1),
    /** Relative weight of task 3 (auxiliary mask understanding). Default 1. */
    auxiliary: z.number().nonnegative().default(1),
  })
  .refine((m) => m.localization + m.maskUnderstanding + m.auxiliary > 0, 'must have a positive total weight');

export const SamplingSchema = z.strictObject({
  /** Sampling temperature of the policy. Default 1. */
  temperature: z.number().positive().default(1),
  /** Localization: boxes drawn per group before de-duplication (≥ group size). Default 24. */
  localizationCandidates: z.number().int().positive().default(24),
  /** Localization: candidates with box IoU above this count as duplicates. Default 0.9. */
  duplicateBoxIou: z.number().min(0).max(1).default(0.9),
  /** Mask understanding: most draws while trying to cover all four action types. Default 64. */
  maxDrawsPerGroup: z.number().int().positive().default(64),
  /** Most refinement steps in an evaluation episode. Default 3 (the paper). */
  maxRefinements: z.number().int().nonnegative().default(3),
  /**
   * Mask understanding: a follow-up state is 1..followUpClicks policy clicks past the box mask
   * (uniform). Default 1 (states of evaluation steps 1 and 2 only); 2 adds step 3's.
   */
  followUpClicks: z.number().int().min(1).default(1),
  /**
   * Mask understanding: probability that a state's mask comes from a box the policy draws (else a
   * jittered GT box). Default 0.3. Evaluation's masks all come from the policy's boxes.
   */
  policyBoxProbability: z.number().min(0).max(1).default(0.3),
});

export const ActorConfigSchema = z.strictObject({
  /** `memory` for the in-process bus, or a NATS URL such as nats://127.0.0.1:4222. Default memory. */
  busUrl: z.string().min(1).default('memory'),
  /** sam-env replicas as host:port; empty = an in-process env model. Default []. */
  envAddresses: z.array(z.string().min(1)).default([]),
  /** Tasks processed at once by this actor. Default 2. */
  concurrency: z.number().int().positive().default(2),
  /** Rollouts per group G. Default 8 (the paper). */
  groupSize: z.number().int().min(2).default(8),
  /** Deadline of one sam-env call, ms. Default 30000. */
  envDeadlineMs: z.number().int().positive().default(30_000),
  /**
   * How an image goes to a replica that has not had it from this actor: `send` the bytes with the
   * first call, or `probe` with the digest alone first and resend on NOT_FOUND. Default `send`: tasks
   * draw samples from a large dataset, so a replica rarely has the image already and a probe costs a
   * failed call per task (bench:cluster). `probe` saves bandwidth when many actors share few, large
   * images over a slow network.
   */
  envFirstContact: z.enum(['send', 'probe']).default('send'),
  /**
   * Shared image store (the same spec the sam-env replicas get with `--image-store`:
   * nats://host:4222[/bucket] or a directory both can read). Set, the actor puts each image there
   * once (PNG, content-addressed key) and sends replicas the key instead of the pixels; a failed put
   * or a replica without the store gets the bytes instead. null = send bytes. Default null.
   */
  envImageStore: z.string().min(1).nullable().default(null),
  /** How often a long task reports progress to the bus (in-progress ack), ms. Default 10000. */
  workingIntervalMs: z.number().int().positive().default(10_000),
  /** Prometheus `/metrics` port; null = none, 0 = any free port. Default null. */
  metricsPort: MetricsPortSchema,
  taskMix: TaskMixSchema.prefault({}),
  sampling: SamplingSchema.prefault({}),
});

export type ActorConfig = z.infer<typeof ActorConfigSchema>;
/** What a caller may give: any subset, nested sections included; defaults fill the rest. */
export type ActorConfigInput = z.input<typeof ActorConfigSchema>;
