/**
 * Bus options with defaults, validated once; and the names (streams, subjects, buckets) derived
 * from the prefix, so that several runs or tests can share one server without seeing each other.
 */
import { ValidationError } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';

export interface TaskQueueOptions {
  /** Time a delivered task may stay unacked before redelivery, ms. Default 30000. */
  ackWaitMs?: number;
  /** Deliveries before a task is declared dead; -1 = unlimited. Default 5. */
  maxDeliver?: number;
  /**
   * Ack wait per delivery (delivery n uses backoffMs[min(n-1, len-1)]), ms; overrides ackWaitMs.
   * Must be shorter than maxDeliver (nats-server 2.9 rule). Not applied to nak'd tasks.
   */
  backoffMs?: number[];
  /** Publishes with a msgId seen within this window are dropped, ms. Default 120000. */
  dedupeWindowMs?: number;
}

export interface GroupStreamOptions {
  /** Time a delivered group may stay unacked before redelivery, ms. Default 60000. */
  ackWaitMs?: number;
  /** De-duplication window for group msgIds, ms. Default 600000 (≥ maxDeliver × task ack wait). */
  dedupeWindowMs?: number;
  /** Drop groups older than this, ms; 0 = keep. Default 0. */
  maxAgeMs?: number;
}

export interface BusOptions {
  /** Prefix of every stream, subject and bucket name ([A-Za-z0-9_-]+). Default "samv". */
  prefix?: string;
  tasks?: TaskQueueOptions;
  groups?: GroupStreamOptions;
  /** Largest payload accepted by publish, bytes. Memory default 1 MiB; JetStream: the server's max_payload. */
  maxPayloadBytes?: number;
  /** JetStream pull request lifetime, ms (≥ 1000): bounds how long stop() leaves a pull open. Default 2000. */
  pullExpiresMs?: number;
  /** Object Store chunk size for weights, bytes. Default 1 MiB (capped by max_payload). */
  weightsChunkBytes?: number;
  logger?: Logger;
}

export interface ResolvedBusOptions {
  prefix: string;
  tasks: { ackWaitMs: number; maxDeliver: number; backoffMs: number[]; dedupeWindowMs: number };
  groups: { ackWaitMs: number; dedupeWindowMs: number; maxAgeMs: number };
  maxPayloadBytes: number | undefined;
  pullExpiresMs: number;
  weightsChunkBytes: number;
}

export interface BusNames {
  tasksStream: string;
  tasksSubject: string;
  tasksConsumer: string;
  groupsStream: string;
  groupsSubject: string;
  groupsConsumer: string;
  deadStream: string;
  deadSubject: string;
  /** Advisory the server publishes when a task exceeds max_deliver; captured by the dead stream. */
  maxDeliveriesAdvisory: string;
  kvBucket: string;
  objBucket: string;
}

const PREFIX_RE = /^[A-Za-z0-9_-]+$/;

function positiveMs(field: string, v: number | undefined, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v < min) throw new ValidationError(field, v, `must be a number ≥ ${min} (ms)`);
  return v;
}

export function resolveBusOptions(opts: BusOptions = {}): ResolvedBusOptions {
  const prefix = opts.prefix ?? 'samv';
  if (!PREFIX_RE.test(prefix)) throw new ValidationError('prefix', prefix, 'must match [A-Za-z0-9_-]+');
  const maxDeliver = opts.tasks?.maxDeliver ?? 5;
  if (!Number.isInteger(maxDeliver) || (maxDeliver < 1 && maxDeliver !== -1)) {
    throw new ValidationError('tasks.maxDeliver', maxDeliver, 'must be an integer ≥ 1, or -1 for unlimited');
  }
  const backoffMs = opts.tasks?.backoffMs ?? [];
  backoffMs.forEach((b, i) => positiveMs(`tasks.backoffMs[${i}]`, b, 1));
  if (backoffMs.length > 0 && maxDeliver !== -1 && backoffMs.length >= maxDeliver) {
    throw new ValidationError(
      'tasks.backoffMs',
      backoffMs,
      `must have fewer entries than tasks.maxDeliver (${maxDeliver})`,
    );
  }
  const maxPayloadBytes = opts.maxPayloadBytes;
  if (maxPayloadBytes !== undefined && (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1)) {
    throw new ValidationError('maxPayloadBytes', maxPayloadBytes, 'must be a positive integer');
  }
  const maxAgeMs = opts.groups?.maxAgeMs ?? 0;
  if (!Number.isFinite(maxAgeMs) || maxAgeMs < 0)
    throw new ValidationError('groups.maxAgeMs', maxAgeMs, 'must be ≥ 0');
  return {
    prefix,
    tasks: {
      ackWaitMs: positiveMs('tasks.ackWaitMs', opts.tasks?.ackWaitMs, 30_000),
      maxDeliver,
      backoffMs,
      dedupeWindowMs: positiveMs('tasks.dedupeWindowMs', opts.tasks?.dedupeWindowMs, 120_000),
    },
    groups: {
      ackWaitMs: positiveMs('groups.ackWaitMs', opts.groups?.ackWaitMs, 60_000),
      dedupeWindowMs: positiveMs('groups.dedupeWindowMs', opts.groups?.dedupeWindowMs, 600_000),
      maxAgeMs,
    },
    maxPayloadBytes,
    pullExpiresMs: positiveMs('pullExpiresMs', opts.pullExpiresMs, 2_000, 1_000),
    weightsChunkBytes: positiveMs('weightsChunkBytes', opts.weightsChunkBytes, 1024 * 1024, 1024),
  };
}

/**
 * Stream, consumer and bucket names for a prefix. With the default prefix they are the cluster's
 * published names (deploy/local/cluster-names.ts, deploy/k8s, the KEDA trigger): SAMV_TASKS/actors,
 * SAMV_GROUPS/learner, samv-weights (KV `latest` + Object Store).
 */
export function busNames(prefix: string): BusNames {
  const upper = prefix.toUpperCase();
  const tasksStream = `${upper}_TASKS`;
  const tasksConsumer = 'actors';
  return {
    tasksStream,
    tasksSubject: `${prefix}.tasks`,
    tasksConsumer,
    groupsStream: `${upper}_GROUPS`,
    groupsSubject: `${prefix}.groups`,
    groupsConsumer: 'learner',
    deadStream: `${upper}_DEAD`,
    deadSubject: `${prefix}.dead`,
    maxDeliveriesAdvisory: `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${tasksStream}.${tasksConsumer}`,
    kvBucket: `${prefix}-weights`,
    objBucket: `${prefix}-weights`,
  };
}

/** Ack wait for the n-th delivery (1-based): the backoff schedule when set, else ackWaitMs. */
export function ackWaitFor(deliveryCount: number, ackWaitMs: number, backoffMs: readonly number[]): number {
  if (backoffMs.length === 0) return ackWaitMs;
  return backoffMs[Math.min(deliveryCount - 1, backoffMs.length - 1)] ?? ackWaitMs;
}

export function validateMsgId(field: string, msgId: string): void {
  if (typeof msgId !== 'string' || msgId.length === 0 || msgId.length > 512 || /[\r\n]/.test(msgId)) {
    throw new ValidationError(
      field,
      msgId,
      'must be a non-empty single-line string of at most 512 characters',
    );
  }
}

export function validateVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new ValidationError('version', version, 'must be a non-negative integer');
  }
}
