/**
 * Fresh training examples for the warm start, made in a worker thread while the training thread
 * runs the network. Each step of `pretrain` replaces some box and auxiliary examples of its pools
 * with examples of newly generated samples (a fixed pool is memorised); making them (render a
 * scene, corrupt its mask, run the oracle, draw two views) took about a quarter of every step on
 * the training thread, while the second core sat idle once the refinement pool was built.
 *
 * Example `i` depends only on (seed, i): its randomness comes from a stream of its own, so the
 * examples, and therefore the trained weights, are the same whether they are made here, in the
 * worker, or ahead of time by any amount.
 */
import type { Worker } from 'node:worker_threads';
import { observationOf, oracleDecision } from '../agent/index.ts';
import type { PointAction } from '../actions/index.ts';
import { generateSynthetic, type Sample } from '../data/index.ts';
import { SamVeteranError } from '../errors/index.ts';
import { corruptMask, type BinaryMask } from '../mask/index.ts';
import {
  ActionCodec,
  buildVocabulary,
  policyDims,
  prepareBatch,
  resolvePolicyConfig,
  type ActionTokens,
  type DensePatchTargets,
  type PolicyConfig,
  type PreparedBatch,
} from '../policy/index.ts';
import { Rng } from '../rng/index.ts';
import { denseTargetsOf } from './dense-targets.ts';
import { oracleTargets, type ClickLabels } from './point-targets.ts';
import { endWorker, startReadyWorker } from '../threads/index.ts';

/** The box example and (unless its index skips it, FreshAuxShare) the auxiliary example of one fresh sample. */
export interface FreshExample {
  readonly box: readonly [PreparedBatch, ActionTokens];
  readonly aux?: readonly [PreparedBatch, ActionTokens];
}

/**
 * Which fresh samples also make an auxiliary example: of every `every` consecutive indices from the
 * stream's start, the first `count`. The auxiliary pool is drawn from less than the box pool, so
 * most of its fresh examples were replaced before any batch drew them; skipping them saves their
 * making (a corrupted mask, the oracle, a second view: ~40% of a fresh sample's time).
 */
export interface FreshAuxShare {
  readonly every: number;
  readonly count: number;
}

/** Whether fresh example `index` of a stream from `start` makes an auxiliary example. */
export function freshHasAux(index: number, start: number, share: FreshAuxShare | undefined): boolean {
  return share === undefined || (index - start) % share.every < share.count;
}

/** Turns observations into network inputs and actions into targets for one policy architecture. */
export interface ExampleEncoder {
  prepare(batch: Parameters<typeof prepareBatch>[0]): PreparedBatch;
  readonly codec: Pick<ActionCodec, 'encodeAction' | 'encodePoint' | 'grid' | 'patches'>;
  /** Attach dense per-patch targets (the architecture has dense heads). */
  readonly dense: boolean;
}

/** Target tokens with the sample's dense targets attached (when it has them). */
export function withDense(tokens: ActionTokens, dense: DensePatchTargets | undefined): ActionTokens {
  return dense ? { ...tokens, dense } : tokens;
}

/**
 * A refinement example: the observation of `mask` over the sample's image, the oracle's action on it
 * as targets (with the sample's dense targets, if any), and that action.
 */
export function oracleExample(
  encoder: Pick<ExampleEncoder, 'prepare' | 'codec'>,
  s: Pick<Sample, 'image' | 'query' | 'gtMask'>,
  mask: BinaryMask,
  dense: DensePatchTargets | undefined,
  labels: ClickLabels,
): { input: PreparedBatch; target: ActionTokens; action: PointAction } {
  const decision = oracleDecision(mask, s.gtMask, { negativeClearance: labels.negativeClearance ?? 0 });
  return {
    input: encoder.prepare([observationOf(s.image, s.query, mask)]),
    target: withDense(oracleTargets(decision, s.image, encoder.codec, labels.pointTargets, s.gtMask), dense),
    action: decision.action,
  };
}

