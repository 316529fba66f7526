/**
 * Turns an image reference into decoded RGB pixels. Order: verify the digest of any bytes sent
 * (always — a mismatch is rejected even when the digest is cached), then the image cache, then the
 * sent bytes (decoded with sharp), then the image store (bytes fetched by key, size-checked before
 * the download, digest-checked after it; concurrent misses on one digest share one fetch). A digest
 * nobody can supply is NOT_FOUND with the fix in the message.
 */
import { createHash } from 'node:crypto';
import sharp, { type Metadata } from 'sharp';
import { NotFoundError, ResourceExhaustedError, ValidationError } from '../../../core/errors/index.ts';
import type { ImageRef } from '../../../core/wire/index.ts';
import { ByteLru } from './embedding-cache.ts';
import type { EnvImage } from './model.ts';

export interface ImageStoreGetOptions {
  /**
   * Largest object returned, bytes: a larger one is refused with a ResourceExhaustedError before it
   * is downloaded. Default: no limit.
   */
  readonly maxBytes?: number;
  /** Field path of the key in error messages. Default 'storeKey'. */
  readonly field?: string;
}

/** What a producer gets back from putting an image: the reference to send instead of the bytes. */
export interface StoredImage {
  readonly key: string;
  /** Lowercase hex SHA-256 of the stored (encoded) bytes: the ImageRef digest. */
  readonly digest: string;
  /** Stored size, bytes. */
  readonly size: number;
}

/**
 * Source of images by key (a NATS Object Store bucket, a directory). Implementations: see
 * image-store.ts (`openImageStore`).
 */
export interface ImageStore {
  /** Where the images live, for messages and logs (no credentials), e.g. `nats://host:4222/images`. */
  readonly location: string;
  /**
   * Encoded PNG/JPEG bytes, or undefined when the key is unknown.
   * @throws ValidationError for a key the store cannot hold, ResourceExhaustedError above
   *   `maxBytes`, UnavailableError when the store cannot be reached.
   */
  get(key: string, options?: ImageStoreGetOptions): Promise<Uint8Array | undefined>;
  /** Releases connections; later gets fail with UnavailableError. Idempotent. */
  close?(): Promise<void>;
}

export interface ImageLimits {
  /** Max encoded (or raw) image size in bytes. Default 16 MiB. */
  readonly maxImageBytes: number;
  /** Max width or height in pixels. Default 4096. */
  readonly maxImageSide: number;
  /** Max width × height in pixels. Default 4096². */
  readonly maxImagePixels?: number;
}

export interface ImageResolverOptions extends ImageLimits {
  /** Image cache capacity in bytes of decoded RGB. Default 256 MiB. */
  readonly cacheBytes: number;
  readonly store?: ImageStore;
}

