import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessBroker, InProcessBus } from '../../core/bus/index.ts';
import { ActorConfigSchema } from '../../core/config/index.ts';
import type { PointerPolicy } from '../../core/policy/index.ts';
import { DEFAULT_REWARD_CONFIG } from '../../core/reward/index.ts';
import { SamVeteranError } from '../../core/errors/index.ts';
import { Rng } from '../../core/rng/index.ts';
import {
  Actor,
  runActorTask,
  SampleResolver,
  TaskRejectedError,
  tilePrepared,
} from '../../services/actor/index.ts';
import type { LocalEnv } from '../../services/sam-env/src/local-env.ts';
import { observationOf } from '../../core/agent/index.ts';
import { grabcutEnv, makeTask, sampleAt, smallPolicy } from './fixtures.ts';

const sampling = ActorConfigSchema.parse({}).sampling;

describe('runActorTask', () => {
  let policy: PointerPolicy;
  let env: LocalEnv;
  const resolver = new SampleResolver();

  beforeAll(async () => {
    policy = await smallPolicy(3);
    env = grabcutEnv();
  });
  afterAll(async () => env.close());

  function deps(attempt = 1) {
    return {
      actorId: 'a',
      env,
      weights: { current: () => ({ policy, version: 7 }) },
      resolver,
      rewards: DEFAULT_REWARD_CONFIG,
      sampling,
      envModelId: 'grabcut@64',
      attempt,
      now: () => 1000,
    };
  }

  it('reproduces the policy side of a group for the same task (seeded state and sampling)', async () => {
    // GrabCut itself is not bit-reproducible across calls (OpenCV's global RNG seeds its GMMs), so
    // env-derived values (M, SAM IoU) may differ slightly; everything the actor draws must not.
    for (const kind of ['localization', 'mask_understanding', 'auxiliary'] as const) {
      const task = await makeTask(kind, 6, { seed: 99, groupSize: 6 });
      const a = await runActorTask(task, deps(1));
      const b = await runActorTask(task, deps(2));
      expect(a.group.rollouts).toHaveLength(6);
      expect(b.group.policyVersion).toBe(7);
      expect(b.group.attempt).toBe(2);
      expect(b.group.observation.box).toEqual(a.group.observation.box);
      expect(b.state.origin).toBe(a.state.origin);
      if (kind !== 'mask_understanding') {
        expect(b.group.observation).toEqual(a.group.observation);
        expect(b.group.rollouts.map((r) => r.tokenIds)).toEqual(a.group.rollouts.map((r) => r.tokenIds));
      }
      if (kind === 'auxiliary') {
        expect(b.group.rollouts.map((r) => r.reward)).toEqual(a.group.rollouts.map((r) => r.reward));
      }
      expect(a.zeroVariance).toBe(new Set(a.group.rollouts.map((r) => r.reward)).size === 1);
      // Every rollout says how much of the draws it stands for; the weights average 1.
      const w = a.group.rollouts.map((r) => r.drawWeight as number);
      expect(w.every((x) => x > 0)).toBe(true);
      expect(w.reduce((x, y) => x + y, 0)).toBeCloseTo(6, 9);
      if (kind === 'localization') expect(w).toEqual(Array(6).fill(1));
      else expect(w).toEqual(a.sampling.drawWeights);
    }
  });

  it('makes mask-understanding states of every origin (follow-ups after a click) and auxiliary states both clean and corrupted', async () => {
    const origins = new Set<string>();
    for (let seed = 0; seed < 48 && origins.size < 5; seed++) {
      const kind = seed % 2 === 0 ? 'mask_understanding' : 'auxiliary';
      const out = await runActorTask(await makeTask(kind, seed % 5, { seed, groupSize: 2 }), deps());
      origins.add(out.state.origin);
      if (out.state.origin === 'clean') expect(out.group.goodEnough).toBe(true);
      // A follow-up state is one click further: its clicks are in the state and on the wire, and
      // the group's refinements are prompted with them.
      const followUp = out.state.origin === 'follow-up';
      expect(out.state.points.length > 0).toBe(followUp);
      if (kind === 'mask_understanding') expect(out.group.observation.step).toBe(followUp ? 2 : 1);
      expect(out.group.observation.points).toEqual(out.state.points);
    }
    expect([...origins].sort()).toEqual(['clean', 'corrupted', 'follow-up', 'gt-jitter', 'policy-box']);
  });

  it("counts every env transition a task makes, the state's own included", async () => {
    let made = 0;
    let counted = 0;
    let followUps = 0;
    for (let seed = 0; seed < 9; seed++) {
      const kind = (['localization', 'mask_understanding', 'auxiliary'] as const)[seed % 3]!;
      const before = env.transitions;
      const out = await runActorTask(await makeTask(kind, seed % 5, { seed, groupSize: 4 }), {
        ...deps(),
        stateOptions: { followUpProbability: 1 },
      });
      made += env.transitions - before;
      counted += out.transitions;
      if (out.state.origin === 'follow-up') followUps++;
    }
    expect(followUps).toBeGreaterThan(0);
    expect(counted).toBe(made);
  });

  it("judges a mask improvable from the group's own clicks under improvableEvidence: group", async () => {
    const rewards = { ...DEFAULT_REWARD_CONFIG, improvableEvidence: 'group' as const };
    let probedStates = 0;
    let overruled = 0;
    for (let seed = 0; seed < 24 && (probedStates < 6 || overruled < 1); seed++) {
      const out = await runActorTask(await makeTask('mask_understanding', seed % 7, { seed, groupSize: 8 }), {
        ...deps(),
        rewards,
      });
      const rs = out.group.rollouts;
      const b = rs[0]!.rewardBreakdown;
      const clicked = rs.filter((r) => r.resultMask !== undefined);
      if (out.state.modifiedIouBefore >= rewards.goodEnoughIou) {
        expect(b['groupGain']).toBeUndefined();
        expect(out.group.goodEnough).toBe(true);
        continue;
      }
      if (clicked.length === 0) continue;
      probedStates++;
      // The best of the group's own gains, the same figure on every rollout.
      const best = Math.max(...clicked.map((r) => r.iou - out.state.iouBefore));
      expect(b['groupGain']).toBeCloseTo(best, 9);
      for (const r of rs) expect(r.rewardBreakdown['groupGain']).toBe(b['groupGain']);
      const byOracle = b['oracleGain'] !== undefined && b['oracleGain'] > rewards.improvableGain;
      const byGroup = best > rewards.improvableGain;
      expect(out.group.goodEnough).toBe(!(byOracle || byGroup));
      if (byGroup && !byOracle) overruled++;
      // A stop on a mask some click of the group improved is a wrong stop: 0, not 4.
      for (const r of rs) if (r.resultMask === undefined) expect(r.reward).toBe(out.group.goodEnough ? 4 : 0);
    }
    expect(probedStates).toBeGreaterThanOrEqual(6);
    expect(overruled).toBeGreaterThan(0);
  });

  it('applies a follow-up click drawn until the policy clicks (followUpDraws), not a single draw that may stop', async () => {
    const followUps = async (followUpDraws: number): Promise<number> => {
      let n = 0;
      for (let seed = 0; seed < 12; seed++) {
        const task = await makeTask('mask_understanding', seed % 5, { seed, groupSize: 2 });
        const out = await runActorTask(task, {
          ...deps(),
          stateOptions: { followUpProbability: 1, policyBoxProbability: 0, followUpDraws },
        });
        if (out.state.origin === 'follow-up') n++;
        expect(out.state.points.length > 0).toBe(out.state.origin === 'follow-up');
      }
      return n;
    };
    // This untrained policy stops on a good share of its draws: one draw leaves some states at the
    // box mask; drawing until a click makes every state a follow-up.
    const single = await followUps(1);
    const until = await followUps(8);
    expect(until).toBe(12);
    expect(single).toBeLessThan(12);
  });

  it('makes follow-up states up to followUpClicks clicks past the box mask, the clicks accumulated', async () => {
    const steps = new Map<number, number>();
    for (let seed = 0; seed < 12; seed++) {
      const task = await makeTask('mask_understanding', seed % 5, { seed, groupSize: 2 });
      const before = env.transitions;
      const out = await runActorTask(task, {
        ...deps(),
        sampling: { ...sampling, followUpClicks: 2 },
        stateOptions: { followUpProbability: 1, policyBoxProbability: 0 },
      });
      const { step, points } = out.group.observation;
      steps.set(step, (steps.get(step) ?? 0) + 1);
      expect(out.state.origin).toBe('follow-up');
      // The box mask, then one env call per click; each click adds one or two points to the prompt.
      expect(out.state.stateTransitions).toBe(step);
      expect(points.length).toBeGreaterThanOrEqual(step - 1);
      expect(points.length).toBeLessThanOrEqual(2 * (step - 1));
      expect(env.transitions - before).toBe(out.transitions);
    }
    expect([...steps.keys()].sort()).toEqual([2, 3]);
  });

  it("takes the share of states made from the policy's own box from sampling.policyBoxProbability", async () => {
    const origins = async (p: number): Promise<Set<string>> => {
      const seen = new Set<string>();
      for (let seed = 0; seed < 8; seed++) {
        const out = await runActorTask(
          await makeTask('mask_understanding', seed % 5, { seed, groupSize: 2 }),
          {
            ...deps(),
            sampling: { ...sampling, policyBoxProbability: p },
            stateOptions: { followUpProbability: 0 },
          },
        );
        seen.add(out.state.origin);
      }
      return seen;
    };
    expect([...(await origins(1))]).toEqual(['policy-box']);
    expect([...(await origins(0))]).toEqual(['gt-jitter']);
  });

  it('tiles one prepared observation into rows that sample exactly like preparing it n times', async () => {
    const s = await sampleAt(0);
    const obs = observationOf(s.image, s.query, s.gtMask);
    const prepared = policy.prepare([obs]);
    const tiled = tilePrepared(prepared, 3);
    const direct = policy.prepare([obs, obs, obs]);
    expect(tiled.size).toBe(3);
    // One observation's arrays, shared by the three rows: nothing is copied.
    expect(tiled.patches).toBe(prepared.patches);
    expect([...(tiled.rowOf ?? [])]).toEqual([0, 0, 0]);
    expect(tiled.imageSizes).toEqual(direct.imageSizes);
    for (const kind of ['box', 'refine'] as const) {
      const a = policy.sample(tiled, { kind, rng: new Rng('same'), temperature: 1 });
      const b = policy.sample(direct, { kind, rng: new Rng('same'), temperature: 1 });
      expect(a.map((x) => x.tokens)).toEqual(b.map((x) => x.tokens));
      a.forEach((x, i) => {
        const y = b[i]?.logprobs ?? new Float32Array();
        x.logprobs.forEach((lp, k) => expect(lp).toBeCloseTo(y[k] ?? NaN, 4));
      });
    }
  });

  it('fails (retryably) when the resolved image is not the one the learner named', async () => {
    const task = await makeTask('auxiliary', 0);
    const other = { ...task, observation: { ...task.observation, image: { digest: 'ab'.repeat(32) } } };
    const err = await runActorTask(other, deps()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SamVeteranError);
    expect(err).not.toBeInstanceOf(TaskRejectedError);
    expect((err as SamVeteranError).code).toBe('FAILED_PRECONDITION');
    expect((err as Error).message).toContain(`the task expects ${'ab'.repeat(32)}`);
  });

  it('rejects a task whose sample index is outside its dataset', async () => {
    const task = await makeTask('localization', 0);
    const bad = { ...task, dataset: 'synthetic:id-val?n=5&size=96', sampleId: '5' };
    await expect(runActorTask(bad, deps())).rejects.toThrow(TaskRejectedError);
    await expect(runActorTask(bad, deps())).rejects.toThrow(
      'index 5 is outside dataset synthetic:id-val of 5 samples',
    );
  });
});

