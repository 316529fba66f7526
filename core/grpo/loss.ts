/**
 * The GRPO objective over per-token log-probabilities, as pure functions (the reference for the
 * learner's autodiff implementation, and its gradient for checking it).
 *
 * Clipped surrogate (PPO/GRPO), per valid token t with ratio ρ_t = exp(logp_new − logp_old):
 *     o_t = min(ρ_t A_t, clip(ρ_t, 1 − ε, 1 + ε) A_t)
 * k3 KL estimator (Schulman 2020, as in GRPO), with d_t = logp_ref − logp_new:
 *     k3_t = exp(d_t) − d_t − 1   (≥ 0, unbiased for KL(π_θ ‖ π_ref) under samples from π_θ)
 * Loss (minimised):
 *     L = −(1/N) Σ_t o_t + β (1/N) Σ_t k3_t,   N = number of valid tokens in the whole batch.
 * Token-level averaging over the batch (DAPO-style) rather than per-sequence-then-batch: every token
 * weighs the same, so long action texts are not down-weighted. The embedded policy emits fixed-length
 * actions, for which the two agree.
 */
import { ValidationError } from '../errors/index.ts';

/** k3 per token: exp(ref − pol) − (ref − pol) − 1. */
export function k3Kl(logpPolicy: ArrayLike<number>, logpRef: ArrayLike<number>): Float64Array {
  sameLength('logpRef', logpRef, logpPolicy.length);
  const out = new Float64Array(logpPolicy.length);
  for (let i = 0; i < out.length; i++) {
    const d = (logpRef[i] as number) - (logpPolicy[i] as number);
    out[i] = Math.exp(d) - d - 1;
  }
  return out;
}

export interface SurrogateInput {
  readonly logpNew: ArrayLike<number>;
  readonly logpOld: ArrayLike<number>;
  /** Per-token advantages (see broadcastToTokens). */
  readonly advantages: ArrayLike<number>;
  /** 1 for tokens that count, 0 for padding; default all valid. */
  readonly mask?: ArrayLike<number>;
  /** Clip range ε. Default 0.2. */
  readonly eps?: number;
}

export interface SurrogateResult {
  /** −mean over valid tokens of o_t. */
  readonly loss: number;
  /** Fraction of valid tokens where the clipped term is the binding one (zero gradient). */
  readonly clipFraction: number;
  readonly ratioMean: number;
  readonly ratioMin: number;
  readonly ratioMax: number;
  /** Number of valid tokens N. */
  readonly tokens: number;
  /** ∂loss/∂logpNew per token (0 on padding and where clipped). */
  readonly grad: Float64Array;
}

function sameLength(field: string, a: ArrayLike<number>, n: number): void {
  if (a.length !== n)
    throw new ValidationError(`${field}.length`, a.length, `must equal logpNew.length ${n}`);
}

export function clippedSurrogate(input: SurrogateInput): SurrogateResult {
  const { logpNew, logpOld, advantages, mask } = input;
  const eps = input.eps ?? 0.2;
  const n = logpNew.length;
  sameLength('logpOld', logpOld, n);
  sameLength('advantages', advantages, n);
  if (mask) sameLength('mask', mask, n);
  let tokens = 0;
  for (let t = 0; t < n; t++) if (!mask || mask[t]) tokens++;
  const grad = new Float64Array(n);
  if (tokens === 0) return { loss: 0, clipFraction: 0, ratioMean: 1, ratioMin: 1, ratioMax: 1, tokens, grad };
  let objective = 0;
  let clipped = 0;
  let ratioSum = 0;
  let ratioMin = Infinity;
  let ratioMax = -Infinity;
  for (let t = 0; t < n; t++) {
    if (mask && !mask[t]) continue;
    const ratio = Math.exp((logpNew[t] as number) - (logpOld[t] as number));
    const a = advantages[t] as number;
    const unclippedTerm = ratio * a;
    const clippedTerm = Math.min(Math.max(ratio, 1 - eps), 1 + eps) * a;
    if (clippedTerm < unclippedTerm) {
      objective += clippedTerm;
      clipped++;
    } else {
      objective += unclippedTerm;
      // d(ρA)/d logp_new = ρA; the loss is the negated mean.
      grad[t] = -unclippedTerm / tokens;
    }
    ratioSum += ratio;
    if (ratio < ratioMin) ratioMin = ratio;
    if (ratio > ratioMax) ratioMax = ratio;
  }
  return {
    loss: -objective / tokens,
    clipFraction: clipped / tokens,
    ratioMean: ratioSum / tokens,
    ratioMin,
    ratioMax,
    tokens,
    grad,
  };
}

export interface GrpoLossInput extends SurrogateInput {
  /** Per-token log-probs under the frozen reference policy. */
  readonly logpRef: ArrayLike<number>;
  /** KL coefficient β. Default 0.005 (the paper). */
  readonly klCoef?: number;
}

export interface GrpoLossResult extends SurrogateResult {
  /** Surrogate part: −mean o_t. */
  readonly policyLoss: number;
  /** Mean k3 over valid tokens. */
  readonly kl: number;
}

/** L = surrogate loss + β · mean k3, both token-level means over all valid tokens in the batch. */
export function grpoLoss(input: GrpoLossInput): GrpoLossResult {
  const beta = input.klCoef ?? 0.005;
  const s = clippedSurrogate(input);
  sameLength('logpRef', input.logpRef, input.logpNew.length);
  const k3 = k3Kl(input.logpNew, input.logpRef);
  const grad = s.grad;
  let klSum = 0;
  if (s.tokens > 0) {
    for (let t = 0; t < k3.length; t++) {
      if (input.mask && !input.mask[t]) continue;
      klSum += k3[t] as number;
      // ∂k3/∂logp_new = 1 − exp(ref − new).
      const d = (input.logpRef[t] as number) - (input.logpNew[t] as number);
      grad[t] = (grad[t] as number) + (beta * (1 - Math.exp(d))) / s.tokens;
    }
  }
  const kl = s.tokens > 0 ? klSum / s.tokens : 0;
  return { ...s, policyLoss: s.loss, kl, loss: s.loss + beta * kl, grad };
}
