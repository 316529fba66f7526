import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActorConfigSchema } from '../../core/config/index.ts';
import { maskIou } from '../../core/mask/index.ts';
import type { PointerPolicy } from '../../core/policy/index.ts';
import { DEFAULT_REWARD_CONFIG } from '../../core/reward/index.ts';
import { GrpcEnvPort, runActorTask, SampleResolver, toEnvImageOf } from '../../services/actor/index.ts';
import { GrabCutModel } from '../../services/sam-env/src/models/grabcut.ts';
import { SamEnvServer } from '../../services/sam-env/src/server.ts';
import { makeTask, smallPolicy } from './fixtures.ts';

describe('GrpcEnvPort against a real sam-env server (GrabCut, port 0)', () => {
  let server: SamEnvServer;
  let env: GrpcEnvPort;
  let policy: PointerPolicy;

  beforeAll(async () => {
    server = await SamEnvServer.start({
      model: new GrabCutModel({ workingSize: 64, iterations: 2 }),
      host: '127.0.0.1',
      port: 0,
      maxGroupSize: 3,
    });
    env = new GrpcEnvPort({ addresses: `127.0.0.1:${server.port}`, deadlineMs: 10_000 });
    policy = await smallPolicy(5);
  });

  afterAll(async () => {
    await env?.close();
    await server?.shutdown();
  });

  it('reports the model and splits a group larger than maxGroupSize into several calls', async () => {
    const info = await env.info();
    expect(info.id).toBe('grabcut@64');
    const resolver = new SampleResolver();
    const task = await makeTask('localization', 1, { groupSize: 8 });
    const r = await resolver.resolve(task.dataset, task.sampleId);
    const image = toEnvImageOf(r);
    const box = r.sample.gtBox;
    const outs = await env.transitionGroup(
      image,
      Array.from({ length: 7 }, () => ({ box, points: [] })),
    );
    expect(outs).toHaveLength(7);
    expect(env.client.stats.calls).toBeGreaterThanOrEqual(4); // info + ceil(7 / 3)
    expect(maskIou(outs[0]!.mask, r.sample.gtMask)).toBeGreaterThan(0.3);
  });

  it('sends a new image with its first call as actors are configured by default, with no failed probe', async () => {
    const firstContact = ActorConfigSchema.parse({}).envFirstContact;
    expect(firstContact).toBe('send');
    const port = new GrpcEnvPort({ addresses: `127.0.0.1:${server.port}`, deadlineMs: 10_000, firstContact });
    const probing = new GrpcEnvPort({
      addresses: `127.0.0.1:${server.port}`,
      deadlineMs: 10_000,
      firstContact: 'probe',
    });
    try {
      const resolver = new SampleResolver();
      for (const [i, p] of [port, probing].entries()) {
        const task = await makeTask('localization', 10 + i, { groupSize: 2 });
        const image = toEnvImageOf(await resolver.resolve(task.dataset, task.sampleId));
        await p.transitionGroup(image, [{ box: [4, 4, 40, 40], points: [] }]);
        await p.transitionGroup(image, [{ box: [6, 6, 40, 40], points: [] }]);
      }
      // Two calls each: `send` delivers the bytes with the first and none is refused; `probe` is
      // refused once (NOT_FOUND) and resends.
      expect(port.client.stats.resends).toBe(0);
      expect(port.client.stats.bytesSent).toBeGreaterThan(0);
      expect(probing.client.stats.resends).toBe(1);
    } finally {
      await port.close();
      await probing.close();
    }
  });

  it('runs a mask-understanding task with previous mask, logits and clicks over the wire', async () => {
    const task = await makeTask('mask_understanding', 2, { groupSize: 8, seed: 4 });
    const out = await runActorTask(task, {
      actorId: 'a',
      env,
      weights: { current: () => ({ policy, version: 1 }) },
      resolver: new SampleResolver(),
      rewards: DEFAULT_REWARD_CONFIG,
      sampling: ActorConfigSchema.parse({}).sampling,
      envModelId: 'grabcut@64',
      attempt: 1,
    });
    expect(out.group.rollouts).toHaveLength(8);
    expect(out.transitions).toBeGreaterThan(0);
    // The state's box mask (and follow-up click), one transition per refining rollout, plus the
    // oracle probe of the `improvable` case rule when the state's mask is below GOOD ENOUGH and has
    // an error region to click.
    const refined = out.group.rollouts.filter((r) => r.resultMask !== undefined);
    const probed = out.state.oraclePrompt ? 1 : 0;
    expect(out.state.stateTransitions).toBe(out.state.origin === 'follow-up' ? 2 : 1);
    expect(out.state.stateTransitions + refined.length + probed).toBe(out.transitions);
    if (probed) {
      const gain = out.group.rollouts[0]?.rewardBreakdown['oracleGain'];
      expect(typeof gain).toBe('number');
      expect(out.group.goodEnough).toBe((gain as number) <= DEFAULT_REWARD_CONFIG.improvableGain);
    }
  });
});
