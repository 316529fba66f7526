import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodedImage, SamEnvClient, type ImagePayload } from '../../services/sam-env/src/client.ts';
import { SamEnvCallError } from '../../services/sam-env/src/errors.ts';
import type { SamEnvServer } from '../../services/sam-env/src/server.ts';
import { rleMask, startGrabCut } from './harness.ts';
import { makeScene, maskIou, RED, type Scene } from './scene.ts';

let scene: Scene;
let img: ImagePayload;
const box = [20, 20, 76, 76] as const;

beforeAll(async () => {
  scene = await makeScene(96, 96, [{ cx: 48, cy: 48, r: 22, color: RED }], 3);
  img = encodedImage(scene.png);
});

describe('SamEnvClient', () => {
  const servers: SamEnvServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
  });

  it('keeps succeeding when one of two replicas is killed mid-run', async () => {
    const a = await startGrabCut();
    const b = await startGrabCut();
    servers.push(a, b);
    const client = new SamEnvClient({ addresses: [a.address, b.address], deadlineMs: 20_000 });
    let done = 0;
    let killed = false;
    const worker = async (w: number) => {
      for (let i = 0; i < 15; i++) {
        const r = await client.transition(img, {
          box: [box[0] + ((i + w) % 5), box[1], box[2], box[3]],
          points: [],
        });
        expect(maskIou(rleMask(r.result.mask), scene.masks[0]!)).toBeGreaterThanOrEqual(0.8);
        done++;
        if (done === 12 && !killed) {
          killed = true;
          await a.kill();
        }
      }
    };
    await Promise.all([worker(0), worker(1), worker(2), worker(3)]);
    expect(done).toBe(60);
    expect(killed).toBe(true);
    expect(a.state).toBe('stopped');
    // Both replicas served traffic before the kill; the survivor after it.
    const served = async (s: SamEnvServer) =>
      (await s.metrics.registry.getSingleMetric('samenv_transitions_total')!.get()).values.reduce(
        (x, v) => x + v.value,
        0,
      );
    expect(await served(a)).toBeGreaterThan(0);
    expect(await served(b)).toBeGreaterThan(await served(a));
    client.close();
  });

  it('sends the image digest-only first and resends the bytes once on NOT_FOUND', async () => {
    let s = await startGrabCut();
    servers.push(s);
    const client = new SamEnvClient({ addresses: [s.address], firstContact: 'probe' });
    await client.transition(img, { box, points: [] });
    expect(client.stats.resends).toBe(1);
    await client.transitionGroup(img, [{ box, points: [] }]);
    expect(client.stats.resends).toBe(1);
    expect(client.stats.bytesSent).toBe(1);
    client.close();

    // A restarted replica lost its cache: the remembered digest gets NOT_FOUND and is resent.
    const port = s.port;
    await s.kill();
    s = await startGrabCut({ port });
    servers.push(s);
    const again = new SamEnvClient({ addresses: [s.address], firstContact: 'send' });
    await again.transition(img, { box, points: [] });
    expect(again.stats).toMatchObject({ resends: 0, bytesSent: 1 });
    await again.transition(img, { box, points: [] });
    expect(again.stats.bytesSent).toBe(1);
    s.service.clearCaches();
    await again.transition(img, { box, points: [] });
    expect(again.stats).toMatchObject({ resends: 1, bytesSent: 2 });
    again.close();
  });

  it('enforces the deadline', async () => {
    const s = await startGrabCut();
    servers.push(s);
    const client = new SamEnvClient({ addresses: [s.address], firstContact: 'send' });
    const err = await client.transition(img, { box, points: [] }, { deadlineMs: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SamEnvCallError);
    expect((err as SamEnvCallError).message).toContain('deadline exceeded');
    client.close();
  });

  it('resolves a dns:/// target with round robin', async () => {
    const s = await startGrabCut();
    servers.push(s);
    const client = new SamEnvClient({ addresses: `dns:///127.0.0.1:${s.port}` });
    const r = await client.transition(img, { box, points: [] });
    expect(maskIou(rleMask(r.result.mask), scene.masks[0]!)).toBeGreaterThanOrEqual(0.8);
    client.close();
  });

  it('drains on shutdown: in-flight calls finish, new connections are refused', async () => {
    const s = await startGrabCut();
    const client = new SamEnvClient({ addresses: [s.address], firstContact: 'send', maxAttempts: 1 });
    await client.info();
    const inflight = Array.from({ length: 4 }, (_, i) =>
      client.transition(img, { box: [20 + i, 20, 76, 76], points: [] }),
    );
    // Wait until all four calls are running on the server (their images were looked up).
    const lookups = async () =>
      (await s.metrics.registry.getSingleMetric('samenv_cache_lookups_total')!.get()).values
        .filter((v) => v.labels['cache'] === 'image')
        .reduce((x, v) => x + v.value, 0);
    while ((await lookups()) < 4) await new Promise((r) => setTimeout(r, 5));
    const stopping = s.shutdown();
    expect(s.state).toBe('draining');
    const results = await Promise.all(inflight);
    expect(results).toHaveLength(4);
    await stopping;
    expect(s.state).toBe('stopped');
    const after = new SamEnvClient({ addresses: [s.address], maxAttempts: 1 });
    await expect(after.info({ deadlineMs: 2000 })).rejects.toThrow(/unavailable|deadline/i);
    after.close();
    client.close();
  });
});
