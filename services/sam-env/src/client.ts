/**
 * Typed SamEnv client for actors.
 *
 *  - Targets: a list of `host:port` replicas (one channel each; this client round-robins over them,
 *    skipping channels in TRANSIENT_FAILURE, and fails over on UNAVAILABLE), or one `dns:///name:port`
 *    (one channel with grpc-js's `round_robin` policy over the resolved addresses — a k8s headless
 *    Service).
 *  - Deadline per logical call (retries included); retries on UNAVAILABLE with exponential backoff and
 *    jitter (seeded Rng).
 *  - Image bytes only when the server lacks them: each channel remembers the digests it has delivered;
 *    a known digest goes digest-only. An unknown one either probes digest-only first (`firstContact:
 *    'probe'`, the default — saves bandwidth when other actors already sent the image) or sends the bytes
 *    (`'send'`). NOT_FOUND on a digest-only request is answered by resending with bytes, once.
 *  - Transitions travel over one long-lived TransitionStream per channel (`transport: 'stream'`, the
 *    default; see stream-client.ts), or as unary calls (`'unary'`); retries and errors are the same.
 *  - Or no bytes at all: an image given as a key in the shared image store (`storedImage`) goes as
 *    digest + key on every call (a few bytes; the server reads its cache first, then the store). A
 *    NOT_FOUND then means the key or the server's store is missing, so it is not retried.
 */
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { NotFoundError, SamVeteranError, ValidationError } from '../../../core/errors/index.ts';
import { Rng } from '../../../core/rng/index.ts';
import {
  imageRefToWire,
  infoFromWire,
  loadSamEnvDefinition,
  promptToWire,
  SAM_ENV_SERVICE,
  transitionResultFromWire,
  type EnvInfo,
  type EnvPrompt,
  type EnvTransitionResult,
  type ImageRef,
  type ImageSource,
  type SamEnvGrpcClient,
  type TransitionGroupRequest,
  type TransitionRequest,
} from '../../../core/wire/index.ts';
import { fromGrpcError } from './errors.ts';
import { StreamLane } from './stream-client.ts';

export interface SamEnvClientOptions {
  /** `host:port` replicas (array or comma-separated), or a single `dns:///name:port`. */
  readonly addresses: string | readonly string[];
  /** Deadline per logical call in ms, retries included. Default 10000. */
  readonly deadlineMs?: number;
  /** Attempts per call on UNAVAILABLE (≥ 1). Default 5. */
  readonly maxAttempts?: number;
  /** First retry backoff in ms (doubles each retry, jittered ×[0.5, 1]). Default 20. */
  readonly initialBackoffMs?: number;
  /** Backoff cap in ms. Default 1000. */
  readonly maxBackoffMs?: number;
  /** Max message size in bytes. Default 32 MiB. */
  readonly maxMessageBytes?: number;
  /** Unknown digest on a channel: probe digest-only first, or send bytes. Default 'probe'. */
  readonly firstContact?: 'probe' | 'send';
  /** Digests remembered per channel. Default 4096. */
  readonly rememberDigests?: number;
  /** Expected model id or family sent with every call ('' = any). Default ''. */
  readonly model?: string;
  /** Seed for backoff jitter. Default 'sam-env-client'. */
  readonly seed?: number | string;
  /**
   * How transitions travel: 'stream' (default) multiplexes them over one long-lived TransitionStream
   * per channel, without a new HTTP/2 stream, headers and trailers per call; 'unary' makes one
   * Transition / TransitionGroup call each. A server without TransitionStream gets unary calls.
   */
  readonly transport?: 'stream' | 'unary';
}

/** An image to send: digest plus, ideally, where the bytes are. */
export interface ImagePayload {
  readonly digest: string;
  /** Bytes (or a store key) for when the server lacks the digest; omit to send digest-only. */
  readonly source?: ImageSource;
}

/** Builds a payload from a PNG/JPEG file's bytes (digest = SHA-256 of the bytes). */
export function encodedImage(bytes: Uint8Array): ImagePayload {
  return { digest: createHash('sha256').update(bytes).digest('hex'), source: { kind: 'encoded', bytes } };
}

