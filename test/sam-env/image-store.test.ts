import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, SamVeteranConfigSchema } from '../../core/config/index.ts';
import { NotFoundError, UnavailableError, ValidationError } from '../../core/errors/index.ts';
import type { EnvPrompt } from '../../core/wire/index.ts';
import { startSamEnv } from '../../services/sam-env/main.ts';
import { encodedImage, SamEnvClient, storedImage } from '../../services/sam-env/src/client.ts';
import { SamEnvCallError } from '../../services/sam-env/src/errors.ts';
import type { ImageStore } from '../../services/sam-env/src/image-resolver.ts';
import {
  DirectoryImageStore,
  ObjectStoreImageStore,
  openImageStore,
  parseImageStoreSpec,
} from '../../services/sam-env/src/image-store.ts';
import type { SamEnvServer } from '../../services/sam-env/src/server.ts';
import { freePort, startNatsServer, type NatsServerHandle } from '../helpers/nats-server.ts';
import { clientFor, rleMask, startGrabCut } from './harness.ts';
import { makeScene, maskIou, RED, type Scene } from './scene.ts';
import { failure } from '../helpers/failure.ts';

const prompt: EnvPrompt = { box: [20, 20, 76, 76], points: [] };
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

let nats: NatsServerHandle;
let scene: Scene;
let other: Scene;
let tmp: string;
/** Mask counts GrabCut gives for `prompt` on `scene` when the bytes are sent (the reference). */
let referenceCounts: string;
let bucketSeq = 0;

function uniqueBucket(): string {
  return `images-${process.pid}-${++bucketSeq}`;
}

function producer(bucket: string): Promise<ObjectStoreImageStore> {
  return ObjectStoreImageStore.connect(nats.url, { bucket, name: 'test-producer' });
}

interface Connz {
  connections?: { name?: string }[];
}

