/**
 * The state s = (M, I, Q) of each GRPO task (ARCHITECTURE.md, "Three GRPO tasks"):
 *
 * - localization: (I, Q), no mask; the action is a box.
 * - mask understanding: M = the env's mask for a GT box perturbed by jitterBox (jitter drawn
 *   uniformly in `jitterRange`) or, with probability `policyBoxProbability`, for a box sampled from
 *   the current policy — masks of the kinds the agent will really look at. With probability
 *   `followUpProbability` the state is one refinement further on: the current policy's click on
 *   that mask (drawn until it clicks, at most `followUpDraws` times) has been applied, so M is a
 *   mask after clicks, as at evaluation steps 2 and 3 (a policy trained only on box masks made
 *   those later steps worse). The case (GOOD ENOUGH iff
 *   modified IoU(M, GT) ≥ goodEnoughIou) is fixed here.
 * - auxiliary: M̃ = corruptMask(GT) with added/removed polygons; with probability
 *   `cleanProbability` M̃ = GT exactly, so stopping is sometimes the right answer. Error regions
 *   (missed / extra, at least `minRegionFraction` of the GT area) are what the points must hit.
 *
 * The policy input is always `observationOf(image, query, M)` (core/agent), the function the learner
 * uses to rebuild it from the published Observation, so the recomputed log-probs match.
 */
import { pointActionType, type PointAction } from '../../../core/actions/index.ts';
import { observationOf, jitterBox, oracleRefinement } from '../../../core/agent/index.ts';
import type {
  EnvImage,
  EnvPort,
  LowResLogits,
  PromptPoint,
  TransitionOutput,
  TransitionPrompt,
} from '../../../core/env/index.ts';
import type { Box, Point } from '../../../core/geometry/index.ts';
import type { BinaryMask, ErrorRegions } from '../../../core/mask/index.ts';
import { corruptMask, errorRegions, maskArea, maskIou, modifiedIou } from '../../../core/mask/index.ts';
import { repeatRows, type PointerPolicy, type PolicyObservation } from '../../../core/policy/index.ts';
import { maskCaseOf, type RewardConfig } from '../../../core/reward/index.ts';
import type { Rng } from '../../../core/rng/index.ts';
import type { Observation, TaskKind } from '../../../core/wire/index.ts';
import { SamVeteranError } from '../../../core/errors/index.ts';
import type { ResolvedSample } from './sample-resolver.ts';
import { maskToRle as maskToWire } from '../../../core/wire/index.ts';

/** How states are made; all fields have defaults (see DEFAULT_STATE_OPTIONS). */
export interface StateOptions {
  /** Mask understanding: jitter (fraction of the box side, std of each edge) drawn uniformly here. Default [0.05, 0.35]. */
  readonly jitterRange: readonly [number, number];
  /** Mask understanding: probability that M comes from a policy-sampled box. Default 0.3. */
  readonly policyBoxProbability: number;
  /**
   * Mask understanding: probability that M is the mask after one policy refinement of the box mask
   * (if none of the `followUpDraws` draws clicks, the box mask stays). Default 0.7: with 0.4 the
   * trained agent's clicks at evaluation steps 2–3 still cost 0.016 gIoU; with 0.7 they cost none and
   * id-val gIoU rose by 0.028 [0.011, 0.047] in the default run (README).
   */
  readonly followUpProbability: number;
  /**
   * Mask understanding: policy draws for a follow-up state's click; the first draw that clicks is
   * applied (stop draws are skipped). Default 8; 1 = a single draw, which stops most of the time.
   */
  readonly followUpDraws: number;
  /**
   * Mask understanding: at most this many policy clicks in a follow-up state, the number drawn
   * uniformly in 1..followUpClicks (each click drawn as above; a draw of only stops ends the chain).
   * Default 1. Evaluation allows 3 refinements, so its third decision sees masks after two clicks.
   */
  readonly followUpClicks: number;
  /** Auxiliary: probability of an uncorrupted mask (stop is right). Default 0.2. */
  readonly cleanProbability: number;
  /** Auxiliary: error regions smaller than this fraction of the GT area (min 4 px) are ignored. Default 0.01. */
  readonly minRegionFraction: number;
  /** Auxiliary: corruption size cap, fraction of the GT area. Default 0.3. */
  readonly maxChangeFraction: number;
  /** Sampling temperature of a policy box for a mask-understanding state. Default 1. */
  readonly temperature: number;
  /** Boundary band of the modified IoU, px. Default 2. */
  readonly bandPx: number;
}

