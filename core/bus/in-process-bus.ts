/**
 * The embedded bus: everything in memory, one process, the same semantics as JetStream (see
 * in-process-queue.ts). A named InProcessBroker plays the server: several InProcessBus handles
 * (the learner, each actor, a restarted learner) connect to the same broker by name
 * (`memory://<name>`), and its state outlives any one handle, just as streams outlive a client.
 */
import type { Logger } from '../log/index.ts';
import { silentLogger } from '../log/index.ts';
import { NotFoundError, ResourceExhaustedError, UnavailableError } from '../errors/index.ts';
import { AsyncChannel } from './async-channel.ts';
import { InProcessQueue, type Delivery, type Puller } from './in-process-queue.ts';
import {
  resolveBusOptions,
  validateMsgId,
  validateVersion,
  type BusOptions,
  type ResolvedBusOptions,
} from './options.ts';
import { validatePointer } from './pointer.ts';
import type {
  Bus,
  ConsumeOptions,
  DeadTask,
  GroupMessage,
  PolicyPointer,
  PublishAck,
  PullOptions,
  Subscription,
  TaskCounts,
  TaskMessage,
  WeightsInfo,
} from './types.ts';
import { verifyWeightsDigest, weightsDigest } from './weights-digest.ts';

const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** The shared in-memory "server". Get one by name with InProcessBroker.get(name). */
export class InProcessBroker {
  private static readonly registry = new Map<string, InProcessBroker>();

  readonly tasks: InProcessQueue;
  readonly groups: InProcessQueue;
  readonly weights = new Map<number, { bytes: Uint8Array; info: WeightsInfo }>();
  latest: PolicyPointer | null = null;
  readonly latestWatchers = new Set<AsyncChannel<PolicyPointer>>();
  private live = 0;
  private keepAlive: NodeJS.Timeout | undefined;

  private constructor(readonly name: string) {
    this.tasks = new InProcessQueue({
      ackWaitMs: 30_000,
      maxDeliver: 5,
      backoffMs: [],
      dedupeWindowMs: 120_000,
    });
    this.groups = new InProcessQueue({
      ackWaitMs: 60_000,
      maxDeliver: -1,
      backoffMs: [],
      dedupeWindowMs: 600_000,
    });
  }

  static get(name: string): InProcessBroker {
    let b = InProcessBroker.registry.get(name);
    if (!b) {
      b = new InProcessBroker(name);
      InProcessBroker.registry.set(name, b);
    }
    return b;
  }

  /** Forgets a broker and its state (tests, end of an embedded run). */
  static destroy(name: string): void {
    const b = InProcessBroker.registry.get(name);
    if (!b) return;
    b.tasks.dispose();
    b.groups.dispose();
    for (const w of b.latestWatchers) w.close();
    if (b.keepAlive) clearInterval(b.keepAlive);
    InProcessBroker.registry.delete(name);
  }

  /** Last writer wins, like re-declaring a JetStream consumer with new settings. */
  configure(o: ResolvedBusOptions): void {
    this.tasks.config = { ...o.tasks };
    this.groups.config = {
      ackWaitMs: o.groups.ackWaitMs,
      maxDeliver: -1,
      backoffMs: [],
      dedupeWindowMs: o.groups.dedupeWindowMs,
    };
  }

  /**
   * A live subscription keeps the process running, as an open socket would; timers alone do not
   * (they are unref'd), so a finished embedded run can exit.
   */
  retain(): void {
    this.live += 1;
    if (this.live === 1) this.keepAlive = setInterval(() => undefined, 1 << 30);
  }

  release(): void {
    this.live = Math.max(0, this.live - 1);
    if (this.live === 0 && this.keepAlive) {
      clearInterval(this.keepAlive);
      this.keepAlive = undefined;
    }
  }
}

export interface InProcessBusOptions extends BusOptions {
  /** Broker name (or instance); default "default". */
  broker?: string | InProcessBroker;
}

/** A settle-once wrapper around one delivery. */
class InProcessMessage implements TaskMessage {
  private settled = false;
  readonly id: string;
  readonly seq: number;
  readonly payload: Uint8Array;
  readonly deliveryCount: number;

