/**
 * From RolloutGroups to the tensors of one GRPO step.
 *
 * Each group is checked and turned into policy input once, when it arrives: the image is
 * regenerated from the task's dataset and sample index (the learner issued the task, so it knows
 * both), the current mask is decoded from its COCO RLE, and the observation is built with
 * core/agent's `observationOf` — the same function the actor uses, so the learner scores exactly
 * the input the actor sampled from. `prepare` runs once per group; the step tiles that row G times.
 */
import { observationOf } from '../../../core/agent/index.ts';
import type { Sample } from '../../../core/data/index.ts';
import { ValidationError } from '../../../core/errors/index.ts';
import { decodeCocoRle } from '../../../core/mask/index.ts';
import type { ActionTokens, PointerPolicy, PreparedBatch } from '../../../core/policy/index.ts';
import { MAX_ACTION_TOKENS, TYPE_STOP } from '../../../core/policy/index.ts';
import type { RolloutGroup, TaskKind } from '../../../core/wire/index.ts';
import type { OutstandingTask } from './checkpoint.ts';

/** One checked group, ready to be batched. */
export interface GroupInput {
  readonly groupId: string;
  readonly kind: TaskKind;
  readonly policyVersion: number;
  /** prepare() output for the group's one observation (size 1). */
  readonly prepared: PreparedBatch;
  readonly tokens: readonly ActionTokens[];
  /** G·L behaviour log-probs, 0 at padding. */
  readonly logpOld: Float32Array;
  readonly rewards: Float64Array;
  /** Dynamic sampling's draw weight per rollout (1 where the actor recorded none). */
  readonly drawWeights: Float64Array;
  /** The state's case as the actor settled it (mask understanding: GOOD ENOUGH). */
  readonly goodEnough: boolean;
}

/** Token kind of a task's action: localization emits a box, the other tasks a point pair. */
export function actionKindOf(kind: TaskKind): 'box' | 'refine' {
  return kind === 'localization' ? 'box' : 'refine';
}

/**
 * Validates a decoded group against the task the learner issued and builds its policy input.
 * Throws ValidationError naming the field for anything that cannot be trained on.
 */
export function buildGroupInput(
  group: RolloutGroup,
  task: OutstandingTask,
  sample: Sample,
  policy: PointerPolicy,
  groupSize: number,
): GroupInput {
  if (group.kind !== task.kind) {
    throw new ValidationError('kind', group.kind, `does not match task ${task.taskId} (${task.kind})`);
  }
  if (group.rollouts.length !== groupSize) {
    throw new ValidationError(
      'rollouts.length',
      group.rollouts.length,
      `must equal the group size ${groupSize}`,
    );
  }
  if (group.observation.image.digest !== task.imageDigest) {
    throw new ValidationError(
      'observation.image.digest',
      group.observation.image.digest,
      `does not match the image of task ${task.taskId} (${task.imageDigest})`,
    );
  }
  const { width, height } = sample.image;
  let mask = null;
  const rle = group.observation.currentMask;
  if (rle) {
    if (rle.width !== width || rle.height !== height) {
      throw new ValidationError(
        'observation.currentMask',
        `${rle.width}x${rle.height}`,
        `must be the image size ${width}x${height}`,
      );
    }
    mask = decodeCocoRle({ size: [rle.height, rle.width], counts: rle.counts }, 'observation.currentMask');
  }
  const observation = observationOf(sample.image, group.observation.query, mask);
  const prepared = policy.prepare([observation]);
  const actionKind = actionKindOf(group.kind);
  const L = MAX_ACTION_TOKENS;
  const logpOld = new Float32Array(groupSize * L);
  const rewards = new Float64Array(groupSize);
  const drawWeights = new Float64Array(groupSize);
  const tokens = group.rollouts.map((r, i) => {
    const t: ActionTokens = { kind: actionKind, ids: [...r.tokenIds] };
    try {
      policy.codec.validate(t);
    } catch (err) {
      throw new ValidationError(
        `rollouts[${i}].tokenIds`,
        r.tokenIds,
        `are not a ${actionKind} action: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    r.behaviourLogprobs.forEach((lp, j) => (logpOld[i * L + j] = lp));
    rewards[i] = r.reward;
    drawWeights[i] = r.drawWeight ?? 1;
    return t;
  });
  return {
    groupId: group.groupId,
    kind: group.kind,
    policyVersion: group.policyVersion,
    prepared,
    tokens,
    logpOld,
    rewards,
    drawWeights,
    goodEnough: group.goodEnough,
  };
}

export interface StepBatch {
  readonly prepared: PreparedBatch;
  readonly tokens: ActionTokens[];
  readonly logpOld: Float32Array;
  readonly rewards: Float64Array;
  readonly drawWeights: Float64Array;
  /** Per rollout, its group's `goodEnough` (1) or not (0). */
  readonly goodEnough: Uint8Array;
  readonly kinds: TaskKind[];
}

/**
 * Concatenates groups: one observation per group, spread over its G rollouts by `rowOf`, so the
 * step encodes each state once (for the policy and for the reference) and runs only the action
 * heads per rollout.
 */
export function assembleBatch(groups: readonly GroupInput[], groupSize: number): StepBatch {
  const first = groups[0]?.prepared;
  if (!first) throw new ValidationError('groups', [], 'must not be empty');
  const n = groups.length * groupSize;
  const pLen = first.patches.length;
  const qLen = first.queryOneHot.length;
  const mLen = first.queryMask.length;
  const U = groups.length;
  const patches = new Float32Array(U * pLen);
  const queryOneHot = new Float32Array(U * qLen);
  const queryMask = new Float32Array(U * mLen);
  const rowOf = new Int32Array(n);
  const imageSizes: { width: number; height: number }[] = [];
  const tokens: ActionTokens[] = [];
  const kinds: TaskKind[] = [];
  const logpOld = new Float32Array(n * MAX_ACTION_TOKENS);
  const rewards = new Float64Array(n);
  const drawWeights = new Float64Array(n);
  const goodEnough = new Uint8Array(n);
  groups.forEach((g, gi) => {
    if (g.prepared.size !== 1 || g.prepared.rowOf) {
      throw new ValidationError(`groups[${gi}].prepared.size`, g.prepared.size, 'must be 1 (the state)');
    }
    patches.set(g.prepared.patches, gi * pLen);
    queryOneHot.set(g.prepared.queryOneHot, gi * qLen);
    queryMask.set(g.prepared.queryMask, gi * mLen);
    rowOf.fill(gi, gi * groupSize, (gi + 1) * groupSize);
    for (let i = 0; i < groupSize; i++) {
      imageSizes.push(g.prepared.imageSizes[0] as { width: number; height: number });
      tokens.push(g.tokens[i] as ActionTokens);
      kinds.push(g.kind);
    }
    logpOld.set(g.logpOld, gi * groupSize * MAX_ACTION_TOKENS);
    rewards.set(g.rewards, gi * groupSize);
    drawWeights.set(g.drawWeights, gi * groupSize);
    goodEnough.fill(g.goodEnough ? 1 : 0, gi * groupSize, (gi + 1) * groupSize);
  });
  return {
    prepared: { size: n, patches, queryOneHot, queryMask, rowOf, imageSizes },
    tokens,
    logpOld,
    rewards,
    drawWeights,
    goodEnough,
    kinds,
  };
}

/** Whether a token sequence is the stop action (null, null). */
export function isStop(t: ActionTokens): boolean {
  return t.kind === 'refine' && t.ids[0] === TYPE_STOP;
}
