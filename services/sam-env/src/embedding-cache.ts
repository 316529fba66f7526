/**
 * Caches of sam-env, all bounded in bytes with least-recently-used eviction. They are an
 * optimisation only — the service stays stateless by contract: a miss costs an image decode or an
 * encoder run, never a wrong answer.
 *
 *  - `ByteLru`: the generic LRU (a Map keeps insertion order; a hit re-inserts the key).
 *  - `EmbeddingCache`: per-image model state keyed by (model id, digest). Concurrent misses on the
 *    same key share one computation, so a group of G prompts on a new image runs the encoder once.
 */
import type { ImageEmbedding } from './model.ts';

export interface ByteLruOptions<V> {
  /** Capacity in bytes; an entry larger than this is not cached. */
  readonly maxBytes: number;
  readonly sizeOf: (v: V) => number;
  /** Called when an entry is evicted or replaced. */
  readonly onEvict?: (v: V, key: string) => void;
}

export class ByteLru<V> {
  private readonly map = new Map<string, { value: V; size: number }>();
  private bytes = 0;
  constructor(private readonly opts: ByteLruOptions<V>) {}

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  set(key: string, value: V): void {
    const size = this.opts.sizeOf(value);
    this.delete(key);
    if (size > this.opts.maxBytes) {
      this.opts.onEvict?.(value, key);
      return;
    }
    this.map.set(key, { value, size });
    this.bytes += size;
    for (const [k, e] of this.map) {
      if (this.bytes <= this.opts.maxBytes) break;
      this.map.delete(k);
      this.bytes -= e.size;
      this.opts.onEvict?.(e.value, k);
    }
  }

  delete(key: string): void {
    const e = this.map.get(key);
    if (!e) return;
    this.map.delete(key);
    this.bytes -= e.size;
    this.opts.onEvict?.(e.value, key);
  }

  clear(): void {
    for (const k of [...this.map.keys()]) this.delete(k);
  }

  get size(): number {
    return this.map.size;
  }

  get byteSize(): number {
    return this.bytes;
  }
}

export interface CacheLookup<V> {
  readonly value: V;
  /** True when the value was already cached (or being computed by another call). */
  readonly cached: boolean;
}

export class EmbeddingCache<E extends ImageEmbedding = ImageEmbedding> {
  private readonly lru: ByteLru<E>;
  private readonly inflight = new Map<string, Promise<E>>();

  constructor(maxBytes: number) {
    this.lru = new ByteLru<E>({ maxBytes, sizeOf: (e) => e.byteSize, onEvict: (e) => e.dispose?.() });
  }

  static key(modelId: string, digest: string): string {
    return `${modelId}|${digest}`;
  }

  /** Returns the cached embedding, or computes it once for all concurrent callers. */
  async getOrCompute(modelId: string, digest: string, compute: () => Promise<E>): Promise<CacheLookup<E>> {
    const key = EmbeddingCache.key(modelId, digest);
    const hit = this.lru.get(key);
    if (hit) return { value: hit, cached: true };
    const pending = this.inflight.get(key);
    if (pending) return { value: await pending, cached: true };
    const p = compute();
    this.inflight.set(key, p);
    try {
      const value = await p;
      this.lru.set(key, value);
      return { value, cached: false };
    } finally {
      this.inflight.delete(key);
    }
  }

  get size(): number {
    return this.lru.size;
  }

  get byteSize(): number {
    return this.lru.byteSize;
  }

  clear(): void {
    this.lru.clear();
  }
}
