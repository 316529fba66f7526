/**
 * Reward thresholds, validated by zod with the paper's values as defaults. Service configs
 * (core/config) embed this schema under `rewards`.
 */
import { z } from 'zod';

export const RewardConfigSchema = z.strictObject({
  /** Localization: a predicted box counts as accurate when its IoU with the GT box is ≥ this. */
  boxIouThreshold: z.number().min(0).max(1).default(0.5),
  /**
   * Localization: mean corner L1 threshold in pixels at the reference scale. The effective
   * threshold is `boxL1ThresholdPx * max(W, H) / boxL1ReferenceSizePx`, i.e. 10 px on the paper's
   * 840-px-long-side inputs, scaled with the image so the criterion is resolution independent.
   */
  boxL1ThresholdPx: z.number().positive().default(10),
  /** Long side (px) at which `boxL1ThresholdPx` applies. */
  boxL1ReferenceSizePx: z.number().positive().default(840),
  /** Mask understanding: modified IoU at or above which a mask is GOOD ENOUGH. */
  goodEnoughIou: z.number().min(0).max(1).default(0.9),
  /**
   * How the mask-understanding case is decided.
   * - `absolute` (the paper): NEEDS REFINEMENT iff modified IoU < `goodEnoughIou`.
   * - `improvable` (default here): additionally, the environment must be able to improve the mask:
   *   the oracle's click (centres of the largest missed/extra regions, core/agent) applied through
   *   the same env must raise IoU by more than `improvableGain`; otherwise the mask is as good as
   *   this env can make it, and stopping is the right call. The paper's SAM2-Large almost always
   *   fixes what a correct click points at, so there the two rules agree; GrabCut (the embedded env)
   *   caps most masks below 0.9 (GT box alone: gIoU 0.64), and with `absolute` nearly every state
   *   paid R_DCS = 1 for refining, so GRPO learned to click on masks no click can fix (a wrong
   *   object, GrabCut's ceiling) and evaluation gIoU fell. Costs one extra prompt in the state's
   *   group call.
   */
  caseRule: z.enum(['absolute', 'improvable']).default('improvable'),
  /** `improvable` rule: IoU gain of the oracle's click above which a mask counts as fixable. Default 0.02. */
  improvableGain: z.number().min(0).max(1).default(0.02),
  /**
   * `improvable` rule: whose clicks show that the env can improve a mask.
   * - `oracle`: only the oracle's click (centres of the largest missed/extra regions).
   * - `group`: the oracle's click or any of the group's own refinements: a mask one of the policy's
   *   sampled clicks raised by more than `improvableGain` was fixable, so stopping on it is not
   *   paid 4. Under `oracle`, the policy's own clicks often help where the oracle's does not (the warm
   *   start's third clicks add +0.027 gIoU on average), those states paid a stop 4, and GRPO spent its
   *   gain on stopping earlier. No extra env calls.
   */
  improvableEvidence: z.enum(['oracle', 'group']).default('oracle'),
  /**
   * Graded IoU-improvement reward R_Δ: the reward is the number of thresholds Δ exceeds, so
   * [0, 0.1, 0.5] gives Δ ≤ 0 → 0, (0, 0.1] → 1, (0.1, 0.5] → 2, > 0.5 → 3. Ascending.
   */
  deltaThresholds: z
    .array(z.number().min(-1).max(1))
    .min(1)
    .default([0, 0.1, 0.5])
    .refine((t) => t.every((v, i) => i === 0 || v > (t[i - 1] as number)), 'must be strictly ascending'),
  /**
   * Mask understanding: what a correct stop (on a GOOD ENOUGH mask) earns on top of R_DCS = 1. null =
   * the number of `deltaThresholds` (3: the paper's "R_DCS + 3", so both correct branches top out at
   * 4). Lower values weigh a click on a good mask less against a stop on a bad one. Default null.
   */
  stopBonus: z.number().min(0).max(10).nullable().default(null),
  /**
   * Whether refining a GOOD ENOUGH mask still earns R_Δ (with R_DCS = 0). The paper's reward is
   * R_DCS + R_Δ whenever a refinement is made, so default true; on a good mask Δ is small (≤ 1 − IoU),
   * which keeps this branch well below the 4 of a correct stop.
   */
  deltaOnGoodEnough: z.boolean().default(true),
  /**
   * R_Δ for a refinement that makes the mask worse by more than `harmToleranceIou`: −harmPenalty.
   * Not in the paper (Δ ≤ 0 → 0 there). Without it R_DCS pays 1 for any refinement of a mask that
   * needs it, and the embedded policy learned in 60 steps to never stop and click anywhere (id-val
   * gIoU 0.38 → 0.05). With 1.5, a harmful refinement (1 − 1.5) scores below a wrong stop (0).
   * 0 restores the paper's table. Default 1.5.
   */
  harmPenalty: z.number().nonnegative().default(1.5),
  /**
   * R_DCS paid for refining a NEEDS REFINEMENT mask when the refinement does not raise the IoU
   * (Δ ≤ 0, not harmful). The paper pays the full 1 for the decision to refine, whatever its effect;
   * 0 pays the decision only when the click helps, so a click the policy is unsure of is worth no
   * more than stopping. Default 1 (the paper).
   */
  neutralRefineCredit: z.number().min(0).max(1).default(1),
  /** IoU loss below which a refinement is not yet "harmful" (GrabCut/SAM jitter). Default 0.02. */
  harmToleranceIou: z.number().min(0).max(1).default(0.02),
  /**
   * Auxiliary task: weight of each point part (positive, negative), each scored in [0, 1]. With the
   * format point, the maximum is 1 + 2 × 1.5 = 4, the same as the other two tasks' maxima.
   */
  auxiliaryPartWeight: z.number().nonnegative().default(1.5),
  /**
   * Auxiliary: fraction of its part credit a stop keeps when the mask has errors (see
   * core/reward/auxiliary.ts for the measurements behind the default). 1 = part by part. Default 1.
   */
  auxiliaryStopCredit: z.number().min(0).max(1).default(1),
});

export type RewardConfig = z.infer<typeof RewardConfigSchema>;

/** The defaults, parsed once. */
export const DEFAULT_REWARD_CONFIG: RewardConfig = RewardConfigSchema.parse({});

/** Fills defaults into a partial config and validates it. */
export function rewardConfig(partial: Partial<RewardConfig> = {}): RewardConfig {
  return RewardConfigSchema.parse(partial);
}
