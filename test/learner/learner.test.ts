/**
 * The learner over the in-process bus, with a real tiny policy, the real synthetic world and a
 * minimal real actor (test/learner/helpers.ts): feeding limits, steps and weight broadcast,
 * dropping stale and malformed groups, learning on a fixed batch, and checkpoint/resume without
 * applying any group twice.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InProcessBroker, InProcessBus } from '../../core/bus/index.ts';
import { computeAdvantages } from '../../core/grpo/index.ts';
import {
  decodePolicyFile,
  ensureTf,
  loadPolicy,
  MAX_ACTION_TOKENS,
  policyToBytes,
  TYPE_STOP,
  type PointerPolicy,
} from '../../core/policy/index.ts';
import {
  Feeder,
  Learner,
  assembleBatch,
  buildGroupInput,
  grpoStep,
  latestCheckpoint,
  type LearnerStepMetrics,
  type OutstandingTask,
} from '../../services/learner/index.ts';
import { decodeTask, encodeRolloutGroup, type RolloutGroup, type Task } from '../../core/wire/index.ts';
import { datasetFromSpec, type Sample } from '../../core/data/index.ts';
import { SampleResolver } from '../../services/actor/index.ts';
import {
  DATASET,
  TestActor,
  issueTasks,
  learnerConfig,
  rolloutGroupFor,
  tinyPolicy,
  until,
} from './helpers.ts';

const cleanup: (() => Promise<void> | void)[] = [];
let dirN = 0;

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `learner-${dirN++}-`));
  cleanup.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

function broker(): string {
  const name = `learner-test-${process.pid}-${dirN++}`;
  cleanup.push(() => InProcessBroker.destroy(name));
  return name;
}

beforeAll(async () => {
  await ensureTf();
});

afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function weightsEqual(a: PointerPolicy, b: PointerPolicy): boolean {
  const wa = a.getWeights();
  const wb = b.getWeights();
  return wa.every((w, i) => {
    const o = wb[i]?.data;
    return o !== undefined && w.data.length === o.length && w.data.every((v, k) => v === o[k]);
  });
}

describe('Learner feeder', () => {
  it('keeps tasks in flight within both the cap and the staleness budget', async () => {
    const name = broker();
    const bus = new InProcessBus({ broker: name });
    // Staleness budget (maxStaleness + 1) · batchStates = 2 · 4 = 8 < maxInFlight 16.
    const l1 = new Learner({
      bus,
      config: learnerConfig({ checkpointDir: await tempDir() }),
      policy: await tinyPolicy(),
      runId: 'feed-a',
    });
    await l1.start();
    expect(l1.inFlight).toBe(8);
    expect(await bus.pendingTasks()).toBe(8);
    await l1.stop();
    InProcessBroker.destroy(name);

    // The cap binds: maxInFlight 3 < 8.
    const bus2 = new InProcessBus({ broker: name });
    const cfg = learnerConfig({ checkpointDir: await tempDir(), maxInFlight: 3 });
    const l2 = new Learner({ bus: bus2, config: cfg, policy: await tinyPolicy(), runId: 'feed-b' });
    await l2.start();
    expect(l2.inFlight).toBe(3);
    const tasks = await bus2.pullTasks({ max: 10, expiresMs: 50 });
    expect(tasks.map((t) => t.id)).toEqual(['feed-b:0', 'feed-b:1', 'feed-b:2']);
    const task = decodeTask((tasks[0] as (typeof tasks)[number]).payload);
    expect(task).toMatchObject({ taskId: 'feed-b:0', dataset: DATASET, groupSize: 4, minPolicyVersion: 1 });
    expect(Number.isInteger(Number(task.sampleId))).toBe(true);
    await l2.stop();
  });

  it('draws the same tasks again from a restored position', async () => {
    const cfg = learnerConfig({ checkpointDir: 'unused' });
    const a = new Feeder({ runId: 'r', config: cfg, datasetSpec: DATASET, now: () => 0 });
    const published: Task[] = [];
    const fakeBus = {
      publishTask: (_id: string, bytes: Uint8Array) => {
        published.push(decodeTask(bytes));
        return Promise.resolve({ seq: published.length, duplicate: false });
      },
    } as unknown as InProcessBus;
    await a.topUp(fakeBus, 1, 2);
    const saved = a.state();
    await a.topUp(fakeBus, 1, 3);
    const b = new Feeder({ runId: 'r', config: cfg, datasetSpec: DATASET, state: saved, now: () => 0 });
    await b.topUp(fakeBus, 1, 3);
    expect(published.slice(5)).toEqual(published.slice(2, 5));
  });

  it('takes samples from a shared source, so an actor in the same process reads them from memory', async () => {
    const cfg = learnerConfig({ checkpointDir: 'unused' });
    let generated = 0;
    const shared = new SampleResolver({
      open: async (spec) => {
        const ds = await datasetFromSpec(spec);
        return {
          ...ds,
          size: ds.size,
          get: (i: number) => {
            generated++;
            return ds.get(i);
          },
        } as typeof ds;
      },
    });
    const f = new Feeder({ runId: 'r', config: cfg, datasetSpec: DATASET, samples: shared, now: () => 0 });
    const own = new Feeder({ runId: 'r', config: cfg, datasetSpec: DATASET, now: () => 0 });
    const published: Task[] = [];
    const bus = (out: Task[]) =>
      ({
        publishTask: (_id: string, bytes: Uint8Array) => {
          out.push(decodeTask(bytes));
          return Promise.resolve({ seq: out.length, duplicate: false });
        },
      }) as unknown as InProcessBus;
    await f.topUp(bus(published), 1, 3);
    const plain: Task[] = [];
    await own.topUp(bus(plain), 1, 3);
    // Same tasks as a feeder with its own datasets (digests included) ...
    expect(published).toEqual(plain);
    expect(generated).toBe(new Set(published.map((t) => t.sampleId)).size);
    // ... and the actor's lookups of those samples generate nothing more.
    for (const t of published) {
      const r = await shared.resolve(t.dataset, t.sampleId);
      expect(r.digest).toBe(t.observation.image.digest);
    }
    expect(generated).toBe(new Set(published.map((t) => t.sampleId)).size);
  });

  it('returns from a top-up even when every task is settled as soon as it is published', async () => {
    // An in-process actor can answer, and the learner drop (stale) and settle, a task before the next
    // one is drawn; topUp must still return (it once looped forever, starving the timers).
    const cfg = learnerConfig({ checkpointDir: 'unused' });
    const f = new Feeder({ runId: 'r', config: cfg, datasetSpec: DATASET, now: () => 0 });
    let published = 0;
    const bus = {
      publishTask: (id: string) => {
        published++;
        // Stop after 1000 so that a regression fails the assertion below instead of hanging.
        // A few microtasks later: after topUp has registered the task, before it draws the next.
        const later = (k: number, fn: () => void): void =>
          queueMicrotask(k > 0 ? () => later(k - 1, fn) : fn);
        if (published < 1000) later(3, () => f.settle(id));
        return Promise.resolve({ seq: published, duplicate: false });
      },
    } as unknown as InProcessBus;
    const n = await f.topUp(bus, 1);
    expect(n).toBe(published);
    expect(n).toBeLessThanOrEqual(Math.min(cfg.maxInFlight, (cfg.maxStaleness + 1) * cfg.batchStates));
    expect(n).toBeGreaterThan(0);
  });

  it('checkpoints the position before a draw whose sample is still loading', async () => {
    const cfg = learnerConfig({ checkpointDir: 'unused' });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const slow = new SampleResolver({
      open: async (spec) => {
        const ds = await datasetFromSpec(spec);
        return { ...ds, size: ds.size, get: async (i: number) => (await gate, ds.get(i)) } as typeof ds;
      },
    });
    const f = new Feeder({ runId: 'r', config: cfg, datasetSpec: DATASET, samples: slow, now: () => 0 });
    const before = f.state();
    const bus = {
      publishTask: () => Promise.resolve({ seq: 1, duplicate: false }),
    } as unknown as InProcessBus;
    const pending = f.topUp(bus, 1, 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(f.state()).toEqual(before); // the task being drawn is not counted yet
    expect(f.nextSeq).toBe(before.seq);
    release();
    expect(await pending).toBe(1);
    expect(f.state().seq).toBe(before.seq + 1);
  });

  it('issues no more tasks than maxTasksPerSecond allows, after a burst of the in-flight limit', async () => {
    // In-flight limit min(16, 2 · 4) = 8; cap 2 tasks/s on a clock the test moves.
    const cfg = learnerConfig({ checkpointDir: 'unused', maxTasksPerSecond: 2 });
    let t = 1_000;
    const f = new Feeder({ runId: 'r', config: cfg, datasetSpec: DATASET, now: () => t });
    const ids: string[] = [];
    const bus = {
      publishTask: (id: string) => {
        ids.push(id);
        return Promise.resolve({ seq: ids.length, duplicate: false });
      },
    } as unknown as InProcessBus;
    expect(await f.topUp(bus, 1)).toBe(8);
    expect(f.rateWaitMs).toBe(0); // no room in flight: a settle, not the clock, makes room
    for (const id of ids.splice(0, 3)) f.settle(id);
    expect(await f.topUp(bus, 1)).toBe(0);
    expect(f.rateWaitMs).toBe(500);
    t += 499;
    expect(await f.topUp(bus, 1)).toBe(0);
    t += 1;
    expect(await f.topUp(bus, 1)).toBe(1);
    t += 10_000; // the bucket refills to at most the room left (2)
    expect(await f.topUp(bus, 1)).toBe(2);
    expect(f.inFlight).toBe(8);
  });

  it('keeps feeding under the rate cap without steps to trigger it', async () => {
    const bus = new InProcessBus({ broker: broker() });
    const cfg = learnerConfig({ checkpointDir: await tempDir(), maxInFlight: 3, maxTasksPerSecond: 20 });
    const l = new Learner({ bus, config: cfg, policy: await tinyPolicy(), runId: 'rate' });
    const t0 = Date.now();
    await l.start();
    expect(l.inFlight).toBe(3);
    // Three rounds: settle the tasks in flight (as applying their groups would) and feed once. From the
    // second round on the bucket is empty when the round starts, so only the learner's own timer
    // can bring the in-flight count back.
    const inner = l as unknown as { feeder: Feeder; feed(): Promise<void> };
    let settled = 0;
    for (let round = 0; round < 3; round++) {
      const pulled = await bus.pullTasks({ max: 3, expiresMs: 50 });
      expect(pulled).toHaveLength(3);
      for (const m of pulled) inner.feeder.settle(m.id);
      settled += pulled.length;
      await inner.feed();
      await until(() => l.inFlight === 3, 5_000);
    }
    // Beyond the first burst (the bucket starts full, at the in-flight limit), 20 tasks/s at most.
    expect(settled).toBe(9);
    expect(settled).toBeLessThanOrEqual(1 + (20 * (Date.now() - t0)) / 1000);
    await l.stop();
  });

  it('keeps feeding under the rate cap when tokens come while a slow publish is under way', async () => {
    // A publish that takes 150 ms lets 3 tokens (at 20/s) accrue while the top-up runs: after it the
    // bucket is not empty and there is room, so no wait is due, and the learner must still come back.
    let slow = false;
    class SlowBus extends InProcessBus {
      override async publishTask(msgId: string, data: Uint8Array) {
        if (slow) await new Promise((r) => setTimeout(r, 150));
        return super.publishTask(msgId, data);
      }
    }
    const bus = new SlowBus({ broker: broker() });
    const cfg = learnerConfig({ checkpointDir: await tempDir(), maxInFlight: 3, maxTasksPerSecond: 20 });
    const l = new Learner({ bus, config: cfg, policy: await tinyPolicy(), runId: 'rate-slow' });
    await l.start();
    const pulled = await bus.pullTasks({ max: 3, expiresMs: 50 });
    expect(pulled).toHaveLength(3);
    const inner = l as unknown as { feeder: Feeder; feed(): Promise<void> };
    for (const m of pulled) inner.feeder.settle(m.id);
    slow = true;
    await inner.feed();
    expect(l.inFlight).toBeLessThan(3);
    await until(() => l.inFlight === 3, 3_000);
    await l.stop();
  });
});

describe('Learner steps', () => {
  it('applies GRPO steps from real groups and publishes verifiable weights', async () => {
    const name = broker();
    const bus = new InProcessBus({ broker: name });
    const policy = await tinyPolicy();
    const steps: LearnerStepMetrics[] = [];
    const start = policy.getWeights();
    const afterEachStep: ReturnType<PointerPolicy['getWeights']>[] = [];
    const learner = new Learner({
      bus,
      config: learnerConfig({
        checkpointDir: await tempDir(),
        checkpointEverySteps: 50,
        weightAverageDecay: 0.5,
      }),
      policy,
      runId: 'steps',
      onStep: (m) => {
        steps.push(m);
        afterEachStep.push(policy.getWeights());
      },
    });
    await learner.start();
    const first = await bus.getLatest();
    expect(first?.version).toBe(1);
    const actor = new TestActor(new InProcessBus({ broker: name }), policy.clone(), { groupSize: 4 });
    actor.start();
    cleanup.push(() => actor.stop());
    await learner.run(3);
    expect(learner.step).toBe(3);
    expect(learner.version).toBe(4);
    expect(steps.map((m) => m.step)).toEqual([1, 2, 3]);
    const m = steps[2] as LearnerStepMetrics;
    for (const key of [
      'loss',
      'kl',
      'clipFraction',
      'ratio.mean',
      'advantage.std',
      'reward.mean',
      'staleness.mean',
      'time.computeMs',
      'time.waitMs',
    ]) {
      expect(Number.isFinite(m[key]), key).toBe(true);
    }
    expect(m.groups).toBe(4);
    expect(m['advantage.std']).toBeGreaterThan(0);
    // Step 1 is on-policy: every ratio is exactly 1 and nothing is clipped.
    expect(steps[0]?.['ratio.mean']).toBeCloseTo(1, 5);
    expect(steps[0]?.clipFraction).toBe(0);

    const latest = await bus.getLatest();
    expect(latest?.version).toBe(4);
    const bytes = await bus.getWeights(4, { digest: latest?.digest as string });
    const published = await loadPolicy(bytes);
    expect(weightsEqual(published, policy)).toBe(true);
    await expect(bus.getWeights(4, { digest: `sha256:${'0'.repeat(64)}` })).rejects.toThrow(/digest/);

    // The weight average is avg ← 0.5·avg + 0.5·w after each step, from the starting weights; the
    // published weights are the trained ones, not the average.
    const averaged = learner.averagedPolicy() as PointerPolicy;
    const got = averaged.getWeights();
    let moved = 0;
    got.forEach((g, i) => {
      const expected = Float64Array.from(start[i]?.data ?? []);
      for (const w of afterEachStep)
        expected.forEach((v, k) => (expected[k] = 0.5 * v + 0.5 * (w[i]?.data[k] ?? NaN)));
      g.data.forEach((v, k) => {
        expect(Math.abs(v - (expected[k] as number))).toBeLessThan(1e-6);
        if (v !== policy.getWeights()[i]?.data[k]) moved++;
      });
    });
    expect(moved).toBeGreaterThan(0);
    expect(weightsEqual(averaged, policy)).toBe(false);
    averaged.dispose();
    await learner.stop();
    expect(learner.state).toBe('stopped');
    await learner.stop(); // idempotent
  });

  it('raises the log-probability of high-advantage actions on a fixed batch', async () => {
    const policy = await tinyPolicy(3);
    const reference = policy.clone({ frozen: true });
    const cfg = learnerConfig({ checkpointDir: 'unused', learningRate: 3e-3 });
    const feeder = new Feeder({ runId: 'fixed', config: cfg, datasetSpec: DATASET });
    const tasks = await issueTasks(feeder, 4);
    const inputs = [];
    for (const t of tasks) {
      const g = await rolloutGroupFor(t, policy, 4, 1);
      const outstanding = feeder.get(t.taskId);
      if (!outstanding) throw new Error('task not outstanding');
      inputs.push(buildGroupInput(g, outstanding, await feeder.sampleOf(outstanding), policy, 4));
    }
    const batch = assembleBatch(inputs, 4);
    const adv = computeAdvantages('reinforce++', batch.rewards, 4);
    const seqLogp = (): number[] => {
      const lps = policy.logProbsSync(batch.prepared, batch.tokens);
      return lps.map((row) => row.reduce((a, b) => a + b, 0));
    };
    const before = seqLogp();
    for (let i = 0; i < 5; i++) grpoStep(policy, reference, batch, cfg);
    const after = seqLogp();
    const delta = (sign: number): number => {
      let s = 0;
      let n = 0;
      adv.forEach((a, i) => {
        if (Math.sign(a) === sign) {
          s += (after[i] as number) - (before[i] as number);
          n++;
        }
      });
      return s / n;
    };
    expect(delta(1)).toBeGreaterThan(0);
    expect(delta(-1)).toBeLessThan(0);
    expect(batch.logpOld.length).toBe(16 * MAX_ACTION_TOKENS);
    // The groups' draw weights reach the batch (1 where a rollout has none).
    expect(Array.from(batch.drawWeights)).toEqual(inputs.flatMap((g) => Array.from(g.drawWeights)));
  });

  it('weights advantages by the draw weights only under drawWeights', async () => {
    const policy = await tinyPolicy(5);
    const reference = policy.clone({ frozen: true });
    const feeder = new Feeder({
      runId: 'weighted',
      config: learnerConfig({ checkpointDir: 'unused' }),
      datasetSpec: DATASET,
    });
    const tasks = await issueTasks(feeder, 2);
    const inputs = [];
    for (const t of tasks) {
      const g = await rolloutGroupFor(t, policy, 4, 1);
      // One rollout stands for most of the draws, the others for a few each.
      const weighted = {
        ...g,
        rollouts: g.rollouts.map((r, i) => ({ ...r, drawWeight: i === 0 ? 2.5 : 0.5 })),
      };
      const outstanding = feeder.get(t.taskId);
      if (!outstanding) throw new Error('task not outstanding');
      inputs.push(buildGroupInput(weighted, outstanding, await feeder.sampleOf(outstanding), policy, 4));
    }
    const batch = assembleBatch(inputs, 4);
    expect(Array.from(batch.drawWeights)).toEqual([2.5, 0.5, 0.5, 0.5, 2.5, 0.5, 0.5, 0.5]);
    // Same batch, same weights: the two settings move the policy differently.
    const step = (drawWeights: boolean) => {
      const p = policy.clone({ frozen: false });
      grpoStep(
        p,
        reference,
        batch,
        learnerConfig({ checkpointDir: 'unused', learningRate: 3e-3, drawWeights }),
      );
      return p.logProbsSync(batch.prepared, batch.tokens).map((row) => row.reduce((a, b) => a + b, 0));
    };
    const plain = step(false);
    const weighted = step(true);
    expect(plain).not.toEqual(weighted);
    // Without the option the weights are ignored: the same step as a batch of weight-1 rollouts.
    const ones = { ...batch, drawWeights: new Float64Array(8).fill(1) };
    const p1 = policy.clone({ frozen: false });
    grpoStep(p1, reference, ones, learnerConfig({ checkpointDir: 'unused', learningRate: 3e-3 }));
    expect(
      p1.logProbsSync(batch.prepared, batch.tokens).map((row) => row.reduce((a, b) => a + b, 0)),
    ).toEqual(plain);
  });

  it("stopSupervision pulls mask-understanding states' π(stop) towards their case, and reports it per case", async () => {
    const policy = await tinyPolicy(8);
    const reference = policy.clone({ frozen: true });
    const config = learnerConfig({
      checkpointDir: 'unused',
      taskMix: { localization: 0, maskUnderstanding: 1, auxiliary: 0 },
    });
    const feeder = new Feeder({ runId: 'stop-sup', config, datasetSpec: DATASET });
    const tasks = await issueTasks(feeder, 4);
    const groups: { g: RolloutGroup; outstanding: OutstandingTask; sample: Sample }[] = [];
    for (const t of tasks) {
      expect(t.kind).toBe('mask_understanding');
      const g = await rolloutGroupFor(t, policy, 4, 1);
      // Rollout 0 stops; every reward is equal, so GRPO's own term has no gradient and only the
      // supervised term (and weight decay) moves the policy.
      const { action: _a, ...first } = g.rollouts[0]!;
      const stop = { ...first, tokenIds: [TYPE_STOP], behaviourLogprobs: [-1], formatError: 'stop' };
      const outstanding = feeder.get(t.taskId);
      if (!outstanding) throw new Error('task not outstanding');
      groups.push({
        g: { ...g, rollouts: [stop, ...g.rollouts.slice(1)].map((r) => ({ ...r, reward: 1 })) },
        outstanding,
        sample: await feeder.sampleOf(outstanding),
      });
    }
    const batchOf = (cases: readonly boolean[]) =>
      assembleBatch(
        groups.map(({ g, outstanding, sample }, k) =>
          buildGroupInput({ ...g, goodEnough: cases[k] as boolean }, outstanding, sample, policy, 4),
        ),
        4,
      );
    const pStop = (p: PointerPolicy, batch: ReturnType<typeof batchOf>) =>
      [0, 4, 8, 12].map((row) => Math.exp(p.logProbsSync(batch.prepared, batch.tokens)[row]![0]!));
    const run = (cases: readonly boolean[], stopSupervision: number) => {
      const batch = batchOf(cases);
      const p = policy.clone({ frozen: false });
      const cfg = learnerConfig({ checkpointDir: 'unused', learningRate: 3e-3, stopSupervision });
      const first = grpoStep(p, reference, batch, cfg);
      for (let i = 0; i < 4; i++) grpoStep(p, reference, batch, cfg);
      return { first, before: pStop(policy, batch), after: pStop(p, batch) };
    };
    const ce = (ps: readonly number[], cases: readonly boolean[]) =>
      ps.reduce((a, p, i) => a - (cases[i] ? Math.log(p) : Math.log(1 - p + 1e-6)), 0) / ps.length;

    const mixed = [true, false, true, false];
    const sup = run(mixed, 1);
    // Reported per case before the update: the policy's own π(stop) on those states.
    expect(sup.first.stopProbGoodEnough).toBeCloseTo((sup.before[0]! + sup.before[2]!) / 2, 5);
    expect(sup.first.stopProbNeedsRefinement).toBeCloseTo((sup.before[1]! + sup.before[3]!) / 2, 5);
    // −[y log p + (1 − y) log(1 − p)] averaged over the four states, and lower after the steps.
    expect(sup.first.stopSupervisionLoss).toBeCloseTo(ce(sup.before, mixed), 4);
    expect(ce(sup.after, mixed)).toBeLessThan(ce(sup.before, mixed) - 0.01);
    expect(run(mixed, 0).first.stopSupervisionLoss).toBe(0);
    // All GOOD ENOUGH: every state's π(stop) rises; all NEEDS REFINEMENT: every one falls; without
    // the term only weight decay acts, far less.
    for (const good of [true, false]) {
      const cases = [good, good, good, good];
      const on = run(cases, 1);
      const off = run(cases, 0);
      for (const [i, p] of on.after.entries()) {
        const moved = p - on.before[i]!;
        expect(good ? moved : -moved).toBeGreaterThan(0.01);
        expect(Math.abs(off.after[i]! - off.before[i]!)).toBeLessThan(Math.abs(moved) / 5);
      }
    }

    // Target `reference`: π(stop) is pulled back to the warm start's, whatever the cases say.
    const allGood = [true, true, true, true];
    const batch = batchOf(allGood);
    const drifted = policy.clone({ frozen: false });
    const caseCfg = learnerConfig({ checkpointDir: 'unused', learningRate: 3e-3, stopSupervision: 1 });
    for (let i = 0; i < 5; i++) grpoStep(drifted, reference, batch, caseCfg);
    const ref = pStop(policy, batch);
    const away = pStop(drifted, batch);
    const anchorCfg = learnerConfig({
      checkpointDir: 'unused',
      learningRate: 3e-3,
      stopSupervision: 1,
      stopSupervisionTarget: 'reference',
    });
    // A fresh optimizer: Adam's momentum from the steps above would carry π(stop) on upwards.
    const anchored = drifted.clone({ frozen: false });
    const first = grpoStep(anchored, reference, batch, anchorCfg);
    // Soft-label cross-entropy: −[p_ref log p + (1 − p_ref) log(1 − p)] over the four states.
    const softCe =
      away.reduce((a, p, i) => a - (ref[i]! * Math.log(p) + (1 - ref[i]!) * Math.log(1 - p + 1e-6)), 0) /
      away.length;
    expect(first.stopSupervisionLoss).toBeCloseTo(softCe, 4);
    for (let i = 0; i < 4; i++) grpoStep(anchored, reference, batch, anchorCfg);
    const back = pStop(anchored, batch);
    for (const [i, p] of back.entries()) {
      expect(away[i]! - ref[i]!).toBeGreaterThan(0.01);
      expect(Math.abs(p - ref[i]!)).toBeLessThan(Math.abs(away[i]! - ref[i]!) * 0.8);
    }
  });

  it('drops and counts stale and malformed groups, acking them, and keeps training', async () => {
    const name = broker();
    const bus = new InProcessBus({ broker: name, groups: { ackWaitMs: 200 } });
    const policy = await tinyPolicy();
    const cfg = learnerConfig({ checkpointDir: await tempDir(), maxStaleness: 0 });
    const learner = new Learner({ bus, config: cfg, policy, runId: 'drop' });
    await learner.start();
    await bus.publishGroup('garbage', new Uint8Array([1, 2, 3, 4, 5]));
    // Task 0 is answered with a policy version far behind: stale (maxStaleness 0, learner at v1).
    const actor = new TestActor(new InProcessBus({ broker: name }), policy.clone(), {
      groupSize: 4,
      versionFor: (t) => (t.taskId === 'drop:0' ? 0 : undefined),
    });
    actor.start();
    cleanup.push(() => actor.stop());
    await learner.run(1);
    await until(() => (learner.stats['groups.stale'] ?? 0) >= 1, 5000, 'a stale group');
    expect(learner.stats['groups.invalid']).toBe(1);
    expect(learner.step).toBe(1);
    // A group for a task the learner never issued is dropped too.
    const stray = await rolloutGroupFor({ ...decodeTaskLike('drop:999') }, policy, 4, 1);
    await bus.publishGroup('stray', encodeRolloutGroup(stray));
    await until(() => (learner.stats['groups.unknown'] ?? 0) === 1, 5000, 'an unknown group');
    await learner.stop();
    // Nothing dropped comes back: acked, not left for redelivery.
    const again = new InProcessBus({ broker: name });
    const sub = again.consumeGroups();
    const seen: string[] = [];
    const reader = (async () => {
      for await (const m of sub) seen.push(m.id);
    })();
    await new Promise((r) => setTimeout(r, 400));
    await sub.stop();
    await reader;
    expect(seen).not.toContain('garbage');
    expect(seen).not.toContain('drop:0');
    expect(seen).not.toContain('stray');
  });
});

function decodeTaskLike(taskId: string): Task {
  return {
    taskId,
    kind: 'localization',
    dataset: DATASET,
    sampleId: '0',
    observation: { image: { digest: '0'.repeat(64) }, query: 'x', points: [], step: 0 },
    gtMask: { height: 1, width: 1, counts: '01' },
    gtBox: [0, 0, 1, 1],
    groupSize: 4,
    seed: 1,
    minPolicyVersion: 1,
    createdAtMs: 0,
  };
}

describe('Learner checkpoints', () => {
  it('resumes with identical weights, optimizer, step and feeder, and skips an already-applied group', async () => {
    const name = broker();
    const dir = await tempDir();
    const warm = await tinyPolicy(7);
    const busA = new InProcessBus({ broker: name, groups: { ackWaitMs: 300 } });
    const published = new Map<string, Uint8Array>();
    const actor = new TestActor(new InProcessBus({ broker: name }), warm.clone(), {
      groupSize: 4,
      published,
    });
    const a = new Learner({
      bus: busA,
      config: learnerConfig({ checkpointDir: dir }),
      policy: warm.clone({ frozen: false }),
      runId: 'ck',
    });
    await a.start();
    actor.start();
    await a.run(2);
    await actor.stop();
    await a.stop();
    const ckpt = await latestCheckpoint(dir);
    expect(ckpt?.state.step).toBe(2);
    expect(ckpt?.state.appliedGroupIds).toHaveLength(8);
    const aWeights = decodePolicyFile(ckpt?.policyBytes as Uint8Array).manifest.sha256;

    const resumed = warm.clone({ frozen: false });
    const b = new Learner({
      bus: new InProcessBus({ broker: name, groups: { ackWaitMs: 300 } }),
      config: learnerConfig({ checkpointDir: dir }),
      policy: resumed,
      reference: warm.clone(),
      runId: 'ck',
    });
    await b.start();
    expect(b.step).toBe(2);
    expect(b.version).toBe(a.version);
    expect(decodePolicyFile(policyToBytes(resumed)).manifest.sha256).toBe(aWeights);
    const optA = ckpt?.optimizer;
    const optB = await resumed.getOptimizerState();
    expect(optB?.iterations).toBe(optA?.iterations);
    expect(optB?.moments[3]?.data).toEqual(optA?.moments[3]?.data);
    // The weight average is checkpointed and resumed too.
    expect(ckpt?.averagedPolicyBytes).toBeDefined();
    const avgA = decodePolicyFile(ckpt?.averagedPolicyBytes as Uint8Array).manifest.sha256;
    expect(avgA).not.toBe(aWeights);
    expect(decodePolicyFile(b.averagedPolicyBytes() as Uint8Array).manifest.sha256).toBe(avgA);

    // A redelivered copy of a group applied before the checkpoint is recognised and not applied.
    const appliedId = ckpt?.state.appliedGroupIds[0] as string;
    const replay = new InProcessBus({ broker: name });
    await replay.publishGroup(`${appliedId}#redelivered`, published.get(appliedId) as Uint8Array);
    await until(() => (b.stats['groups.duplicate'] ?? 0) === 1, 5000, 'the duplicate to be skipped');
    expect(b.step).toBe(2);
    await b.stop();
    const after = await latestCheckpoint(dir);
    expect(after?.state.feeder).toEqual(ckpt?.state.feeder);
    expect(after?.state.step).toBe(2);
  });

  it('on a fresh in-process bus, issues its restored outstanding tasks again and keeps training', async () => {
    const dir = await tempDir();
    const warm = await tinyPolicy(8);
    const first = broker();
    const actorA = new TestActor(new InProcessBus({ broker: first }), warm.clone(), { groupSize: 4 });
    const a = new Learner({
      bus: new InProcessBus({ broker: first }),
      config: learnerConfig({ checkpointDir: dir }),
      policy: warm.clone({ frozen: false }),
      runId: 'rp',
    });
    await a.start();
    actorA.start();
    await a.run(2);
    await actorA.stop();
    await a.stop();
    const outstanding = (await latestCheckpoint(dir))?.state.outstanding ?? [];
    expect(outstanding.length).toBeGreaterThan(0);

    // A new process: its in-process broker has none of the queued tasks.
    const second = broker();
    const busB = new InProcessBus({ broker: second });
    const b = new Learner({
      bus: busB,
      config: learnerConfig({ checkpointDir: dir }),
      policy: warm.clone({ frozen: false }),
      reference: warm.clone(),
      runId: 'rp',
    });
    await b.start();
    expect(await busB.pendingTasks()).toBeGreaterThanOrEqual(outstanding.length);
    const queued = await busB.pullTasks({ max: 64, expiresMs: 50 });
    const ids = queued.map((m) => decodeTask(m.payload).taskId);
    for (const t of outstanding) expect(ids).toContain(t.taskId);
    for (const m of queued) m.nak(0);
    const actorB = new TestActor(new InProcessBus({ broker: second }), warm.clone(), { groupSize: 4 });
    actorB.start();
    await b.run(4);
    expect(b.step).toBe(4);
    await actorB.stop();
    await b.stop();
  });

  it('re-applies exactly once the groups of a step that was never committed (crash before checkpoint)', async () => {
    const name = broker();
    const dir = await tempDir();
    const warm = await tinyPolicy(9);
    const actor = new TestActor(new InProcessBus({ broker: name }), warm.clone(), { groupSize: 4 });
    // Commit every 5 steps; heartbeats off, so a "killed" learner's held groups time out.
    const cfg = learnerConfig({ checkpointDir: dir, checkpointEverySteps: 5 });
    const busA = new InProcessBus({ broker: name, groups: { ackWaitMs: 300 } });
    const a = new Learner({
      bus: busA,
      config: cfg,
      policy: warm.clone({ frozen: false }),
      runId: 'crash',
      heartbeatMs: 3_600_000,
    });
    await a.start();
    actor.start();
    cleanup.push(() => actor.stop());
    await a.run(1);
    const appliedByA = a.stats['groups.applied'];
    expect(appliedByA).toBe(4);
    // SIGKILL stand-in: the connection goes away without stop(): no checkpoint, no acks.
    await busA.close();
    expect(await latestCheckpoint(dir)).toBeNull();

    const steps: LearnerStepMetrics[] = [];
    const b = new Learner({
      bus: new InProcessBus({ broker: name, groups: { ackWaitMs: 300 } }),
      config: cfg,
      policy: warm.clone({ frozen: false }),
      runId: 'crash',
      onStep: (m) => steps.push(m),
    });
    await b.start();
    await b.run(2);
    await b.stop();
    const ckpt = await latestCheckpoint(dir);
    const ids = ckpt?.state.appliedGroupIds ?? [];
    expect(ids).toHaveLength(8);
    expect(new Set(ids).size).toBe(8);
    // The four groups A applied but never committed are among them, once each.
    for (let i = 0; i < 4; i++) expect(ids.filter((x) => x === `crash:${i}`)).toHaveLength(1);
    expect(b.stats['groups.duplicate'] ?? 0).toBe(0);
  });
});
