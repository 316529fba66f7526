/**
 * One task, end to end, without the bus: resolve the sample, build the state, sample the group with
 * dynamic sampling, run the group's transitions in one env call, score, and assemble the
 * RolloutGroup. Everything random comes from Rng(`${task.seed}`), so a redelivered task with the same
 * policy version reproduces the same group.
 */
import type { EnvPort } from '../../../core/env/index.ts';
import { SamVeteranError, ValidationError } from '../../../core/errors/index.ts';
import {
  repeatRows,
  type PointerPolicy,
  type PreparedBatch,
  type SampledAction,
} from '../../../core/policy/index.ts';
import { tokenize } from '../../../core/policy/index.ts';
import type { RewardConfig } from '../../../core/reward/index.ts';
import { Rng } from '../../../core/rng/index.ts';
import type { RolloutGroup, Task } from '../../../core/wire/index.ts';
import type { DynamicSampleResult } from './dynamic-sampling.ts';
import { sampleBoxGroup, sampleRefineGroup } from './dynamic-sampling.ts';
import type { SampleResolver } from './sample-resolver.ts';
import { isZeroVariance, scoreRollouts, transitionPrompts } from './scoring.ts';
import type { StateOptions, TaskState } from './state-builder.ts';
import { buildState, settleCase } from './state-builder.ts';

/** The sampling section of ActorConfig. */
export interface SamplingSettings {
  readonly temperature: number;
  readonly localizationCandidates: number;
  readonly duplicateBoxIou: number;
  readonly maxDrawsPerGroup: number;
  /** Most policy clicks in a follow-up state (StateOptions.followUpClicks). */
  readonly followUpClicks: number;
  /** Share of mask-understanding states made from a policy box (StateOptions.policyBoxProbability). */
  readonly policyBoxProbability: number;
}

/** The weights in use: a policy and the version it holds. Read at sampling time. */
export interface PolicySource {
  current(): { readonly policy: PointerPolicy; readonly version: number };
}

export interface RunTaskDeps {
  readonly actorId: string;
  readonly env: EnvPort;
  readonly weights: PolicySource;
  readonly resolver: SampleResolver;
  readonly rewards: RewardConfig;
  readonly sampling: SamplingSettings;
  readonly stateOptions?: Partial<StateOptions>;
  /** Reported in the group. */
  readonly envModelId: string;
  /** Delivery count of the task message. */
  readonly attempt: number;
  readonly now?: () => number;
}

export interface TaskOutcome {
  readonly group: RolloutGroup;
  readonly state: TaskState;
  readonly sampling: DynamicSampleResult;
  readonly zeroVariance: boolean;
  /** Env transitions the task used: the state's (`state.stateTransitions`) and the group call's prompts. */
  readonly transitions: number;
  readonly sampleMs: number;
  readonly envMs: number;
}

/**
 * A prepared batch of one observation repeated n times: n rows that share the observation's arrays
 * (`rowOf`), so the policy encodes it once and runs only its action heads per row.
 */
export function tilePrepared(prep: PreparedBatch, n: number): PreparedBatch {
  if (prep.size !== 1) throw new Error(`tilePrepared needs a batch of 1, got ${prep.size}`);
  return repeatRows(prep, [n]);
}

/**
 * A task that can never succeed (its sample reference is invalid): the actor terminates it
 * instead of letting it be redelivered.
 */
export class TaskRejectedError extends SamVeteranError {
  override name = 'TaskRejectedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
  }
}

