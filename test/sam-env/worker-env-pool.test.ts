import type { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { watchTerminate } from '../helpers/watch-terminate.ts';
import { evaluatePolicy, oraclePolicyFor } from '../../core/agent/index.ts';
import { datasetFromSpec, generateSample, type Sample } from '../../core/data/index.ts';
import { ValidationError } from '../../core/errors/index.ts';
import { LocalEnv, WorkerEnvPool } from '../../services/sam-env/index.ts';
import { createGrabCutModel } from '../../services/sam-env/src/models/grabcut.ts';

const image = (s: Sample, digest: string) => ({
  digest,
  width: s.image.width,
  height: s.image.height,
  rgb: s.image.rgb,
});

const pools: WorkerEnvPool[] = [];
const pool = (workers: number): WorkerEnvPool => {
  const p = new WorkerEnvPool({ workers });
  pools.push(p);
  return p;
};

afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

describe('WorkerEnvPool (GrabCut in worker threads)', () => {
  it('answers exactly as the in-process env, on whichever worker each image lands', async () => {
    const local = new LocalEnv(createGrabCutModel());
    const env = pool(2);
    // Digests chosen so the images hash to both workers.
    const samples = [0, 1, 2, 3].map((i) => generateSample('id-val', i, { seed: 1 }));
    for (const [i, s] of samples.entries()) {
      const digest = `${i % 2 ? 'f' : '0'}${'a'.repeat(63)}`.slice(0, 63) + String(i);
      const [bx0, by0, bx1, by1] = s.gtBox;
      const prompts = [
        { box: s.gtBox, points: [] },
        {
          box: [bx0, by0, bx1, by1] as const,
          points: [{ point: [(bx0 + bx1) / 2, (by0 + by1) / 2] as const, label: 1 as const }],
        },
      ];
      const want = await local.transitionGroup(image(s, digest), prompts);
      const got = await env.transitionGroup(image(s, digest), prompts);
      expect(got).toHaveLength(2);
      for (let k = 0; k < 2; k++) {
        expect(got[k]!.mask.width).toBe(s.image.width);
        expect(Buffer.from(got[k]!.mask.data).equals(Buffer.from(want[k]!.mask.data))).toBe(true);
        expect(got[k]!.predictedIou).toBe(want[k]!.predictedIou);
      }
    }
    expect(env.transitions).toBe(8);
    await local.close();
  }, 60_000);

  it('gives the same evaluation with one worker and with two (what `train --eval-workers` relies on)', async () => {
    const dataset = await datasetFromSpec('synthetic:id-val?n=12&size=128');
    const run = (workers: number, keepEpisodes?: number) =>
      evaluatePolicy({
        policy: oraclePolicyFor,
        dataset,
        env: pool(workers),
        n: 12,
        batch: 6,
        seed: 3,
        ...(keepEpisodes !== undefined ? { keepEpisodes } : {}),
      });
    const [one, two] = await Promise.all([run(1), run(2, 3)]);
    expect(two.scores.map((e) => e.steps.map((s) => s.iou))).toEqual(
      one.episodes.map((e) => e.steps.map((s) => s.iou)),
    );
    expect(two.summary).toEqual(one.summary);
    // Only the first 3 full episodes (with masks) are kept when asked; every score is.
    expect(one.episodes).toHaveLength(12);
    expect(two.episodes).toHaveLength(3);
    expect(two.scores).toHaveLength(12);
    expect(two.episodes[2]?.finalMask.data).toEqual(one.episodes[2]?.finalMask.data);
    expect('finalMask' in (two.scores[5] as object)).toBe(false);
    // The oracle's clicks do something: some episode has more than its box step.
    expect(one.episodes.some((e) => e.steps.length > 2)).toBe(true);
  }, 120_000);

  it('rejects a bad prompt with the field and value, and keeps serving', async () => {
    const env = pool(1);
    const s = generateSample('id-val', 5, { seed: 1 });
    const img = image(s, 'b'.repeat(64));
    const bad = env.transitionGroup(img, [{ box: [60, 10, 20, 50], points: [] }]);
    await expect(bad).rejects.toThrow(ValidationError);
    await expect(env.transitionGroup(img, [{ box: [60, 10, 20, 50], points: [] }])).rejects.toThrow(/box/);
    // The error crosses the thread as it was raised: field, value and message, once each.
    const point: [number, number] = [-3, 157];
    const err = await env
      .transitionGroup(img, [{ box: s.gtBox, points: [{ point, label: 0 }] }])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('prompts[0].points[0].point');
    expect((err as ValidationError).value).toEqual(point);
    expect((err as Error).message).toBe('prompts[0].points[0].point [-3, 157] is outside the 256x256 image');
    const ok = await env.transitionGroup(img, [{ box: s.gtBox, points: [] }]);
    expect(ok[0]!.mask.width).toBe(s.image.width);
  }, 60_000);

  it('ends its workers by themselves on close (no terminate), after answering what was asked', async () => {
    const env = new WorkerEnvPool({ workers: 2 });
    const s = generateSample('id-val', 7, { seed: 1 });
    const workers = (env as unknown as { workers: Worker[] }).workers;
    const terminated = watchTerminate(workers);
    const answer = env.transitionGroup(image(s, 'd'.repeat(64)), [{ box: s.gtBox, points: [] }]);
    const t0 = performance.now();
    await env.close(120_000);
    expect(performance.now() - t0).toBeLessThan(30_000);
    expect((await answer)[0]!.mask.width).toBe(s.image.width);
    expect(terminated.count).toBe(0);
    for (const w of workers) expect(w.threadId).toBe(-1);
  }, 60_000);

  it('refuses calls once closed, with UNAVAILABLE', async () => {
    const env = new WorkerEnvPool({ workers: 1 });
    await env.close();
    const s = generateSample('id-val', 6, { seed: 1 });
    await expect(
      env.transitionGroup(image(s, 'c'.repeat(64)), [{ box: s.gtBox, points: [] }]),
    ).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });
});