describe('Actor lifecycle', () => {
  it('stops promptly (and idempotently) while still waiting for the first release', async () => {
    const broker = `actor-life-${randomUUID()}`;
    const bus = new InProcessBus({ broker });
    const env = grabcutEnv();
    const actor = new Actor({ id: 'idle', bus, env, config: ActorConfigSchema.parse({}) });
    try {
      await actor.start();
      expect(actor.state).toBe('ready');
      const t0 = Date.now();
      await Promise.all([actor.stop(), actor.stop()]);
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(actor.state).toBe('stopped');
      await actor.stop();
    } finally {
      await bus.close();
      await env.close();
      InProcessBroker.destroy(broker);
    }
  });

  it('lets several actors register their metrics in one shared registry', async () => {
    const broker = `x-${randomUUID()}`;
    const bus = new InProcessBus({ broker });
    const env = grabcutEnv();
    const registry = new Registry();
    try {
      const a = new Actor({ id: 'a1', bus, env, config: ActorConfigSchema.parse({}), metrics: registry });
      const b = new Actor({ id: 'a2', bus, env, config: ActorConfigSchema.parse({}), metrics: registry });
      a.metrics.versions(3, 5);
      b.metrics.versions(5, 5);
      const text = await registry.metrics();
      expect(text).toContain('actor_policy_version_lag{actor="a1"} 2');
      expect(text).toContain('actor_policy_version_lag{actor="a2"} 0');
    } finally {
      await bus.close();
      InProcessBroker.destroy(broker);
    }
  });

  it('refuses an id with spaces', async () => {
    const broker = `x-${randomUUID()}`;
    const bus = new InProcessBus({ broker });
    const env = grabcutEnv();
    try {
      expect(() => new Actor({ id: 'a b', bus, env, config: ActorConfigSchema.parse({}) })).toThrow(
        'id "a b" must be a non-empty id without spaces',
      );
    } finally {
      await bus.close();
      InProcessBroker.destroy(broker);
    }
  });
});
