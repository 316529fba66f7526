/**
 * The learner over the JetStream bus against a real nats-server: tasks through the work queue,
 * groups through the stream, weights into the Object Store with the `latest` pointer in KV; then a
 * restarted learner resumes from its checkpoint on the same server.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JetStreamBus } from '../../core/bus/index.ts';
import { ensureTf, loadPolicy } from '../../core/policy/index.ts';
import { Learner, latestCheckpoint } from '../../services/learner/index.ts';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.ts';
import { TestActor, learnerConfig, tinyPolicy } from './helpers.ts';

let server: NatsServerHandle;
let dir: string;

beforeAll(async () => {
  await ensureTf();
  server = await startNatsServer();
  dir = await mkdtemp(join(tmpdir(), 'learner-js-'));
});

afterAll(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Learner on JetStream', () => {
  it('trains from groups over a real nats-server, publishes weights, and resumes from its checkpoint', async () => {
    const prefix = `learner_${process.pid}`;
    const opts = { prefix, groups: { ackWaitMs: 2000 } };
    const warm = await tinyPolicy(11);
    const busL = await JetStreamBus.connect(server.url, opts);
    const busA = await JetStreamBus.connect(server.url, opts);
    const cfg = learnerConfig({ checkpointDir: join(dir, 'ckpt'), checkpointEverySteps: 2 });
    const trained = warm.clone({ frozen: false });
    const learner = new Learner({ bus: busL, config: cfg, policy: trained, runId: 'js' });
    const actor = new TestActor(busA, warm.clone(), { groupSize: 4 });
    try {
      await learner.start();
      actor.start();
      await learner.run(2);
      expect(learner.version).toBe(3);
      const latest = await busA.getLatest();
      expect(latest?.version).toBe(3);
      const bytes = await busA.getWeights(3, { digest: latest?.digest as string });
      const got = await loadPolicy(bytes);
      expect(got.getWeights().map((w) => Array.from(w.data))).toEqual(
        trained.getWeights().map((w) => Array.from(w.data)),
      );
      await learner.stop();
    } finally {
      await learner.stop();
      await busL.close();
    }
    const ckpt = await latestCheckpoint(cfg.checkpointDir);
    expect(ckpt?.state.step).toBe(2);

    // A new learner process (new connection, same durable consumer) continues from step 2.
    const busB = await JetStreamBus.connect(server.url, opts);
    const b = new Learner({
      bus: busB,
      config: cfg,
      policy: warm.clone({ frozen: false }),
      reference: warm.clone(),
      runId: 'js',
    });
    try {
      await b.start();
      expect(b.step).toBe(2);
      await b.run(3);
      expect(b.step).toBe(3);
      expect(b.stats['groups.duplicate'] ?? 0).toBe(0);
      const ids = (await latestCheckpoint(cfg.checkpointDir))?.state.appliedGroupIds ?? [];
      expect(new Set(ids).size).toBe(ids.length);
    } finally {
      await b.stop();
      await actor.stop();
      await busB.close();
      await busA.close();
    }
  });
});
