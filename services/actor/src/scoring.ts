/**
 * From a state and its G sampled actions to scored rollouts (ARCHITECTURE.md, rewards of the three
 * tasks): the env prompts of one group (one `transitionGroup` call per state), then the case-action
 * rewards.
 *
 * - localization: prompt = the box; R = format + 1[boxIoU ≥ 0.5] + 1[corner L1 ≤ τ] + R_SAM with
 *   R_SAM = IoU(env mask, GT) (ignore pixels excluded).
 * - mask understanding: a non-stop action's prompt = the state's box + its clicks + the new points,
 *   with M's logits/mask as the previous mask; R = maskUnderstandingReward(modified IoU(M) for the
 *   case, IoU(M), IoU(M′)); a stop needs no transition.
 * - auxiliary: no transition; R = auxiliaryReward against M̃'s error regions.
 */
import { formatBoxAction, formatPointAction, pointActionType } from '../../../core/actions/index.ts';
import type { TransitionOutput, TransitionPrompt } from '../../../core/env/index.ts';
import { SamVeteranError } from '../../../core/errors/index.ts';
import { maskIou } from '../../../core/mask/index.ts';
import type { SampledAction } from '../../../core/policy/index.ts';
import type { RewardConfig } from '../../../core/reward/index.ts';
import { auxiliaryReward, localizationReward, maskUnderstandingReward } from '../../../core/reward/index.ts';
import type { Action, Rollout, SamplingStats } from '../../../core/wire/index.ts';
import type { SettledCase, TaskState } from './state-builder.ts';
import { maskToRle as maskToWire } from '../../../core/wire/index.ts';

/**
 * Env prompts for the group, and for each action the index of its prompt (−1: no transition —
 * a stop, or any auxiliary action).
 */
export function transitionPrompts(
  state: TaskState,
  actions: readonly SampledAction[],
): { prompts: TransitionPrompt[]; promptOf: number[] } {
  const prompts: TransitionPrompt[] = [];
  const promptOf: number[] = [];
  for (const { action } of actions) {
    if (state.kind === 'localization') {
      if (action.kind !== 'box')
        throw new SamVeteranError('INTERNAL', `localization sampled a '${action.kind}' action`);
      promptOf.push(prompts.length);
      prompts.push({ box: action.box, points: [] });
      continue;
    }
    if (action.kind !== 'points')
      throw new SamVeteranError('INTERNAL', `${state.kind} sampled a '${action.kind}' action`);
    if (state.kind === 'auxiliary' || pointActionType(action) === 'stop') {
      promptOf.push(-1);
      continue;
    }
    if (!state.box || !state.mask)
      throw new SamVeteranError('INTERNAL', 'mask-understanding state has no box or mask');
    const points = [...state.points];
    if (action.positive) points.push({ point: action.positive, label: 1 });
    if (action.negative) points.push({ point: action.negative, label: 0 });
    promptOf.push(prompts.length);
    prompts.push({
      box: state.box,
      points,
      ...(state.logits ? { prevLogits: state.logits } : {}),
      prevMask: state.mask,
    });
  }
  // The oracle probe of the `improvable` case rule goes last (see improvableOf).
  if (state.oraclePrompt) prompts.push(state.oraclePrompt);
  return { prompts, promptOf };
}

export interface ScoreOptions {
  readonly rewards: RewardConfig;
  /** Group-level sampling statistics copied to each rollout (meanEntropy is computed per rollout). */
  readonly stats: Omit<SamplingStats, 'meanEntropy'>;
  /** The state's case given the group's outputs (`settleCase`). */
  readonly settled: SettledCase;
  /** Attach each rollout's resulting mask (COCO RLE). Default true. */
  readonly resultMasks?: boolean;
}

