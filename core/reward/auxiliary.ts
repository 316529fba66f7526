/**
 * Task 3 (auxiliary mask understanding) reward: the state's mask is the GT mask corrupted by added
 * and removed polygons, and the policy must point at the error centres. Per part (positive, negative):
 *
 * - regions of that kind exist (missed for positive, extra for negative):
 *     point inside one → closeness = depthAt(p) / region.radius ∈ (0, 1], 1 at the interior centre;
 *     point outside all of them (including inside a region of the other kind) → 0;
 *     null → 0 (an error was left unmarked).
 * - no region of that kind:
 *     null → 1 (correctly nothing to mark); any point → 0.
 *
 * A stop (null, null) when something is wrong keeps `auxiliaryStopCredit` (default 1: part by
 * part) of the part credit of a kind with no regions ("correctly nothing to mark"). Measured on the
 * embedded policy with GRPO (300 steps, full task mix, id-val): at 1, auxiliary-only training
 * drifts toward stopping (stop rate 0.55 → 0.97 in 140 steps) but the full mix leaves evaluation
 * gIoU flat; at 0.5 the agent refines 1.4 times per episode and id-val gIoU falls 0.386 → 0.250; at
 * 0 it never stops and gIoU halves. Clicking more is rewarded here, on corrupted GT masks, but
 * costs at evaluation, where GrabCut turns imprecise clicks into worse masks. Wrong points
 * get 0 rather than a negative penalty: all task rewards stay in [0, 4], and GRPO's group baseline
 * already makes a 0 among better siblings a negative advantage.
 *
 * total = format + w · (positive + negative), w = `auxiliaryPartWeight` (1.5), so a perfect answer
 * scores 1 + 1.5 · 2 = 4, the same maximum as localization and mask understanding, which keeps
 * batch-whitened advantages comparable across the task mix. A format error scores 0.
 */
import type { PointAction } from '../actions/index.ts';
import type { Point } from '../geometry/index.ts';
import type { ErrorRegion } from '../mask/index.ts';
import { DEFAULT_REWARD_CONFIG } from './reward-config.ts';
import type { RewardConfig } from './reward-config.ts';

/** The subset of ErrorRegion the reward reads. */
export type ScoredRegion = Pick<ErrorRegion, 'kind' | 'radius' | 'contains' | 'depthAt'>;

export interface AuxiliaryRewardInput {
  readonly action: Pick<PointAction, 'positive' | 'negative'> | null;
  /** False-negative regions of the corrupted mask (GT foreground it lacks). */
  readonly missed: readonly ScoredRegion[];
  /** False-positive regions (background it covers). */
  readonly extra: readonly ScoredRegion[];
  readonly formatOk: boolean;
}

export interface AuxiliaryReward {
  readonly format: number;
  /** Positive-part score in [0, 1] (before weighting). */
  readonly positive: number;
  /** Negative-part score in [0, 1] (before weighting). */
  readonly negative: number;
  readonly total: number;
}

/** Closeness of a point to the centre of the region (of the right kind) that contains it; 0 if none. */
export function pointCloseness(point: Point, regions: readonly ScoredRegion[]): number {
  let best = 0;
  for (const r of regions) {
    if (!r.contains(point) || !(r.radius > 0)) continue;
    const c = Math.min(1, Math.max(0, r.depthAt(point) / r.radius));
    if (c > best) best = c;
  }
  return best;
}

function partScore(point: Point | null, regions: readonly ScoredRegion[]): number {
  if (regions.length === 0) return point === null ? 1 : 0;
  return point === null ? 0 : pointCloseness(point, regions);
}

export function auxiliaryReward(
  input: AuxiliaryRewardInput,
  config: RewardConfig = DEFAULT_REWARD_CONFIG,
): AuxiliaryReward {
  if (!input.formatOk || !input.action) return { format: 0, positive: 0, negative: 0, total: 0 };
  const { positive: p, negative: n } = input.action;
  const wrongStop = p === null && n === null && (input.missed.length > 0 || input.extra.length > 0);
  const credit = wrongStop ? config.auxiliaryStopCredit : 1;
  const positive = credit * partScore(p, input.missed);
  const negative = credit * partScore(n, input.extra);
  return { format: 1, positive, negative, total: 1 + config.auxiliaryPartWeight * (positive + negative) };
}
