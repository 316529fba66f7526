/**
 * Test parts for the learner: a tiny real policy, and a minimal real actor that pulls tasks from the
 * bus, rebuilds the observation from the synthetic world (with `observationOf`, as the real actor
 * does), samples G actions with a real PointerPolicy and publishes a RolloutGroup. Rewards are a
 * simple deterministic function of the action (box IoU for boxes, the point-pair type for refine
 * actions) so groups carry a spread without an env.
 */
import { observationOf } from '../../core/agent/index.ts';
import type { Bus, Subscription, TaskMessage } from '../../core/bus/index.ts';
import { LearnerConfigSchema, type LearnerConfig } from '../../core/config/index.ts';
import { datasetFromSpec, type Dataset } from '../../core/data/index.ts';
import { boxIou } from '../../core/geometry/index.ts';
import { PointerPolicy, ensureTf } from '../../core/policy/index.ts';
import { Rng } from '../../core/rng/index.ts';
import {
  decodeTask,
  encodeRolloutGroup,
  type Action,
  type Rollout,
  type RolloutGroup,
  type Task,
} from '../../core/wire/index.ts';
import { maskToRle as toRleMask, rgbDigest as imageDigest } from '../../core/wire/index.ts';
import type { Feeder } from '../../services/learner/index.ts';

/** A tiny architecture (fast steps) that still covers every head. */
export const TINY = {
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

/** Small synthetic images keep sample generation and patching cheap. */
export const DATASET = 'synthetic:train?n=64&size=64';

export async function tinyPolicy(seed = 1): Promise<PointerPolicy> {
  await ensureTf();
  return PointerPolicy.create(TINY, { seed });
}

export function learnerConfig(over: Partial<LearnerConfig> & { checkpointDir: string }): LearnerConfig {
  return LearnerConfigSchema.parse({
    batchStates: 4,
    groupSize: 4,
    maxStaleness: 1,
    maxInFlight: 16,
    learningRate: 1e-2,
    checkpointEverySteps: 1,
    totalSteps: 0,
    dataset: DATASET,
    ...over,
  });
}

export interface TestActorOptions {
  readonly groupSize: number;
  /** Policy version to report instead of the latest pointer's (e.g. to make a group stale). */
  readonly versionFor?: (task: Task) => number | undefined;
  /** Every group published, by group id (to replay one later). */
  readonly published?: Map<string, Uint8Array>;
}

function toWireAction(a: ReturnType<PointerPolicy['sample']>[number]['action']): Action {
  return a.kind === 'box'
    ? { kind: 'box', box: a.box }
    : { kind: 'refine', positive: a.positive, negative: a.negative };
}

/** Builds one group for a task the way an actor would (minus the env). */
export async function rolloutGroupFor(
  task: Task,
  policy: PointerPolicy,
  groupSize: number,
  policyVersion: number,
  datasets = new Map<string, Dataset>(),
): Promise<RolloutGroup> {
  let ds = datasets.get(task.dataset);
  if (!ds) {
    ds = await datasetFromSpec(task.dataset);
    datasets.set(task.dataset, ds);
  }
  const sample = await ds.get(Number(task.sampleId));
  const mask = task.kind === 'localization' ? null : sample.gtMask;
  const obs = observationOf(sample.image, sample.query, mask);
  const kind = task.kind === 'localization' ? 'box' : 'refine';
  const rng = new Rng(task.seed);
  const prep = policy.prepare(Array.from({ length: groupSize }, () => obs));
  const drawn = policy.sample(prep, { rng, kind });
  const rollouts: Rollout[] = drawn.map((d) => {
    const reward = d.action.kind === 'box' ? boxIou(d.action.box, sample.gtBox) : (d.tokens.ids[0] as number);
    return {
      tokenIds: [...d.tokens.ids],
      behaviourLogprobs: Array.from(d.logprobs),
      actionText: JSON.stringify(d.action),
      action: toWireAction(d.action),
      formatError: '',
      reward,
      rewardBreakdown: { total: reward },
      iou: 0,
      stats: { temperature: 1, topP: 1, topK: 0, meanEntropy: 0, sampleMs: 0, envMs: 0 },
    };
  });
  return {
    groupId: task.taskId,
    taskId: task.taskId,
    kind: task.kind,
    policyVersion,
    actorId: 'test-actor',
    observation: {
      image: { digest: imageDigest(sample.image.rgb) },
      query: sample.query,
      ...(mask ? { currentMask: toRleMask(mask) } : {}),
      points: [],
      step: mask ? 1 : 0,
    },
    rollouts,
    samplesDrawn: groupSize,
    goodEnough: false,
    promptTokenIds: [],
    envModelId: 'none',
    createdAtMs: Date.now(),
    attempt: 1,
  };
}

/** Pulls tasks and answers each with one group, until stopped. */
export class TestActor {
  private sub: Subscription<TaskMessage> | undefined;
  private loop: Promise<void> | undefined;
  private readonly datasets = new Map<string, Dataset>();
  groups = 0;

  constructor(
    private readonly bus: Bus,
    private readonly policy: PointerPolicy,
    private readonly opts: TestActorOptions,
  ) {}

  start(): void {
    const sub = this.bus.consumeTasks({ maxInFlight: 4 });
    this.sub = sub;
    this.loop = (async () => {
      for await (const msg of sub) {
        const task = decodeTask(msg.payload);
        const version = this.opts.versionFor?.(task) ?? (await this.bus.getLatest())?.version ?? 0;
        const group = await rolloutGroupFor(task, this.policy, this.opts.groupSize, version, this.datasets);
        const bytes = encodeRolloutGroup(group);
        this.opts.published?.set(group.groupId, bytes);
        await this.bus.publishGroup(task.taskId, bytes);
        this.groups++;
        await msg.ack();
      }
    })();
  }

  async stop(): Promise<void> {
    await this.sub?.stop();
    await this.loop;
  }
}

/** Polls `cond` every 10 ms until it holds (or fails after `timeoutMs`). */
export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Has the feeder issue `n` tasks (one top-up) to a bus that only records them. */
export async function issueTasks(feeder: Feeder, n: number): Promise<Task[]> {
  const tasks: Task[] = [];
  await feeder.topUp(
    {
      publishTask: (_: string, b: Uint8Array) => (
        tasks.push(decodeTask(b)),
        Promise.resolve({ seq: 1, duplicate: false })
      ),
    } as unknown as Bus,
    1,
    n,
  );
  return tasks;
}
