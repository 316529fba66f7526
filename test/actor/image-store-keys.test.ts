/**
 * Actors sending image-store keys instead of pixels: real sam-env servers (GrabCut) opening a real
 * image store (a directory here; NATS Object Store in the last test), the actor putting images into
 * the same store through StoreImageUploader.
 */
import { readdir, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log/index.ts';
import type { EnvImage, TransitionPrompt } from '../../core/env/index.ts';
import { GrpcEnvPort, SampleResolver, toEnvImageOf } from '../../services/actor/index.ts';
import { StoreImageUploader } from '../../services/actor/src/image-uploader.ts';
import { startActorService } from '../../services/actor/main.ts';
import { GrabCutModel } from '../../services/sam-env/src/models/grabcut.ts';
import { DirectoryImageStore, ObjectStoreImageStore } from '../../services/sam-env/src/image-store.ts';
import { SamEnvServer } from '../../services/sam-env/src/server.ts';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.ts';
import { collectGroups, makeTask, publishTask, releaseWeights, smallPolicy } from './fixtures.ts';

const grabcut = () => new GrabCutModel({ workingSize: 64, iterations: 2 });
const startEnv = (imageStore?: DirectoryImageStore | ObjectStoreImageStore) =>
  SamEnvServer.start({
    model: grabcut(),
    host: '127.0.0.1',
    port: 0,
    ...(imageStore ? { imageStore } : {}),
  });

let dir: string;
let images: EnvImage[];
let boxes: TransitionPrompt[][];
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'samv-actor-store-'));
  const resolver = new SampleResolver();
  const resolved = await Promise.all(
    [0, 1, 2].map((i) => resolver.resolve('synthetic:train?size=96&seed=7', String(i))),
  );
  images = resolved.map(toEnvImageOf);
  boxes = resolved.map((r) => [
    { box: r.sample.gtBox, points: [] },
    { box: [2, 2, 60, 60], points: [] },
  ]);
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await rm(dir, { recursive: true, force: true });
});

/** Mask bytes of every output, for exact comparisons between two paths. */
async function masksVia(port: GrpcEnvPort, rounds = 1): Promise<string[]> {
  const out: string[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const [i, image] of images.entries()) {
      for (const o of await port.transitionGroup(image, boxes[i]!))
        out.push(Buffer.from(o.mask.data).toString('hex'));
    }
  }
  return out;
}

