/**
 * Failure integration test of the distributed cluster (issue 5 acceptance): real OS processes —
 * nats-server (JetStream), two sam-env replicas (GrabCut), two actors and the learner — started
 * from deploy/local's topology under a ProcessSupervisor, on loopback. One cluster serves three
 * scenarios in order:
 *   1. SIGKILL an actor while it holds a task → the task is redelivered (attempt 2), completed by
 *      the other actor, and exactly one group for it reaches the groups stream and the learner.
 *   2. SIGKILL the learner after a committed checkpoint, while applied groups are held unacked →
 *      the supervisor restarts it, it resumes at the checkpoint step (not 0), and no group is
 *      applied twice (the committed applied-id list has steps × batchStates distinct ids).
 *   3. Stop one sam-env replica → the actors fail over and training reaches its step target.
 * Settings are small (tiny policy, 2 states × 4 rollouts, 64 px images) with short ack waits so
 * redeliveries happen within seconds.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busNames } from '../../core/bus/index.ts';
import { PointerPolicy, ensureTf, savePolicyFile } from '../../core/policy/index.ts';
import { decodeRolloutGroup, type RolloutGroup } from '../../core/wire/index.ts';
import {
  ProcessSupervisor,
  allocateLocalPorts,
  buildLocalTopology,
  killGroup,
  toProcessSpec,
  type LocalTopology,
  type ProcessSpec,
} from '../../deploy/local/index.ts';

/**
 * The feeder's rate cap (4 tasks/s = one step per second at 4 states a step) paces the run, so the
 * three scenarios happen mid-run however fast this machine steps, and 36 steps stay few enough that
 * the learner's applied-id window (64 × batchStates) still holds every applied id at the end.
 */
const STEPS = 36;
const BATCH_STATES = 4;
const CHECKPOINT_EVERY = 2;
const TINY = {
  viewSize: 32,
  patchSize: 8,
  dModel: 16,
  mlpHidden: 24,
  mixHidden: 16,
  mixerLayers: 1,
  attnLayers: 0,
  maxQueryTokens: 8,
  offsetBins: 4,
  sizeBins: 12,
  hashBuckets: 8,
} as const;

/** Every SAMV_* key here exists in the config schema (services load the tree strictly). */
const ENV: Record<string, string> = {
  LOG_LEVEL: 'info',
  SAMV_LEARNER__BATCH_STATES: String(BATCH_STATES),
  SAMV_LEARNER__GROUP_SIZE: '4',
  SAMV_LEARNER__CHECKPOINT_EVERY_STEPS: String(CHECKPOINT_EVERY),
  SAMV_LEARNER__MAX_IN_FLIGHT: '8',
  SAMV_LEARNER__MAX_TASKS_PER_SECOND: '4',
  // Tasks expire after 4 × (maxStaleness + 1) versions: keep a redelivered task alive past its
  // ack wait.
  SAMV_LEARNER__MAX_STALENESS: '4',
  SAMV_LEARNER__DATASET: 'synthetic:train?n=64&size=64',
  SAMV_ACTOR__GROUP_SIZE: '4',
  SAMV_ACTOR__CONCURRENCY: '1',
  SAMV_ACTOR__WORKING_INTERVAL_MS: '500',
  SAMV_BUS__TASKS__ACK_WAIT_MS: '2500',
  SAMV_BUS__GROUPS__ACK_WAIT_MS: '3000',
};

interface StepLine {
  step: number;
  version: number;
  [k: string]: number;
}

interface CheckpointState {
  step: number;
  appliedGroupIds: string[];
  counters: Record<string, number>;
}