  constructor(
    private readonly queue: InProcessQueue,
    private readonly d: Delivery,
    private readonly onSettle: () => void,
  ) {
    this.id = d.id;
    this.seq = d.seq;
    this.payload = d.payload;
    this.deliveryCount = d.deliveryCount;
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.onSettle();
    return true;
  }

  ack(): Promise<void> {
    if (this.settle()) this.queue.ack(this.d.seq);
    return Promise.resolve();
  }

  nak(delayMs = 0): void {
    if (this.settle()) this.queue.nak(this.d.seq, this.d.token, delayMs);
  }

  working(): void {
    if (!this.settled) this.queue.working(this.d.seq, this.d.token);
  }

  term(reason?: string): Promise<void> {
    if (this.settle()) this.queue.term(this.d.seq, this.d.token, reason);
    return Promise.resolve();
  }
}

export class InProcessBus implements Bus {
  readonly kind = 'memory' as const;
  readonly broker: InProcessBroker;
  private readonly opts: ResolvedBusOptions;
  private readonly maxPayload: number;
  private readonly log: Logger;
  private readonly subs = new Set<Subscription<unknown>>();
  private isClosed = false;

  constructor(opts: InProcessBusOptions = {}) {
    this.opts = resolveBusOptions(opts);
    this.maxPayload = this.opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD;
    this.log = (opts.logger ?? silentLogger).child({ component: 'bus', transport: 'memory' });
    this.broker =
      typeof opts.broker === 'object' ? opts.broker : InProcessBroker.get(opts.broker ?? 'default');
    this.broker.configure(this.opts);
    this.log.debug({ broker: this.broker.name }, 'bus connected');
  }

  get closed(): boolean {
    return this.isClosed;
  }

  publishTask(msgId: string, payload: Uint8Array): Promise<PublishAck> {
    return this.publish(this.broker.tasks, 'msgId', msgId, payload);
  }

  publishGroup(msgId: string, payload: Uint8Array): Promise<PublishAck> {
    return this.publish(this.broker.groups, 'msgId', msgId, payload);
  }