describe('GrpcEnvPort with an image store', () => {
  it('sends keys, never pixels: each image is put once, replicas fetch it, masks equal the bytes path', async () => {
    const a = await startEnv(await DirectoryImageStore.open(dir));
    const b = await startEnv(await DirectoryImageStore.open(dir));
    cleanups.push(
      () => a.shutdown(),
      () => b.shutdown(),
    );
    const addresses = [a.address, b.address];
    const uploader = new StoreImageUploader(await DirectoryImageStore.open(dir));
    const fallbacks: unknown[] = [];
    const keyed = new GrpcEnvPort(
      { addresses, deadlineMs: 10_000, firstContact: 'send' },
      { uploader, onStoreFallback: (e) => fallbacks.push(e) },
    );
    const plain = new GrpcEnvPort({ addresses, deadlineMs: 10_000, firstContact: 'send' });
    cleanups.push(
      () => keyed.close(),
      () => plain.close(),
    );

    const viaKeys = await masksVia(keyed, 3);
    expect(keyed.client.stats.bytesSent).toBe(0);
    expect(keyed.client.stats.storeKeysSent).toBe(9); // 3 rounds × 3 images, one group call each
    expect(fallbacks).toEqual([]);
    expect(uploader.stats).toMatchObject({ uploads: 3, hits: 6, failures: 0 });
    // Content-addressed PNGs in the shared directory, one per image.
    const files = await readdir(join(dir, 'sha256'));
    expect(files.filter((f) => /^[0-9a-f]{64}\.png$/.test(f))).toHaveLength(3);

    // The replicas decoded exactly the actor's pixels: same masks as when the raw RGB is sent.
    const viaBytes = await masksVia(plain, 1);
    expect(viaKeys.slice(0, viaBytes.length)).toEqual(viaBytes);
    expect(viaKeys.slice(viaBytes.length, 2 * viaBytes.length)).toEqual(viaBytes);
  });

  it('sends the bytes to a replica without the store (NOT_FOUND) and reports each fallback', async () => {
    const bare = await startEnv();
    cleanups.push(() => bare.shutdown());
    const uploader = new StoreImageUploader(await DirectoryImageStore.open(dir));
    const fallbacks: unknown[] = [];
    const port = new GrpcEnvPort(
      { addresses: [bare.address], deadlineMs: 10_000, firstContact: 'send' },
      { uploader, onStoreFallback: (e) => fallbacks.push(e) },
    );
    cleanups.push(() => port.close());
    const outs = await port.transitionGroup(images[0]!, boxes[0]!);
    expect(outs).toHaveLength(2);
    expect(fallbacks).toHaveLength(1);
    expect(String(fallbacks[0])).toContain('no image store');
    expect(port.client.stats.bytesSent).toBe(1);
  });

  it('falls back to bytes while the store cannot be written, and puts the image once it can', async () => {
    const storeDir = await mkdtemp(join(tmpdir(), 'samv-actor-store-broken-'));
    cleanups.push(() => rm(storeDir, { recursive: true, force: true }));
    // A file where the key's directory must go: every put fails (ENOTDIR), as a full disk would.
    await writeFile(join(storeDir, 'sha256'), 'not a directory');
    const env = await startEnv(await DirectoryImageStore.open(storeDir));
    cleanups.push(() => env.shutdown());
    const uploader = new StoreImageUploader(await DirectoryImageStore.open(storeDir));
    const fallbacks: unknown[] = [];
    const port = new GrpcEnvPort(
      { addresses: [env.address], deadlineMs: 10_000, firstContact: 'send' },
      { uploader, onStoreFallback: (e) => fallbacks.push(e) },
    );
    cleanups.push(() => port.close());

    expect(await port.transitionGroup(images[1]!, boxes[1]!)).toHaveLength(2);
    expect(fallbacks).toHaveLength(1);
    expect(String(fallbacks[0])).toContain('could not write');
    expect(uploader.stats).toMatchObject({ uploads: 0, failures: 1 });
    expect(port.client.stats.bytesSent).toBe(1);

    await rm(join(storeDir, 'sha256'));
    expect(await port.transitionGroup(images[1]!, boxes[1]!)).toHaveLength(2);
    expect(uploader.stats).toMatchObject({ uploads: 1, failures: 1 });
    expect(port.client.stats.storeKeysSent).toBe(1);
    expect(fallbacks).toHaveLength(1);
  });
});

describe('actor service with actor.envImageStore (NATS Object Store)', () => {
  let nats: NatsServerHandle;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('runs a task against a replica that reads the same bucket; the images travel as keys', async () => {
    const bucket = `images-actor-${process.pid}`;
    const envStore = await ObjectStoreImageStore.connect(nats.url, { bucket, name: 'env-store' });
    const env = await startEnv(envStore);
    const service = await startActorService({
      id: 'store-actor',
      bus: 'memory://',
      envAddresses: [env.address],
      imageStore: `${nats.url}/${bucket}`,
      logger: createLogger({ service: 'actor' }),
    });
    try {
      await releaseWeights(service.bus, await smallPolicy(3), 1);
      const task = await makeTask('localization', 4, { groupSize: 4 });
      await publishTask(service.bus, task);
      const [group] = await collectGroups(service.bus, 1);
      expect(group?.taskId).toBe(task.taskId);
      const port = service.env as GrpcEnvPort;
      expect(port.client.stats.bytesSent).toBe(0);
      expect(port.client.stats.storeKeysSent).toBeGreaterThan(0);
      const text = await service.actor.metrics.registry.metrics();
      expect(text).toMatch(/actor_image_store_total\{actor="store-actor",result="put"\} 1\b/);
      expect(text).not.toMatch(/result="fallback"/);
      // The replica fetched the image from the bucket once (one image-cache miss, then hits).
      const envText = await env.metrics.registry.metrics();
      expect(envText).toMatch(/samenv_cache_lookups_total\{cache="image",result="miss"\} 1\b/);
    } finally {
      await service.close();
      await env.shutdown();
      await envStore.close();
    }
  });
});
