/**
 * The cluster bus on NATS JetStream (@nats-io v3 clients; works against nats-server 2.9+).
 * Tasks and groups are durable pull consumers read with `fetch` sized by the caller's free
 * in-flight credit, so a process never holds more messages than it can settle within the ack wait
 * (messages it has not started are not stuck behind it when it dies). Acks are double acks
 * (`ackAck`): a resolved ack() means the server will not redeliver. Weights live in an Object Store
 * bucket, the `latest` pointer in a KV bucket that actors watch. See jetstream-setup.ts for the
 * streams and jetstream-dead-letter.ts for dead tasks.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  type Consumer,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, setSha256Backend, type ObjectStore } from '@nats-io/obj';
import { NotFoundError, ResourceExhaustedError, UnavailableError } from '../errors/index.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import { AsyncChannel } from './async-channel.ts';
import { publishTermRecord, readDeadTasks } from './jetstream-dead-letter.ts';
import { setupJetStream } from './jetstream-setup.ts';
import {
  busNames,
  resolveBusOptions,
  validateMsgId,
  validateVersion,
  type BusNames,
  type BusOptions,
  type ResolvedBusOptions,
} from './options.ts';
import { parsePointer, validatePointer } from './pointer.ts';
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

const LATEST_KEY = 'latest';
const META_DIGEST = 'samv-digest';
const META_VERSION = 'samv-version';

export interface JetStreamBusOptions extends BusOptions {
  /** Client name shown by the server (`/connz`). */
  name?: string;
  /** Wait between reconnect attempts, ms. Default 2000 (the client's default). */
  reconnectTimeWaitMs?: number;
  /**
   * JetStream API request timeout, ms. Default 5000. A request sent while the connection is down
   * is lost and fails only after this timeout (publish → UnavailableError; pull loops retry).
   */
  requestTimeoutMs?: number;
}

/** A settle-once wrapper around a JsMsg. */
class JetStreamMessage implements TaskMessage {
  private settled = false;
  readonly id: string;
  readonly seq: number;
  readonly payload: Uint8Array;
  readonly deliveryCount: number;

  constructor(
    private readonly m: JsMsg,
    private readonly onSettle: () => void,
    private readonly onTerm: (msg: JetStreamMessage, detail: string | undefined) => Promise<void>,
  ) {
    this.id = m.headers?.get('Nats-Msg-Id') || `seq-${m.seq}`;
    this.seq = m.seq;
    this.payload = m.data;
    this.deliveryCount = m.info.deliveryCount;
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.onSettle();
    return true;
  }

  async ack(): Promise<void> {
    if (!this.settle()) return;
    let ok: boolean;
    try {
      ok = await this.m.ackAck();
    } catch (e) {
      throw new UnavailableError(
        `ack of message ${JSON.stringify(this.id)} (seq ${this.seq}) not confirmed`,
        { cause: e },
      );
    }
    if (!ok)
      throw new UnavailableError(
        `ack of message ${JSON.stringify(this.id)} (seq ${this.seq}) rejected by the server`,
      );
  }

  nak(delayMs = 0): void {
    if (this.settle()) this.m.nak(delayMs > 0 ? delayMs : undefined);
  }

  working(): void {
    if (!this.settled) this.m.working();
  }

  async term(reason?: string): Promise<void> {
    if (!this.settle()) return;
    // Record first: a terminated message is deleted from the work queue.
    await this.onTerm(this, reason);
    this.m.term();
  }
}

export class JetStreamBus implements Bus {
  readonly kind = 'jetstream' as const;
  readonly names: BusNames;
  private readonly subs = new Set<Subscription<unknown>>();
  private readonly loops = new Set<Promise<void>>();
  private closing: Promise<void> | undefined;
  private tasksConsumer: Consumer | undefined;

  private constructor(
    readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly kv: KV,
    private readonly os: ObjectStore,
    private readonly opts: ResolvedBusOptions,
    private readonly log: Logger,
  ) {
    this.names = busNames(opts.prefix);
  }

