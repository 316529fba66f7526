/**
 * Opens the shared image store named by a URL-like spec (config `samEnv.imageStore`, flag
 * `--image-store`):
 *
 *  - `nats://host:4222` or `nats://host:4222/<bucket>` — a NATS JetStream Object Store bucket
 *    (default "images"); several servers comma-separated (`nats://a:4222,nats://b:4222/images`);
 *    `tls://` alike.
 *  - `file:///abs/dir` or a plain path (`/data/images`, `./images`) — a directory.
 *
 * The implementations are in image-store-nats.ts and image-store-dir.ts; the interface the server
 * uses is `ImageStore` (image-resolver.ts).
 */
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../../../core/errors/index.ts';
import type { Logger } from '../../../core/log/index.ts';
import { DirectoryImageStore } from './image-store-dir.ts';
import { DEFAULT_IMAGE_BUCKET, ObjectStoreImageStore } from './image-store-nats.ts';

export { DirectoryImageStore } from './image-store-dir.ts';
export {
  DEFAULT_IMAGE_BUCKET,
  ObjectStoreImageStore,
  type ObjectStoreImageStoreOptions,
} from './image-store-nats.ts';

/** A parsed image-store spec. */
export type ImageStoreSpec =
  | { readonly kind: 'nats'; readonly servers: readonly string[]; readonly bucket: string }
  | { readonly kind: 'dir'; readonly dir: string };

export interface OpenImageStoreOptions {
  /** Field named in error messages about the spec. Default 'imageStore'. */
  readonly field?: string;
  /** NATS: create the bucket when missing. Default true. */
  readonly create?: boolean;
  readonly logger?: Logger;
}

const FORMS = 'use nats://host:port[/bucket], file:///absolute/dir, or a directory path';

/**
 * Parses a spec without touching the network or the disk.
 * @throws ValidationError naming `field` and quoting the spec.
 */
export function parseImageStoreSpec(spec: string, field = 'imageStore'): ImageStoreSpec {
  const s = spec.trim();
  if (s.length === 0) throw new ValidationError(field, spec, `is empty; ${FORMS}`);
  if (/^(nats|tls):\/\//i.test(s)) return parseNats(spec, s, field);
  if (/^file:/i.test(s)) {
    if (!/^file:\/\//i.test(s))
      throw new ValidationError(field, spec, `is not a file URL; use file:///absolute/dir or a plain path`);
    let dir: string;
    try {
      dir = fileURLToPath(s);
    } catch (e) {
      throw new ValidationError(field, spec, `is not a usable file URL (${(e as Error).message}); ${FORMS}`, {
        cause: e,
      });
    }
    return { kind: 'dir', dir };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s)?.[1];
  if (scheme !== undefined)
    throw new ValidationError(field, spec, `has an unsupported scheme "${scheme}://"; ${FORMS}`);
  return { kind: 'dir', dir: s };
}

function parseNats(spec: string, s: string, field: string): ImageStoreSpec {
  const servers: string[] = [];
  const buckets = new Set<string>();
  for (const part of s.split(',').map((p) => p.trim())) {
    if (part.length === 0)
      throw new ValidationError(field, spec, `has an empty server in its list; ${FORMS}`);
    const withScheme = part.includes('://') ? part : `nats://${part}`;
    let u: URL;
    try {
      u = new URL(withScheme);
    } catch (e) {
      throw new ValidationError(
        field,
        spec,
        `has a server ${JSON.stringify(part)} that is not a URL; ${FORMS}`,
        {
          cause: e,
        },
      );
    }
    if (u.protocol !== 'nats:' && u.protocol !== 'tls:')
      throw new ValidationError(field, spec, `mixes the scheme "${u.protocol}//" into a NATS server list`);
    if (u.hostname === '') throw new ValidationError(field, spec, `has a server without a host; ${FORMS}`);
    if (u.search !== '' || u.hash !== '')
      throw new ValidationError(field, spec, `takes no query or fragment; ${FORMS}`);
    const path = decodeURIComponent(u.pathname.replace(/^\/+/, '').replace(/\/+$/, ''));
    if (path !== '') buckets.add(path);
    const auth = u.username ? `${u.username}${u.password ? `:${u.password}` : ''}@` : '';
    servers.push(`${u.protocol}//${auth}${u.host}`);
  }
  if (buckets.size > 1) {
    throw new ValidationError(
      field,
      spec,
      `names more than one bucket (${[...buckets].join(', ')}); name one`,
    );
  }
  const bucket = [...buckets][0] ?? DEFAULT_IMAGE_BUCKET;
  if (!/^[-\w]+$/.test(bucket)) {
    throw new ValidationError(
      field,
      spec,
      `names the bucket ${JSON.stringify(bucket)}, which is not a valid Object Store bucket name (use [A-Za-z0-9_-]+)`,
    );
  }
  return { kind: 'nats', servers, bucket };
}

/**
 * Opens the store a spec names: connects to NATS (and opens or creates the bucket), or checks that
 * the directory exists. The caller closes it (`store.close()`).
 * @throws ValidationError for a bad spec or a missing directory; UnavailableError when NATS cannot
 *   be reached.
 */
export async function openImageStore(
  spec: string,
  opts: OpenImageStoreOptions = {},
): Promise<ObjectStoreImageStore | DirectoryImageStore> {
  const field = opts.field ?? 'imageStore';
  const parsed = parseImageStoreSpec(spec, field);
  if (parsed.kind === 'dir') return DirectoryImageStore.open(parsed.dir, field);
  return ObjectStoreImageStore.connect(parsed.servers, {
    bucket: parsed.bucket,
    ...(opts.create !== undefined ? { create: opts.create } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
}
