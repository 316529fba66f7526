/**
 * One GRPO update on an assembled batch (ARCHITECTURE.md, "GRPO"):
 *   1. advantages from the rewards, group after group (REINFORCE++ global normalisation by default:
 *      subtract the group mean, whiten across the batch; or per-group normalisation), core/grpo;
 *   2. reference log-probs under the frozen warm-start policy (no gradient);
 *   3. AdamW on the token-level clipped surrogate + β·k3 KL (grpo-objective.ts).
 * Statistics (clip fraction, ratios, KL) come from core/grpo's reference implementation on the
 * same numbers, so what is logged is what the pure-math tests pin down.
 *
 * Steps 1–3's forward and backward passes (`grpoGradients`) are the step's cost and need no
 * optimizer, so the learner can run them in its step thread (step-thread.ts); `grpoStep` runs the
 * whole step here.
 */
import type { LearnerConfig } from '../../../core/config/index.ts';
import { computeAdvantages, grpoLoss, zeroVarianceGroups } from '../../../core/grpo/index.ts';
import type { PointerPolicy } from '../../../core/policy/index.ts';
import { buildTargets, MAX_ACTION_TOKENS, tf, type ActionTokens } from '../../../core/policy/index.ts';
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
  /**
   * Mean π(stop) (before the update) over the batch's mask-understanding states that drew a stop,
   * GOOD ENOUGH and NEEDS REFINEMENT apart (NaN when none): how well the policy tells the two apart.
   */
  readonly stopProbGoodEnough: number;
  readonly stopProbNeedsRefinement: number;
  /**
   * The supervised stop term's cross-entropy (0 when off or no state qualified); against the
   * reference's π(stop) it includes that distribution's entropy, so it is not 0 at the anchor.
   */
  readonly stopSupervisionLoss: number;
}

/**
 * Rows whose type token gives log π(stop) of a mask-understanding state: the first stop rollout of
 * each such group (the same state for the whole group, so one row stands for it).
 */
function stopRows(batch: StepBatch, G: number): number[] {
  const rows: number[] = [];
  for (let g = 0; g * G < batch.tokens.length; g++) {
    if (batch.kinds[g * G] !== 'mask_understanding') continue;
    for (let i = g * G; i < (g + 1) * G; i++) {
      if (isStop(batch.tokens[i] as ActionTokens)) {
        rows.push(i);
        break;
      }
    }
  }
  return rows;
}

export type StepSettings = Pick<
  LearnerConfig,
  | 'groupSize'
  | 'advantageMode'
  | 'advantageEps'
  | 'clipEps'
  | 'klCoef'
  | 'drawWeights'
  | 'stopSupervision'
  | 'stopSupervisionTarget'
>;

/** What the step's forward/backward pass gives: the gradient, and what the statistics need. */
export interface GrpoGradients {
  /** Gradient of the total loss by parameter name (to `PointerPolicy.applyGradients`). */
  readonly grads: Map<string, Float32Array>;
  /** The total loss before the update (surrogate + KL + stop term). */
  readonly loss: number;
  /** New-policy token log-probs [n·L] (before the update). */
  readonly logpNew: Float32Array;
  /** Reference token log-probs [n·L]. */
  readonly logpRef: Float32Array;
  /** 1 where a row has a token at that position [n·L]. */
  readonly tokenMask: Float32Array;
  /** Per-rollout advantages [n] the loss used. */
  readonly advantages: Float64Array;
  readonly stopSupervisionLoss: number;
}

/**
 * The expensive half of a step: reference log-probs and the loss's gradient under `policy`'s
 * current weights, without updating anything. Runs on the learner's thread or in its step worker
 * (step-worker.ts); both give the same numbers to the bit.
 */
