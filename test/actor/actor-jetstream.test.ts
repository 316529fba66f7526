import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JetStreamBus } from '../../core/bus/index.ts';
import { ActorConfigSchema } from '../../core/config/index.ts';
import type { PointerPolicy } from '../../core/policy/index.ts';
import { Actor } from '../../services/actor/index.ts';
import type { LocalEnv } from '../../services/sam-env/src/local-env.ts';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.ts';
import {
  collectGroups,
  grabcutEnv,
  makeTask,
  publishTask,
  releaseWeights,
  smallPolicy,
  until,
} from './fixtures.ts';

describe('Actor over JetStream (real nats-server)', () => {
  let server: NatsServerHandle;
  let policy: PointerPolicy;
  let policy2: PointerPolicy;
  let env: LocalEnv;

  beforeAll(async () => {
    server = await startNatsServer();
    policy = await smallPolicy(1);
    policy2 = await smallPolicy(2);
    env = grabcutEnv();
  });

  afterAll(async () => {
    await env.close();
    await server?.stop();
  });

  it('runs tasks into de-duplicated groups, acks them, and hot-swaps weights', async () => {
    const prefix = `actor_${randomUUID().slice(0, 8)}`;
    const learnerBus = await JetStreamBus.connect(server.url, { prefix });
    const actorBus = await JetStreamBus.connect(server.url, { prefix });
    const actor = new Actor({
      id: 'actor-js',
      bus: actorBus,
      env,
      config: ActorConfigSchema.parse({ concurrency: 2, workingIntervalMs: 200 }),
    });
    try {
      await releaseWeights(learnerBus, policy, 1);
      const loc = await makeTask('localization', 0);
      const mu = await makeTask('mask_understanding', 1);
      await publishTask(learnerBus, loc);
      await publishTask(learnerBus, mu);
      // The same task published again under another task msgId: delivered twice, one group.
      await publishTask(learnerBus, mu, `${mu.taskId}#again`);
      await actor.start();

      await until(() => actor.stats.tasksProcessed === 3, 30_000, 'three deliveries processed');
      const groups = await collectGroups(learnerBus, 3, 2000);
      expect(groups.map((g) => g.taskId).sort()).toEqual([loc.taskId, mu.taskId].sort());
      expect(actor.stats.duplicateGroups).toBe(1);
      for (const g of groups) {
        expect(g.rollouts).toHaveLength(8);
        expect(g.policyVersion).toBe(1);
      }
      await until(async () => (await learnerBus.pendingTasks()) === 0, 5000, 'tasks acked');

      await releaseWeights(learnerBus, policy2, 2);
      await until(() => actor.stats.policyVersion === 2, 10_000, 'version 2 swapped in');
      expect(actor.stats.lastSwap?.latencyMs).toBeLessThan(10_000);
      const aux = await makeTask('auxiliary', 2);
      await publishTask(learnerBus, aux);
      const [g] = await collectGroups(learnerBus, 1, 20_000);
      expect(g?.taskId).toBe(aux.taskId);
      expect(g?.policyVersion).toBe(2);

      const metrics = await actor.metrics.registry.metrics();
      expect(metrics).toMatch(/actor_groups_published_total\{actor="actor-js",kind="localization"\} 1/);
      expect(metrics).toMatch(/actor_policy_version\{actor="actor-js"\} 2/);
    } finally {
      await actor.stop();
      await actorBus.close();
      await learnerBus.close();
    }
  });
});