export const DEFAULT_STATE_OPTIONS: StateOptions = {
  jitterRange: [0.05, 0.35],
  policyBoxProbability: 0.3,
  followUpProbability: 0.7,
  followUpDraws: 8,
  followUpClicks: 1,
  cleanProbability: 0.2,
  minRegionFraction: 0.01,
  maxChangeFraction: 0.3,
  temperature: 1,
  bandPx: 2,
};

/** Where the state's mask came from (for logs and tests). */
export type StateOrigin = 'none' | 'gt-jitter' | 'policy-box' | 'follow-up' | 'corrupted' | 'clean';

export interface TaskState {
  readonly kind: TaskKind;
  readonly resolved: ResolvedSample;
  readonly envImage: EnvImage;
  /** The mask shown to the policy: M or M̃; null for localization. */
  readonly mask: BinaryMask | null;
  /** Box that produced M (mask understanding). */
  readonly box?: Box;
  /** Clicks that produced M (none: M comes from a box alone). */
  readonly points: readonly PromptPoint[];
  /** Low-res logits of M, fed back with the refinement prompts. */
  readonly logits?: LowResLogits;
  readonly origin: StateOrigin;
  /** What the policy sees. */
  readonly policyInput: PolicyObservation;
  /** The same state for the wire (image by digest only). */
  readonly observation: Observation;
  /** IoU(M, GT) with ignore pixels excluded; 0 for localization. */
  readonly iouBefore: number;
  /** Modified IoU(M, GT); 0 for localization. */
  readonly modifiedIouBefore: number;
  /**
   * Mask understanding: the case as far as known before the group's env call (a mask awaiting its
   * oracle probe counts as needing refinement until `improvableOf` says otherwise); auxiliary:
   * nothing to fix.
   */
  readonly goodEnough: boolean;
  /** Mask understanding under the `improvable` rule: the oracle's click, sent with the group. */
  readonly oraclePrompt?: TransitionPrompt;
  /** Mask understanding: whether the env can improve M, when known without a probe. */
  readonly improvable?: boolean;
  /** Auxiliary: the error regions of M̃. */
  readonly regions?: ErrorRegions;
  /** Env transitions spent making the state (the box mask, and a follow-up click's mask). */
  readonly stateTransitions: number;
}

export interface BuildStateDeps {
  readonly env: EnvPort;
  /** Samples the policy box of a mask-understanding state. */
  readonly policy: PointerPolicy;
  readonly rewards: RewardConfig;
  readonly options?: Partial<StateOptions>;
}

export function toEnvImageOf(r: ResolvedSample): EnvImage {
  const { image } = r.sample;
  return { digest: r.digest, width: image.width, height: image.height, rgb: image.rgb };
}

