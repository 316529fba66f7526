/**
 * The transport-free core of sam-env: image reference → cached image → cached embedding →
 * validated prompts → micro-batched decode → masks as COCO RLE. The gRPC server is a thin layer over
 * this; benches call it directly to measure the in-process baseline.
 */
import type { EnvInfo, EnvPrompt, EnvTransitionResult, ImageRef } from '../../../core/wire/index.ts';
import { EmbeddingCache } from './embedding-cache.ts';
import { DeadlineExceededError } from './errors.ts';
import { ImageResolver, type ImageStore } from './image-resolver.ts';
import type { SamEnvMetrics } from './metrics.ts';
import { MicroBatcher } from './micro-batcher.ts';
import type { EnvImage, EnvModel, ImageEmbedding, TransitionOutput, TransitionPrompt } from './model.ts';
import { maskToRleWithArea } from '../../../core/wire/index.ts';
import { validateGroupSize, validateModelName, validatePrompt } from './validate.ts';

export interface TransitionServiceOptions {
  readonly model: EnvModel;
  /** Max prompts per TransitionGroup call. Default 64. */
  readonly maxGroupSize?: number;
  /** Max encoded image bytes. Default 16 MiB. */
  readonly maxImageBytes?: number;
  /** Max image width/height in pixels. Default 4096. */
  readonly maxImageSide?: number;
  /** Max image width × height in pixels. Default 4096². */
  readonly maxImagePixels?: number;
  /** Prompts processed at once across calls; further calls wait (back-pressure). Default 256. */
  readonly maxConcurrent?: number;
  /** Reported in Info; the server enforces it on the wire. Default 32 MiB. */
  readonly maxMessageBytes?: number;
  /** Embedding cache capacity in bytes. Default 512 MiB. */
  readonly embeddingCacheBytes?: number;
  /** Decoded-image cache capacity in bytes. Default 256 MiB. */
  readonly imageCacheBytes?: number;
  /** Max prompts per decoder run; default the model's maxBatch. */
  readonly maxBatch?: number;
  /** Max wait in ms for a micro-batch to fill. Default 2. */
  readonly maxBatchWaitMs?: number;
  readonly imageStore?: ImageStore;
  readonly metrics?: SamEnvMetrics;
  /** Reported in Info. */
  readonly serverVersion?: string;
}

export interface TransitionCall {
  /** Expected model id or family ('' = any). */
  readonly model: string;
  readonly image: ImageRef;
  readonly prompts: readonly EnvPrompt[];
  readonly returnLogits: boolean;
  /** Field path of the prompts in error messages: 'prompt' (single) or 'prompts' (group). */
  readonly promptField: 'prompt' | 'prompts';
  readonly signal?: AbortSignal;
}

export interface TransitionCallResult {
  readonly results: EnvTransitionResult[];
  readonly embeddingCached: boolean;
  readonly modelId: string;
  readonly serverMs: number;
}

interface BatchContext {
  readonly embedding: ImageEmbedding;
  readonly image: EnvImage;
}

export class TransitionService {
  readonly model: EnvModel;
  private readonly images: ImageResolver;
  private readonly embeddings: EmbeddingCache;
  private readonly batcher: MicroBatcher<BatchContext, TransitionPrompt, TransitionOutput>;
  private readonly metrics: SamEnvMetrics | undefined;
  private readonly maxGroupSize: number;
  private readonly maxMessageBytes: number;
  private readonly serverVersion: string;
  private readonly maxConcurrent: number;
  private active = 0;
  private readonly waiters: { n: number; go: () => void }[] = [];

  constructor(opts: TransitionServiceOptions) {
    this.model = opts.model;
    this.metrics = opts.metrics;
    this.maxGroupSize = opts.maxGroupSize ?? 64;
    this.maxMessageBytes = opts.maxMessageBytes ?? 32 * 2 ** 20;
    this.serverVersion = opts.serverVersion ?? '0.0.0';
    this.maxConcurrent = opts.maxConcurrent ?? 256;
    this.images = new ImageResolver({
      maxImageBytes: opts.maxImageBytes ?? 16 * 2 ** 20,
      maxImageSide: opts.maxImageSide ?? 4096,
      maxImagePixels: opts.maxImagePixels ?? 4096 * 4096,
      cacheBytes: opts.imageCacheBytes ?? 256 * 2 ** 20,
      ...(opts.imageStore ? { store: opts.imageStore } : {}),
    });
    this.embeddings = new EmbeddingCache(opts.embeddingCacheBytes ?? 512 * 2 ** 20);
    this.batcher = new MicroBatcher<BatchContext, TransitionPrompt, TransitionOutput>(
      { maxBatch: opts.maxBatch ?? opts.model.info.maxBatch, maxWaitMs: opts.maxBatchWaitMs ?? 2 },
      (ctx, prompts) => this.model.decode(ctx.embedding, ctx.image, prompts),
      (n) => this.metrics?.batchSize.observe(n),
    );
  }