  pullTasks(opts: PullOptions): Promise<TaskMessage[]> {
    this.assertOpen();
    const out: TaskMessage[] = [];
    const queue = this.broker.tasks;
    return new Promise((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        queue.removePuller(puller);
        this.broker.release();
        resolve(out);
      };
      const puller: Puller = {
        credit: Math.max(0, Math.floor(opts.max)),
        deliver: (d) => {
          out.push(new InProcessMessage(queue, d, () => undefined));
          if (puller.credit <= 0) finish();
        },
      };
      const timer = setTimeout(finish, Math.max(0, opts.expiresMs));
      this.broker.retain();
      if (puller.credit === 0) finish();
      else queue.addPuller(puller);
    });
  }

  consumeTasks(opts: ConsumeOptions = {}): Subscription<TaskMessage> {
    return this.consume(this.broker.tasks, opts.maxInFlight ?? 1);
  }

  consumeGroups(opts: ConsumeOptions = {}): Subscription<GroupMessage> {
    return this.consume(this.broker.groups, opts.maxInFlight ?? 256);
  }

  pendingTasks(): Promise<number> {
    const c = this.broker.tasks.counts();
    return Promise.resolve(c.waiting + c.inFlight);
  }

  taskCounts(): Promise<TaskCounts> {
    return Promise.resolve(this.broker.tasks.counts());
  }

  deadTasks(): Promise<DeadTask[]> {
    return Promise.resolve(this.broker.tasks.dead.map((d) => ({ ...d })));
  }

  putWeights(version: number, bytes: Uint8Array, meta: Record<string, string> = {}): Promise<WeightsInfo> {
    this.assertOpen();
    validateVersion(version);
    const copy = new Uint8Array(bytes);
    const info: WeightsInfo = { version, digest: weightsDigest(copy), size: copy.length, meta: { ...meta } };
    this.broker.weights.set(version, { bytes: copy, info });
    return Promise.resolve({ ...info, meta: { ...info.meta } });
  }

  getWeights(version: number, opts: { digest?: string } = {}): Promise<Uint8Array> {
    try {
      this.assertOpen();
      validateVersion(version);
      const w = this.broker.weights.get(version);
      if (!w) throw new NotFoundError(`weights version ${version} not found`);
      // Re-hash what is stored: the same check the JetStream path does on downloaded bytes.
      verifyWeightsDigest(version, w.bytes, opts.digest ?? w.info.digest);
      return Promise.resolve(new Uint8Array(w.bytes));
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  deleteWeights(version: number): Promise<void> {
    this.assertOpen();
    this.broker.weights.delete(version);
    return Promise.resolve();
  }

  setLatest(p: Omit<PolicyPointer, 'publishedAtMs'> & { publishedAtMs?: number }): Promise<PolicyPointer> {
    try {
      this.assertOpen();
      const pointer = validatePointer(p);
      this.broker.latest = pointer;
      for (const w of this.broker.latestWatchers) w.push(structuredClone(pointer));
      return Promise.resolve(structuredClone(pointer));
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  getLatest(): Promise<PolicyPointer | null> {
    const p = this.broker.latest;
    return Promise.resolve(p ? structuredClone(p) : null);
  }

  watchLatest(): Subscription<PolicyPointer> {
    this.assertOpen();
    const broker = this.broker;
    let stopped = false;
    const stop = (): Promise<void> => {
      if (stopped) return Promise.resolve();
      stopped = true;
      broker.latestWatchers.delete(channel);
      broker.release();
      channel.close();
      this.subs.delete(sub);
      return Promise.resolve();
    };
    const channel = new AsyncChannel<PolicyPointer>({ latestOnly: true, onReturn: () => void stop() });
    broker.retain();
    broker.latestWatchers.add(channel);
    if (broker.latest) channel.push(structuredClone(broker.latest));
    const sub: Subscription<PolicyPointer> = {
      [Symbol.asyncIterator]: () => channel[Symbol.asyncIterator](),
      stop,
    };
    this.subs.add(sub);
    return sub;
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await Promise.all([...this.subs].map((s) => s.stop()));
    this.log.debug({ broker: this.broker.name }, 'bus closed');
  }

  private publish(
    queue: InProcessQueue,
    field: string,
    msgId: string,
    payload: Uint8Array,
  ): Promise<PublishAck> {
    try {
      this.assertOpen();
      validateMsgId(field, msgId);
      if (payload.length > this.maxPayload) {
        throw new ResourceExhaustedError(
          'payload',
          payload,
          `exceeds the maximum payload of ${this.maxPayload} bytes`,
        );
      }
      return Promise.resolve(queue.publish(msgId, new Uint8Array(payload)));
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  private consume(queue: InProcessQueue, maxInFlight: number): Subscription<TaskMessage> {
    this.assertOpen();
    const broker = this.broker;
    let stopped = false;
    const stop = (): Promise<void> => {
      if (stopped) return Promise.resolve();
      stopped = true;
      queue.removePuller(puller);
      broker.release();
      this.subs.delete(sub);
      // Received but never handed to the caller: give them back at once.
      for (const m of channel.close()) m.nak(0);
      return Promise.resolve();
    };
    const channel = new AsyncChannel<TaskMessage>({ onReturn: () => void stop() });
    const puller: Puller = {
      credit: Math.max(1, Math.floor(maxInFlight)),
      deliver: (d) => {
        const msg = new InProcessMessage(queue, d, () => {
          puller.credit += 1;
          if (!stopped) queue.pump();
        });
        if (!channel.push(msg)) msg.nak(0);
      },
    };
    const sub: Subscription<TaskMessage> = {
      [Symbol.asyncIterator]: () => channel[Symbol.asyncIterator](),
      stop,
    };
    this.subs.add(sub);
    broker.retain();
    queue.addPuller(puller);
    return sub;
  }

  private assertOpen(): void {
    if (this.isClosed) throw new UnavailableError(`bus is closed (memory://${this.broker.name})`);
  }
}