/** Builds the task's state; consumes `rng` (deterministic for a task seed and policy). */
export async function buildState(
  kind: TaskKind,
  resolved: ResolvedSample,
  rng: Rng,
  deps: BuildStateDeps,
): Promise<TaskState> {
  const o = { ...DEFAULT_STATE_OPTIONS, ...deps.options };
  const { sample } = resolved;
  const envImage = toEnvImageOf(resolved);
  const imageRef = { digest: resolved.digest };
  const gt = sample.gtMask;
  if (kind === 'localization') {
    return {
      kind,
      resolved,
      envImage,
      mask: null,
      points: [],
      origin: 'none',
      policyInput: observationOf(sample.image, sample.query, null),
      observation: { image: imageRef, query: sample.query, points: [], step: 0 },
      iouBefore: 0,
      modifiedIouBefore: 0,
      goodEnough: false,
      stateTransitions: 0,
    };
  }
  if (kind === 'mask_understanding') {
    let box: Box;
    let origin: StateOrigin;
    if (rng.float() < o.policyBoxProbability) {
      const [drawn] = deps.policy.sample([observationOf(sample.image, sample.query, null)], {
        kind: 'box',
        rng: rng.fork('policy-box'),
        temperature: o.temperature,
      });
      if (drawn?.action.kind !== 'box')
        throw new SamVeteranError('INTERNAL', 'policy returned no box for a state');
      box = drawn.action.box;
      origin = 'policy-box';
    } else {
      const jitter = rng.uniform(o.jitterRange[0], o.jitterRange[1]);
      box = jitterBox(sample.gtBox, sample.image, rng.fork('jitter'), jitter);
      origin = 'gt-jitter';
    }
    let [out] = await deps.env.transitionGroup(envImage, [{ box, points: [] }]);
    if (!out) throw new SamVeteranError('UNAVAILABLE', 'environment returned no mask for the state box');
    let statePoints: PromptPoint[] = [];
    let followUps = 0;
    if (rng.float() < o.followUpProbability) {
      // The policy's clicks given that it clicks: evaluation reaches step k + 1 only after k clicks,
      // so each is drawn until one appears (up to followUpDraws, one batched call). How many clicks
      // the state is further on is uniform in 1..followUpClicks.
      const clicks = o.followUpClicks > 1 ? 1 + Math.floor(rng.float() * o.followUpClicks) : 1;
      for (let c = 0; c < clicks; c++) {
        const prepared = deps.policy.prepare([observationOf(sample.image, sample.query, out.mask)]);
        const draws = deps.policy.sample(repeatRows(prepared, [Math.max(1, o.followUpDraws)]), {
          kind: 'refine',
          rng: rng.fork(c === 0 ? 'follow-up' : `follow-up-${c + 1}`),
          temperature: o.temperature,
        });
        const click = draws
          .map((d) => d.action)
          .find((a): a is PointAction => a.kind === 'points' && pointActionType(a) !== 'stop');
        if (!click) break;
        const points = [...statePoints, ...clickPoints(click.positive, click.negative)];
        const [next] = await deps.env.transitionGroup(envImage, [
          { box, points, ...(out.lowResLogits ? { prevLogits: out.lowResLogits } : {}), prevMask: out.mask },
        ]);
        if (!next)
          throw new SamVeteranError('UNAVAILABLE', 'environment returned no mask for the follow-up click');
        out = next;
        statePoints = points;
        origin = 'follow-up';
        followUps++;
      }
    }
    const mask = out.mask;
    const mIou = modifiedIou(mask, gt, { bandPx: o.bandPx });
    const logits = out.lowResLogits ? { prevLogits: out.lowResLogits } : {};
    let probe: { oraclePrompt: TransitionPrompt } | { improvable: false } | Record<string, never> = {};
    if (mIou < deps.rewards.goodEnoughIou && deps.rewards.caseRule === 'improvable') {
      const click = oracleRefinement(mask, gt, {
        goodEnoughIou: deps.rewards.goodEnoughIou,
        bandPx: o.bandPx,
      });
      const points = clickPoints(click.positive, click.negative);
      // No error region big enough to click: nothing the env could be asked to fix.
      probe =
        points.length > 0
          ? { oraclePrompt: { box, points: [...statePoints, ...points], ...logits, prevMask: mask } }
          : { improvable: false };
    }
    return {
      kind,
      resolved,
      envImage,
      mask,
      box,
      points: statePoints,
      ...(out.lowResLogits ? { logits: out.lowResLogits } : {}),
      origin,
      policyInput: observationOf(sample.image, sample.query, mask),
      observation: {
        image: imageRef,
        query: sample.query,
        currentMask: maskToWire(mask),
        box,
        points: statePoints,
        step: 1 + followUps,
      },
      iouBefore: maskIou(mask, gt, sample.ignore),
      modifiedIouBefore: mIou,
      goodEnough:
        maskCaseOf(mIou, 'improvable' in probe ? probe.improvable : undefined, deps.rewards) ===
        'good_enough',
      ...probe,
      stateTransitions: 1 + followUps,
    };
  }
  // auxiliary
  const { mask, operations } = corruptMask(gt, rng.fork('corrupt'), {
    cleanProbability: o.cleanProbability,
    maxChangeFraction: o.maxChangeFraction,
  });
  const minArea = Math.max(4, Math.round(o.minRegionFraction * maskArea(gt)));
  const regions = errorRegions(mask, gt, { minArea });
  return {
    kind,
    resolved,
    envImage,
    mask,
    points: [],
    origin: operations === 0 ? 'clean' : 'corrupted',
    policyInput: observationOf(sample.image, sample.query, mask),
    observation: { image: imageRef, query: sample.query, currentMask: maskToWire(mask), points: [], step: 1 },
    iouBefore: maskIou(mask, gt, sample.ignore),
    modifiedIouBefore: modifiedIou(mask, gt, { bandPx: o.bandPx }),
    goodEnough: regions.missed.length === 0 && regions.extra.length === 0,
    regions,
    stateTransitions: 0,
  };
}