export function grpoGradients(
  policy: PointerPolicy,
  reference: PointerPolicy,
  batch: StepBatch,
  cfg: StepSettings,
): GrpoGradients {
  const G = cfg.groupSize;
  const n = batch.tokens.length;
  const L = MAX_ACTION_TOKENS;
  const adv = Float64Array.from(
    computeAdvantages(
      cfg.advantageMode,
      batch.rewards,
      G,
      cfg.advantageEps,
      cfg.drawWeights ? batch.drawWeights : undefined,
    ),
  );
  const advantages = Float32Array.from(adv);
  const targets = buildTargets(batch.tokens, policy.codec);
  const refTensor = tf.tidy(() => reference.logProbs(batch.prepared, targets).logprobs);
  const logpRef = (refTensor.dataSync() as Float32Array).slice();
  refTensor.dispose();
  let logpNew = new Float32Array(n * L);
  const rows = stopRows(batch, G);
  const lambda = cfg.stopSupervision;
  let stopSupervisionLoss = 0;
  const { loss, grads } = policy.computeGradients(() => {
    const { logprobs, mask } = policy.logProbs(batch.prepared, targets);
    logpNew = (logprobs.dataSync() as Float32Array).slice();
    const { loss } = grpoObjective({
      logpNew: logprobs,
      mask,
      logpOld: batch.logpOld,
      logpRef,
      advantages,
      clipEps: cfg.clipEps,
      klCoef: cfg.klCoef,
    });
    if (lambda === 0 || rows.length === 0) return loss;
    // −[y log p + (1 − y) log(1 − p)] on each selected row's type token (p = π(stop)); the other
    // rows enter with weight 0 (a mask product: Gather's gradient needs a kernel WASM lacks).
    // y is the state's case, or the reference's π(stop) (the row's token is a stop, so its
    // reference log-prob at position 0 is log π_ref(stop)).
    const pick = new Float32Array(n);
    const label = new Float32Array(n);
    for (const r of rows) {
      pick[r] = 1;
      label[r] =
        cfg.stopSupervisionTarget === 'reference'
          ? Math.exp(logpRef[r * L] as number)
          : (batch.goodEnough[r] as number);
    }
    const lp = tf.reshape(tf.slice(logprobs, [0, 0], [n, 1]), [n]);
    const y = tf.tensor1d(label);
    const logNot = tf.log(tf.add(tf.sub(1, tf.exp(lp)), 1e-6));
    const ce = tf.neg(tf.add(tf.mul(y, lp), tf.mul(tf.sub(1, y), logNot)));
    const sup = tf.div(tf.sum(tf.mul(ce, tf.tensor1d(pick))), rows.length);
    stopSupervisionLoss = (sup.dataSync() as Float32Array)[0] as number;
    return tf.add(loss, tf.mul(sup, lambda)) as tf.Scalar;
  });
  return { grads, loss, logpNew, logpRef, tokenMask: targets.mask, advantages: adv, stopSupervisionLoss };
}

/** One GRPO update on this thread: `grpoGradients`, then AdamW on `policy`. */
export function grpoStep(
  policy: PointerPolicy,
  reference: PointerPolicy,
  batch: StepBatch,
  cfg: StepSettings,
): GrpoStepResult {
  const g = grpoGradients(policy, reference, batch, cfg);
  const { gradNorm } = policy.applyGradients(g.grads, g.loss);
  return grpoStepResult(batch, cfg, g, gradNorm);
}

/** The step's statistics from its gradients' by-products (plain arithmetic, no tensors). */
export function grpoStepResult(
  batch: StepBatch,
  cfg: StepSettings,
  g: Omit<GrpoGradients, 'grads'>,
  gradNorm: number,
): GrpoStepResult {
  const G = cfg.groupSize;
  const n = batch.tokens.length;
  const L = MAX_ACTION_TOKENS;
  const adv = g.advantages;
  const rows = stopRows(batch, G);
  const { logpNew, logpRef, stopSupervisionLoss } = g;
  const stopProb = (good: number): number => {
    let sum = 0;
    let k = 0;
    for (const r of rows) {
      if (batch.goodEnough[r] !== good) continue;
      sum += Math.exp(logpNew[r * L] as number);
      k++;
    }
    return k > 0 ? sum / k : Number.NaN;
  };
  const tokenAdv = new Float64Array(n * L);
  for (let b = 0; b < n; b++) tokenAdv.fill(adv[b] as number, b * L, (b + 1) * L);
  const stats = grpoLoss({
    logpNew,
    logpOld: batch.logpOld,
    logpRef,
    advantages: tokenAdv,
    mask: g.tokenMask,
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
    stopProbGoodEnough: stopProb(1),
    stopProbNeedsRefinement: stopProb(0),
    stopSupervisionLoss,
  };
}
