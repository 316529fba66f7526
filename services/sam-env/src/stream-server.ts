/**
 * Server side of `TransitionStream`: many Transition / TransitionGroup requests over one long-lived
 * bidirectional stream, each answered by id as soon as it completes (so requests on one stream run
 * concurrently and reach the micro-batcher together, as separate unary calls would).
 *
 * Every request gets exactly one answer: its response, or the status a unary call would have ended
 * with (`error`). A bad request fails alone; the stream and the other requests carry on. A request's
 * `timeoutMs` plays the unary deadline (the work is abandoned when it passes); a cancelled stream
 * aborts its unanswered requests.
 *
 * Draining (server shutdown): requests already received finish and are answered; requests that
 * arrive afterwards are answered UNAVAILABLE (the client retries them on another replica); each stream
 * is ended once it has no unanswered request, so `tryShutdown` completes.
 */
import * as grpc from '@grpc/grpc-js';
import { ValidationError } from '../../../core/errors/index.ts';
import type { Logger } from '../../../core/log/index.ts';
import type {
  TransitionGroupRequest__Output,
  TransitionGroupResponse,
  TransitionRequest__Output,
  TransitionResponse,
  TransitionStreamRequest__Output,
  TransitionStreamResponse,
} from '../../../core/wire/index.ts';
import { toGrpcStatus } from './errors.ts';
import type { SamEnvMetrics } from './metrics.ts';

export interface StreamMethods {
  readonly transition: (req: TransitionRequest__Output, signal: AbortSignal) => Promise<TransitionResponse>;
  readonly group: (
    req: TransitionGroupRequest__Output,
    signal: AbortSignal,
  ) => Promise<TransitionGroupResponse>;
}

type Duplex = grpc.ServerDuplexStream<TransitionStreamRequest__Output, TransitionStreamResponse>;

interface OpenStream {
  readonly call: Duplex;
  /** Unanswered requests by id. */
  readonly pending: Map<number, AbortController>;
  /** The client half-closed: end once `pending` is empty. */
  clientDone: boolean;
  ended: boolean;
}

export class TransitionStreams {
  private readonly open = new Set<OpenStream>();
  private draining = false;

  constructor(
    private readonly methods: StreamMethods,
    private readonly metrics: SamEnvMetrics,
    private readonly logger: Logger,
  ) {}

  /** Streams currently open. */
  get size(): number {
    return this.open.size;
  }

  readonly handle = (call: Duplex): void => {
    const s: OpenStream = { call, pending: new Map(), clientDone: false, ended: false };
    this.open.add(s);
    this.metrics.openStreams.inc();
    const close = (): void => {
      if (!this.open.delete(s)) return;
      this.metrics.openStreams.dec();
    };
    call.on('data', (msg: TransitionStreamRequest__Output) => this.request(s, msg));
    call.on('end', () => {
      s.clientDone = true;
      this.maybeEnd(s);
    });
    // The client went away: abandon its unanswered requests; nothing more is written.
    const abandon = (): void => {
      for (const ac of s.pending.values()) ac.abort();
      s.pending.clear();
      s.ended = true;
      close();
    };
    call.on('cancelled', abandon);
    call.on('error', (err: unknown) => {
      this.logger.debug({ err }, 'transition stream error');
      abandon();
    });
    call.on('finish', close);
    call.on('close', close);
    if (this.draining) this.maybeEnd(s);
  };

  /** Stops taking requests; every stream ends once its unanswered requests are answered. */
  drain(): void {
    this.draining = true;
    for (const s of this.open) this.maybeEnd(s);
  }

  private request(s: OpenStream, msg: TransitionStreamRequest__Output): void {
    const id = msg.id;
    const method = msg.call === 'group' ? 'TransitionGroup' : 'Transition';
    const fail = (err: unknown): void => {
      const st = toGrpcStatus(err, this.logger, method);
      this.metrics.errors.inc({ method, code: grpc.status[st.code] ?? String(st.code) });
      this.answer(s, { id, error: { code: st.code, message: st.details } });
    };
    if (!Number.isInteger(id) || id < 1) {
      fail(new ValidationError('id', id, 'must be a positive integer, unique among unanswered requests'));
      return;
    }
    if (s.pending.has(id)) {
      fail(new ValidationError('id', id, 'is already in use by an unanswered request on this stream'));
      return;
    }
    if (this.draining) {
      this.metrics.errors.inc({ method, code: 'UNAVAILABLE' });
      this.answer(s, {
        id,
        error: { code: grpc.status.UNAVAILABLE, message: 'sam-env is draining; send to another replica' },
      });
      return;
    }
    const ac = new AbortController();
    s.pending.set(id, ac);
    const stop = this.metrics.callLatency.startTimer({ method });
    const timer = msg.timeoutMs > 0 ? setTimeout(() => ac.abort(), msg.timeoutMs).unref() : undefined;
    const settle = (): boolean => {
      clearTimeout(timer);
      stop();
      return s.pending.delete(id);
    };
    let work: Promise<TransitionStreamResponse>;
    if (msg.call === 'transition' && msg.transition) {
      work = this.methods.transition(msg.transition, ac.signal).then((transition) => ({ id, transition }));
    } else if (msg.call === 'group' && msg.group) {
      work = this.methods.group(msg.group, ac.signal).then((group) => ({ id, group }));
    } else {
      work = Promise.reject(
        new ValidationError('call', msg.call ?? null, 'must be "transition" or "group" with its request set'),
      );
    }
    work.then(
      (res) => {
        if (settle()) this.answer(s, res);
        this.maybeEnd(s);
      },
      (err: unknown) => {
        if (settle()) fail(err);
        this.maybeEnd(s);
      },
    );
  }

  private answer(s: OpenStream, res: TransitionStreamResponse): void {
    if (s.ended) return;
    s.call.write(res);
  }

  private maybeEnd(s: OpenStream): void {
    if (s.ended || s.pending.size > 0 || !(s.clientDone || this.draining)) return;
    s.ended = true;
    s.call.end();
  }
}
