/**
 * Micro-batching of decoder runs. Prompts on the same image (same key = model id + digest) are
 * decoded together in runs of at most `maxBatch` prompts:
 *  - when no run is in progress, a queue is flushed at the end of the current event-loop turn, so
 *    an idle server adds no latency and prompts submitted together (a TransitionGroup) share a run;
 *  - while a run is in progress, new prompts wait for it to finish (or for `maxWaitMs`, or for a
 *    full batch) and then go together — under load, batches fill by themselves.
 * Items whose caller has gone (aborted signal) are dropped before the run.
 */
import { DeadlineExceededError } from './errors.ts';

export interface MicroBatcherOptions {
  /** Max prompts per run (≥ 1). */
  readonly maxBatch: number;
  /** Max time in ms a prompt queued behind a running decode waits before its own run. */
  readonly maxWaitMs: number;
}

/** Runs one batch: all items share `ctx` (the image and its embedding). Results in item order. */
export type BatchRunner<C, P, R> = (ctx: C, items: readonly P[]) => Promise<R[]>;

interface Pending<P, R> {
  readonly item: P;
  readonly resolve: (r: R) => void;
  readonly reject: (e: unknown) => void;
  readonly signal: AbortSignal | undefined;
}

interface Queue<C, P, R> {
  readonly ctx: C;
  readonly items: Pending<P, R>[];
  timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
}

export class MicroBatcher<C, P, R> {
  private readonly queues = new Map<string, Queue<C, P, R>>();
  private running = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly opts: MicroBatcherOptions,
    private readonly run: BatchRunner<C, P, R>,
    private readonly onBatch?: (size: number) => void,
  ) {
    if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1)
      throw new RangeError(`maxBatch ${opts.maxBatch} must be ≥ 1`);
  }

  /** Queues one item; `ctx` is used when this item starts a new batch for `key`. */
  submit(key: string, ctx: C, item: P, signal?: AbortSignal): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let q = this.queues.get(key);
      if (!q) {
        q = { ctx, items: [], timer: undefined };
        this.queues.set(key, q);
      }
      q.items.push({ item, resolve, reject, signal });
      if (q.items.length >= this.opts.maxBatch) {
        this.flush(key);
      } else if (!q.timer) {
        q.timer =
          this.running > 0 && this.opts.maxWaitMs > 0
            ? setTimeout(() => this.flush(key), this.opts.maxWaitMs)
            : setImmediate(() => this.flush(key));
      }
    });
  }

  submitAll(key: string, ctx: C, items: readonly P[], signal?: AbortSignal): Promise<R[]> {
    return Promise.all(items.map((it) => this.submit(key, ctx, it, signal)));
  }

  /** Resolves when no batch is queued or running. */
  async idle(): Promise<void> {
    if (this.queues.size === 0 && this.running === 0) return;
    await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  private flush(key: string): void {
    const q = this.queues.get(key);
    if (!q) return;
    if (q.timer) {
      clearTimeout(q.timer as NodeJS.Timeout);
      clearImmediate(q.timer as NodeJS.Immediate);
      q.timer = undefined;
    }
    const taken = q.items.splice(0, this.opts.maxBatch);
    if (q.items.length === 0) this.queues.delete(key);
    else q.timer = setImmediate(() => this.flush(key));
    const live = taken.filter((p) => {
      if (!p.signal?.aborted) return true;
      p.reject(new DeadlineExceededError('call cancelled or deadline exceeded before decoding'));
      return false;
    });
    if (live.length === 0) {
      this.maybeIdle();
      return;
    }
    this.running++;
    this.onBatch?.(live.length);
    this.run(
      q.ctx,
      live.map((p) => p.item),
    )
      .then((results) => {
        if (results.length !== live.length) {
          throw new Error(`model returned ${results.length} results for a batch of ${live.length}`);
        }
        live.forEach((p, i) => p.resolve(results[i] as R));
      })
      .catch((err: unknown) => {
        for (const p of live) p.reject(err);
      })
      .finally(() => {
        this.running--;
        // Prompts that queued behind this run go now rather than at their timer.
        for (const k of [...this.queues.keys()]) this.flush(k);
        this.maybeIdle();
      });
  }

  private maybeIdle(): void {
    if (this.queues.size === 0 && this.running === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of w) r();
    }
  }
}
