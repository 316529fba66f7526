/**
 * Retries env calls that failed for a reason that may pass (a replica restarting, a deadline under
 * load): a few attempts with exponential backoff and jitter from a seeded Rng. Bad input
 * (ValidationError, INVALID_ARGUMENT) is not retried: it would fail the same way again.
 */
import type {
  EnvImage,
  EnvPort,
  ModelInfo,
  TransitionOutput,
  TransitionPrompt,
} from '../../../core/env/index.ts';
import { SamVeteranError } from '../../../core/errors/index.ts';
import { Rng } from '../../../core/rng/index.ts';

export interface RetryOptions {
  /** Attempts per call, ≥ 1. Default 3. */
  readonly attempts?: number;
  /** Backoff before the first retry, ms (doubles each retry, jittered ×[0.5, 1]). Default 100. */
  readonly initialBackoffMs?: number;
  /** Backoff cap, ms. Default 2000. */
  readonly maxBackoffMs?: number;
  /** Called before each retry (metrics, logs). */
  readonly onRetry?: (err: unknown, attempt: number) => void;
  /** Seed of the jitter. Default 'env-retry'. */
  readonly seed?: string | number;
}

export function isRetryable(err: unknown): boolean {
  if (!(err instanceof SamVeteranError)) return true; // unknown failure (socket, worker crash)
  return err.code === 'UNAVAILABLE' || err.code === 'RESOURCE_EXHAUSTED' || err.code === 'INTERNAL';
}

export class RetryingEnv implements EnvPort {
  private readonly attempts: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly rng: Rng;

  constructor(
    readonly inner: EnvPort,
    private readonly opts: RetryOptions = {},
  ) {
    this.attempts = Math.max(1, Math.floor(opts.attempts ?? 3));
    this.initialBackoffMs = opts.initialBackoffMs ?? 100;
    this.maxBackoffMs = opts.maxBackoffMs ?? 2000;
    this.rng = new Rng(opts.seed ?? 'env-retry');
  }

  info(): Promise<ModelInfo> {
    return this.retry(() => this.inner.info());
  }

  transitionGroup(image: EnvImage, prompts: readonly TransitionPrompt[]): Promise<TransitionOutput[]> {
    return this.retry(() => this.inner.transitionGroup(image, prompts));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async retry<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (attempt >= this.attempts || !isRetryable(err)) throw err;
        this.opts.onRetry?.(err, attempt);
        const backoff = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** (attempt - 1));
        await new Promise((r) => setTimeout(r, backoff * this.rng.uniform(0.5, 1)));
      }
    }
  }
}