/** Scores the group; `outputs[k]` is the env result of prompt k. Pure given its inputs. */
export function scoreRollouts(
  state: TaskState,
  actions: readonly SampledAction[],
  outputs: readonly TransitionOutput[],
  promptOf: readonly number[],
  opts: ScoreOptions,
): Rollout[] {
  const { sample } = state.resolved;
  const withMasks = opts.resultMasks ?? true;
  return actions.map((sampled, i) => {
    const k = promptOf[i] ?? -1;
    const out = k >= 0 ? outputs[k] : undefined;
    if (k >= 0 && !out)
      throw new SamVeteranError('UNAVAILABLE', `environment returned no result for prompt ${k}`);
    const base = {
      tokenIds: [...sampled.tokens.ids],
      behaviourLogprobs: Array.from(sampled.logprobs),
      formatError: '',
      stats: { ...opts.stats, meanEntropy: meanNegLogProb(sampled.logprobs) },
    };
    const a = sampled.action;
    if (a.kind === 'box') {
      const samIou = out ? maskIou(out.mask, sample.gtMask, sample.ignore) : 0;
      const r = localizationReward(
        { parsed: true, predBox: a.box, gtBox: sample.gtBox, imageSize: sample.image, samIou },
        opts.rewards,
      );
      return {
        ...base,
        actionText: formatBoxAction(a.box),
        action: { kind: 'box', box: a.box } satisfies Action,
        reward: r.total,
        rewardBreakdown: finite({
          format: r.format,
          boxIou: r.boxIou,
          boxL1: r.boxL1,
          sam: r.sam,
          rawBoxIou: r.rawBoxIou,
          rawBoxL1Px: r.rawBoxL1Px,
        }),
        ...(out && withMasks ? { resultMask: maskToWire(out.mask) } : {}),
        iou: samIou,
      };
    }
    const action: Action = { kind: 'refine', positive: a.positive, negative: a.negative };
    const type = pointActionType(a);
    if (state.kind === 'auxiliary') {
      const regions = state.regions ?? { missed: [], extra: [] };
      const r = auxiliaryReward(
        { action: a, missed: regions.missed, extra: regions.extra, formatOk: true },
        opts.rewards,
      );
      return {
        ...base,
        actionText: formatPointAction(a),
        action,
        reward: r.total,
        rewardBreakdown: { format: r.format, positive: r.positive, negative: r.negative },
        iou: state.iouBefore,
      };
    }
    const iouAfter = out ? maskIou(out.mask, sample.gtMask, sample.ignore) : undefined;
    const r = maskUnderstandingReward(
      {
        modifiedIouBefore: state.modifiedIouBefore,
        iouBefore: state.iouBefore,
        iouAfter,
        actionType: type,
        formatOk: true,
        improvable: opts.settled.improvable,
      },
      opts.rewards,
    );
    return {
      ...base,
      actionText: formatPointAction(a),
      action,
      reward: r.total,
      rewardBreakdown: {
        dcs: r.dcs,
        delta: r.delta,
        deltaReward: r.deltaReward,
        goodEnough: r.case === 'good_enough' ? 1 : 0,
        ...(opts.settled.oracleGain !== undefined ? { oracleGain: opts.settled.oracleGain } : {}),
        ...(opts.settled.groupGain !== undefined ? { groupGain: opts.settled.groupGain } : {}),
      },
      ...(out && withMasks ? { resultMask: maskToWire(out.mask) } : {}),
      iou: iouAfter ?? state.iouBefore,
    };
  });
}

/** True when every reward of the group is equal: no advantage signal. */
export function isZeroVariance(rollouts: readonly Pick<Rollout, 'reward'>[]): boolean {
  const first = rollouts[0]?.reward;
  return rollouts.every((r) => Math.abs(r.reward - (first as number)) < 1e-9);
}

/**
 * −mean log π of the sampled tokens: a one-sample estimate of the per-token entropy (the sampler
 * does not return full distributions).
 */
function meanNegLogProb(lp: Float32Array): number {
  if (lp.length === 0) return 0;
  let s = 0;
  for (const v of lp) s -= v;
  return s / lp.length;
}

function finite(rec: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(rec)) if (Number.isFinite(v)) out[k] = v;
  return out;
}
