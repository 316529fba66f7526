/**
 * Message-bus settings shared by the learner and actors (env section `SAMV_BUS__*`). Field names
 * mirror core/bus's BusOptions; fields left unset keep core/bus's own defaults, so the defaults
 * live in one place.
 */
import { z } from 'zod';

export const BusConfigSchema = z.strictObject({
  /** Prefix of every stream, subject and bucket name ([A-Za-z0-9_-]+). Default: core/bus's ("samv"). */
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional(),
  /** JetStream replicas of the streams, KV bucket and Object Store (R3 on a 3-node cluster). Default 1. */
  replicas: z.number().int().min(1).max(5).default(1),
  tasks: z
    .strictObject({
      /** Time a delivered task may stay unacked before redelivery, ms. */
      ackWaitMs: z.number().int().positive().optional(),
      /** Deliveries before a task is declared dead; -1 = unlimited. */
      maxDeliver: z.number().int().min(-1).optional(),
      /** Duplicate-publish window for task msgIds, ms. */
      dedupeWindowMs: z.number().int().positive().optional(),
    })
    .prefault({}),
  groups: z
    .strictObject({
      /** Time a delivered group may stay unacked before redelivery, ms. */
      ackWaitMs: z.number().int().positive().optional(),
      /** Duplicate-publish window for group msgIds, ms. */
      dedupeWindowMs: z.number().int().positive().optional(),
      /** Drop groups older than this, ms; 0 = keep. */
      maxAgeMs: z.number().int().nonnegative().optional(),
    })
    .prefault({}),
  /** JetStream pull request lifetime, ms (≥ 1000). */
  pullExpiresMs: z.number().int().min(1000).optional(),
  /** Object Store chunk size for weights, bytes. */
  weightsChunkBytes: z.number().int().positive().optional(),
  /** Largest payload accepted by publish, bytes. */
  maxPayloadBytes: z.number().int().positive().optional(),
});

export type BusConfig = z.infer<typeof BusConfigSchema>;

/**
 * Port of a service's Prometheus `/metrics` endpoint: null (default) serves none, 0 picks a free
 * port. Kubernetes manifests set 9464.
 */
export const MetricsPortSchema = z.number().int().min(0).max(65535).nullable().default(null);
