/**
 * Task 1 (text localization) reward, after the paper: R = R_format + R_IoU + R_L1 + R_SAM, where
 * R_IoU = 1[IoU(b, b_GT) ≥ 0.5], R_L1 = 1[mean corner L1(b, b_GT) ≤ τ] and R_SAM = IoU(SAM(b), M_GT).
 * τ is 10 px at the paper's 840-px scale, scaled to this image: τ = 10 · max(W, H) / 840. The long
 * side is used because Qwen2.5-VL inputs are resized by their long side; on a 420-px image τ = 5 px.
 * Maximum 4.
 */
import { ValidationError } from '../errors/index.ts';
import { boxCornerL1, boxIou } from '../geometry/index.ts';
import type { Box, ImageSize } from '../geometry/index.ts';
import { DEFAULT_REWARD_CONFIG } from './reward-config.ts';
import type { RewardConfig } from './reward-config.ts';

export interface LocalizationRewardInput {
  /** Whether the action text parsed as a valid box. */
  readonly parsed: boolean;
  /** The parsed box (ignored when `parsed` is false). */
  readonly predBox?: Box | null;
  readonly gtBox: Box;
  readonly imageSize: ImageSize;
  /** IoU of SAM's mask for the predicted box with the GT mask, in [0, 1]. */
  readonly samIou: number;
}

export interface LocalizationReward {
  readonly format: number;
  readonly boxIou: number;
  readonly boxL1: number;
  readonly sam: number;
  readonly total: number;
  /** Diagnostics: the raw box IoU, mean corner L1 (px) and the L1 threshold used (px). */
  readonly rawBoxIou: number;
  readonly rawBoxL1Px: number;
  readonly l1ThresholdPx: number;
}

/** τ: the mean-corner-L1 threshold in pixels for an image of this size. */
export function boxL1ThresholdFor(size: ImageSize, config: RewardConfig = DEFAULT_REWARD_CONFIG): number {
  return (config.boxL1ThresholdPx * Math.max(size.width, size.height)) / config.boxL1ReferenceSizePx;
}

export function localizationReward(
  input: LocalizationRewardInput,
  config: RewardConfig = DEFAULT_REWARD_CONFIG,
): LocalizationReward {
  const l1ThresholdPx = boxL1ThresholdFor(input.imageSize, config);
  if (!input.parsed || !input.predBox) {
    return {
      format: 0,
      boxIou: 0,
      boxL1: 0,
      sam: 0,
      total: 0,
      rawBoxIou: 0,
      rawBoxL1Px: Number.NaN,
      l1ThresholdPx,
    };
  }
  if (!(input.samIou >= 0 && input.samIou <= 1)) {
    throw new ValidationError('samIou', input.samIou, 'must be in [0, 1]');
  }
  const rawBoxIou = boxIou(input.predBox, input.gtBox);
  const rawBoxL1Px = boxCornerL1(input.predBox, input.gtBox);
  const iouR = rawBoxIou >= config.boxIouThreshold ? 1 : 0;
  const l1R = rawBoxL1Px <= l1ThresholdPx ? 1 : 0;
  const sam = input.samIou;
  return {
    format: 1,
    boxIou: iouR,
    boxL1: l1R,
    sam,
    total: 1 + iouR + l1R + sam,
    rawBoxIou,
    rawBoxL1Px,
    l1ThresholdPx,
  };
}
