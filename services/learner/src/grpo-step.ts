/**
 * One GRPO update on an assembled batch (ARCHITECTURE.md, "GRPO"):
 *   1. advantages from the rewards, group after group (REINFORCE++ global normalisation by default:
 *      subtract the group mean, whiten across the batch; or per-group normalisation), core/grpo;
 *   2. reference log-probs under the frozen warm-start policy (no gradient);
 *   3. AdamW on the token-level clipped surrogate + β·k3 KL (grpo-objective.ts).
 * Statistics (clip fraction, ratios, KL) come from core/grpo's reference implementation on the
 * same numbers, so what is logged is what the pure-math tests pin down.
 */
import type { LearnerConfig } from '../../../core/config/index.ts';
import { computeAdvantages, grpoLoss, zeroVarianceGroups } from '../../../core/grpo/index.ts';
import type { PointerPolicy } from '../../../core/policy/index.ts';
import { buildTargets, MAX_ACTION_TOKENS, tf } from '../../../core/policy/index.ts';
import { isStop, type StepBatch } from './batch.ts';
import { grpoObjective } from './grpo-objective.ts';

export interface GrpoStepResult {
  readonly loss: number;
  readonly policyLoss: number;
  readonly kl: number;
  readonly gradNorm: number;
  readonly clipFraction: number;
  readonly ratioMean: number;
  readonly ratioMin: number;
  readonly ratioMax: number;
  readonly tokens: number;
  readonly advantageMean: number;
  readonly advantageStd: number;
  readonly zeroVarianceGroups: number;
  /** Fraction of refine rollouts that chose (null, null); NaN when the batch had none. */
  readonly stopRate: number;
}

type StepSettings = Pick<
  LearnerConfig,
  'groupSize' | 'advantageMode' | 'advantageEps' | 'clipEps' | 'klCoef' | 'drawWeights'
>;

export function grpoStep(
  policy: PointerPolicy,
  reference: PointerPolicy,
  batch: StepBatch,
  cfg: StepSettings,
): GrpoStepResult {
  const G = cfg.groupSize;
  const n = batch.tokens.length;
  const L = MAX_ACTION_TOKENS;
  const adv = computeAdvantages(
    cfg.advantageMode,
    batch.rewards,
    G,
    cfg.advantageEps,
    cfg.drawWeights ? batch.drawWeights : undefined,
  );
  const advantages = Float32Array.from(adv);
  const targets = buildTargets(batch.tokens, policy.codec);
  const refTensor = tf.tidy(() => reference.logProbs(batch.prepared, targets).logprobs);
  const logpRef = (refTensor.dataSync() as Float32Array).slice();
  refTensor.dispose();
  let logpNew = new Float32Array(n * L);
  const { gradNorm } = policy.trainStep(() => {
    const { logprobs, mask } = policy.logProbs(batch.prepared, targets);
    logpNew = (logprobs.dataSync() as Float32Array).slice();
    return grpoObjective({
      logpNew: logprobs,
      mask,
      logpOld: batch.logpOld,
      logpRef,
      advantages,
      clipEps: cfg.clipEps,
      klCoef: cfg.klCoef,
    }).loss;
  });
  const tokenAdv = new Float64Array(n * L);
  for (let b = 0; b < n; b++) tokenAdv.fill(adv[b] as number, b * L, (b + 1) * L);
  const stats = grpoLoss({
    logpNew,
    logpOld: batch.logpOld,
    logpRef,
    advantages: tokenAdv,
    mask: targets.mask,
    eps: cfg.clipEps,
    klCoef: cfg.klCoef,
  });
  let sum = 0;
  for (const a of adv) sum += a;
  const mean = sum / Math.max(1, n);
  let ss = 0;
  for (const a of adv) ss += (a - mean) ** 2;
  let refine = 0;
  let stops = 0;
  for (const t of batch.tokens) {
    if (t.kind !== 'refine') continue;
    refine++;
    if (isStop(t)) stops++;
  }
  return {
    loss: stats.loss,
    policyLoss: stats.policyLoss,
    kl: stats.kl,
    gradNorm,
    clipFraction: stats.clipFraction,
    ratioMean: stats.ratioMean,
    ratioMin: stats.ratioMin,
    ratioMax: stats.ratioMax,
    tokens: stats.tokens,
    advantageMean: mean,
    advantageStd: Math.sqrt(ss / Math.max(1, n)),
    zeroVarianceGroups: zeroVarianceGroups(batch.rewards, G),
    stopRate: refine > 0 ? stops / refine : Number.NaN,
  };
}
