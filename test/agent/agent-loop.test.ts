import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PointAction } from '../../core/actions/index.ts';
import {
  bootstrapMeanCi,
  pairedDifference,
  episodeInputOf,
  evaluatePolicy,
  greedyPolicy,
  gtBoxPolicyFor,
  oraclePolicyFor,
  runEpisodes,
  summarizeEpisodes,
  type ActingPolicy,
  type Episode,
  type EpisodeInput,
  type EpisodeStep,
} from '../../core/agent/index.ts';
import { generateSample, syntheticDataset } from '../../core/data/index.ts';
import { ValidationError } from '../../core/errors/index.ts';
import { BinaryMask } from '../../core/mask/index.ts';
import { loadPolicyFile, PointerPolicy, savePolicyFile } from '../../core/policy/index.ts';
import { TINY } from '../policy/fixtures.ts';
import { LocalEnv } from '../../services/sam-env/src/local-env.ts';
import { createGrabCutModel } from '../../services/sam-env/src/models/grabcut.ts';

const N = 8;
let env: LocalEnv;
let inputs: EpisodeInput[];

beforeAll(async () => {
  env = new LocalEnv(createGrabCutModel());
  await env.info();
  inputs = Array.from({ length: N }, (_, i) =>
    episodeInputOf(generateSample('id-val', i, { seed: 7, size: 128 })),
  );
});

afterAll(async () => {
  await env.close();
});

describe('runEpisodes with GrabCut', () => {
  it('the oracle improves on its box step on average and stops on some episodes', async () => {
    const episodes = await runEpisodes(inputs, oraclePolicyFor(inputs), env, { maxRefinements: 3 });
    expect(episodes.map((e) => e.sampleId)).toEqual(inputs.map((i) => i.id));
    const boxStep = episodes.map((e) => (e.steps[0] as EpisodeStep).iou);
    const final = episodes.map((e) => e.finalIou);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(final)).toBeGreaterThan(mean(boxStep) + 0.05);
    expect(episodes.some((e) => e.stoppedBy === 'policy')).toBe(true);
    for (const e of episodes) {
      expect(e.boxIou).toBeCloseTo(1, 9); // the oracle's box is the GT box
      expect(e.steps.length).toBeLessThanOrEqual(4);
      if (e.stoppedBy === 'policy') expect(e.steps[e.steps.length - 1]?.type).toBe('stop');
      else expect(e.steps).toHaveLength(4);
    }
  });

  it('a policy that stops right after the box gives stopStep 1 and termination rate 1 from step 1', async () => {
    const stopper: ActingPolicy = {
      act: (batch, kind) =>
        batch.map((obs) =>
          kind === 'box'
            ? {
                action: {
                  kind: 'box' as const,
                  box: [0, 0, obs.width, obs.height] as [number, number, number, number],
                },
              }
            : { action: { kind: 'points' as const, positive: null, negative: null } },
        ),
    };
    const episodes = await runEpisodes(inputs.slice(0, 3), stopper, env, { maxRefinements: 3 });
    for (const e of episodes) {
      expect(e.stopStep).toBe(1);
      expect(e.stoppedBy).toBe('policy');
      expect(e.steps.map((s) => s.type)).toEqual(['box', 'stop']);
      expect(e.finalIou).toBe(e.steps[0]?.iou);
    }
    const s = summarizeEpisodes(episodes, 3);
    expect(s.perStep.map((p) => p.terminationRate)).toEqual([0, 1, 1, 1]);
    expect(s.terminationRate).toBe(1);
    expect(s.meanRefinements).toBe(0);
  });

  it('the gt-box baseline rejects a batch that does not match its inputs', () => {
    const policy = gtBoxPolicyFor(inputs.slice(0, 2));
    expect(() => policy.act([], 'box')).toThrow(ValidationError);
    expect(() => policy.act([], 'box')).toThrow(
      'batch 0 has the wrong size for this box call: expected 2 live episodes',
    );
  });

  it('a checkpointed PointerPolicy acts greedily and deterministically in evaluatePolicy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sv-agent-'));
    try {
      const trained = await PointerPolicy.create(TINY, { seed: 4 });
      await savePolicyFile(trained, join(dir, 'policy.svp'));
      trained.dispose();
      const loaded = await loadPolicyFile(join(dir, 'policy.svp'), { frozen: true });
      const dataset = syntheticDataset('id-val', 3, { seed: 7, size: 128 });
      const run = () =>
        evaluatePolicy({ policy: greedyPolicy(loaded), dataset, env, batch: 2, maxRefinements: 1 });
      const [r1, r2] = [await run(), await run()];
      loaded.dispose();
      expect(r1.episodes).toHaveLength(3);
      for (const e of r1.episodes) {
        expect(e.box[0]).toBeGreaterThanOrEqual(0);
        expect(e.box[2]).toBeLessThanOrEqual(128);
        expect(e.steps[0]?.type).toBe('box');
      }
      expect(r2.episodes.map((e) => [e.box, e.finalIou])).toEqual(
        r1.episodes.map((e) => [e.box, e.finalIou]),
      );
      expect(r2.summary).toEqual(r1.summary);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('evaluatePolicy batches the dataset, reports progress and keeps the requested inputs', async () => {
    const dataset = syntheticDataset('id-val', 5, { seed: 7, size: 128 });
    const progress: number[] = [];
    const r = await evaluatePolicy({
      policy: gtBoxPolicyFor,
      dataset,
      env,
      n: 5,
      batch: 2,
      maxRefinements: 2,
      keepInputs: 3,
      onProgress: (done, total) => progress.push(done * 100 + total),
    });
    expect(progress).toEqual([205, 405, 505]);
    expect(r.episodes).toHaveLength(5);
    expect(r.inputs.map((i) => i.id)).toEqual(r.episodes.slice(0, 3).map((e) => e.sampleId));
    expect(r.summary.n).toBe(5);
    expect(r.summary.boxIou).toBeCloseTo(1, 9);
    expect(r.summary.perStep).toHaveLength(3);
    await expect(evaluatePolicy({ policy: gtBoxPolicyFor, dataset, env, n: 6 })).rejects.toThrow(
      'n 6 exceeds dataset synthetic:id-val of 5 samples',
    );
  });
});