  info(): EnvInfo {
    const i = this.model.info;
    const lim = this.images.limits;
    return {
      modelId: i.id,
      family: i.family,
      inputSize: i.inputSize,
      supportsMaskInput: i.supportsMaskInput,
      lowResSize: i.lowResSize,
      limits: {
        maxPoints: i.maxPoints,
        maxGroupSize: this.maxGroupSize,
        maxBatch: i.maxBatch,
        maxImageBytes: lim.maxImageBytes,
        maxImageSide: lim.maxImageSide,
        maxMessageBytes: this.maxMessageBytes,
      },
      serverVersion: this.serverVersion,
    };
  }

  async run(call: TransitionCall): Promise<TransitionCallResult> {
    const t0 = performance.now();
    const info = this.model.info;
    validateModelName(call.model, info);
    validateGroupSize(call.prompts.length, this.maxGroupSize, call.promptField);
    const { image, cached: imageCached } = await this.images.resolve(call.image);
    this.metrics?.cacheLookups.inc({ cache: 'image', result: imageCached ? 'hit' : 'miss' });
    const prompts = call.prompts.map((p, i) =>
      validatePrompt(p, image, info, call.promptField === 'prompt' ? 'prompt' : `prompts[${i}]`),
    );
    this.checkAlive(call.signal);
    const permits = Math.min(prompts.length, this.maxConcurrent);
    await this.acquire(permits);
    try {
      return await this.decode(call, image, prompts, t0);
    } finally {
      this.release(permits);
    }
  }

  private async decode(
    call: TransitionCall,
    image: EnvImage,
    prompts: TransitionPrompt[],
    t0: number,
  ): Promise<TransitionCallResult> {
    const info = this.model.info;
    this.checkAlive(call.signal);
    const { value: embedding, cached } = await this.embeddings.getOrCompute(info.id, image.digest, () =>
      this.model.embed(image),
    );
    this.metrics?.cacheLookups.inc({ cache: 'embedding', result: cached ? 'hit' : 'miss' });
    this.checkAlive(call.signal);
    const key = EmbeddingCache.key(info.id, image.digest);
    const outputs = await this.batcher.submitAll(key, { embedding, image }, prompts, call.signal);
    const results = outputs.map((o) => toResult(o, call.returnLogits));
    return { results, embeddingCached: cached, modelId: info.id, serverMs: performance.now() - t0 };
  }

  private acquire(n: number): Promise<void> {
    if (this.active + n <= this.maxConcurrent && this.waiters.length === 0) {
      this.active += n;
      return Promise.resolve();
    }
    return new Promise<void>((go) => this.waiters.push({ n, go }));
  }

  private release(n: number): void {
    this.active -= n;
    while (this.waiters.length > 0) {
      const w = this.waiters[0] as { n: number; go: () => void };
      if (this.active + w.n > this.maxConcurrent) break;
      this.waiters.shift();
      this.active += w.n;
      w.go();
    }
  }

  private checkAlive(signal: AbortSignal | undefined): void {
    if (signal?.aborted) throw new DeadlineExceededError('call cancelled or deadline exceeded');
  }

  /** Waits for queued decodes to finish (used when draining). */
  idle(): Promise<void> {
    return this.batcher.idle();
  }

  clearCaches(): void {
    this.images.clear();
    this.embeddings.clear();
  }
}

function toResult(o: TransitionOutput, returnLogits: boolean): EnvTransitionResult {
  const { rle, area } = maskToRleWithArea(o.mask);
  return {
    mask: rle,
    ...(returnLogits && o.lowResLogits ? { lowResLogits: o.lowResLogits } : {}),
    predictedIou: o.predictedIou,
    stability: o.stability,
    area,
  };
}
