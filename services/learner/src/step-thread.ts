/**
 * GRPO steps off the learner's event loop. A step's forward and backward passes (~0.2–0.4 s of
 * synchronous TF.js on two cores) used to block the thread that also pumps groups, heartbeats
 * unacked messages, feeds tasks and, in the embedded job, runs the in-process actors' sampling.
 * `StepThread` runs `grpoGradients` in a worker thread at the weights the learner sends with each
 * step; the learner applies the returned gradient with its own AdamW (`applyGradients`), so its
 * weights, optimizer state and checkpoints are exactly what an in-thread step gives (the gradient
 * is computed by the same code on the same numbers).
 */
import type { Worker } from 'node:worker_threads';
import { SamVeteranError } from '../../../core/errors/index.ts';
import type { NamedWeight, PointerPolicy } from '../../../core/policy/index.ts';
import { endWorker, startReadyWorker } from '../../../core/threads/index.ts';
import type { StepBatch } from './batch.ts';
import type { GrpoGradients, StepSettings } from './grpo-step.ts';
import type { StepWorkerInit, StepWorkerRequest, StepWorkerResponse } from './step-protocol.ts';

const ENTRY = new URL('./step-worker.ts', import.meta.url);
const CLOSE: StepWorkerRequest = { type: 'close' };

interface Pending {
  resolve(g: GrpoGradients): void;
  reject(e: Error): void;
}

export class StepThread {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | undefined;
  private closed = false;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (res: StepWorkerResponse) => {
      const p = this.pending.get(res.id);
      if (!p) return;
      this.pending.delete(res.id);
      if (res.type === 'grads') p.resolve(res.result);
      else if (res.type === 'error') p.reject(new SamVeteranError(res.code, `step worker: ${res.message}`));
    });
    worker.on('error', (err) => this.fail(`step worker failed: ${err.message}`, err));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(`step worker exited (code ${code})`);
    });
  }

  /** Starts a worker holding a copy of `policy`'s architecture and `reference`'s weights. */
  static async start(policy: PointerPolicy, reference: PointerPolicy): Promise<StepThread> {
    const init: StepWorkerInit = {
      config: policy.config,
      reference: reference.getWeights(),
      train: policy.trainSettings,
    };
    return new StepThread(await startReadyWorker(ENTRY, init));
  }

  /** Why the thread can no longer compute steps (undefined while it can). */
  get failure(): Error | undefined {
    return this.dead;
  }

  /**
   * The step's gradient at `weights`. Rejects with the worker's error code (INTERNAL for a
   * non-finite loss, INVALID_ARGUMENT for a malformed batch) or UNAVAILABLE once the thread has
   * died or been closed; the caller can then compute the step itself.
   */
  gradients(
    weights: readonly NamedWeight[],
    batch: StepBatch,
    settings: StepSettings,
  ): Promise<GrpoGradients> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Weights and batch are structured-cloned: the learner keeps both (weights for the update,
      // the batch for the statistics).
      this.worker.postMessage({ type: 'grads', id, weights, batch, settings } satisfies StepWorkerRequest);
    });
  }

  /** Fails pending steps and lets the worker end by itself (terminated only after `graceMs`). */
  async close(graceMs = 10_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail('step worker is closed');
    await endWorker(this.worker, CLOSE, graceMs);
  }

  private fail(message: string, cause?: unknown): void {
    this.dead ??= new SamVeteranError('UNAVAILABLE', message, cause ? { cause } : undefined);
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
  }
}