let root = '';
let runDir = '';
let supervisor: ProcessSupervisor;
let topology: LocalTopology;
let nc: NatsConnection | undefined;
let jsm: JetStreamManager;
const specs = new Map<string, ProcessSpec>();
const names = busNames('samv');
/** Group id of the task redelivered after the actor crash (scenario 1), checked at the end. */
let redoneId: string | undefined;

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function stepLines(): Promise<StepLine[]> {
  const text = await readFile(join(runDir, 'metrics.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as StepLine);
}

/** Committed checkpoints (`step-*` directories are complete by construction), newest last. */
async function checkpointSteps(): Promise<number[]> {
  const entries = await readdir(topology.checkpointDir).catch(() => [] as string[]);
  return entries
    .filter((e) => /^step-\d+$/.test(e))
    .map((e) => Number(e.slice('step-'.length)))
    .sort((a, b) => a - b);
}

async function checkpointState(step: number): Promise<CheckpointState> {
  const dir = join(topology.checkpointDir, `step-${String(step).padStart(9, '0')}`);
  return JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as CheckpointState;
}

/** Every group in the groups stream (limits retention: the stream keeps them all). */
async function streamGroups(): Promise<RolloutGroup[]> {
  const info = await jsm.streams.info(names.groupsStream);
  const out: RolloutGroup[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(names.groupsStream, { seq });
    if (m) out.push(decodeRolloutGroup(m.data));
  }
  return out;
}

/** Sum of a Prometheus metric's samples (all label sets) at a /metrics URL. */
async function metricSum(url: string, metric: string): Promise<number> {
  const text = await (await fetch(url)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric} `))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

function metricsUrl(name: string): string {
  const r = specs.get(name)?.readiness;
  if (r?.kind === 'http') return r.url;
  const port = topology.entries.find((e) => e.name === name)?.ports['metrics'];
  return `http://127.0.0.1:${port ?? 0}/metrics`;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'samv-cluster-'));
  runDir = join(root, 'run');
  await ensureTf();
  const init = join(root, 'init.samv');
  await savePolicyFile(await PointerPolicy.create(TINY, { seed: 7 }), init);

  const ports = await allocateLocalPorts({ samEnv: 2, actors: 2 });
  // Images through the NATS Object Store (actors send keys), as across machines.
  topology = buildLocalTopology({ runDir, ports, env: ENV, imageStore: true });
  supervisor = new ProcessSupervisor({ runDir });
  for (const entry of topology.entries) {
    if (entry.name === 'learner') entry.args.push('--steps', String(STEPS), '--init', init);
    const spec = toProcessSpec(entry, { readyTimeoutMs: 60_000 });
    // Scenario 1 needs the killed actor to stay dead, so the other actor completes its task.
    specs.set(entry.name, entry.group === 'actor' ? { ...spec, restart: 'none' } : spec);
  }
  // nats first, then the services in two parallel waves (sam-env + learner, then the actors):
  // each node process needs seconds to load, and sequential starts would let training run ahead.
  const byGroup = (g: string): ProcessSpec[] => [...specs.values()].filter((s) => s.group === g);
  await supervisor.start(specs.get('nats') as ProcessSpec);
  await Promise.all([...byGroup('sam-env'), ...byGroup('learner')].map((s) => supervisor.start(s)));
  await Promise.all(byGroup('actor').map((s) => supervisor.start(s)));
  nc = await connect({ servers: topology.natsUrl });
  jsm = await jetstreamManager(nc);
}, 90_000);

afterAll(async () => {
  await supervisor?.stopAll();
  await nc?.close();
  if (root && process.env['KEEP_CLUSTER_TEST_RUN'] === undefined)
    await rm(root, { recursive: true, force: true });
  else if (root) console.log(`kept run folder ${root}`);
}, 60_000);

describe('cluster failures (real processes, JetStream)', () => {
  it('SIGKILL of an actor mid-task: the task is redelivered, completed by the other actor, one group', async () => {
    const a1 = supervisor.get('actor-1');
    // Wait until actor-1 holds a task (its in-flight gauge), and the learner is already stepping.
    await until(
      'actor-1 to hold a task',
      async () => (await metricSum(metricsUrl('actor-1'), 'actor_tasks_in_flight')) > 0,
      30_000,
      20,
    );
    // Redeliveries only come from the crash: none happened before it.
    expect((await streamGroups()).filter((g) => g.attempt > 1)).toEqual([]);
    expect(a1?.pid).toBeDefined();
    killGroup(a1?.pid as number, 'SIGKILL');
    await until('actor-1 to be dead', () => supervisor.get('actor-1')?.state === 'failed', 10_000);
    expect(supervisor.get('actor-1')?.signal).toBe('SIGKILL');

    // The redelivered task (attempt 2) comes back as a group published by actor-2.
    const redone = await until(
      'a redelivered task completed by actor-2',
      async () => (await streamGroups()).find((g) => g.attempt >= 2 && g.actorId === 'actor-2'),
      30_000,
      250,
    );
    expect(redone.attempt).toBe(2);
    const groups = await streamGroups();
    // Exactly one group for the task in the stream (the de-dup by msgId), and never from actor-1
    // (it died before publishing it).
    expect(groups.filter((g) => g.taskId === redone.taskId)).toHaveLength(1);
    expect(new Set(groups.map((g) => g.groupId)).size).toBe(groups.length);

    redoneId = redone.groupId;
  }, 70_000);

  it('SIGKILL of the learner: restarted, it resumes from its checkpoint and applies no group twice', async () => {
    // Kill right after an uncommitted step, so applied groups are held unacked at the kill.
    const before = await until(
      'a step past a committed checkpoint',
      async () => {
        const ckpts = await checkpointSteps();
        const last = (await stepLines()).at(-1);
        const ckpt = ckpts.at(-1);
        if (ckpt === undefined || last === undefined) return undefined;
        return last.step % CHECKPOINT_EVERY !== 0 && last.step > ckpt && last.step < STEPS - 20
          ? { ckpt, step: last.step }
          : undefined;
      },
      40_000,
      20,
    );
    const learner = supervisor.get('learner');
    killGroup(learner?.pid as number, 'SIGKILL');
    const killedAt = Date.now();
    const ckptAtKill = (await checkpointSteps()).at(-1) as number;
    expect(ckptAtKill).toBeGreaterThanOrEqual(before.ckpt);

    await until('the learner to be restarted', () => (supervisor.get('learner')?.restarts ?? 0) >= 1, 15_000);
    // The restarted learner drops the lines past its checkpoint, then appends its own steps.
    const resumed = await until(
      'a step by the restarted learner',
      async () => (await stepLines()).find((l) => (l['timeMs'] ?? 0) > killedAt),
      40_000,
      200,
    );
    // Resumed from the checkpoint: the first new step follows the checkpoint step (not step 1).
    expect(resumed.step).toBe(ckptAtKill + 1);
    expect(resumed.version).toBe(ckptAtKill + 2);
    // Counters were restored from the checkpoint, not from zero.
    expect(resumed['total.groups.applied']).toBe((ckptAtKill + 1) * BATCH_STATES);
  }, 90_000);

  it('stopping a sam-env replica: actors fail over and training reaches its step target', async () => {
    const env1 = await metricSum(metricsUrl('sam-env-1'), 'samenv_transitions_total');
    const env2 = await metricSum(metricsUrl('sam-env-2'), 'samenv_transitions_total');
    // Both replicas were serving (the actors' client round-robins over them).
    expect(env1).toBeGreaterThan(0);
    expect(env2).toBeGreaterThan(0);
    // Images travel as keys in the cluster's NATS Object Store bucket: put by the actor, fetched by
    // the replicas; never a fallback to pixels.
    const actorText = await (await fetch(metricsUrl('actor-2'))).text();
    expect(actorText).toMatch(/actor_image_store_total\{actor="actor-2",result="put"\} [1-9]/);
    expect(actorText).not.toMatch(/result="fallback"/);
    const stepAtStop = (await stepLines()).at(-1)?.step ?? 0;
    // Otherwise the learner finished before the failure and this test proves nothing.
    expect(stepAtStop).toBeLessThan(STEPS - 5);
    await supervisor.stop('sam-env-1');
    expect(supervisor.get('sam-env-1')).toBeUndefined();

    await until('the learner to finish', () => supervisor.get('learner')?.state === 'exited', 90_000, 200);
    expect(supervisor.get('learner')?.exitCode).toBe(0);
    const lines = await stepLines();
    const last = lines.at(-1) as StepLine;
    expect(last.step).toBe(STEPS);
    expect(last.step).toBeGreaterThan(stepAtStop);
    // One metrics line per step, although the learner was killed and retook the steps after its
    // checkpoint.
    expect(lines.map((l) => l.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    // The steps after the stop were rolled out on the remaining replica.
    expect(await metricSum(metricsUrl('sam-env-2'), 'samenv_transitions_total')).toBeGreaterThan(env2);

    // No group was applied twice over the whole run (actor crash and learner crash included): the
    // final committed checkpoint lists steps × batchStates distinct applied group ids, each of which
    // is in the groups stream exactly once.
    const final = await checkpointState((await checkpointSteps()).at(-1) as number);
    expect(final.step).toBe(STEPS);
    expect(final.appliedGroupIds).toHaveLength(STEPS * BATCH_STATES);
    expect(new Set(final.appliedGroupIds).size).toBe(STEPS * BATCH_STATES);
    expect(final.counters['groups.applied']).toBe(STEPS * BATCH_STATES);
    const groups = await streamGroups();
    const perId = new Map<string, number>();
    for (const g of groups) perId.set(g.groupId, (perId.get(g.groupId) ?? 0) + 1);
    for (const id of final.appliedGroupIds) expect(perId.get(id)).toBe(1);
    // The task redelivered after the actor crash was applied (once).
    expect(final.appliedGroupIds).toContain(redoneId);
  }, 100_000);
});
