/**
 * The learner's step thread (services/learner/src/step-thread.ts): a worker thread computes each
 * GRPO step's gradient at the weights sent with it, the learner applies it with its own AdamW.
 * Real tiny policies, real groups from the synthetic world, a real worker thread.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InProcessBroker, InProcessBus } from '../../core/bus/index.ts';
import { ensureTf, type PointerPolicy } from '../../core/policy/index.ts';
import {
  Feeder,
  Learner,
  StepThread,
  assembleBatch,
  buildGroupInput,
  grpoStep,
  grpoStepResult,
  type LearnerStepMetrics,
  type StepBatch,
} from '../../services/learner/index.ts';
import { DATASET, TestActor, issueTasks, learnerConfig, rolloutGroupFor, tinyPolicy } from './helpers.ts';

const cleanup: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  await ensureTf();
});

afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function bitsEqual(a: PointerPolicy, b: PointerPolicy): boolean {
  const wb = b.getWeights();
  return a.getWeights().every((w, i) => {
    const x = new Uint32Array(w.data.buffer);
    const y = new Uint32Array((wb[i]?.data ?? new Float32Array()).buffer);
    return x.length === y.length && x.every((v, k) => v === y[k]);
  });
}

async function realBatch(policy: PointerPolicy, cfg: ReturnType<typeof learnerConfig>): Promise<StepBatch> {
  const feeder = new Feeder({ runId: 'thread', config: cfg, datasetSpec: DATASET });
  const inputs = [];
  for (const t of await issueTasks(feeder, 4)) {
    const g = await rolloutGroupFor(t, policy, 4, 1);
    const outstanding = feeder.get(t.taskId);
    if (!outstanding) throw new Error('task not outstanding');
    inputs.push(buildGroupInput(g, outstanding, await feeder.sampleOf(outstanding), policy, 4));
  }
  return assembleBatch(inputs, 4);
}

/** A tiny policy, a batch of its groups, and a step thread holding it (closed after the test). */
async function threadWithBatch(seed: number) {
  const cfg = learnerConfig({ checkpointDir: 'unused' });
  const policy = await tinyPolicy(seed);
  const batch = await realBatch(policy, cfg);
  const thread = await StepThread.start(policy, policy.clone({ frozen: true }));
  cleanup.push(() => thread.close());
  return { cfg, policy, batch, thread };
}

/** A learner on a fresh in-process broker with a real test actor, stepThread as given. */
async function learnerWithActor(stepThread: 'worker' | 'main', onStep?: (m: LearnerStepMetrics) => void) {
  const name = `step-${stepThread}-${process.pid}`;
  cleanup.push(() => InProcessBroker.destroy(name));
  const dir = await mkdtemp(join(tmpdir(), `step-${stepThread}-`));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const policy = await tinyPolicy();
  const learner = new Learner({
    bus: new InProcessBus({ broker: name }),
    config: learnerConfig({ checkpointDir: dir, stepThread }),
    policy,
    runId: stepThread,
    ...(onStep ? { onStep } : {}),
  });
  const actor = new TestActor(new InProcessBus({ broker: name }), policy.clone(), { groupSize: 4 });
  actor.start();
  cleanup.push(() => actor.stop());
  return learner;
}

describe('StepThread', () => {
  it('gives the same weights and statistics, to the bit, as a step on the learner thread', async () => {
    const cfg = learnerConfig({
      checkpointDir: 'unused',
      learningRate: 3e-3,
      stopSupervision: 1,
      stopSupervisionTarget: 'reference',
    });
    const here = await tinyPolicy(5);
    const there = await tinyPolicy(5);
    for (const p of [here, there]) p.setTrainOptions({ learningRate: cfg.learningRate });
    const reference = here.clone({ frozen: true });
    const batch = await realBatch(here, cfg);
    const thread = await StepThread.start(there, reference);
    cleanup.push(() => thread.close());
    for (let step = 0; step < 3; step++) {
      const expected = grpoStep(here, reference, batch, cfg);
      const g = await thread.gradients(there.getWeights(), batch, cfg);
      const { gradNorm } = there.applyGradients(g.grads, g.loss);
      const got = grpoStepResult(batch, cfg, g, gradNorm);
      expect(got).toEqual(expected);
      expect(bitsEqual(here, there)).toBe(true);
    }
    // The steps did change the weights (the comparison is not between two untouched copies).
    const fresh = await tinyPolicy(5);
    expect(bitsEqual(fresh, here)).toBe(false);
  });

  it('fails a bad request alone, naming the field, and serves the next one', async () => {
    const { cfg, policy, batch, thread } = await threadWithBatch(6);
    const weights = policy.getWeights();
    const bad = weights.map((w, i) => (i === 0 ? { ...w, data: w.data.slice(1) } : w));
    await expect(thread.gradients(bad, batch, cfg)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining(weights[0]?.name as string),
    });
    expect(thread.failure).toBeUndefined();
    const g = await thread.gradients(weights, batch, cfg);
    expect(Number.isFinite(g.loss)).toBe(true);
    const names = new Set(weights.map((w) => w.name));
    expect(g.grads.size).toBeGreaterThan(0);
    for (const [n, grad] of g.grads) {
      expect(names.has(n), n).toBe(true);
      expect(grad.every(Number.isFinite), n).toBe(true);
    }
  });

  it('fails pending and later steps UNAVAILABLE when the worker dies', async () => {
    const { cfg, policy, batch, thread } = await threadWithBatch(7);
    // A message the worker cannot read throws outside its request handler: the thread dies with
    // the request behind it unanswered.
    (thread as unknown as { worker: Worker }).worker.postMessage(null);
    const pending = thread.gradients(policy.getWeights(), batch, cfg);
    await expect(pending).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(thread.failure?.message).toMatch(/step worker/);
    await expect(thread.gradients(policy.getWeights(), batch, cfg)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });
});

describe('Learner with a step thread', () => {
  it('keeps training on its own thread when the step worker dies, losing no batch', async () => {
    const applied: number[] = [];
    const learner = await learnerWithActor('worker', (m) => {
      applied.push(m.groups as number);
      if (m.step === 1) {
        // The thread dies between steps, with the next batch possibly already on its way.
        const thread = (learner as unknown as { stepThread: StepThread }).stepThread;
        (thread as unknown as { worker: Worker }).worker.postMessage(null);
      }
    });
    await learner.run(4);
    expect(learner.step).toBe(4);
    expect(learner.stats['stepThread.failed']).toBe(1);
    expect(learner.stats['steps.failed'] ?? 0).toBe(0);
    expect(applied).toEqual([4, 4, 4, 4]);
    await learner.stop();
  });

  it("runs on the learner's thread with stepThread main", async () => {
    const learner = await learnerWithActor('main');
    await learner.run(2);
    expect(learner.step).toBe(2);
    expect((learner as unknown as { stepThread?: StepThread }).stepThread).toBeUndefined();
    await learner.stop();
  });
});
