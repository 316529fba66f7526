import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAM_ENV_SERVICE } from '../../core/wire/index.ts';
import { encodedImage, type SamEnvClient } from '../../services/sam-env/src/client.ts';
import type { SamEnvServer } from '../../services/sam-env/src/server.ts';
import { clientFor, rleMask, startGrabCut } from './harness.ts';
import { makeScene, maskIou, RED, type Scene } from './scene.ts';

let server: SamEnvServer;
let client: SamEnvClient;
let scene: Scene;

beforeAll(async () => {
  // Disc A (the target) and, to its right, disc B of a similar colour.
  scene = await makeScene(128, 112, [
    { cx: 50, cy: 56, r: 26, color: RED },
    { cx: 100, cy: 60, r: 14, color: [200, 60, 50] },
  ]);
  server = await startGrabCut({ metricsPort: 0 });
  client = clientFor(server, { firstContact: 'send' });
});

afterAll(async () => {
  client.close();
  await server.shutdown();
});

describe('grabcut over gRPC', () => {
  it('reports its model and limits in Info', async () => {
    const info = await client.info();
    expect(info).toMatchObject({
      modelId: 'grabcut@128',
      family: 'grabcut',
      supportsMaskInput: true,
      lowResSize: 64,
    });
    expect(info.limits.maxPoints).toBe(16);
  });

  it('a box around the object gives a mask with IoU ≥ 0.8, and the second call hits the cache', async () => {
    const img = encodedImage(scene.png);
    const first = await client.transition(img, { box: [22, 28, 78, 84], points: [] });
    const mask = rleMask(first.result.mask);
    expect(mask.width).toBe(128);
    expect(mask.height).toBe(112);
    expect(maskIou(mask, scene.masks[0]!)).toBeGreaterThanOrEqual(0.8);
    expect(first.result.area).toBe(mask.data.reduce((a, b) => a + b, 0));
    expect(first.result.lowResLogits?.width).toBe(64);
    expect(first.result.predictedIou).toBeGreaterThan(0.5);
    const second = await client.transition(img, { box: [22, 28, 78, 84], points: [] });
    expect(second.embeddingCached).toBe(true);
  });

  it('a positive point inside the part a box cut off raises IoU', async () => {
    const img = encodedImage(scene.png);
    const box = [22, 28, 58, 84] as const;
    const cut = await client.transition(img, { box, points: [] });
    const before = maskIou(rleMask(cut.result.mask), scene.masks[0]!);
    expect(before).toBeLessThan(0.8);
    const fixed = await client.transition(img, {
      box,
      points: [{ point: [68, 56], label: 1 }],
      prevMask: cut.result.mask,
    });
    const after = maskIou(rleMask(fixed.result.mask), scene.masks[0]!);
    expect(after).toBeGreaterThan(before + 0.1);
  });

  it('a negative point on an extra object of similar colour raises IoU', async () => {
    const img = encodedImage(scene.png);
    const box = [22, 28, 116, 84] as const;
    const both = await client.transition(img, { box, points: [] });
    const before = maskIou(rleMask(both.result.mask), scene.masks[0]!);
    // The box covers both discs, and GrabCut takes both (as SAM would).
    expect(rleMask(both.result.mask).get(100, 60)).toBe(1);
    const fixed = await client.transition(img, {
      box,
      points: [{ point: [100, 60], label: 0 }],
      prevLogits: both.result.lowResLogits!,
    });
    const after = maskIou(rleMask(fixed.result.mask), scene.masks[0]!);
    expect(after).toBeGreaterThan(before + 0.1);
    expect(rleMask(fixed.result.mask).get(100, 60)).toBe(0);
  });

  it('a group of 8 prompts comes back in prompt order from one embedding', async () => {
    const img = encodedImage(scene.png);
    // Alternate targets so that a reordering would show: even → disc A, odd → disc B.
    const boxes = Array.from({ length: 8 }, (_, i) =>
      i % 2 === 0 ? ([20 + i, 26, 80 - i, 86] as const) : ([83, 43, 117 - (i % 3), 77] as const),
    );
    const before = (await server.metrics.registry.getSingleMetric('samenv_decode_batch_size')!.get()).values;
    const reply = await client.transitionGroup(
      img,
      boxes.map((box) => ({ box, points: [] })),
      { returnLogits: false },
    );
    expect(reply.results).toHaveLength(8);
    reply.results.forEach((r, i) => {
      expect(maskIou(rleMask(r.mask), scene.masks[i % 2]!)).toBeGreaterThanOrEqual(0.8);
      expect(r.lowResLogits).toBeUndefined();
    });
    const after = (await server.metrics.registry.getSingleMetric('samenv_decode_batch_size')!.get()).values;
    const count = (vs: typeof before) =>
      vs.find((v) => (v as { metricName?: string }).metricName === 'samenv_decode_batch_size_count')?.value ??
      0;
    // 8 prompts, maxBatch 16: one decoder run.
    expect(count(after) - count(before)).toBe(1);
  });

  it('serves health (SERVING) and Prometheus metrics', async () => {
    const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
    const h = new Health(server.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      check(req: { service: string }, cb: (e: grpc.ServiceError | null, r: { status: string }) => void): void;
    };
    const res = await new Promise<{ status: string }>((resolve, reject) =>
      h.check({ service: SAM_ENV_SERVICE }, (e, r) => (e ? reject(e) : resolve(r))),
    );
    h.close();
    expect(res.status).toBe('SERVING');
    const text = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
    expect(text).toMatch(/samenv_transitions_total\{method="Transition"\} [1-9]/);
    expect(text).toContain('samenv_cache_lookups_total{cache="embedding",result="hit"}');
  });
});