/** A hand-made episode: masks are only placeholders, counts carry the metric. */
function step(index: number, type: EpisodeStep['type'], intersection: number, union: number): EpisodeStep {
  const action: PointAction = { kind: 'points', positive: type === 'stop' ? null : [1, 1], negative: null };
  return {
    index,
    action: index === 0 ? { kind: 'box', box: [0, 0, 4, 4] } : action,
    type,
    mask: new BinaryMask(4, 4),
    iou: union === 0 ? 0 : intersection / union,
    intersection,
    union,
    predictedIou: 0.5,
  };
}

function episode(id: string, boxIou: number, steps: EpisodeStep[], stopStep: number | null): Episode {
  const last = steps[steps.length - 1] as EpisodeStep;
  return {
    sampleId: id,
    query: 'q',
    box: [0, 0, 4, 4],
    boxIou,
    steps,
    stoppedBy: stopStep === null ? 'limit' : 'policy',
    stopStep,
    finalMask: last.mask,
    finalIou: last.iou,
  };
}

describe('summarizeEpisodes', () => {
  // A: small object, 1/4 then stops at step 2 with 3/4 (its step-1 mask carries forward to k = 2, 3).
  // B: large object, 50/100 → 90/100 → 95/100 at the limit of 2 refinements… then one more.
  const a = episode('a', 0.5, [step(0, 'box', 1, 4), step(1, 'positive', 3, 4), step(2, 'stop', 3, 4)], 2);
  const b = episode(
    'b',
    0.9,
    [
      step(0, 'box', 50, 100),
      step(1, 'both', 90, 100),
      step(2, 'negative', 95, 100),
      step(3, 'positive', 96, 100),
    ],
    null,
  );
  const s = summarizeEpisodes([a, b], 3);

  it('gIoU averages per-sample IoU while cIoU pools pixels', () => {
    expect(s.gIoU).toBeCloseTo((0.75 + 0.96) / 2, 12);
    expect(s.cIoU).toBeCloseTo((3 + 96) / (4 + 100), 12);
    expect(s.boxIou).toBeCloseTo(0.7, 12);
    expect(s.terminationRate).toBe(0.5);
    expect(s.meanRefinements).toBe((1 + 3) / 2);
  });

  it('per step, an episode that stopped keeps its last mask', () => {
    expect(s.perStep.map((p) => p.step)).toEqual([0, 1, 2, 3]);
    const g = s.perStep.map((p) => p.gIoU);
    expect(g[0]).toBeCloseTo((0.25 + 0.5) / 2, 12);
    expect(g[1]).toBeCloseTo((0.75 + 0.9) / 2, 12);
    expect(g[2]).toBeCloseTo((0.75 + 0.95) / 2, 12);
    expect(g[3]).toBeCloseTo((0.75 + 0.96) / 2, 12);
    expect(s.perStep[3]?.cIoU).toBeCloseTo(99 / 104, 12);
    expect(s.perStep.map((p) => p.terminationRate)).toEqual([0, 0, 0.5, 0.5]);
  });

  it('the bootstrap interval contains the mean and narrows with more samples', () => {
    expect(s.gIoUCi95.lo).toBeLessThanOrEqual(s.gIoU);
    expect(s.gIoUCi95.hi).toBeGreaterThanOrEqual(s.gIoU);
    expect(s.gIoUCi95.lo).toBeGreaterThanOrEqual(0.75 - 1e-12);
    expect(s.gIoUCi95.hi).toBeLessThanOrEqual(0.96 + 1e-12);
    const few = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 0.2 : 0.8));
    const many = Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? 0.2 : 0.8));
    const cf = bootstrapMeanCi(few, 1000, 3);
    const cm = bootstrapMeanCi(many, 1000, 3);
    for (const c of [cf, cm]) {
      expect(c.lo).toBeLessThan(0.5);
      expect(c.hi).toBeGreaterThan(0.5);
    }
    expect(cm.hi - cm.lo).toBeLessThan((cf.hi - cf.lo) / 5);
  });

  it('pairs per-sample changes: a small uniform gain is resolved where unpaired intervals overlap', () => {
    // Samples spread over [0, 1); "after" is each +0.02. Unpaired intervals overlap widely; the
    // paired one is exactly the gain.
    const before = Array.from({ length: 200 }, (_, i) => ((i * 37) % 100) / 100);
    const after = before.map((v) => v + 0.02);
    const d = pairedDifference(before, after, 1000, 1);
    expect(d.n).toBe(200);
    expect(d.mean).toBeCloseTo(0.02, 12);
    expect(d.ci95.lo).toBeCloseTo(0.02, 12);
    expect(d.ci95.hi).toBeCloseTo(0.02, 12);
    expect(bootstrapMeanCi(after, 1000, 1).lo).toBeLessThan(bootstrapMeanCi(before, 1000, 1).hi);
    // Mixed changes: the interval brackets the mean and excludes neither sign when it straddles 0.
    const mixed = pairedDifference([0.5, 0.5, 0.5, 0.5], [0.6, 0.4, 0.7, 0.3], 1000, 2);
    expect(mixed.mean).toBeCloseTo(0, 12);
    expect(mixed.ci95.lo).toBeLessThan(0);
    expect(mixed.ci95.hi).toBeGreaterThan(0);
    expect(() => pairedDifference([1, 2], [1])).toThrow('after.length 1 must equal before.length 2');
  });
});
