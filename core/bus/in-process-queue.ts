/**
 * In-memory stream + single durable consumer with JetStream's delivery rules, so the embedded
 * bus behaves like the cluster one:
 * - explicit ack; an unacked delivery is redelivered after its ack wait (per-delivery backoff
 *   schedule when set); `working()` restarts the ack wait; nak(delay) redelivers after the delay;
 * - redeliveries go before new messages;
 * - when a delivery fails (nak or ack-wait expiry) and deliveryCount ≥ maxDeliver, the message is
 *   declared dead (recorded, never redelivered) — JetStream does the same when it would redeliver
 *   and then emits the MAX_DELIVERIES advisory;
 * - publish de-duplicates by msgId within a window (Nats-Msg-Id semantics: first writer wins);
 * - an ack is accepted while the message is still stored, even from an older delivery (JetStream
 *   acks by stream sequence); nak/working/term only apply to the current delivery.
 * Pullers (subscriptions, pull requests) hold credit; deliveries are spread round-robin.
 */
import type { DeadTask, PublishAck, TaskCounts } from './types.ts';
import { ackWaitFor } from './options.ts';

export interface QueueConfig {
  ackWaitMs: number;
  /** -1 = unlimited. */
  maxDeliver: number;
  backoffMs: number[];
  dedupeWindowMs: number;
}

export interface Delivery {
  seq: number;
  id: string;
  payload: Uint8Array;
  deliveryCount: number;
  token: number;
}

export interface Puller {
  credit: number;
  deliver(d: Delivery): void;
}

interface Entry {
  seq: number;
  id: string;
  payload: Uint8Array;
  deliveryCount: number;
  state: 'ready' | 'delayed' | 'inflight';
  token: number;
  timer: NodeJS.Timeout | undefined;
}

export class InProcessQueue {
  private lastSeq = 0;
  private readonly entries = new Map<number, Entry>();
  private readonly fresh: number[] = [];
  private readonly redeliver: number[] = [];
  private readonly dedupe = new Map<string, { seq: number; expiresAt: number }>();
  private readonly pullers: Puller[] = [];
  private rr = 0;
  private pumping = false;
  readonly dead: DeadTask[] = [];

  constructor(public config: QueueConfig) {}

  publish(id: string, payload: Uint8Array): PublishAck {
    const now = Date.now();
    // Map iteration order is insertion order and the window is constant: expired ids come first.
    for (const [key, d] of this.dedupe) {
      if (d.expiresAt > now) break;
      this.dedupe.delete(key);
    }
    const seen = this.dedupe.get(id);
    if (seen) return { seq: seen.seq, duplicate: true };
    const seq = ++this.lastSeq;
    this.dedupe.set(id, { seq, expiresAt: now + this.config.dedupeWindowMs });
    this.entries.set(seq, { seq, id, payload, deliveryCount: 0, state: 'ready', token: 0, timer: undefined });
    this.fresh.push(seq);
    this.pump();
    return { seq, duplicate: false };
  }

  addPuller(p: Puller): void {
    this.pullers.push(p);
    this.pump();
  }

  removePuller(p: Puller): void {
    const i = this.pullers.indexOf(p);
    if (i >= 0) this.pullers.splice(i, 1);
  }

  /** Hands ready messages to pullers with credit. Re-entrant calls are folded into the running one. */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const puller = this.nextPuller();
        if (!puller) return;
        const entry = this.nextReady();
        if (!entry) return;
        entry.deliveryCount += 1;
        entry.token += 1;
        entry.state = 'inflight';
        const token = entry.token;
        const wait = ackWaitFor(entry.deliveryCount, this.config.ackWaitMs, this.config.backoffMs);
        entry.timer = this.timer(() => this.expire(entry.seq, token), wait);
        puller.credit -= 1;
        puller.deliver({
          seq: entry.seq,
          id: entry.id,
          payload: entry.payload,
          deliveryCount: entry.deliveryCount,
          token,
        });
      }
    } finally {
      this.pumping = false;
    }
  }

  ack(seq: number): boolean {
    const entry = this.entries.get(seq);
    if (!entry) return false;
    if (entry.timer) clearTimeout(entry.timer);
    this.entries.delete(seq);
    return true;
  }

  nak(seq: number, token: number, delayMs = 0): void {
    const entry = this.current(seq, token);
    if (!entry) return;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
    if (delayMs > 0) {
      entry.state = 'delayed';
      entry.timer = this.timer(() => this.requeue(entry), delayMs);
    } else {
      this.requeue(entry);
    }
  }

  working(seq: number, token: number): void {
    const entry = this.current(seq, token);
    if (!entry) return;
    if (entry.timer) clearTimeout(entry.timer);
    const wait = ackWaitFor(entry.deliveryCount, this.config.ackWaitMs, this.config.backoffMs);
    entry.timer = this.timer(() => this.expire(seq, token), wait);
  }

  term(seq: number, token: number, detail?: string): void {
    const entry = this.current(seq, token);
    if (!entry) return;
    this.kill(entry, 'terminated', detail);
  }

  counts(): TaskCounts {
    let waiting = 0;
    let inFlight = 0;
    for (const e of this.entries.values()) {
      if (e.state === 'inflight') inFlight += 1;
      else waiting += 1;
    }
    return { waiting, inFlight };
  }

  /** Clears every timer (the broker is being discarded). */
  dispose(): void {
    for (const e of this.entries.values()) if (e.timer) clearTimeout(e.timer);
  }

  private current(seq: number, token: number): Entry | undefined {
    const entry = this.entries.get(seq);
    return entry && entry.token === token && entry.state === 'inflight' ? entry : undefined;
  }

  private expire(seq: number, token: number): void {
    const entry = this.current(seq, token);
    if (entry) this.requeue(entry);
  }

  private requeue(entry: Entry): void {
    entry.timer = undefined;
    if (!this.entries.has(entry.seq)) return;
    if (this.config.maxDeliver > 0 && entry.deliveryCount >= this.config.maxDeliver) {
      this.kill(entry, 'max-deliver');
      return;
    }
    entry.state = 'ready';
    this.redeliver.push(entry.seq);
    this.pump();
  }

  private kill(entry: Entry, reason: DeadTask['reason'], detail?: string): void {
    if (entry.timer) clearTimeout(entry.timer);
    this.entries.delete(entry.seq);
    const dead: DeadTask = {
      id: entry.id,
      seq: entry.seq,
      payload: entry.payload,
      deliveryCount: entry.deliveryCount,
      reason,
    };
    if (detail !== undefined) dead.detail = detail;
    this.dead.push(dead);
  }

  private nextPuller(): Puller | undefined {
    const n = this.pullers.length;
    for (let k = 0; k < n; k++) {
      const p = this.pullers[(this.rr + k) % n];
      if (p && p.credit > 0) {
        this.rr = (this.rr + k + 1) % n;
        return p;
      }
    }
    return undefined;
  }

  private nextReady(): Entry | undefined {
    for (const list of [this.redeliver, this.fresh]) {
      while (list.length > 0) {
        const seq = list.shift() as number;
        const e = this.entries.get(seq);
        if (e && e.state === 'ready') return e;
      }
    }
    return undefined;
  }

  // Timers never keep the process alive on their own: live subscriptions do (see InProcessBroker).
  private timer(fn: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  }
}