/**
 * Builds a payload that names an image in the shared image store instead of carrying its bytes.
 * `digest` is the SHA-256 of the stored (encoded) bytes, as returned by the store's `put`.
 * @throws ValidationError for a malformed digest or an empty key.
 */
export function storedImage(ref: { readonly digest: string; readonly key: string }): ImagePayload {
  if (!/^[0-9a-f]{64}$/.test(ref.digest)) {
    throw new ValidationError(
      'digest',
      ref.digest,
      'must be a lowercase hex SHA-256 (64 characters) of the stored image bytes',
    );
  }
  if (ref.key.length === 0)
    throw new ValidationError('key', ref.key, 'is empty; name the image in the store');
  return { digest: ref.digest, source: { kind: 'store', key: ref.key } };
}

/** Builds a payload from raw RGB (digest = SHA-256 of the RGB bytes). */
export function rawImage(width: number, height: number, rgb: Uint8Array): ImagePayload {
  return {
    digest: createHash('sha256').update(rgb).digest('hex'),
    source: { kind: 'raw', width, height, rgb },
  };
}

export interface CallOptions {
  /** Overrides the client's deadline for this call, in ms. */
  readonly deadlineMs?: number;
  /** Return low-res logits for the next step. Default true. */
  readonly returnLogits?: boolean;
}

export interface TransitionReply {
  readonly result: EnvTransitionResult;
  readonly embeddingCached: boolean;
  readonly modelId: string;
  readonly serverMs: number;
}

export interface TransitionGroupReply {
  readonly results: EnvTransitionResult[];
  readonly embeddingCached: boolean;
  readonly modelId: string;
  readonly serverMs: number;
}

export interface ClientStats {
  calls: number;
  retries: number;
  /** Calls answered NOT_FOUND and resent with bytes. */
  resends: number;
  /** Calls sent with image bytes. */
  bytesSent: number;
  /** Calls sent with an image store key instead of bytes. */
  storeKeysSent: number;
}

interface Channel {
  readonly target: string;
  readonly client: SamEnvGrpcClient;
  /** Digests this channel's server(s) received; insertion-ordered for LRU trimming. */
  readonly sent: Set<string>;
  /** The channel's TransitionStream (opened on first use). */
  readonly lane: StreamLane;
}

type Method = 'Transition' | 'TransitionGroup';

export class SamEnvClient {
  readonly stats: ClientStats = { calls: 0, retries: 0, resends: 0, bytesSent: 0, storeKeysSent: 0 };
  private readonly channels: Channel[];
  private readonly rng: Rng;
  private next = 0;
  private readonly deadlineMs: number;
  private readonly maxAttempts: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly rememberDigests: number;
  private readonly firstContact: 'probe' | 'send';
  private readonly model: string;
  private readonly transport: 'stream' | 'unary';