/** An encoder from the architecture alone (no TensorFlow.js, no weights): what a worker needs. */
export function exampleEncoder(config: Partial<PolicyConfig>): ExampleEncoder {
  const c = resolvePolicyConfig(config);
  const dims = policyDims(c);
  const vocab = buildVocabulary(c.words, c.hashBuckets);
  return {
    prepare: (batch) => prepareBatch(batch, c, dims, vocab),
    codec: new ActionCodec(c),
    dense: c.denseClasses > 0,
  };
}

/** Example `index` of the fresh stream of `seed` (a training-split sample not in the initial pool). */
export function freshExample(
  encoder: ExampleEncoder,
  index: number,
  seed: number,
  labels: ClickLabels = { pointTargets: 'centre' },
  withAux = true,
): FreshExample {
  const { sample: s, scene } = generateSynthetic('train', index, { seed });
  const dense = encoder.dense ? denseTargetsOf(scene, s.gtMask, encoder.codec.grid) : undefined;
  const box: FreshExample['box'] = [
    encoder.prepare([observationOf(s.image, s.query, null)]),
    withDense(encoder.codec.encodeAction({ kind: 'box', box: s.gtBox }, s.image), dense),
  ];
  if (!withAux) return { box };
  const rng = new Rng(`pretrain-fresh:${seed}:${index}`);
  const { mask } = corruptMask(s.gtMask, rng, { cleanProbability: 0.2, operations: [1, 3] });
  const aux = oracleExample(encoder, s, mask, dense, labels);
  return { box, aux: [aux.input, aux.target] };
}

/** The buffers of a fresh example's inputs (moved, not copied, between threads). */
export function freshBuffers(e: FreshExample): ArrayBuffer[] {
  return [...preparedBuffers(e.box[0]), ...(e.aux ? preparedBuffers(e.aux[0]) : [])];
}

/** Buffers of a prepared batch (moved, not copied, between threads). */
export function preparedBuffers(p: PreparedBatch): ArrayBuffer[] {
  return [p.patches.buffer, p.queryOneHot.buffer, p.queryMask.buffer] as ArrayBuffer[];
}

export type FreshRequest =
  | { readonly type: 'make'; readonly from: number; readonly count: number }
  /** Close the port and let the thread end by itself (see FreshExampleStream.close). */
  | { readonly type: 'close' };
export type FreshResponse =
  | { readonly type: 'ready' }
  | { readonly type: 'examples'; readonly from: number; readonly examples: FreshExample[] }
  | { readonly type: 'error'; readonly message: string };
export interface FreshWorkerInit {
  readonly __entry: string;
  readonly config: PolicyConfig;
  readonly seed: number;
  readonly labels: ClickLabels;
  /** The stream's first index and which of its examples make an auxiliary one (FreshAuxShare). */
  readonly start: number;
  readonly aux?: FreshAuxShare;
  /** Int32 flag set to 1 by close(): requests still queued are skipped. */
  readonly stop: SharedArrayBuffer;
}

const ENTRY = new URL('./fresh-worker.ts', import.meta.url);

export interface FreshStreamOptions {
  readonly config: PolicyConfig;
  readonly seed: number;
  /** First example index of the stream. */
  readonly start: number;
  /** Examples per request to the worker. Default 12. */
  readonly chunk?: number;
  /** Examples kept ready ahead of the consumer. Default 96. */
  readonly ahead?: number;
  /** Make the examples on this thread instead (same examples; for tests and one-core machines). */
  readonly inThread?: boolean;
  /** How the auxiliary examples' clicks are labelled (point-targets.ts). Default `centre` targets. */
  readonly labels?: ClickLabels;
  /** Which examples also make an auxiliary example. Default all. */
  readonly aux?: FreshAuxShare;
}

/**
 * Fresh examples in index order from `start`, made ahead by one worker thread. `next()` hands them
 * out in order; `close()` stops the worker (pending `next()` calls are rejected).
 */
