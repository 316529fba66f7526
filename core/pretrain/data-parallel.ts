/**
 * Synchronous data-parallel training over worker threads. TF.js's WebAssembly backend runs one
 * thread per process (no multi-threaded build in Node), so the supervised warm start used one core
 * of two. Here each worker holds a copy of the policy; a step sends every worker its share of the
 * batch, averages the gradients they return (weighted by rows), and sends the mean back with the
 * next step: each worker clips and applies it with its own AdamW, and since all of them start from
 * the same weights and apply the same numbers in the same order, their weights stay bit-identical.
 * The main thread stays free to prepare the next batch while the workers compute.
 */
import type { Worker } from 'node:worker_threads';
import { SamVeteranError } from '../errors/index.ts';
import type {
  ActionTokens,
  NamedWeight,
  PointerPolicy,
  PreparedBatch,
  SupervisedLossOptions,
} from '../policy/index.ts';
import type {
  ApplyGradients,
  GradWorkerInit,
  GradWorkerRequest,
  GradWorkerResponse,
} from './grad-protocol.ts';
import { concatPrepared } from './prepared.ts';
import { endWorker, startReadyWorker } from '../threads/index.ts';

const ENTRY = new URL('./grad-worker.ts', import.meta.url);
const CLOSE: GradWorkerRequest = { type: 'close' };

/** Examples of one task (box, refine or auxiliary) in a batch. */
export interface BatchPart {
  readonly inputs: readonly PreparedBatch[];
  readonly targets: readonly ActionTokens[];
}

export interface ParallelStepResult {
  /** Row-weighted mean of the workers' losses (the loss before the step). */
  readonly loss: number;
  /** Global norm of the mean gradient, before clipping. */
  readonly gradNorm: number;
  /** Per-part losses when `probe` was asked for, else empty. */
  readonly parts: readonly number[];
}

interface Pending {
  resolve(r: GradWorkerResponse): void;
  reject(e: Error): void;
}

export class DataParallelTrainer {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private queued: ApplyGradients | undefined;
  private closed = false;

  private constructor(private readonly workers: Worker[]) {
    for (const w of workers) {
      w.on('message', (res: GradWorkerResponse) => {
        const p = this.pending.get(res.id);
        if (!p) return;
        this.pending.delete(res.id);
        if (res.type === 'error')
          p.reject(new SamVeteranError('INTERNAL', `training worker: ${res.message}`));
        else p.resolve(res);
      });
      w.on('error', (err) => this.failAll(err));
    }
  }

