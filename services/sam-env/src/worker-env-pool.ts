/**
 * EnvPort over N worker threads, each hosting its own GrabCut model: the embedded default's
 * environment, so SAM-like transitions run on the other cores while the policy runs here.
 * Requests for one image always go to the same worker (digest hash), so its embedding cache hits.
 */
import { Worker } from 'node:worker_threads';
import { SamVeteranError, ValidationError, type ErrorCode } from '../../../core/errors/index.ts';
import { BinaryMask } from '../../../core/mask/index.ts';
import { WORKER_BOOTSTRAP, endWorker } from '../../../core/threads/index.ts';
import type { EnvImage, EnvPort, ModelInfo, TransitionOutput, TransitionPrompt } from './model.ts';
import type { GrabCutOptions } from './models/grabcut.ts';
import type { WirePrompt, WorkerRequest, WorkerResponse } from './worker-protocol.ts';

export interface WorkerEnvPoolOptions {
  /** Worker threads. Default 1. */
  readonly workers?: number;
  readonly grabcut?: GrabCutOptions;
  /**
   * Embedding cache budget of each worker, bytes. Default 256 MiB. Evaluation, which sees each image
   * in one batch only, needs little; training revisits an image within a task.
   */
  readonly cacheBytes?: number;
}

interface Pending {
  resolve(r: WorkerResponse): void;
  reject(e: Error): void;
}

const ENTRY = new URL('./env-worker.ts', import.meta.url).href;

export class WorkerEnvPool implements EnvPort {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  /** Answers still awaited (close waits for them before ending the workers). */
  private readonly inFlight = new Set<Promise<WorkerResponse>>();
  private nextId = 1;
  private closed = false;
  transitions = 0;

  constructor(opts: WorkerEnvPoolOptions = {}) {
    const n = Math.max(1, opts.workers ?? 1);
    for (let i = 0; i < n; i++) {
      const w = new Worker(WORKER_BOOTSTRAP, {
        workerData: {
          __entry: ENTRY,
          model: 'grabcut',
          options: opts.grabcut ?? {},
          ...(opts.cacheBytes !== undefined ? { cacheBytes: opts.cacheBytes } : {}),
        },
      });
      w.on('message', (res: WorkerResponse) => {
        const p = this.pending.get(res.id);
        if (!p) return;
        this.pending.delete(res.id);
        if (this.pending.size === 0) for (const x of this.workers) x.unref();
        p.resolve(res);
      });
      w.on('error', (err) => this.failAll(err));
      w.unref();
      this.workers.push(w);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private call(worker: Worker, req: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerResponse> {
    if (this.closed) return Promise.reject(new SamVeteranError('UNAVAILABLE', 'environment pool is closed'));
    const answered = new Promise<WorkerResponse>((resolve, reject) => {
      this.pending.set(req.id, { resolve, reject });
      // Idle workers are unref'd so an idle pool never keeps the process alive; busy ones are ref'd.
      worker.ref();
      worker.postMessage(req, transfer);
    });
    this.inFlight.add(answered);
    const done = (): void => void this.inFlight.delete(answered);
    answered.then(done, done);
    return answered.then((res) => {
      const r = res as WorkerResponse;
      if (!r.ok) {
        const e = r.error;
        if (e.code === 'INVALID_ARGUMENT' && e.field)
          throw ValidationError.rebuilt(e.field, e.value, e.message);
        throw new SamVeteranError((e.code as ErrorCode | undefined) ?? 'INTERNAL', e.message);
      }
      return r;
    });
  }

  private workerFor(digest: string): Worker {
    const h = parseInt(digest.slice(0, 8), 16) || 0;
    return this.workers[h % this.workers.length] as Worker;
  }

  async info(): Promise<ModelInfo> {
    const res = await this.call(this.workers[0] as Worker, { type: 'info', id: this.nextId++ });
    if (!res.ok || !res.info) throw new SamVeteranError('INTERNAL', 'worker returned no model info');
    return res.info;
  }

  async transitionGroup(image: EnvImage, prompts: readonly TransitionPrompt[]): Promise<TransitionOutput[]> {
    const wirePrompts: WirePrompt[] = prompts.map((p) => ({
      box: p.box,
      points: p.points,
      ...(p.prevLogits ? { prevLogits: p.prevLogits } : {}),
      ...(p.prevMask
        ? { prevMask: { width: p.prevMask.width, height: p.prevMask.height, data: p.prevMask.data } }
        : {}),
    }));
    const res = await this.call(this.workerFor(image.digest), {
      type: 'transition',
      id: this.nextId++,
      image: { digest: image.digest, width: image.width, height: image.height, rgb: image.rgb },
      prompts: wirePrompts,
    });
    if (!res.ok) throw new SamVeteranError('INTERNAL', 'unreachable');
    this.transitions += prompts.length;
    return res.outputs.map((o) => ({
      mask: new BinaryMask(o.mask.width, o.mask.height, o.mask.data),
      ...(o.lowResLogits ? { lowResLogits: o.lowResLogits } : {}),
      predictedIou: o.predictedIou,
      stability: o.stability,
    }));
  }

  /**
   * Lets calls in flight finish, then ends every worker by itself (it answers the close request and
   * closes its port; terminated only if it has not exited after `graceMs`).
   */
  async close(graceMs = 10_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    await Promise.all(
      this.workers.map((w) =>
        endWorker(w, { type: 'close', id: this.nextId++ } satisfies WorkerRequest, graceMs),
      ),
    );
    this.failAll(new SamVeteranError('UNAVAILABLE', 'environment pool closed'));
  }
}
