import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pointActionType, POINT_ACTION_TYPES, type PointAction } from '../../core/actions/index.ts';
import { observationOf } from '../../core/agent/index.ts';
import { InProcessBroker, InProcessBus } from '../../core/bus/index.ts';
import { ActorConfigSchema } from '../../core/config/index.ts';
import type { EnvPort } from '../../core/env/index.ts';
import { boxIou } from '../../core/geometry/index.ts';
import { errorRegions, maskArea, maskIou, modifiedIou } from '../../core/mask/index.ts';
import type { ActionTokens, PointerPolicy } from '../../core/policy/index.ts';
import {
  auxiliaryReward,
  DEFAULT_REWARD_CONFIG,
  localizationReward,
  maskUnderstandingReward,
} from '../../core/reward/index.ts';
import type { RolloutGroup } from '../../core/wire/index.ts';
import { Actor, GrpcEnvPort } from '../../services/actor/index.ts';
import { rleToMask as maskFromWire, rgbDigest } from '../../core/wire/index.ts';
import type { LocalEnv } from '../../services/sam-env/src/local-env.ts';
import {
  collectGroups,
  grabcutEnv,
  makeTask,
  publishTask,
  releaseWeights,
  sampleAt,
  smallPolicy,
  until,
} from './fixtures.ts';

const config = ActorConfigSchema.parse({ concurrency: 2, groupSize: 8 });

/** Recomputes the behaviour log-probs of a group from its published observation. */
async function recomputeLogprobs(
  policy: PointerPolicy,
  g: RolloutGroup,
  index: number,
): Promise<Float32Array[]> {
  const s = await sampleAt(index);
  expect(g.observation.image.digest).toBe(rgbDigest(s.image.rgb));
  const mask = g.observation.currentMask ? maskFromWire(g.observation.currentMask) : null;
  const obs = observationOf(s.image, g.observation.query, mask);
  const tokens: ActionTokens[] = g.rollouts.map((r) => ({
    kind: g.kind === 'localization' ? 'box' : 'refine',
    ids: r.tokenIds,
  }));
  return policy.logProbsSync(
    tokens.map(() => obs),
    tokens,
  );
}

function expectLogprobsMatch(g: RolloutGroup, recomputed: Float32Array[]): void {
  g.rollouts.forEach((r, i) => {
    const lp = recomputed[i] as Float32Array;
    expect(lp.length).toBe(r.behaviourLogprobs.length);
    r.behaviourLogprobs.forEach((v, j) => expect(Math.abs(v - (lp[j] as number))).toBeLessThan(1e-4));
  });
}