export async function runActorTask(task: Task, deps: RunTaskDeps): Promise<TaskOutcome> {
  const now = deps.now ?? Date.now;
  const resolved = await deps.resolver.resolve(task.dataset, task.sampleId).catch((err: unknown) => {
    if (err instanceof ValidationError) {
      throw new TaskRejectedError(
        `task ${task.taskId}: sample ${task.dataset}#${task.sampleId} cannot be resolved: ${err.message}`,
        {
          cause: err,
        },
      );
    }
    throw err;
  });
  // The learner names the image it expects; a different one means this actor resolves the dataset
  // differently (another data version or seed). Retryable elsewhere, so a plain failure (nak).
  const expected = task.observation.image.digest;
  if (expected && expected !== resolved.digest) {
    throw new SamVeteranError(
      'FAILED_PRECONDITION',
      `task ${task.taskId}: sample ${task.dataset}#${task.sampleId} has image digest ${resolved.digest}, the task expects ${expected}`,
    );
  }
  const rng = new Rng(`${task.seed}`);
  const { policy: statePolicy } = deps.weights.current();
  const state = await buildState(task.kind, resolved, rng.fork('state'), {
    env: deps.env,
    policy: statePolicy,
    rewards: deps.rewards,
    options: {
      temperature: deps.sampling.temperature,
      policyBoxProbability: deps.sampling.policyBoxProbability,
      followUpClicks: deps.sampling.followUpClicks,
      ...deps.stateOptions,
    },
  });

  // Sampling is synchronous: the whole group comes from the weights current at this instant.
  const t0 = performance.now();
  const { policy, version } = deps.weights.current();
  const prepared = policy.prepare([state.policyInput]);
  const tiles = new Map<number, PreparedBatch>();
  const sampleRng = rng.fork('rollouts');
  const kind = task.kind === 'localization' ? 'box' : 'refine';
  // The state is encoded once for all the draws (refinements may take several batches).
  const encoded = policy.encodeObservations(prepared);
  const draw = (n: number): SampledAction[] => {
    let batch = tiles.get(n);
    if (!batch) {
      batch = tilePrepared(prepared, n);
      tiles.set(n, batch);
    }
    return policy.sample(batch, { kind, rng: sampleRng, temperature: deps.sampling.temperature, encoded });
  };
  const G = task.groupSize;
  let sampled: ReturnType<typeof sampleBoxGroup>;
  try {
    sampled =
      kind === 'box'
        ? sampleBoxGroup(draw, {
            groupSize: G,
            candidates: deps.sampling.localizationCandidates,
            duplicateBoxIou: deps.sampling.duplicateBoxIou,
          })
        : sampleRefineGroup(draw, { groupSize: G, maxDraws: deps.sampling.maxDrawsPerGroup });
  } finally {
    encoded.dispose();
  }
  const sampleMs = performance.now() - t0;

  const { prompts, promptOf } = transitionPrompts(state, sampled.chosen);
  const t1 = performance.now();
  const outputs = prompts.length > 0 ? await deps.env.transitionGroup(state.envImage, prompts) : [];
  const envMs = performance.now() - t1;
  if (outputs.length !== prompts.length) {
    throw new Error(`environment returned ${outputs.length} results for ${prompts.length} prompts`);
  }
  const settled = settleCase(state, outputs, deps.rewards);
  const rollouts = scoreRollouts(state, sampled.chosen, outputs, promptOf, {
    rewards: deps.rewards,
    settled,
    stats: { temperature: deps.sampling.temperature, topP: 1, topK: 0, sampleMs, envMs },
  }).map((r, i) => ({ ...r, drawWeight: sampled.drawWeights[i] as number }));
  const { sample } = resolved;
  const group: RolloutGroup = {
    groupId: task.taskId,
    taskId: task.taskId,
    kind: task.kind,
    policyVersion: version,
    actorId: deps.actorId,
    observation: state.observation,
    rollouts,
    samplesDrawn: sampled.samplesDrawn,
    goodEnough: settled.goodEnough,
    promptTokenIds: tokenize(policy.vocabulary, sample.query, policy.config.maxQueryTokens),
    envModelId: deps.envModelId,
    createdAtMs: now(),
    attempt: deps.attempt,
  };
  return {
    group,
    state,
    sampling: sampled,
    zeroVariance: isZeroVariance(rollouts),
    transitions: state.stateTransitions + prompts.length,
    sampleMs,
    envMs,
  };
}
