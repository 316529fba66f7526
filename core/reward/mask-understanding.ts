/**
 * Task 2 (mask understanding) reward, the paper's case × action table:
 *
 * | case \ action      | stop (null, null)     | refine (any point)              |
 * |--------------------|-----------------------|---------------------------------|
 * | GOOD ENOUGH        | R_DCS = 1, + 3 → 4    | R_DCS = 0, + R_Δ (if enabled)   |
 * | NEEDS REFINEMENT   | R_DCS = 0 → 0         | R_DCS = 1, + R_Δ → 1..4         |
 *
 * The case is GOOD ENOUGH when the modified IoU (boundary band ignored) of the current mask is
 * ≥ `goodEnoughIou` (0.9). R_Δ grades Δ = IoU(M′, GT) − IoU(M, GT) by `deltaThresholds`
 * ([0, 0.1, 0.5] → 0/1/2/3). A correct stop gets R_DCS + 3 so both correct branches top out at 4
 * (`stopBonus` replaces the 3).
 * Refining a GOOD ENOUGH mask gets R_DCS = 0 plus R_Δ, as in the paper's "R_Δ whenever refinement is
 * performed"; since Δ ≤ 1 − IoU(M, GT) is small there, it stays far below a correct stop
 * (`deltaOnGoodEnough: false` makes it exactly 0). A format error scores 0.
 * Deviation (config `harmPenalty`, default 1.5): a refinement that lowers the IoU by more than
 * `harmToleranceIou` gets R_Δ = −harmPenalty, so "always refine" cannot collect R_DCS for free.
 * Deviation (config `caseRule: improvable`, the default): a mask below `goodEnoughIou` that the
 * environment cannot improve (`improvable: false`, judged by the oracle's click) is GOOD ENOUGH.
 */
import { ValidationError } from '../errors/index.ts';
import { DEFAULT_REWARD_CONFIG } from './reward-config.ts';
import type { RewardConfig } from './reward-config.ts';

export type MaskCase = 'good_enough' | 'needs_refinement';

/** The point-action type (same union as core/actions' PointActionType). */
export type MaskActionType = 'stop' | 'positive' | 'negative' | 'both';

export interface MaskUnderstandingRewardInput {
  /** Modified IoU of the current mask M with GT (decides the case). */
  readonly modifiedIouBefore: number;
  /** Plain IoU(M, GT). */
  readonly iouBefore: number;
  /** Plain IoU(M′, GT) after SAM applied the points; undefined for a stop (or a format error). */
  readonly iouAfter?: number | undefined;
  readonly actionType: MaskActionType;
  readonly formatOk: boolean;
  /**
   * Whether the environment can improve M (see `maskCaseOf`); consulted only under
   * `caseRule: improvable`. Undefined = not probed: the absolute rule applies.
   */
  readonly improvable?: boolean | undefined;
}

/** The case of a mask: the modified IoU, and under `caseRule: improvable` the oracle's gain. */
export function maskCaseOf(
  modifiedIouBefore: number,
  improvable: boolean | undefined,
  config: RewardConfig = DEFAULT_REWARD_CONFIG,
): MaskCase {
  if (modifiedIouBefore >= config.goodEnoughIou) return 'good_enough';
  if (config.caseRule === 'improvable' && improvable === false) return 'good_enough';
  return 'needs_refinement';
}

export interface MaskUnderstandingReward {
  readonly case: MaskCase;
  /** R_DCS: 1 for the right decision (refine when needed, stop when good enough). */
  readonly dcs: number;
  /** Δ = iouAfter − iouBefore (0 for a stop). */
  readonly delta: number;
  /** R_Δ graded, or the fixed 3 of a correct stop. */
  readonly deltaReward: number;
  readonly total: number;
}

/** R_Δ: how many of the ascending thresholds Δ strictly exceeds. */
export function gradeDelta(
  delta: number,
  thresholds: readonly number[] = DEFAULT_REWARD_CONFIG.deltaThresholds,
): number {
  let g = 0;
  for (const t of thresholds) if (delta > t) g++;
  return g;
}

function checkIou(field: string, v: number): void {
  if (!(typeof v === 'number' && v >= 0 && v <= 1)) throw new ValidationError(field, v, 'must be in [0, 1]');
}

export function maskUnderstandingReward(
  input: MaskUnderstandingRewardInput,
  config: RewardConfig = DEFAULT_REWARD_CONFIG,
): MaskUnderstandingReward {
  checkIou('modifiedIouBefore', input.modifiedIouBefore);
  checkIou('iouBefore', input.iouBefore);
  const maskCase = maskCaseOf(input.modifiedIouBefore, input.improvable, config);
  if (!input.formatOk) return { case: maskCase, dcs: 0, delta: 0, deltaReward: 0, total: 0 };
  const maxGrade = config.deltaThresholds.length;
  if (input.actionType === 'stop') {
    const dcs = maskCase === 'good_enough' ? 1 : 0;
    const deltaReward = dcs === 1 ? (config.stopBonus ?? maxGrade) : 0;
    return { case: maskCase, dcs, delta: 0, deltaReward, total: dcs + deltaReward };
  }
  if (input.iouAfter === undefined) {
    throw new ValidationError(
      'iouAfter',
      input.iouAfter,
      `is required for a '${input.actionType}' refinement`,
    );
  }
  checkIou('iouAfter', input.iouAfter);
  const delta = input.iouAfter - input.iouBefore;
  const harmful = delta < -config.harmToleranceIou;
  const dcs = maskCase === 'needs_refinement' ? (delta > 0 || harmful ? 1 : config.neutralRefineCredit) : 0;
  const deltaReward = harmful
    ? -config.harmPenalty
    : dcs === 1 || config.deltaOnGoodEnough
      ? gradeDelta(delta, config.deltaThresholds)
      : 0;
  return { case: maskCase, dcs, delta, deltaReward, total: dcs + deltaReward };
}