export class FreshExampleStream {
  private readonly ready = new Map<number, FreshExample>();
  private readonly waiters = new Map<number, { resolve(e: FreshExample): void; reject(e: Error): void }>();
  private nextOut: number;
  private requested: number;
  private failure: Error | undefined;
  private readonly encoder: ExampleEncoder | undefined;
  private exited = false;

  private constructor(
    private readonly opts: FreshStreamOptions,
    private readonly worker: Worker | undefined,
    private readonly stop: Int32Array,
  ) {
    this.nextOut = opts.start;
    this.requested = opts.start;
    if (!worker) {
      this.encoder = exampleEncoder(opts.config);
      return;
    }
    worker.on('message', (m: FreshResponse) => {
      if (m.type === 'examples') m.examples.forEach((e, k) => this.deliver(m.from + k, e));
      else if (m.type === 'error')
        this.fail(new SamVeteranError('INTERNAL', `fresh-example worker: ${m.message}`));
    });
    worker.on('error', (err) =>
      this.fail(new SamVeteranError('INTERNAL', 'fresh-example worker failed', { cause: err })),
    );
    // An exit nobody asked for (close() fails the stream first) must not leave callers waiting.
    worker.on('exit', (code) => {
      this.exited = true;
      this.fail(new SamVeteranError('INTERNAL', `fresh-example worker exited (code ${code})`));
    });
  }

  static async start(opts: FreshStreamOptions): Promise<FreshExampleStream> {
    const stop = new SharedArrayBuffer(4);
    if (opts.inThread) return new FreshExampleStream(opts, undefined, new Int32Array(stop));
    const init: Omit<FreshWorkerInit, '__entry'> = {
      config: opts.config,
      seed: opts.seed,
      labels: opts.labels ?? { pointTargets: 'centre' },
      start: opts.start,
      ...(opts.aux ? { aux: opts.aux } : {}),
      stop,
    };
    const worker = await startReadyWorker(ENTRY, init).catch((err: unknown) => {
      throw new SamVeteranError('UNAVAILABLE', 'the fresh-example worker failed to start', { cause: err });
    });
    const stream = new FreshExampleStream(opts, worker, new Int32Array(stop));
    stream.topUp();
    return stream;
  }

  /** The next example of the stream. */
  next(): Promise<FreshExample> {
    if (this.failure) return Promise.reject(this.failure);
    const index = this.nextOut++;
    if (this.encoder) {
      const withAux = freshHasAux(index, this.opts.start, this.opts.aux);
      return Promise.resolve(freshExample(this.encoder, index, this.opts.seed, this.opts.labels, withAux));
    }
    const ready = this.ready.get(index);
    this.topUp();
    if (ready) {
      this.ready.delete(index);
      return Promise.resolve(ready);
    }
    return new Promise((resolve, reject) => this.waiters.set(index, { resolve, reject }));
  }

  /**
   * Rejects pending `next()` calls and ends the worker by itself (endWorker: the flag makes it skip
   * queued requests, then the close message makes it close its port); `terminate()` only after
   * `graceMs`.
   */
  async close(graceMs = 10_000): Promise<void> {
    this.fail(new SamVeteranError('UNAVAILABLE', 'the fresh-example stream is closed'));
    const worker = this.worker;
    if (!worker || this.exited) return;
    Atomics.store(this.stop, 0, 1);
    await endWorker(worker, { type: 'close' } satisfies FreshRequest, graceMs);
  }

  private topUp(): void {
    const chunk = this.opts.chunk ?? 12;
    const ahead = this.opts.ahead ?? 96;
    while (!this.failure && this.requested < this.nextOut + ahead) {
      const req: FreshRequest = { type: 'make', from: this.requested, count: chunk };
      this.worker?.postMessage(req);
      this.requested += chunk;
    }
  }

  private deliver(index: number, e: FreshExample): void {
    const w = this.waiters.get(index);
    if (w) {
      this.waiters.delete(index);
      w.resolve(e);
    } else this.ready.set(index, e);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiters.values()) w.reject(this.failure);
    this.waiters.clear();
    this.ready.clear();
  }
}