  constructor(opts: SamEnvClientOptions) {
    const targets = (typeof opts.addresses === 'string' ? opts.addresses.split(',') : [...opts.addresses])
      .map((a) => a.trim())
      .filter((a) => a.length > 0);
    if (targets.length === 0)
      throw new ValidationError('addresses', opts.addresses, 'must list at least one address');
    this.deadlineMs = opts.deadlineMs ?? 10_000;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 5);
    this.initialBackoffMs = opts.initialBackoffMs ?? 20;
    this.maxBackoffMs = opts.maxBackoffMs ?? 1000;
    this.rememberDigests = opts.rememberDigests ?? 4096;
    this.firstContact = opts.firstContact ?? 'probe';
    this.model = opts.model ?? '';
    this.transport = opts.transport ?? 'stream';
    if (this.transport !== 'stream' && this.transport !== 'unary')
      throw new ValidationError('transport', this.transport, 'must be "stream" or "unary"');
    this.rng = new Rng(opts.seed ?? 'sam-env-client');
    const maxMsg = opts.maxMessageBytes ?? 32 * 2 ** 20;
    const { proto } = loadSamEnvDefinition();
    const serviceConfig = {
      loadBalancingConfig: [{ round_robin: {} }],
      methodConfig: [{ name: [{ service: SAM_ENV_SERVICE }], waitForReady: false }],
    };
    this.channels = targets.map((target) => {
      const client = new proto.samveteran.v1.SamEnv(target, grpc.credentials.createInsecure(), {
        'grpc.service_config': JSON.stringify(serviceConfig),
        'grpc.service_config_disable_resolution': 1,
        'grpc.max_receive_message_length': maxMsg,
        'grpc.max_send_message_length': maxMsg,
        'grpc.keepalive_time_ms': 60_000,
        'grpc.keepalive_timeout_ms': 10_000,
        'grpc.dns_min_time_between_resolutions_ms': 5_000,
        'grpc.initial_reconnect_backoff_ms': 200,
        'grpc.max_reconnect_backoff_ms': 5_000,
        'grpc.enable_channelz': 0, // per-call bookkeeping for a channelz service nobody queries
      });
      return { target, sent: new Set<string>(), client, lane: new StreamLane(client, target) };
    });
  }

  get targets(): string[] {
    return this.channels.map((c) => c.target);
  }

  async info(opts: CallOptions = {}): Promise<EnvInfo> {
    const res = await this.withRetries(opts, (ch, deadline) =>
      unaryCall<object, Parameters<typeof infoFromWire>[0]>(ch, 'Info', {}, deadline),
    );
    return infoFromWire(res);
  }

  async transition(image: ImagePayload, prompt: EnvPrompt, opts: CallOptions = {}): Promise<TransitionReply> {
    const res = await this.withImage('Transition', image, opts, (ref) => ({
      model: this.model,
      image: ref,
      prompt: promptToWire(prompt),
      returnLogits: opts.returnLogits ?? true,
    }));
    const r = res as { result: unknown; embeddingCached: boolean; modelId: string; serverMs: number };
    return {
      result: transitionResultFromWire(r.result as Parameters<typeof transitionResultFromWire>[0], 'result'),
      embeddingCached: r.embeddingCached,
      modelId: r.modelId,
      serverMs: r.serverMs,
    };
  }

  async transitionGroup(
    image: ImagePayload,
    prompts: readonly EnvPrompt[],
    opts: CallOptions = {},
  ): Promise<TransitionGroupReply> {
    const res = await this.withImage('TransitionGroup', image, opts, (ref) => ({
      model: this.model,
      image: ref,
      prompts: prompts.map(promptToWire),
      returnLogits: opts.returnLogits ?? true,
    }));
    const r = res as { results: unknown[]; embeddingCached: boolean; modelId: string; serverMs: number };
    return {
      results: r.results.map((x, i) =>
        transitionResultFromWire(x as Parameters<typeof transitionResultFromWire>[0], `results[${i}]`),
      ),
      embeddingCached: r.embeddingCached,
      modelId: r.modelId,
      serverMs: r.serverMs,
    };
  }

  /** Resolves when at least one channel is connected, or rejects after `timeoutMs`. */
  async waitForReady(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const errors = await Promise.allSettled(
      this.channels.map(
        (ch) =>
          new Promise<void>((resolve, reject) =>
            ch.client.waitForReady(deadline, (e) => (e ? reject(e) : resolve())),
          ),
      ),
    );
    if (!errors.some((e) => e.status === 'fulfilled')) {
      throw new SamVeteranError(
        'UNAVAILABLE',
        `no sam-env replica ready within ${timeoutMs} ms (${this.targets.join(', ')})`,
      );
    }
  }

  close(): void {
    for (const ch of this.channels) {
      ch.lane.close();
      ch.client.close();
    }
  }

  /**
   * Digest-only when the channel is known to have the image; resend with bytes on NOT_FOUND. A store
   * key is always sent (it is as small as the digest), and never resent.
   */
  private withImage(
    method: Method,
    image: ImagePayload,
    opts: CallOptions,
    build: (ref: ReturnType<typeof imageRefToWire>) => object,
  ): Promise<unknown> {
    const full: ImageRef = image.source
      ? { digest: image.digest, source: image.source }
      : { digest: image.digest };
    const bare: ImageRef = { digest: image.digest };
    if (image.source?.kind === 'store') {
      const wire = imageRefToWire(full);
      return this.withRetries(opts, async (ch, deadline) => {
        this.stats.storeKeysSent++;
        const res = await this.send(ch, method, build(wire), deadline, false);
        this.remember(ch, image.digest);
        return res;
      });
    }
    return this.withRetries(opts, async (ch, deadline) => {
      const known = ch.sent.has(image.digest);
      const sendBytes = !known && this.firstContact === 'send' && image.source !== undefined;
      if (sendBytes) this.stats.bytesSent++;
      try {
        const res = await this.send(
          ch,
          method,
          build(imageRefToWire(sendBytes ? full : bare)),
          deadline,
          sendBytes,
        );
        this.remember(ch, image.digest);
        return res;
      } catch (err) {
        if (sendBytes || !image.source || !(err instanceof NotFoundError)) throw err;
        ch.sent.delete(image.digest);
        this.stats.resends++;
        this.stats.bytesSent++;
        const res = await this.send(ch, method, build(imageRefToWire(full)), deadline, true);
        this.remember(ch, image.digest);
        return res;
      }
    });
  }

  /**
   * One transition request on `ch`: over its stream, or as a unary call. Requests carrying image
   * bytes always go unary: they are rare (once per image and channel), their size dwarfs the per-call
   * cost, and a message over the server's size limit then fails alone instead of resetting the stream
   * and every request on it.
   */
  private async send(
    ch: Channel,
    method: Method,
    req: object,
    deadline: number,
    carriesBytes: boolean,
  ): Promise<unknown> {
    if (this.transport === 'stream' && !carriesBytes && !ch.lane.unsupported) {
      try {
        return await (method === 'Transition'
          ? ch.lane.transition(req as TransitionRequest, deadline)
          : ch.lane.group(req as TransitionGroupRequest, deadline));
      } catch (err) {
        if (!ch.lane.unsupported) throw err;
      }
    }
    return unaryCall(ch, method, req, deadline);
  }

  private remember(ch: Channel, digest: string): void {
    ch.sent.delete(digest);
    ch.sent.add(digest);
    if (ch.sent.size > this.rememberDigests) {
      const oldest = ch.sent.values().next().value;
      if (oldest !== undefined) ch.sent.delete(oldest);
    }
  }

  /** Round robin, preferring channels that are not in TRANSIENT_FAILURE. */
  private pick(exclude: Channel | undefined): Channel {
    const n = this.channels.length;
    for (let k = 0; k < n; k++) {
      const ch = this.channels[(this.next + k) % n] as Channel;
      if (ch === exclude && n > 1) continue;
      const state = ch.client.getChannel().getConnectivityState(true);
      if (state !== grpc.connectivityState.TRANSIENT_FAILURE && state !== grpc.connectivityState.SHUTDOWN) {
        this.next = (this.next + k + 1) % n;
        return ch;
      }
    }
    const ch = this.channels[this.next % n] as Channel;
    this.next = (this.next + 1) % n;
    return ch;
  }

  private async withRetries<T>(
    opts: CallOptions,
    attempt: (ch: Channel, deadline: number) => Promise<T>,
  ): Promise<T> {
    const deadline = Date.now() + (opts.deadlineMs ?? this.deadlineMs);
    this.stats.calls++;
    let last: Channel | undefined;
    for (let i = 1; ; i++) {
      const ch = this.pick(last);
      last = ch;
      try {
        return await attempt(ch, deadline);
      } catch (err) {
        const retryable = err instanceof SamVeteranError && err.code === 'UNAVAILABLE' && !isDeadline(err);
        if (!retryable || i >= this.maxAttempts) throw err;
        const backoff =
          Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** (i - 1)) * this.rng.uniform(0.5, 1);
        if (Date.now() + backoff >= deadline) throw err;
        this.stats.retries++;
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
  }
}

function isDeadline(err: SamVeteranError): boolean {
  return (err as { grpcCode?: number }).grpcCode === grpc.status.DEADLINE_EXCEEDED;
}

function unaryCall<Req extends object, Res>(
  ch: Channel,
  method: string,
  req: Req,
  deadline: number,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    type UnaryFn = (req: Req, md: grpc.Metadata, o: grpc.CallOptions, cb: grpc.requestCallback<Res>) => void;
    const fn = (ch.client as unknown as Record<string, UnaryFn>)[method] as UnaryFn;
    fn.call(ch.client, req, new grpc.Metadata(), { deadline }, (err, res) => {
      if (err) reject(fromGrpcError(err, ch.target));
      else resolve(res as Res);
    });
  });
}