async function connectionNames(): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${nats.monitorPort}/connz`);
  const body = (await res.json()) as Connz;
  return (body.connections ?? []).map((c) => c.name ?? '');
}

async function pollUntil(cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  nats = await startNatsServer();
  tmp = await mkdtemp(join(tmpdir(), 'samv-image-store-'));
  scene = await makeScene(96, 96, [{ cx: 48, cy: 48, r: 22, color: RED }], 7);
  other = await makeScene(96, 96, [{ cx: 40, cy: 40, r: 18, color: RED }], 8);
  const plain = await startGrabCut();
  const c = clientFor(plain, { firstContact: 'send' });
  referenceCounts = (await c.transition(encodedImage(scene.png), prompt)).result.mask.counts;
  c.close();
  await plain.shutdown();
});

afterAll(async () => {
  await nats?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('NATS Object Store image store over real gRPC', () => {
  let bucket: string;
  let store: ObjectStoreImageStore;
  let server: SamEnvServer;
  let client: SamEnvClient;

  beforeAll(async () => {
    bucket = uniqueBucket();
    store = await ObjectStoreImageStore.connect(nats.url, { bucket, name: 'test-server-store' });
    server = await startGrabCut({ imageStore: store });
    client = clientFor(server, { maxAttempts: 1 });
  });

  afterAll(async () => {
    client.close();
    await server.shutdown();
    await store.close();
  });

  it('resolves an image put by a producer from its key: the mask comes back and no bytes are sent', async () => {
    const prod = await producer(bucket);
    const ref = await prod.put('scenes/disc-7.png', scene.png);
    await prod.close();
    expect(ref).toEqual({ key: 'scenes/disc-7.png', digest: sha(scene.png), size: scene.png.byteLength });

    const first = await client.transition(storedImage(ref), prompt);
    const mask = rleMask(first.result.mask);
    expect(mask.width).toBe(96);
    expect(first.result.mask.counts).toBe(referenceCounts);
    expect(maskIou(mask, scene.masks[0]!)).toBeGreaterThan(0.7);
    expect(first.embeddingCached).toBe(false);

    const group = await client.transitionGroup(storedImage(ref), [
      prompt,
      { box: [22, 22, 74, 74], points: [] },
    ]);
    expect(group.results).toHaveLength(2);
    expect(group.embeddingCached).toBe(true);
    expect(client.stats).toMatchObject({ bytesSent: 0, resends: 0, storeKeysSent: 2 });
  });

  it('rejects a digest that does not match the stored bytes with INVALID_ARGUMENT naming the field', async () => {
    await store.put('mismatch.png', scene.png);
    const wrong = sha(other.png);
    const err = await failure(client.transition(storedImage({ digest: wrong, key: 'mismatch.png' }), prompt));
    expect(err).toBeInstanceOf(SamEnvCallError);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain(
      `image.digest "${wrong}" does not match the SHA-256 of the stored image "mismatch.png" (${sha(scene.png)})`,
    );
  });

  it('answers NOT_FOUND naming the key when the key is not in the bucket', async () => {
    const digest = sha(other.png);
    const err = await failure(client.transition(storedImage({ digest, key: 'nope/missing.png' }), prompt));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain(
      `image.storeKey "nope/missing.png" is not in the image store ${nats.url}/${bucket}; put it there first`,
    );
    // Not retried with anything else: the key was the only source.
    expect(client.stats.resends).toBe(0);
  });

  it('refuses a stored object over maxImageBytes with RESOURCE_EXHAUSTED before decoding it', async () => {
    const small = await startGrabCut({ imageStore: store, maxImageBytes: 1000 });
    const c = clientFor(small, { maxAttempts: 1 });
    const ref = await store.put('big.png', scene.png);
    const err = await failure(c.transition(storedImage(ref), prompt));
    expect(err.code).toBe('RESOURCE_EXHAUSTED');
    expect(err.message).toContain(
      `image.storeKey "big.png" is ${scene.png.byteLength} bytes in the image store ${nats.url}/${bucket}, over the limit of 1000 bytes`,
    );
    c.close();
    await small.shutdown();
  });

  it('deletes objects, after which the key is NOT_FOUND for a server that has not cached it', async () => {
    const ref = await store.put('gone.png', other.png);
    expect(await store.delete('gone.png')).toBe(true);
    expect(await store.delete('gone.png')).toBe(false);
    expect(await store.get('gone.png')).toBeUndefined();
    const err = await failure(client.transition(storedImage(ref), prompt));
    expect(err).toBeInstanceOf(NotFoundError);
  });

  it('downloads once when concurrent calls miss on the same key', async () => {
    let gets = 0;
    const counting: ImageStore = {
      location: store.location,
      get: (key, opts) => {
        gets++;
        return store.get(key, opts);
      },
    };
    const s = await startGrabCut({ imageStore: counting });
    const c = clientFor(s, { maxAttempts: 1 });
    const ref = await store.put('shared.png', other.png);
    const calls = Array.from({ length: 4 }, (_, i) =>
      c.transition(storedImage(ref), { box: [10 + i, 10, 70, 70], points: [] }),
    );
    expect(await Promise.all(calls)).toHaveLength(4);
    expect(gets).toBe(1);
    c.close();
    await s.shutdown();
  });

  it('fails a closed store with UnavailableError', async () => {
    const s = await producer(uniqueBucket());
    await s.close();
    await s.close();
    const err = await failure(s.get('x'));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toMatch(/^image store nats:\/\/127\.0\.0\.1:\d+\/images-[\d-]+ is closed$/);
  });
});

describe('directory image store', () => {
  let root: string;
  let store: DirectoryImageStore;
  let server: SamEnvServer;
  let client: SamEnvClient;

  beforeAll(async () => {
    root = join(tmp, 'store');
    await mkdir(root);
    await writeFile(join(tmp, 'outside.png'), scene.png);
    store = await DirectoryImageStore.open(root);
    server = await startGrabCut({ imageStore: store });
    client = clientFor(server, { maxAttempts: 1 });
  });

  afterAll(async () => {
    client.close();
    await server.shutdown();
  });

  // The other tests use a digest this server has not cached: a cached digest is answered from the
  // cache before the store (or the key) is looked at.
  it('resolves a key to a file under the root', async () => {
    const ref = await store.put('a/b/disc.png', scene.png);
    expect(ref.digest).toBe(sha(scene.png));
    const reply = await client.transition(storedImage(ref), prompt);
    expect(reply.result.mask.counts).toBe(referenceCounts);
    expect(client.stats.bytesSent).toBe(0);
  });

  it.each([
    ['../outside.png', 'escapes the image store root'],
    ['a/../../outside.png', 'escapes the image store root'],
    ['/etc/passwd', 'is an absolute path; keys are paths relative to the image store root'],
  ])('rejects the key %j with INVALID_ARGUMENT', async (key, problem) => {
    const err = await failure(client.transition(storedImage({ digest: sha(other.png), key }), prompt));
    expect(err).toBeInstanceOf(SamEnvCallError);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain(`image.storeKey ${JSON.stringify(key)} ${problem}`);
  });

  it('rejects a symlink under the root that points outside it', async () => {
    await symlink(join(tmp, 'outside.png'), join(root, 'link.png'));
    const err = await failure(
      client.transition(storedImage({ digest: sha(other.png), key: 'link.png' }), prompt),
    );
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('image.storeKey "link.png" resolves through a symlink to');
    expect(err.message).toContain('outside the image store root');
  });

  it('answers NOT_FOUND naming the key for a missing file', async () => {
    const err = await failure(
      client.transition(storedImage({ digest: sha(other.png), key: 'no/such.png' }), prompt),
    );
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain(
      `image.storeKey "no/such.png" is not in the image store ${pathToFileURL(store.root).href}`,
    );
  });

  it('rejects escaping keys on put too, naming the field', async () => {
    const err = await failure(store.put('../evil.png', scene.png));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('key');
    expect(err.message).toContain('key "../evil.png" escapes the image store root');
  });
});

describe('a server without an image store', () => {
  it('still answers NOT_FOUND for a store key, with the hint to send bytes', async () => {
    const server = await startGrabCut();
    const client = clientFor(server, { maxAttempts: 1 });
    const digest = sha(scene.png);
    const err = await failure(client.transition(storedImage({ digest, key: 'k.png' }), prompt));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain(
      `image digest ${digest} is not cached here (this server has no image store); send image bytes for digest ${digest}`,
    );
    // Bytes still work, through the NOT_FOUND → resend path.
    const ok = await client.transition(encodedImage(scene.png), prompt);
    expect(ok.result.mask.counts).toBe(referenceCounts);
    expect(client.stats.resends).toBe(1);
    client.close();
    await server.shutdown();
  });
});

describe('image store specs', () => {
  it('parses nats and directory specs', () => {
    expect(parseImageStoreSpec('nats://127.0.0.1:4222')).toEqual({
      kind: 'nats',
      servers: ['nats://127.0.0.1:4222'],
      bucket: 'images',
    });
    expect(parseImageStoreSpec('nats://a:4222,nats://b:4223/scans')).toEqual({
      kind: 'nats',
      servers: ['nats://a:4222', 'nats://b:4223'],
      bucket: 'scans',
    });
    expect(parseImageStoreSpec('file:///data/images')).toEqual({ kind: 'dir', dir: '/data/images' });
    expect(parseImageStoreSpec('./images')).toEqual({ kind: 'dir', dir: './images' });
  });

  it.each([
    ['ftp://host/x', 'imageStore "ftp://host/x" has an unsupported scheme "ftp://"'],
    [
      'nats://host:4222/bad.name',
      'names the bucket "bad.name", which is not a valid Object Store bucket name',
    ],
    ['nats://a:1/x,nats://b:2/y', 'names more than one bucket (x, y)'],
    ['file:images', 'is not a file URL; use file:///absolute/dir or a plain path'],
    ['', 'is empty; use nats://host:port[/bucket]'],
  ])('rejects %j with a ValidationError quoting it', (spec, text) => {
    let err: unknown;
    try {
      parseImageStoreSpec(spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('imageStore');
    expect((err as Error).message).toContain(text);
  });

  it('opens a missing directory with a ValidationError, and unreachable NATS with UnavailableError', async () => {
    const missing = join(tmp, 'does-not-exist');
    let err = await failure(openImageStore(missing, { field: 'samEnv.imageStore' }));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toContain(`samEnv.imageStore ${JSON.stringify(missing)} cannot be opened`);
    const port = await freePort();
    err = await failure(openImageStore(`nats://127.0.0.1:${port}`));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toContain(`cannot connect to the image store's NATS at nats://127.0.0.1:${port}`);
  });

  it('refuses a missing bucket when asked not to create it', async () => {
    const bucket = uniqueBucket();
    const err = await failure(openImageStore(`${nats.url}/${bucket}`, { create: false }));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toContain(`bucket "${bucket}" is not an Object Store bucket on ${nats.url}`);
  });

  it('opens a directory from a file URL', async () => {
    const s = await openImageStore(pathToFileURL(tmp).href);
    expect(s).toBeInstanceOf(DirectoryImageStore);
    expect(await s.get('outside.png')).toEqual(new Uint8Array(scene.png));
    await expect(s.get('../x')).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('wiring: config, startSamEnv and the CLI', () => {
  it('SAMV_SAM_ENV__IMAGE_STORE reaches the server, which closes its NATS connection on shutdown', async () => {
    const bucket = uniqueBucket();
    const cfg = loadConfig(SamVeteranConfigSchema, {
      env: {
        SAMV_SAM_ENV__IMAGE_STORE: `${nats.url}/${bucket}`,
        SAMV_SAM_ENV__HOST: '127.0.0.1',
        SAMV_SAM_ENV__PORT: '0',
      },
    }).samEnv;
    expect(cfg.imageStore).toBe(`${nats.url}/${bucket}`);
    expect(loadConfig(SamVeteranConfigSchema, { env: {} }).samEnv.imageStore).toBeNull();

    const server = await startSamEnv(cfg);
    expect(server.imageStoreLocation).toBe(`${nats.url}/${bucket}`);
    const serverConn = `samv-images-${process.pid}`;
    expect(await connectionNames()).toContain(serverConn);
    const prod = await producer(bucket);
    const ref = await prod.put('wired.png', scene.png);
    await prod.close();
    const client = new SamEnvClient({ addresses: server.address, maxAttempts: 1 });
    expect((await client.transition(storedImage(ref), prompt)).result.mask.counts).toBe(referenceCounts);
    client.close();
    await server.shutdown();
    await pollUntil(async () => !(await connectionNames()).includes(serverConn));
  });

  it('`env serve --image-store` serves store keys and exits 0 on SIGTERM; a bad spec exits 2', async () => {
    const bucket = uniqueBucket();
    const prod = await producer(bucket);
    const ref = await prod.put('cli.png', scene.png);
    await prod.close();
    const proc = spawn(
      process.execPath,
      [
        'bin/sam-veteran.js',
        'env',
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--image-store',
        `${nats.url}/${bucket}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const line = await new Promise<{ listening: string; imageStore: string }>((resolve, reject) => {
      let out = '';
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n'))
          resolve(JSON.parse(out.split('\n')[0]!) as { listening: string; imageStore: string });
      });
      void exited.then((code) => reject(new Error(`env serve exited with ${code}: ${stderr}`)));
    });
    expect(line.imageStore).toBe(`${nats.url}/${bucket}`);
    const client = new SamEnvClient({ addresses: line.listening, maxAttempts: 1 });
    expect((await client.transition(storedImage(ref), prompt)).result.mask.counts).toBe(referenceCounts);
    client.close();
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);

    const bad = spawn(
      process.execPath,
      ['bin/sam-veteran.js', 'env', 'serve', '--image-store', 'ftp://x/y'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let badErr = '';
    bad.stderr.on('data', (d: Buffer) => (badErr += d.toString()));
    const code = await new Promise<number | null>((resolve) => bad.once('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(badErr).toContain('sam-veteran: --image-store "ftp://x/y" has an unsupported scheme "ftp://"');
  });
});
