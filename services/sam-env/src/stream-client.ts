/**
 * Client side of `TransitionStream`: one long-lived bidirectional stream per channel, opened on first
 * use and reopened after it ends; requests are written with an id and settled when their answer
 * arrives, in whatever order the server finishes them.
 *
 * Failure semantics match the unary calls, so the client's retry loop treats both alike:
 *  - an answer carrying an error status → the same domain error a unary call would raise;
 *  - the request's deadline passing → DEADLINE_EXCEEDED (not retried); the server gets the remaining
 *    time as `timeoutMs` and abandons the work too;
 *  - the stream failing or ending with requests unanswered (replica killed, connection reset,
 *    draining) → those requests fail with the stream's status, UNAVAILABLE when it ended cleanly, and
 *    are retried elsewhere. A transition is a pure function of its request, so a retry is always safe.
 *  - a server without the method (UNIMPLEMENTED) marks the lane unsupported; the caller then uses the
 *    unary methods on that channel.
 */
import * as grpc from '@grpc/grpc-js';
import type { SamVeteranError } from '../../../core/errors/index.ts';
import type {
  SamEnvGrpcClient,
  TransitionGroupRequest,
  TransitionGroupResponse__Output,
  TransitionRequest,
  TransitionResponse__Output,
  TransitionStreamRequest,
  TransitionStreamResponse__Output,
} from '../../../core/wire/index.ts';
import { fromGrpcError } from './errors.ts';

type Duplex = grpc.ClientDuplexStream<TransitionStreamRequest, TransitionStreamResponse__Output>;

interface Pending {
  readonly kind: 'transition' | 'group';
  readonly resolve: (res: TransitionResponse__Output | TransitionGroupResponse__Output) => void;
  readonly reject: (err: SamVeteranError) => void;
  readonly timer: NodeJS.Timeout;
}

const MAX_ID = 2 ** 32 - 1;

/** A status as a grpc-js ServiceError, so that `fromGrpcError` maps stream answers like unary ones. */
function serviceError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code] ?? ''}: ${details}`), {
    code,
    details,
    metadata: new grpc.Metadata(),
  });
}

export class StreamLane {
  private call: Duplex | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private unsupportedValue = false;

  constructor(
    private readonly client: SamEnvGrpcClient,
    private readonly target: string,
  ) {}

  /** The server answered UNIMPLEMENTED: use the unary methods on this channel. */
  get unsupported(): boolean {
    return this.unsupportedValue;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  transition(req: TransitionRequest, deadline: number): Promise<TransitionResponse__Output> {
    return this.send('transition', req, deadline) as Promise<TransitionResponse__Output>;
  }

  group(req: TransitionGroupRequest, deadline: number): Promise<TransitionGroupResponse__Output> {
    return this.send('group', req, deadline) as Promise<TransitionGroupResponse__Output>;
  }

  /** Ends the stream; unanswered requests fail UNAVAILABLE. */
  close(): void {
    const call = this.call;
    this.call = undefined;
    this.failAll(serviceError(grpc.status.UNAVAILABLE, 'client closed'));
    call?.cancel();
  }

  private send(
    kind: Pending['kind'],
    req: TransitionRequest | TransitionGroupRequest,
    deadline: number,
  ): Promise<TransitionResponse__Output | TransitionGroupResponse__Output> {
    return new Promise((resolve, reject) => {
      const timeoutMs = Math.ceil(deadline - Date.now());
      if (timeoutMs <= 0) {
        reject(
          fromGrpcError(
            serviceError(grpc.status.DEADLINE_EXCEEDED, 'deadline passed before sending'),
            this.target,
          ),
        );
        return;
      }
      const call = this.open();
      const id = this.allocateId();
      const timer = setTimeout(() => {
        if (!this.pending.delete(id)) return;
        reject(
          fromGrpcError(
            serviceError(grpc.status.DEADLINE_EXCEEDED, `no answer within ${timeoutMs} ms`),
            this.target,
          ),
        );
      }, timeoutMs);
      this.pending.set(id, { kind, resolve, reject, timer });
      const msg: TransitionStreamRequest =
        kind === 'transition'
          ? { id, timeoutMs, transition: req as TransitionRequest }
          : { id, timeoutMs, group: req as TransitionGroupRequest };
      call.write(msg);
    });
  }

  private allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id >= MAX_ID ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  private open(): Duplex {
    if (this.call) return this.call;
    const call = this.client.TransitionStream();
    this.call = call;
    call.on('data', (res: TransitionStreamResponse__Output) => {
      const p = this.pending.get(res.id);
      if (!p) return; // already timed out
      this.pending.delete(res.id);
      clearTimeout(p.timer);
      if (res.outcome === 'error' || !res.outcome) {
        const code = (res.error?.code ?? grpc.status.INTERNAL) as grpc.status;
        p.reject(
          fromGrpcError(serviceError(code, res.error?.message ?? 'answer without an outcome'), this.target),
        );
        return;
      }
      const body = res.outcome === p.kind ? res[p.kind] : undefined;
      if (!body) {
        p.reject(
          fromGrpcError(
            serviceError(grpc.status.INTERNAL, `answer to a ${p.kind} request carries "${res.outcome}"`),
            this.target,
          ),
        );
        return;
      }
      p.resolve(body);
    });
    const finished = (err: grpc.ServiceError | undefined): void => {
      if (this.call !== call) return;
      this.call = undefined;
      if (err?.code === grpc.status.UNIMPLEMENTED) this.unsupportedValue = true;
      this.failAll(err ?? serviceError(grpc.status.UNAVAILABLE, 'stream ended with requests unanswered'));
      call.end();
    };
    call.on('error', (err: grpc.ServiceError) => finished(err));
    call.on('end', () => finished(undefined));
    return call;
  }

  private failAll(err: grpc.ServiceError): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(fromGrpcError(err, this.target));
    }
  }
}
