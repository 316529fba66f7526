/**
 * Shared pieces of the actor tests: a small seeded policy, a GrabCut env in this thread, task
 * builders and a group collector over any Bus.
 */
import { randomUUID } from 'node:crypto';
import type { Bus } from '../../core/bus/index.ts';
import { datasetFromSpec, type Sample } from '../../core/data/index.ts';
import { PointerPolicy, policyToBytes, type PolicyConfig } from '../../core/policy/index.ts';
import type { RolloutGroup, Task, TaskKind } from '../../core/wire/index.ts';
import { decodeRolloutGroup, encodeTask } from '../../core/wire/index.ts';
import { maskToRle as maskToWire, rgbDigest } from '../../core/wire/index.ts';
import { LocalEnv } from '../../services/sam-env/src/local-env.ts';
import { GrabCutModel } from '../../services/sam-env/src/models/grabcut.ts';

/** Small images keep GrabCut and the policy fast. */
export const DATASET = 'synthetic:train?size=96&seed=7';

export const SMALL_POLICY: Partial<PolicyConfig> = {
  viewSize: 32,
  patchSize: 4,
  dModel: 32,
  mlpHidden: 64,
  mixerLayers: 1,
  mixHidden: 32,
};

export function smallPolicy(seed: number): Promise<PointerPolicy> {
  return PointerPolicy.create(SMALL_POLICY, { seed });
}

export function grabcutEnv(): LocalEnv {
  return new LocalEnv(new GrabCutModel({ workingSize: 64, iterations: 2 }));
}

export async function sampleAt(index: number, spec = DATASET): Promise<Sample> {
  return (await datasetFromSpec(spec)).get(index);
}

export async function makeTask(
  kind: TaskKind,
  index: number,
  opts: {
    taskId?: string;
    seed?: number;
    groupSize?: number;
    minPolicyVersion?: number;
    dataset?: string;
  } = {},
): Promise<Task> {
  const dataset = opts.dataset ?? DATASET;
  const s = await sampleAt(index, dataset);
  return {
    taskId: opts.taskId ?? `t-${kind}-${index}-${randomUUID().slice(0, 8)}`,
    kind,
    dataset,
    sampleId: String(index),
    observation: { image: { digest: rgbDigest(s.image.rgb) }, query: s.query, points: [], step: 0 },
    gtMask: maskToWire(s.gtMask),
    gtBox: s.gtBox,
    groupSize: opts.groupSize ?? 8,
    seed: opts.seed ?? index + 11,
    minPolicyVersion: opts.minPolicyVersion ?? 0,
    createdAtMs: Date.now(),
  };
}

export async function publishTask(bus: Bus, task: Task, msgId = task.taskId): Promise<void> {
  await bus.publishTask(msgId, encodeTask(task));
}

/** Publishes `policy` as `version` and points `latest` at it. */
export async function releaseWeights(bus: Bus, policy: PointerPolicy, version: number): Promise<string> {
  const info = await bus.putWeights(version, policyToBytes(policy));
  await bus.setLatest({ version, digest: info.digest, size: info.size });
  return info.digest;
}

/** Reads groups from the stream (acking them) until `n` arrived or `timeoutMs` passed. */
export async function collectGroups(bus: Bus, n: number, timeoutMs = 30_000): Promise<RolloutGroup[]> {
  const out: RolloutGroup[] = [];
  const sub = bus.consumeGroups({ maxInFlight: 64 });
  const timer = setTimeout(() => void sub.stop(), timeoutMs);
  try {
    for await (const m of sub) {
      out.push(decodeRolloutGroup(m.payload));
      await m.ack();
      if (out.length >= n) break;
    }
  } finally {
    clearTimeout(timer);
    await sub.stop();
  }
  return out;
}

/** Polls `cond` every 20 ms until it holds or `timeoutMs` passes. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
