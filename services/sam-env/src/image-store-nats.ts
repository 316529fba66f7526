/**
 * The shared image store on a NATS JetStream Object Store bucket ("images" by default). Producers
 * `put` encoded PNG/JPEG bytes under a key and send sam-env the key and the SHA-256 instead of the
 * bytes; sam-env replicas `get` them by key on a cache miss. The Object Store checks its own chunk
 * digest on every read; the resolver checks the image digest the caller sent.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Objm, setSha256Backend, type ObjectStore } from '@nats-io/obj';
import {
  ResourceExhaustedError,
  SamVeteranError,
  UnavailableError,
  ValidationError,
} from '../../../core/errors/index.ts';
import { silentLogger, type Logger } from '../../../core/log/index.ts';
import { sha256Hex, type ImageStore, type ImageStoreGetOptions, type StoredImage } from './image-resolver.ts';

/** Default Object Store bucket of the shared image store. */
export const DEFAULT_IMAGE_BUCKET = 'images';

const BUCKET_RE = /^[-\w]+$/;

export interface ObjectStoreImageStoreOptions {
  /** Object Store bucket name ([A-Za-z0-9_-]+). Default "images". */
  readonly bucket?: string;
  /** Create the bucket when it does not exist (else fail at connect). Default true. */
  readonly create?: boolean;
  /** JetStream replicas of a bucket this call creates. Default 1. */
  readonly replicas?: number;
  /** JetStream API request timeout, ms. Default 5000. */
  readonly requestTimeoutMs?: number;
  /** Wait between reconnect attempts, ms (reconnects forever). Default 2000. */
  readonly reconnectTimeWaitMs?: number;
  /** Client name shown by the server (`/connz`). Default `samv-images-<pid>`. */
  readonly name?: string;
  readonly logger?: Logger;
}

/** Throws a ValidationError naming `field` unless `bucket` is a valid Object Store bucket name. */
export function validateBucketName(bucket: string, field = 'bucket'): string {
  if (!BUCKET_RE.test(bucket)) {
    throw new ValidationError(field, bucket, 'is not a valid Object Store bucket name (use [A-Za-z0-9_-]+)');
  }
  return bucket;
}

export class ObjectStoreImageStore implements ImageStore {
  readonly location: string;
  private closing: Promise<void> | undefined;
  private statusLoop: Promise<void> | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly os: ObjectStore,
    readonly bucket: string,
    servers: readonly string[],
    private readonly log: Logger,
  ) {
    this.location = `${servers.map(redactUrl).join(',')}/${bucket}`;
  }

  /**
   * Connects to NATS (reconnecting forever once connected) and opens, or creates, the bucket.
   * @throws ValidationError for a bad bucket name or a missing bucket with `create: false`;
   *   UnavailableError when NATS cannot be reached or has no JetStream.
   */
  static async connect(
    servers: string | readonly string[],
    opts: ObjectStoreImageStoreOptions = {},
  ): Promise<ObjectStoreImageStore> {
    setSha256Backend('native'); // node:crypto instead of the pure-JS default (see core/bus/jetstream-bus.ts)
    const list = typeof servers === 'string' ? [servers] : [...servers];
    const bucket = validateBucketName(opts.bucket ?? DEFAULT_IMAGE_BUCKET);
    const where = list.map(redactUrl).join(',');
    const log = (opts.logger ?? silentLogger).child({
      component: 'image-store',
      store: `${where}/${bucket}`,
    });
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: list,
        name: opts.name ?? `samv-images-${process.pid}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: opts.reconnectTimeWaitMs ?? 2000,
      });
    } catch (e) {
      throw new UnavailableError(
        `cannot connect to the image store's NATS at ${where}: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    try {
      const js = jetstream(nc, { timeout: opts.requestTimeoutMs ?? 5000 });
      const objm = new Objm(js);
      let os: ObjectStore;
      if (opts.create ?? true) {
        os = await objm.create(bucket, { replicas: opts.replicas ?? 1 });
      } else {
        try {
          os = await objm.open(bucket);
        } catch (e) {
          if ((e as Error).message !== 'object store not found') throw e;
          throw new ValidationError(
            'bucket',
            bucket,
            `is not an Object Store bucket on ${where}; create it (e.g. \`nats object add ${bucket}\`) or connect with create: true`,
            { cause: e },
          );
        }
      }
      const store = new ObjectStoreImageStore(nc, os, bucket, list, log);
      store.watchStatus();
      log.info({ server: nc.getServer() }, 'image store connected');
      return store;
    } catch (e) {
      await nc.close().catch(() => undefined);
      if (e instanceof SamVeteranError) throw e;
      throw new UnavailableError(
        `cannot open image store bucket ${JSON.stringify(bucket)} on ${where}: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }

  async get(key: string, options: ImageStoreGetOptions = {}): Promise<Uint8Array | undefined> {
    const field = options.field ?? 'storeKey';
    this.assertOpen();
    if (key.length === 0)
      throw new ValidationError(field, key, 'is empty; name an object in the image store');
    try {
      const info = await this.os.info(key);
      if (!info || info.deleted) return undefined;
      if (options.maxBytes !== undefined && info.size > options.maxBytes) {
        throw new ResourceExhaustedError(
          field,
          key,
          `is ${info.size} bytes in the image store ${this.location}, over the limit of ${options.maxBytes} bytes`,
        );
      }
      const bytes = await this.os.getBlob(key);
      return bytes ?? undefined;
    } catch (e) {
      if (e instanceof SamVeteranError) throw e;
      throw new UnavailableError(
        `image store ${this.location} could not read ${JSON.stringify(key)}: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }

  /**
   * Stores encoded PNG/JPEG bytes under `key` (replacing any previous object) and returns the
   * reference to send instead of the bytes. The digest is the SHA-256 of exactly these bytes.
   */
  async put(key: string, encodedBytes: Uint8Array): Promise<StoredImage> {
    this.assertOpen();
    if (key.length === 0) throw new ValidationError('key', key, 'is empty; name the object');
    const digest = sha256Hex(encodedBytes);
    try {
      const info = await this.os.putBlob({ name: key, metadata: { 'samv-sha256': digest } }, encodedBytes);
      return { key, digest, size: info.size };
    } catch (e) {
      throw new UnavailableError(
        `image store ${this.location} could not store ${JSON.stringify(key)}: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }

  /** Removes `key`; true when something was deleted. */
  async delete(key: string): Promise<boolean> {
    this.assertOpen();
    const info = await this.os.info(key);
    if (!info || info.deleted) return false;
    return (await this.os.delete(key)).success;
  }

  /** Drains and closes the NATS connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.nc.drain();
      } catch {
        await this.nc.close().catch(() => undefined);
      }
      await this.statusLoop;
      this.log.info('image store closed');
    })();
    return this.closing;
  }

  private watchStatus(): void {
    this.statusLoop = (async () => {
      for await (const s of this.nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error')
          this.log.info({ status: s.type }, 'image store connection status');
      }
    })().catch(() => undefined);
  }

  private assertOpen(): void {
    if (this.closing) throw new UnavailableError(`image store ${this.location} is closed`);
  }
}

/** `nats://user:secret@host:4222` → `nats://user:***@host:4222` (or the input when not a URL). */
function redactUrl(server: string): string {
  try {
    const u = new URL(server.includes('://') ? server : `nats://${server}`);
    if (u.password) u.password = '***';
    return `${u.protocol}//${u.username ? `${u.username}${u.password ? `:${u.password}` : ''}@` : ''}${u.host}`;
  } catch {
    return server;
  }
}