  /** Connects (retrying forever on reconnect), then creates streams, consumers and buckets if missing. */
  static async connect(servers: string | string[], options: JetStreamBusOptions = {}): Promise<JetStreamBus> {
    // The Object Store hashes every weights blob on put and on get; its default is a pure-JS SHA-256
    // (browser-safe), ~3% of a cluster process's CPU in bench:cluster. This runs on Node: use
    // node:crypto (process-wide, idempotent).
    setSha256Backend('native');
    const opts = resolveBusOptions(options);
    const log = (options.logger ?? silentLogger).child({
      component: 'bus',
      transport: 'jetstream',
      prefix: opts.prefix,
    });
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers,
        name: options.name ?? `samv-${process.pid}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: options.reconnectTimeWaitMs ?? 2000,
      });
    } catch (e) {
      throw new UnavailableError(`cannot connect to NATS at ${JSON.stringify(servers)}`, { cause: e });
    }
    try {
      const timeout = options.requestTimeoutMs ?? 5000;
      const jsm = await jetstreamManager(nc, { timeout });
      const js = jetstream(nc, { timeout });
      const names = busNames(opts.prefix);
      await setupJetStream(jsm, names, opts, log);
      const kv = await new Kvm(js).create(names.kvBucket, { history: 1 });
      const os = await new Objm(js).create(names.objBucket);
      const bus = new JetStreamBus(nc, js, jsm, kv, os, opts, log);
      bus.watchStatus();
      log.debug({ server: nc.getServer() }, 'bus connected');
      return bus;
    } catch (e) {
      await nc.close().catch(() => undefined);
      throw new UnavailableError(
        `JetStream setup failed on ${JSON.stringify(servers)}: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  publishTask(msgId: string, payload: Uint8Array): Promise<PublishAck> {
    return this.publish(this.names.tasksSubject, msgId, payload);
  }

  publishGroup(msgId: string, payload: Uint8Array): Promise<PublishAck> {
    return this.publish(this.names.groupsSubject, msgId, payload);
  }

  async pullTasks(opts: PullOptions): Promise<TaskMessage[]> {
    this.assertOpen();
    const out: TaskMessage[] = [];
    const max = Math.max(1, Math.floor(opts.max));
    try {
      this.tasksConsumer ??= await this.js.consumers.get(this.names.tasksStream, this.names.tasksConsumer);
      const iter = await this.tasksConsumer.fetch({
        max_messages: max,
        expires: Math.max(1000, opts.expiresMs),
      });
      for await (const m of iter) out.push(this.wrap(m, () => undefined));
    } catch (e) {
      // Messages already received are the caller's (an unacked one comes back after the ack wait).
      if (out.length > 0) {
        this.log.warn({ err: e, received: out.length }, 'pull ended early');
        return out;
      }
      throw new UnavailableError(`pulling tasks failed: ${(e as Error).message}`, { cause: e });
    }
    return out;
  }

  consumeTasks(opts: ConsumeOptions = {}): Subscription<TaskMessage> {
    return this.consume(this.names.tasksStream, this.names.tasksConsumer, opts.maxInFlight ?? 1);
  }

  consumeGroups(opts: ConsumeOptions = {}): Subscription<GroupMessage> {
    return this.consume(this.names.groupsStream, this.names.groupsConsumer, opts.maxInFlight ?? 256);
  }

  async pendingTasks(): Promise<number> {
    const c = await this.taskCounts();
    return c.waiting + c.inFlight;
  }

  async taskCounts(): Promise<TaskCounts> {
    this.assertOpen();
    const info = await this.jsm.consumers.info(this.names.tasksStream, this.names.tasksConsumer);
    return { waiting: info.num_pending, inFlight: info.num_ack_pending };
  }

  deadTasks(): Promise<DeadTask[]> {
    this.assertOpen();
    return readDeadTasks(this.jsm, this.names, this.log);
  }

  async putWeights(
    version: number,
    bytes: Uint8Array,
    meta: Record<string, string> = {},
  ): Promise<WeightsInfo> {
    this.assertOpen();
    validateVersion(version);
    const digest = weightsDigest(bytes);
    const chunk = Math.min(
      this.opts.weightsChunkBytes,
      this.nc.info?.max_payload ?? this.opts.weightsChunkBytes,
    );
    await this.os.putBlob(
      {
        name: objectName(version),
        metadata: { ...meta, [META_DIGEST]: digest, [META_VERSION]: String(version) },
        options: { max_chunk_size: chunk },
      },
      bytes,
    );
    this.log.debug({ version, size: bytes.length, digest }, 'weights stored');
    return { version, digest, size: bytes.length, meta: { ...meta } };
  }

  async getWeights(version: number, opts: { digest?: string } = {}): Promise<Uint8Array> {
    this.assertOpen();
    validateVersion(version);
    const info = await this.os.info(objectName(version));
    if (!info || info.deleted) throw new NotFoundError(`weights version ${version} not found`);
    let bytes: Uint8Array | null;
    try {
      bytes = await this.os.getBlob(objectName(version));
    } catch (e) {
      throw new UnavailableError(`weights version ${version} could not be read: ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (!bytes) throw new NotFoundError(`weights version ${version} not found`);
    const expected = opts.digest ?? info.metadata?.[META_DIGEST] ?? weightsDigest(bytes);
    verifyWeightsDigest(version, bytes, expected);
    return bytes;
  }

  async deleteWeights(version: number): Promise<void> {
    this.assertOpen();
    validateVersion(version);
    const info = await this.os.info(objectName(version));
    if (info && !info.deleted) await this.os.delete(objectName(version));
  }

  async setLatest(
    p: Omit<PolicyPointer, 'publishedAtMs'> & { publishedAtMs?: number },
  ): Promise<PolicyPointer> {
    this.assertOpen();
    const pointer = validatePointer(p);
    await this.kv.put(LATEST_KEY, JSON.stringify(pointer));
    this.log.debug({ version: pointer.version }, 'latest pointer set');
    return pointer;
  }

  async getLatest(): Promise<PolicyPointer | null> {
    this.assertOpen();
    const e = await this.kv.get(LATEST_KEY);
    if (!e || e.operation !== 'PUT') return null;
    return parsePointer(e.string());
  }

  watchLatest(): Subscription<PolicyPointer> {
    this.assertOpen();
    let stopped = false;
    let stopWatch: (() => void) | undefined;
    const stop = (): Promise<void> => {
      if (stopped) return Promise.resolve();
      stopped = true;
      stopWatch?.();
      channel.close();
      this.subs.delete(sub);
      return Promise.resolve();
    };
    const channel = new AsyncChannel<PolicyPointer>({ latestOnly: true, onReturn: () => void stop() });
    const sub: Subscription<PolicyPointer> = {
      [Symbol.asyncIterator]: () => channel[Symbol.asyncIterator](),
      stop,
    };
    this.subs.add(sub);
    this.track(
      (async () => {
        // The KV watch yields the current value first, then every update. If it ends without a
        // stop (server restart, consumer lost), watch again: the current value comes first again,
        // so a reader must treat an unchanged version as a no-op.
        let failures = 0;
        while (!stopped && !this.closed) {
          try {
            const w = await this.kv.watch({ key: LATEST_KEY });
            stopWatch = () => w.stop();
            if (stopped) w.stop();
            for await (const e of w) {
              failures = 0;
              if (e.operation !== 'PUT') continue;
              try {
                channel.push(parsePointer(e.string()));
              } catch (err) {
                this.log.warn({ err, revision: e.revision }, 'malformed latest pointer ignored');
              }
            }
          } catch (err) {
            if (stopped || this.closed) break;
            this.log.warn({ err }, 'latest pointer watch failed; watching again');
          }
          failures += 1;
          if (!stopped && !this.closed) await sleep(Math.min(2000, 100 * 2 ** Math.min(failures, 5)));
        }
      })().finally(() => channel.close()),
    );
    return sub;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.subs].map((s) => s.stop()));
      try {
        await this.nc.drain();
      } catch {
        await this.nc.close().catch(() => undefined);
      }
      await Promise.allSettled([...this.loops]);
      this.log.debug('bus closed');
    })();
    return this.closing;
  }

  private async publish(subject: string, msgId: string, payload: Uint8Array): Promise<PublishAck> {
    this.assertOpen();
    validateMsgId('msgId', msgId);
    const limit = Math.min(this.opts.maxPayloadBytes ?? Infinity, this.nc.info?.max_payload ?? Infinity);
    if (payload.length > limit) {
      throw new ResourceExhaustedError('payload', payload, `exceeds the maximum payload of ${limit} bytes`);
    }
    try {
      const pa = await this.js.publish(subject, payload, { msgID: msgId });
      return { seq: pa.seq, duplicate: pa.duplicate };
    } catch (e) {
      throw new UnavailableError(
        `publish of ${JSON.stringify(msgId)} to ${subject} failed: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }

  private wrap(m: JsMsg, onSettle: () => void): JetStreamMessage {
    return new JetStreamMessage(m, onSettle, (msg, detail) => {
      const rec = { id: msg.id, seq: msg.seq, deliveryCount: msg.deliveryCount, payload: msg.payload };
      return publishTermRecord(this.js, this.names, detail === undefined ? rec : { ...rec, detail });
    });
  }

  /**
   * Pull loop with credit: fetch at most the free in-flight slots; a slot frees when the caller
   * settles a message. After stop(), messages from a still-open pull request are nak'd at once so
   * they go to another consumer without waiting for the ack wait.
   */
  private consume(stream: string, consumerName: string, maxInFlight: number): Subscription<TaskMessage> {
    this.assertOpen();
    let credit = Math.max(1, Math.floor(maxInFlight));
    let stopped = false;
    let wake: (() => void) | undefined;
    const stop = (): Promise<void> => {
      if (stopped) return Promise.resolve();
      stopped = true;
      wake?.();
      for (const m of channel.close()) m.nak(0);
      this.subs.delete(sub);
      return Promise.resolve();
    };
    const channel = new AsyncChannel<TaskMessage>({ onReturn: () => void stop() });
    const sub: Subscription<TaskMessage> = {
      [Symbol.asyncIterator]: () => channel[Symbol.asyncIterator](),
      stop,
    };
    this.subs.add(sub);
    const onSettle = (): void => {
      credit += 1;
      wake?.();
    };
    this.track(
      (async () => {
        let consumer: Consumer | undefined;
        let failures = 0;
        while (!stopped && !this.nc.isClosed()) {
          if (credit <= 0) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            continue;
          }
          try {
            consumer ??= await this.js.consumers.get(stream, consumerName);
            const iter = await consumer.fetch({ max_messages: credit, expires: this.opts.pullExpiresMs });
            for await (const m of iter) {
              if (stopped) {
                m.nak();
                continue;
              }
              credit -= 1;
              const msg = this.wrap(m, onSettle);
              if (!channel.push(msg)) msg.nak(0);
            }
            failures = 0;
          } catch (err) {
            if (stopped || this.nc.isClosed()) break;
            failures += 1;
            this.log.warn({ err, stream, consumer: consumerName, failures }, 'pull failed; retrying');
            await sleep(Math.min(2000, 100 * 2 ** Math.min(failures, 5)));
          }
        }
      })().finally(() => {
        for (const m of channel.close()) m.nak(0);
      }),
    );
    return sub;
  }

  private track(p: Promise<void>): void {
    this.loops.add(p);
    void p.finally(() => this.loops.delete(p));
  }

  private watchStatus(): void {
    this.track(
      (async () => {
        for await (const s of this.nc.status()) {
          if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error')
            this.log.info({ status: s.type }, 'nats connection status');
        }
      })().catch(() => undefined),
    );
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError(`bus is closed (${this.nc.getServer()})`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function objectName(version: number): string {
  return `policy-v${version}`;
}
