/**
 * An EnvPort served in this thread by an EnvModel: the same cache-then-decode path as the gRPC
 * server, without the network. Used by evaluation, tests and the worker pool's workers.
 */
import type {
  EnvImage,
  EnvModel,
  EnvPort,
  ImageEmbedding,
  ModelInfo,
  TransitionOutput,
  TransitionPrompt,
} from './model.ts';
import { EmbeddingCache } from './embedding-cache.ts';
import { validateLocalPrompt } from './validate.ts';

export interface LocalEnvOptions {
  /** Embedding cache budget in bytes. Default 256 MiB. */
  readonly cacheBytes?: number;
}

export class LocalEnv implements EnvPort {
  private readonly cache: EmbeddingCache;
  private ready: Promise<void> | undefined;
  transitions = 0;
  cacheHits = 0;

  constructor(
    readonly model: EnvModel,
    opts: LocalEnvOptions = {},
  ) {
    this.cache = new EmbeddingCache(opts.cacheBytes ?? 256 * 1024 * 1024);
  }

  private init(): Promise<void> {
    this.ready ??= this.model.init();
    return this.ready;
  }

  async info(): Promise<ModelInfo> {
    await this.init();
    return this.model.info;
  }

  async transitionGroup(image: EnvImage, prompts: readonly TransitionPrompt[]): Promise<TransitionOutput[]> {
    await this.init();
    const info = this.model.info;
    prompts = prompts.map((p, i) => validateLocalPrompt(p, image, info, `prompts[${i}]`));
    const { value, cached } = await this.cache.getOrCompute(this.model.info.id, image.digest, () =>
      this.model.embed(image),
    );
    if (cached) this.cacheHits++;
    const out: TransitionOutput[] = [];
    const max = Math.max(1, this.model.info.maxBatch);
    for (let i = 0; i < prompts.length; i += max) {
      out.push(...(await this.model.decode(value as ImageEmbedding, image, prompts.slice(i, i + max))));
    }
    this.transitions += prompts.length;
    return out;
  }

  async close(): Promise<void> {
    this.cache.clear();
    await this.model.close();
  }
}
