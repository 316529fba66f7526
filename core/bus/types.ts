/**
 * The transport ("bus") contract between the learner, the actor pool and the weight broadcast.
 * Payloads are opaque bytes: the bus knows nothing of protobuf, a typed layer above wraps codecs.
 *
 * Semantics (both implementations, checked by one contract suite):
 * - tasks: a work queue with at-least-once delivery. A delivered task is in flight until it is
 *   acked (removed), nak'd (redelivered, optionally after a delay), or its ack wait expires (the
 *   consumer died: redelivered). `working()` restarts the ack wait. After `maxDeliver` deliveries
 *   without an ack the task is recorded as dead (listed by `deadTasks()`), never silently lost.
 * - groups (trajectories): a durable stream de-duplicated by message id within a window, read by
 *   one durable consumer (the learner) with explicit acks; unacked groups are redelivered after
 *   their ack wait, also to a restarted consumer.
 * - weights: versioned blobs with a sha-256 digest, and a watched `latest` pointer.
 *
 * The JetStream mapping follows nats.io's JetStream model (work-queue retention, explicit ack,
 * `Nats-Msg-Id` de-duplication, `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES` dead-lettering).
 */

/** Result of a publish: the stream sequence, and whether the message id was already seen. */
export interface PublishAck {
  seq: number;
  /** True when the msgId was seen within the de-duplication window: nothing new was stored. */
  duplicate: boolean;
}

/** A delivered message. Settle it exactly once with ack/nak (later calls are no-ops). */
export interface BusMessage {
  /** The msgId given at publish. */
  readonly id: string;
  /** Stream sequence (unique per stored message). */
  readonly seq: number;
  readonly payload: Uint8Array;
  /** 1 on first delivery, incremented on each redelivery. */
  readonly deliveryCount: number;
  /** Confirmed ack: resolves once the bus has removed the message from the in-flight set. */
  ack(): Promise<void>;
  /** Negative ack: redeliver after `delayMs` (default 0). */
  nak(delayMs?: number): void;
  /** In-progress heartbeat: restarts the ack wait for this delivery. */
  working(): void;
}

export interface TaskMessage extends BusMessage {
  /** Give up on this task now: it is recorded as dead with this reason and never redelivered. */
  term(reason?: string): Promise<void>;
}

export type GroupMessage = BusMessage;

/** A task that exhausted its deliveries (or was terminated): kept for inspection, not lost. */
export interface DeadTask {
  id: string;
  seq: number;
  payload: Uint8Array;
  /** Deliveries made before it was declared dead. */
  deliveryCount: number;
  reason: 'max-deliver' | 'terminated';
  /** Free text given to term(), if any. */
  detail?: string;
}

export interface TaskCounts {
  /** Published, not yet delivered (or waiting for redelivery). */
  waiting: number;
  /** Delivered and not yet acked. */
  inFlight: number;
}

/** Stored weights of one policy version. */
export interface WeightsInfo {
  version: number;
  /** `sha256:<hex>` of the bytes. */
  digest: string;
  /** Bytes. */
  size: number;
  meta: Record<string, string>;
}

/** The `latest` pointer actors watch to hot-swap weights. */
export interface PolicyPointer {
  version: number;
  /** `sha256:<hex>`, checked by getWeights(version, { digest }). */
  digest: string;
  size: number;
  /** Wall-clock time of setLatest (ms since epoch), for broadcast latency. */
  publishedAtMs: number;
  meta?: Record<string, string>;
}

/** A running consumer or watcher: iterate it; stop() (or breaking out of `for await`) ends it. */
export interface Subscription<T> extends AsyncIterable<T> {
  /** Ends the iteration. Messages received but not yet yielded are handed back (nak'd). */
  stop(): Promise<void>;
}

export interface ConsumeOptions {
  /**
   * At most this many delivered messages are unsettled (not acked/nak'd/term'd) at once: the
   * subscription pulls more only as earlier ones are settled. Default 1 for tasks, 256 for groups.
   */
  maxInFlight?: number;
}

export interface PullOptions {
  /** Upper bound on messages returned. */
  max: number;
  /** Wait at most this long, ms (JetStream requires ≥ 1000). Returns early once `max` arrived. */
  expiresMs: number;
}

export interface Bus {
  /** `memory` or `jetstream`. */
  readonly kind: 'memory' | 'jetstream';

  // tasks (work queue)
  publishTask(msgId: string, payload: Uint8Array): Promise<PublishAck>;
  pullTasks(opts: PullOptions): Promise<TaskMessage[]>;
  consumeTasks(opts?: ConsumeOptions): Subscription<TaskMessage>;
  /** Waiting + in flight (not acked, not dead): the backlog for a feeder or an autoscaler. */
  pendingTasks(): Promise<number>;
  taskCounts(): Promise<TaskCounts>;
  deadTasks(): Promise<DeadTask[]>;

  // groups (trajectories)
  publishGroup(msgId: string, payload: Uint8Array): Promise<PublishAck>;
  consumeGroups(opts?: ConsumeOptions): Subscription<GroupMessage>;

  // weights
  putWeights(version: number, bytes: Uint8Array, meta?: Record<string, string>): Promise<WeightsInfo>;
  /** Throws NotFoundError when absent; SamVeteranError INTERNAL when the digest does not match. */
  getWeights(version: number, opts?: { digest?: string }): Promise<Uint8Array>;
  deleteWeights(version: number): Promise<void>;
  setLatest(
    pointer: Omit<PolicyPointer, 'publishedAtMs'> & { publishedAtMs?: number },
  ): Promise<PolicyPointer>;
  getLatest(): Promise<PolicyPointer | null>;
  /** Yields the current pointer (if any) then each change; a slow reader sees only the newest. */
  watchLatest(): Subscription<PolicyPointer>;

  /** Stops consumers and watchers, then drains and closes the connection. Idempotent. */
  close(): Promise<void>;
  readonly closed: boolean;
}