/** The state's case once the group's env results are in (see `improvableOf`). */
export interface SettledCase {
  readonly goodEnough: boolean;
  /** Mask understanding: whether the env can improve M; undefined when not probed. */
  readonly improvable?: boolean | undefined;
  /** Mask understanding: the oracle click's IoU gain, when probed. */
  readonly oracleGain?: number;
  /** Mask understanding, `improvableEvidence: group`: the best IoU gain among the group's own clicks. */
  readonly groupGain?: number;
}

/** Settles the case of a state from the group's outputs; only mask understanding can change. */
export function settleCase(
  state: TaskState,
  outputs: readonly TransitionOutput[],
  rewards: RewardConfig,
): SettledCase {
  if (state.kind !== 'mask_understanding') return { goodEnough: state.goodEnough };
  const probe = improvableOf(state, outputs, rewards);
  const goodEnough = maskCaseOf(state.modifiedIouBefore, probe.improvable, rewards) === 'good_enough';
  return { goodEnough, ...probe };
}

/**
 * Whether the env can improve a mask-understanding state's mask: known up front, or from the
 * oracle prompt's result (the last of the group's outputs) against `improvableGain`; with
 * `improvableEvidence: group`, also from the group's own clicks (the outputs before the oracle's).
 * Undefined when the state was not probed (the absolute case rule, or a mask already GOOD ENOUGH).
 */
export function improvableOf(
  state: TaskState,
  outputs: readonly TransitionOutput[],
  rewards: RewardConfig,
): { improvable: boolean | undefined; oracleGain?: number; groupGain?: number } {
  if (state.improvable === undefined && !state.oraclePrompt) return { improvable: undefined };
  const { sample } = state.resolved;
  const gainOf = (out: TransitionOutput) => maskIou(out.mask, sample.gtMask, sample.ignore) - state.iouBefore;
  let oracle: { improvable: boolean; oracleGain?: number } = { improvable: state.improvable === true };
  if (state.oraclePrompt) {
    const out = outputs.at(-1);
    if (!out) throw new SamVeteranError('UNAVAILABLE', 'environment returned no result for the oracle probe');
    const oracleGain = gainOf(out);
    oracle = { improvable: oracleGain > rewards.improvableGain, oracleGain };
  }
  if (rewards.improvableEvidence !== 'group') return oracle;
  const own = state.oraclePrompt ? outputs.slice(0, -1) : outputs;
  if (own.length === 0) return oracle;
  const groupGain = Math.max(...own.map(gainOf));
  return { ...oracle, improvable: oracle.improvable || groupGain > rewards.improvableGain, groupGain };
}

/** A refinement's points as env prompt points (positive first). */
function clickPoints(positive: Point | null, negative: Point | null): PromptPoint[] {
  const points: PromptPoint[] = [];
  if (positive) points.push({ point: positive, label: 1 });
  if (negative) points.push({ point: negative, label: 0 });
  return points;
}