describe('Actor over the in-process bus with a GrabCut env', () => {
  let policy: PointerPolicy;
  let policy2: PointerPolicy;
  let env: LocalEnv;

  beforeAll(async () => {
    policy = await smallPolicy(1);
    policy2 = await smallPolicy(2);
    env = grabcutEnv();
  });

  afterAll(async () => {
    await env.close();
  });

  function setup(): { bus: InProcessBus; broker: string; actor: Actor } {
    const broker = `actor-test-${randomUUID()}`;
    const bus = new InProcessBus({ broker, tasks: { ackWaitMs: 20_000, maxDeliver: 3 } });
    const actor = new Actor({ id: 'actor-1', bus, env, config, seed: 1 });
    return { bus, broker, actor };
  }

  async function teardown(s: { bus: InProcessBus; broker: string; actor: Actor }): Promise<void> {
    await s.actor.stop();
    await s.bus.close();
    InProcessBroker.destroy(s.broker);
  }

  it('publishes exactly one group per task, with G rollouts, matching log-probs and recomputable rewards', async () => {
    const s = setup();
    try {
      await releaseWeights(s.bus, policy, 1);
      const indices = { localization: 0, mask_understanding: 1, auxiliary: 2 } as const;
      const tasks = await Promise.all(
        (Object.keys(indices) as (keyof typeof indices)[]).map((k) => makeTask(k, indices[k])),
      );
      for (const t of tasks) await publishTask(s.bus, t);
      await s.actor.start();
      const groups = await collectGroups(s.bus, 3);
      expect(groups.map((g) => g.taskId).sort()).toEqual(tasks.map((t) => t.taskId).sort());
      await until(async () => (await s.bus.pendingTasks()) === 0, 5000, 'tasks acked');
      expect(s.actor.stats.tasksProcessed).toBe(3);
      expect(s.actor.stats.groupsPublished).toBe(3);

      for (const g of groups) {
        const index = indices[g.kind];
        const sample = await sampleAt(index);
        expect(g.groupId).toBe(g.taskId);
        expect(g.rollouts).toHaveLength(8);
        expect(g.policyVersion).toBe(1);
        expect(g.actorId).toBe('actor-1');
        expect(g.attempt).toBe(1);
        expect(g.envModelId).toBe('grabcut@64');
        expect(g.observation.image.source).toBeUndefined();
        expectLogprobsMatch(g, await recomputeLogprobs(policy, g, index));

        const gt = sample.gtMask;
        if (g.kind === 'localization') {
          expect(g.observation.currentMask).toBeUndefined();
          expect(g.samplesDrawn).toBe(config.sampling.localizationCandidates);
          // De-duplicated: a random policy spreads 24 boxes well, so the G kept are distinct.
          const boxes = g.rollouts.map((r) => (r.action?.kind === 'box' ? r.action.box : null));
          for (let a = 0; a < boxes.length; a++) {
            for (let b = a + 1; b < boxes.length; b++) {
              expect(boxIou(boxes[a]!, boxes[b]!)).toBeLessThanOrEqual(config.sampling.duplicateBoxIou);
            }
          }
          for (const r of g.rollouts) {
            if (r.action?.kind !== 'box' || !r.resultMask)
              throw new Error('expected a box with a result mask');
            const samIou = maskIou(maskFromWire(r.resultMask), gt, sample.ignore);
            const want = localizationReward({
              parsed: true,
              predBox: r.action.box,
              gtBox: sample.gtBox,
              imageSize: sample.image,
              samIou,
            });
            expect(r.reward).toBeCloseTo(want.total, 5);
            expect(r.iou).toBeCloseTo(samIou, 6);
            expect(r.rewardBreakdown['sam']).toBeCloseTo(samIou, 6);
          }
        } else {
          const M = maskFromWire(g.observation.currentMask!);
          const types = new Set(
            g.rollouts.map((r) => {
              if (r.action?.kind !== 'refine') throw new Error('expected a refine action');
              return pointActionType({
                kind: 'points',
                positive: r.action.positive,
                negative: r.action.negative,
              });
            }),
          );
          // An untrained policy draws all four types well within the 64-draw cap.
          expect([...types].sort()).toEqual([...POINT_ACTION_TYPES].sort());
          for (const r of g.rollouts) {
            const a: PointAction = {
              kind: 'points',
              positive: r.action?.kind === 'refine' ? r.action.positive : null,
              negative: r.action?.kind === 'refine' ? r.action.negative : null,
            };
            if (g.kind === 'mask_understanding') {
              expect(g.observation.box).toBeDefined();
              const iouBefore = maskIou(M, gt, sample.ignore);
              const stop = pointActionType(a) === 'stop';
              expect(r.resultMask === undefined).toBe(stop);
              const want = maskUnderstandingReward({
                modifiedIouBefore: modifiedIou(M, gt),
                iouBefore,
                iouAfter: stop ? undefined : maskIou(maskFromWire(r.resultMask!), gt, sample.ignore),
                actionType: pointActionType(a),
                formatOk: true,
              });
              expect(r.reward).toBeCloseTo(want.total, 6);
              expect(g.goodEnough).toBe(modifiedIou(M, gt) >= DEFAULT_REWARD_CONFIG.goodEnoughIou);
            } else {
              const minArea = Math.max(4, Math.round(0.01 * maskArea(gt)));
              const { missed, extra } = errorRegions(M, gt, { minArea });
              const want = auxiliaryReward({ action: a, missed, extra, formatOk: true });
              expect(r.reward).toBeCloseTo(want.total, 6);
              expect(g.goodEnough).toBe(missed.length === 0 && extra.length === 0);
            }
          }
        }
      }
    } finally {
      await teardown(s);
    }
  });

  it('hot-swaps to a new version between tasks, and rejects a release whose digest does not match', async () => {
    const s = setup();
    try {
      await releaseWeights(s.bus, policy, 1);
      await s.actor.start();
      await until(() => s.actor.stats.policyVersion === 1, 10_000, 'version 1 loaded');

      await releaseWeights(s.bus, policy2, 2);
      await until(() => s.actor.stats.policyVersion === 2, 10_000, 'version 2 loaded');
      expect(s.actor.stats.weightSwaps).toBe(2);
      expect(s.actor.stats.lastSwap?.version).toBe(2);
      expect(s.actor.stats.lastSwap?.latencyMs).toBeGreaterThanOrEqual(0);

      const t1 = await makeTask('localization', 3);
      await publishTask(s.bus, t1);
      const [g1] = await collectGroups(s.bus, 1);
      expect(g1!.policyVersion).toBe(2);
      expectLogprobsMatch(g1!, await recomputeLogprobs(policy2, g1!, 3));

      // Version 3's bytes are stored, but the pointer carries a wrong digest: rejected, v2 kept.
      const info = await s.bus.putWeights(
        3,
        (await import('../../core/policy/index.ts')).policyToBytes(policy),
      );
      await s.bus.setLatest({ version: 3, digest: `sha256:${'0'.repeat(64)}`, size: info.size });
      await until(() => s.actor.stats.weightSwapFailures === 1, 10_000, 'swap rejected');
      expect(s.actor.stats.policyVersion).toBe(2);

      const t2 = await makeTask('auxiliary', 4);
      await publishTask(s.bus, t2);
      const [g2] = await collectGroups(s.bus, 1);
      expect(g2!.policyVersion).toBe(2);
      expectLogprobsMatch(g2!, await recomputeLogprobs(policy2, g2!, 4));
    } finally {
      await teardown(s);
    }
  });

  it('publishes one group when the same task is delivered twice (group msgId = task id)', async () => {
    const s = setup();
    try {
      await releaseWeights(s.bus, policy, 1);
      const t = await makeTask('mask_understanding', 5);
      await publishTask(s.bus, t, `${t.taskId}#a`);
      await publishTask(s.bus, t, `${t.taskId}#b`);
      await s.actor.start();
      await until(() => s.actor.stats.tasksProcessed === 2, 20_000, 'both deliveries processed');
      expect(s.actor.stats.groupsPublished).toBe(1);
      expect(s.actor.stats.duplicateGroups).toBe(1);
      const groups = await collectGroups(s.bus, 2, 1500);
      expect(groups).toHaveLength(1);
      expect(groups[0]!.taskId).toBe(t.taskId);
    } finally {
      await teardown(s);
    }
  });

  it('terminates undecodable tasks and tasks with an invalid sample as dead, without publishing', async () => {
    const s = setup();
    try {
      await releaseWeights(s.bus, policy, 1);
      await s.bus.publishTask('garbage', new Uint8Array([0xff, 0xff, 0xff, 0x01]));
      const bad = await makeTask('localization', 0, { taskId: 'bad-sample' });
      await publishTask(s.bus, { ...bad, sampleId: 'seven' });
      await s.actor.start();
      await until(async () => (await s.bus.deadTasks()).length === 2, 10_000, 'two dead tasks');
      const dead = await s.bus.deadTasks();
      expect(dead.map((d) => d.reason)).toEqual(['terminated', 'terminated']);
      const detail = dead.find((d) => d.id === 'bad-sample')?.detail ?? '';
      expect(detail).toContain('sampleId "seven" must be a decimal sample index');
      expect(s.actor.stats.tasksDead).toBe(2);
      expect(await collectGroups(s.bus, 1, 300)).toHaveLength(0);
    } finally {
      await teardown(s);
    }
  });

  it('keeps a slow task alive with working() so it is not redelivered past the ack wait', async () => {
    const broker = `actor-test-${randomUUID()}`;
    const bus = new InProcessBus({ broker, tasks: { ackWaitMs: 300, maxDeliver: 5 } });
    // The real env, answering each group call 400 ms late (longer than the ack wait).
    const slow: EnvPort = {
      info: () => env.info(),
      transitionGroup: async (image, prompts) => {
        await new Promise((r) => setTimeout(r, 400));
        return env.transitionGroup(image, prompts);
      },
      close: () => Promise.resolve(),
    };
    const actor = new Actor({
      id: 'slow',
      bus,
      env: slow,
      config: ActorConfigSchema.parse({ concurrency: 2, workingIntervalMs: 100 }),
    });
    try {
      await releaseWeights(bus, policy, 1);
      const t = await makeTask('mask_understanding', 1);
      await publishTask(bus, t);
      await actor.start();
      const [g] = await collectGroups(bus, 1);
      expect(g?.attempt).toBe(1);
      await until(() => actor.stats.tasksProcessed === 1, 5000, 'task acked');
      // Give a would-be redelivery time to show up.
      await new Promise((r) => setTimeout(r, 500));
      expect(actor.stats.tasksProcessed).toBe(1);
      expect(actor.stats.duplicateGroups).toBe(0);
      expect(await bus.pendingTasks()).toBe(0);
    } finally {
      await actor.stop();
      await bus.close();
      InProcessBroker.destroy(broker);
    }
  });

  it('holds a task until the policy version it requires has been released', async () => {
    const s = setup();
    try {
      await releaseWeights(s.bus, policy, 1);
      await s.actor.start();
      await until(() => s.actor.stats.policyVersion === 1, 10_000, 'version 1 loaded');
      const t = await makeTask('localization', 3, { minPolicyVersion: 2 });
      await publishTask(s.bus, t);
      await new Promise((r) => setTimeout(r, 200));
      expect(s.actor.stats.tasksProcessed).toBe(0);
      await releaseWeights(s.bus, policy2, 2);
      const [g] = await collectGroups(s.bus, 1);
      expect(g?.policyVersion).toBe(2);
      expect(g?.attempt).toBe(1);
    } finally {
      await teardown(s);
    }
  });

  it('naks a task whose env calls keep failing, and publishes nothing for it', async () => {
    const broker = `actor-test-${randomUUID()}`;
    const bus = new InProcessBus({ broker });
    // A real gRPC client aimed at a port nobody listens on.
    const deadEnv = new GrpcEnvPort({ addresses: '127.0.0.1:1', deadlineMs: 300, maxAttempts: 1 });
    const actor = new Actor({
      id: 'actor-x',
      bus,
      env: deadEnv,
      config,
      envRetry: { attempts: 2, initialBackoffMs: 5 },
      failureNakDelayMs: 60_000,
    });
    try {
      await releaseWeights(bus, policy, 1);
      const t = await makeTask('localization', 0);
      await publishTask(bus, t);
      await actor.start();
      await until(() => actor.stats.tasksFailed === 1, 10_000, 'task failure');
      expect(actor.stats.envRetries).toBeGreaterThanOrEqual(1);
      expect(actor.stats.groupsPublished).toBe(0);
      // Nak'd with a delay: waiting for redelivery, not dead, no group.
      await until(async () => (await bus.taskCounts()).waiting === 1, 2000, 'task back in the queue');
      expect(await bus.deadTasks()).toHaveLength(0);
      expect(await collectGroups(bus, 1, 300)).toHaveLength(0);
    } finally {
      await actor.stop();
      await deadEnv.close();
      await bus.close();
      InProcessBroker.destroy(broker);
    }
  });
});