  /**
   * Starts `count` workers holding copies of `policy` (its weights and train options); with
   * `averageDecay` the first also keeps a moving average of the weights (finish returns it).
   */
  static async start(policy: PointerPolicy, count: number, averageDecay = 0): Promise<DataParallelTrainer> {
    const init: Omit<GradWorkerInit, '__entry'> = {
      config: policy.config,
      weights: policy.getWeights(),
      train: policy.trainSettings,
    };
    const started = await Promise.allSettled(
      Array.from({ length: count }, (_, k) =>
        startReadyWorker(ENTRY, k === 0 && averageDecay > 0 ? { ...init, averageDecay } : init),
      ),
    );
    const workers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(workers.map((w) => endWorker(w, CLOSE)));
      throw new SamVeteranError('UNAVAILABLE', 'a training worker failed to start', { cause: failed.reason });
    }
    const trainer = new DataParallelTrainer(workers);
    return trainer;
  }

  get size(): number {
    return this.workers.length;
  }

  /**
   * One step: the previous step's mean gradient is applied first (at its learning rate), then each
   * worker computes the gradients of its share of every part; the mean is kept for the next call.
   */
  async step(
    parts: readonly BatchPart[],
    opts: { learningRate: number; probe: boolean } & SupervisedLossOptions,
  ): Promise<ParallelStepResult> {
    const { learningRate: _lr, probe: _probe, ...lossOptions } = opts;
    const W = this.workers.length;
    const shares = this.workers.map((_, w) => {
      const slices = parts.map((p) => {
        const lo = Math.floor((w * p.inputs.length) / W);
        const hi = Math.floor(((w + 1) * p.inputs.length) / W);
        return { inputs: p.inputs.slice(lo, hi), targets: p.targets.slice(lo, hi) };
      });
      const all = slices.filter((s) => s.inputs.length > 0);
      return {
        rows: all.reduce((n, s) => n + s.inputs.length, 0),
        batch: all.length > 0 ? concatPrepared(all.flatMap((s) => s.inputs)) : undefined,
        targets: all.flatMap((s) => s.targets),
        probe: opts.probe
          ? slices.map((s) =>
              s.inputs.length > 0 ? { batch: concatPrepared(s.inputs), targets: s.targets } : undefined,
            )
          : [],
      };
    });
    const total = shares.reduce((n, s) => n + s.rows, 0);
    if (total === 0) throw new SamVeteranError('INVALID_ARGUMENT', 'data-parallel step: the batch is empty');
    // Every worker applies the queued mean with its share, so every worker needs a share (refused
    // before anything is sent, so the copies stay in lock-step).
    if (shares.some((s) => s.rows === 0)) {
      throw new SamVeteranError(
        'INVALID_ARGUMENT',
        `data-parallel step: a batch of ${total} rows cannot give each of ${W} workers an example`,
      );
    }
    const apply = this.queued;
    this.queued = undefined;
    const responses = await Promise.all(
      shares.map((share, w) =>
        this.call(this.workers[w] as Worker, {
          type: 'step',
          id: this.nextId++,
          ...(apply ? { apply } : {}),
          batch: share.batch as PreparedBatch,
          targets: share.targets,
          loss: lossOptions,
          probe: share.probe.filter((p): p is NonNullable<typeof p> => p !== undefined),
        }),
      ),
    );
    const mean = new Map<string, Float32Array>();
    let loss = 0;
    responses.forEach((r, w) => {
      if (r.type !== 'grads') return;
      const weight = (shares[w]?.rows ?? 0) / total;
      loss += weight * r.loss;
      for (const [name, g] of r.grads) {
        let acc = mean.get(name);
        if (!acc) mean.set(name, (acc = new Float32Array(g.length)));
        for (let i = 0; i < g.length; i++) acc[i] = (acc[i] as number) + weight * (g[i] as number);
      }
    });
    let sq = 0;
    for (const g of mean.values()) for (let i = 0; i < g.length; i++) sq += (g[i] as number) ** 2;
    this.queued = { grads: mean, loss, learningRate: opts.learningRate };
    return {
      loss,
      gradNorm: Math.sqrt(sq),
      parts: opts.probe ? this.partLosses(parts, shares, responses) : [],
    };
  }

  /**
   * Applies the last step's gradients and returns the trained weights, after checking that every
   * worker's copy is bit-identical (a divergence would mean the workers trained different models);
   * with `averageDecay`, also the moving average of the weights.
   */
  async finish(): Promise<{ weights: NamedWeight[]; average?: NamedWeight[] }> {
    const apply = this.queued;
    this.queued = undefined;
    const replies = await Promise.all(
      this.workers.map((w) =>
        this.call(w, { type: 'weights', id: this.nextId++, ...(apply ? { apply } : {}) }),
      ),
    );
    const copies = replies.map((r) => {
      if (r.type !== 'weights') throw new SamVeteranError('INTERNAL', 'training worker sent no weights');
      return r.weights;
    });
    const average = replies[0]?.type === 'weights' ? replies[0].average : undefined;
    const first = copies[0] as NamedWeight[];
    copies.slice(1).forEach((other, k) => {
      first.forEach((w, i) => {
        const o = other[i];
        if (!o || o.name !== w.name || !sameBits(o.data, w.data)) {
          throw new SamVeteranError(
            'INTERNAL',
            `training worker ${k + 1}'s ${w.name} differs from worker 0's`,
          );
        }
      });
    });
    return { weights: first, ...(average ? { average } : {}) };
  }

  /** Fails pending steps and ends the workers by themselves (terminated only after `graceMs`). */
  async close(graceMs = 10_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new SamVeteranError('UNAVAILABLE', 'training workers are closed'));
    await Promise.all(this.workers.map((w) => endWorker(w, CLOSE, graceMs)));
  }

  private partLosses(
    parts: readonly BatchPart[],
    shares: readonly { probe: readonly unknown[] }[],
    responses: readonly GradWorkerResponse[],
  ): number[] {
    return parts.map((p, k) => {
      let sum = 0;
      let rows = 0;
      responses.forEach((r, w) => {
        if (r.type !== 'grads') return;
        // The worker's probe list skipped its empty slices; find this part's position in it.
        const probes = shares[w]?.probe ?? [];
        if (probes[k] === undefined) return;
        const pos = probes.slice(0, k).filter((x) => x !== undefined).length;
        const n = (probes[k] as { targets: readonly unknown[] }).targets.length;
        sum += n * (r.parts[pos] as number);
        rows += n;
      });
      return rows > 0 && p.inputs.length > 0 ? sum / rows : NaN;
    });
  }

  private call(
    worker: Worker,
    req: Exclude<GradWorkerRequest, { type: 'close' }>,
  ): Promise<GradWorkerResponse> {
    if (this.closed) return Promise.reject(new SamVeteranError('UNAVAILABLE', 'training workers are closed'));
    // A step's batches were concatenated for this worker alone: move them instead of copying.
    const transfer =
      req.type === 'step'
        ? [req.batch, ...req.probe.map((p) => p.batch)].flatMap((b) => [
            b.patches.buffer as ArrayBuffer,
            b.queryOneHot.buffer as ArrayBuffer,
            b.queryMask.buffer as ArrayBuffer,
          ])
        : [];
    return new Promise((resolve, reject) => {
      this.pending.set(req.id, { resolve, reject });
      worker.postMessage(req, transfer);
    });
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