export interface ResolvedImage {
  readonly image: EnvImage;
  readonly cached: boolean;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class ImageResolver {
  private readonly cache: ByteLru<EnvImage>;
  /** Store fetches in progress by digest and key, so concurrent misses download once. */
  private readonly fetching = new Map<string, Promise<EnvImage>>();
  hits = 0;
  misses = 0;

  constructor(private readonly opts: ImageResolverOptions) {
    this.cache = new ByteLru<EnvImage>({ maxBytes: opts.cacheBytes, sizeOf: (i) => i.rgb.byteLength + 64 });
  }

  get limits(): ImageLimits {
    return { maxImageBytes: this.opts.maxImageBytes, maxImageSide: this.opts.maxImageSide };
  }

  /** Whether the digest is currently cached (no bytes needed). */
  has(digest: string): boolean {
    return this.cache.has(digest);
  }

  async resolve(ref: ImageRef, field = 'image'): Promise<ResolvedImage> {
    const src = ref.source;
    if (src?.kind === 'encoded' || src?.kind === 'raw') {
      const bytes = src.kind === 'encoded' ? src.bytes : src.rgb;
      const field2 = `${field}.${src.kind === 'encoded' ? 'encoded' : 'raw.rgb'}`;
      if (bytes.byteLength > this.opts.maxImageBytes) {
        throw new ResourceExhaustedError(
          field2,
          bytes,
          `exceeds the limit of ${this.opts.maxImageBytes} bytes`,
        );
      }
      const actual = sha256Hex(bytes);
      if (actual !== ref.digest) {
        throw new ValidationError(
          `${field}.digest`,
          ref.digest,
          `does not match the SHA-256 of the image bytes (${actual})`,
        );
      }
    }
    const hit = this.cache.get(ref.digest);
    if (hit) {
      this.hits++;
      return { image: hit, cached: true };
    }
    this.misses++;
    let image: EnvImage;
    if (src?.kind === 'encoded') {
      image = await this.decode(src.bytes, ref.digest, `${field}.encoded`);
    } else if (src?.kind === 'raw') {
      image = this.fromRaw(src.width, src.height, src.rgb, ref.digest, `${field}.raw`);
    } else if (src?.kind === 'store' && this.opts.store) {
      image = await this.fromStore(this.opts.store, src.key, ref.digest, field);
    } else {
      const why = src?.kind === 'store' ? ' (this server has no image store)' : '';
      throw new NotFoundError(
        `image digest ${ref.digest} is not cached here${why}; send image bytes for digest ${ref.digest}`,
      );
    }
    this.cache.set(ref.digest, image);
    return { image, cached: false };
  }

  private fromStore(store: ImageStore, key: string, digest: string, field: string): Promise<EnvImage> {
    const id = `${digest}\0${key}`;
    const pending = this.fetching.get(id);
    if (pending) return pending;
    const keyField = `${field}.storeKey`;
    const p = (async () => {
      const bytes = await store.get(key, { maxBytes: this.opts.maxImageBytes, field: keyField });
      if (!bytes) {
        throw new NotFoundError(
          `${keyField} ${JSON.stringify(key)} is not in the image store ${store.location}; put it there ` +
            `first, or send the image bytes for digest ${digest}`,
        );
      }
      if (bytes.byteLength > this.opts.maxImageBytes) {
        throw new ResourceExhaustedError(
          keyField,
          key,
          `is ${bytes.byteLength} bytes in the image store, over the limit of ${this.opts.maxImageBytes} bytes`,
        );
      }
      const actual = sha256Hex(bytes);
      if (actual !== digest) {
        throw new ValidationError(
          `${field}.digest`,
          digest,
          `does not match the SHA-256 of the stored image ${JSON.stringify(key)} (${actual})`,
        );
      }
      return this.decode(bytes, digest, keyField);
    })();
    this.fetching.set(id, p);
    return p.finally(() => this.fetching.delete(id));
  }

  private checkSide(width: number, height: number, field: string): void {
    if (width > this.opts.maxImageSide || height > this.opts.maxImageSide) {
      throw new ResourceExhaustedError(
        field,
        `${width}x${height}`,
        `exceeds the max side of ${this.opts.maxImageSide} px`,
      );
    }
    const maxPixels = this.opts.maxImagePixels ?? 4096 * 4096;
    if (width * height > maxPixels) {
      throw new ResourceExhaustedError(field, `${width}x${height}`, `exceeds the max of ${maxPixels} pixels`);
    }
  }

  private async decode(bytes: Uint8Array, digest: string, field: string): Promise<EnvImage> {
    let meta: Metadata;
    try {
      meta = await sharp(bytes).metadata();
    } catch (err) {
      throw new ValidationError(
        field,
        bytes,
        `is not a decodable PNG/JPEG image: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (meta.format !== 'png' && meta.format !== 'jpeg') {
      throw new ValidationError(
        field,
        bytes,
        `has format ${JSON.stringify(meta.format)}; only PNG and JPEG are accepted`,
      );
    }
    this.checkSide(meta.width ?? 0, meta.height ?? 0, field);
    try {
      const { data, info } = await sharp(bytes)
        .removeAlpha()
        .toColourspace('srgb')
        .raw()
        .toBuffer({ resolveWithObject: true });
      let rgb = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      if (info.channels === 1) {
        rgb = new Uint8Array(info.width * info.height * 3);
        for (let i = 0; i < info.width * info.height; i++) rgb.fill(data[i] ?? 0, i * 3, i * 3 + 3);
      } else if (info.channels !== 3) {
        throw new ValidationError(field, bytes, `decodes to ${info.channels} channels, expected RGB`);
      }
      return { digest, width: info.width, height: info.height, rgb };
    } catch (err) {
      if (err instanceof ValidationError) throw err;
      throw new ValidationError(
        field,
        bytes,
        `is not a decodable PNG/JPEG image: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  private fromRaw(width: number, height: number, rgb: Uint8Array, digest: string, field: string): EnvImage {
    if (!Number.isInteger(width) || width < 1)
      throw new ValidationError(`${field}.width`, width, 'must be ≥ 1');
    if (!Number.isInteger(height) || height < 1)
      throw new ValidationError(`${field}.height`, height, 'must be ≥ 1');
    this.checkSide(width, height, field);
    if (rgb.byteLength !== width * height * 3) {
      throw new ValidationError(
        `${field}.rgb`,
        rgb,
        `has ${rgb.byteLength} bytes, expected ${width}x${height}x3`,
      );
    }
    return { digest, width, height, rgb: new Uint8Array(rgb) };
  }

  clear(): void {
    this.cache.clear();
  }
}
