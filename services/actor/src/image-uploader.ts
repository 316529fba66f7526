/**
 * Puts task images into the shared image store (a NATS Object Store bucket or a directory that the
 * sam-env replicas also open with `--image-store`) so that env calls carry a store key instead of
 * the pixels: a replica that lacks an image fetches it from the store once, however many actors use
 * it, and no call is ever resent.
 *
 * Images are stored as PNG (lossless: the replica decodes exactly the actor's pixels, which the
 * rewards are computed against) under a content-addressed key, `sha256/<digest of the PNG>.png`, so
 * two actors putting the same image write the same object and a key can never name other bytes.
 * Each image is encoded and put once per actor (references kept in an LRU by the image's digest;
 * concurrent requests share one upload). A failed put is not cached: the caller falls back to
 * sending bytes for that call and the next use tries the store again.
 */
import { encodePng } from '../../../core/data/index.ts';
import type { EnvImage } from '../../../core/env/index.ts';
import { sha256Hex } from '../../sam-env/src/image-resolver.ts';

/** The part of an image store a producer needs (both store kinds in services/sam-env have it). */
export interface ImagePutter {
  /** Where the images live, for logs (no credentials). */
  readonly location: string;
  put(key: string, encodedBytes: Uint8Array): Promise<{ readonly key: string; readonly digest: string }>;
}

export interface StoredRef {
  readonly key: string;
  /** SHA-256 of the stored PNG: the digest the env knows the image by. */
  readonly digest: string;
}

export interface UploaderStats {
  /** Images encoded and put. */
  uploads: number;
  /** Encoded bytes put. */
  bytes: number;
  /** References served from the LRU. */
  hits: number;
  /** Puts that failed (the caller sent bytes instead). */
  failures: number;
}

export class StoreImageUploader {
  readonly stats: UploaderStats = { uploads: 0, bytes: 0, hits: 0, failures: 0 };
  private readonly refs = new Map<string, Promise<StoredRef>>();

  private readonly capacity: number;
  private readonly onUse: ((result: 'put' | 'reused') => void) | undefined;

  constructor(
    readonly store: ImagePutter,
    opts: {
      /** Images whose references are remembered (LRU). Default 4096. */
      readonly capacity?: number;
      /** Called per reference handed out: put now, or reused from an earlier put (for metrics). */
      readonly onUse?: (result: 'put' | 'reused') => void;
    } = {},
  ) {
    this.capacity = Math.max(1, opts.capacity ?? 4096);
    this.onUse = opts.onUse;
  }

  /** The store reference of `image` (keyed by its RGB digest), putting it on first use. */
  ref(image: EnvImage): Promise<StoredRef> {
    const hit = this.refs.get(image.digest);
    if (hit) {
      this.refs.delete(image.digest);
      this.refs.set(image.digest, hit);
      this.stats.hits++;
      this.onUse?.('reused');
      return hit;
    }
    const p = this.upload(image);
    this.refs.set(image.digest, p);
    p.catch(() => {
      this.stats.failures++;
      if (this.refs.get(image.digest) === p) this.refs.delete(image.digest);
    });
    while (this.refs.size > this.capacity) {
      const oldest = this.refs.keys().next().value;
      if (oldest === undefined) break;
      this.refs.delete(oldest);
    }
    return p;
  }

  private async upload(image: EnvImage): Promise<StoredRef> {
    const png = await encodePng(image);
    const digest = sha256Hex(png);
    const stored = await this.store.put(`sha256/${digest}.png`, png);
    if (stored.digest !== digest) {
      throw new Error(
        `image store ${this.store.location} reports digest ${stored.digest} for bytes whose SHA-256 is ${digest}`,
      );
    }
    this.stats.uploads++;
    this.stats.bytes += png.byteLength;
    this.onUse?.('put');
    return { key: stored.key, digest };
  }
}
