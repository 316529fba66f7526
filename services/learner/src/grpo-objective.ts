/**
 * The GRPO objective on TensorFlow.js tensors: the differentiable twin of core/grpo's `grpoLoss`
 * (which stays the reference; test/learner/grpo-objective.test.ts checks value and gradient).
 *
 * Per valid token t, with ρ_t = exp(logp_new − logp_old) and the sequence's advantage A:
 *     o_t  = min(ρ_t A, clip(ρ_t, 1 − ε, 1 + ε) A)                 (PPO/GRPO clipped surrogate)
 *     k3_t = exp(d_t) − d_t − 1,  d_t = logp_ref − logp_new          (Schulman's k3 KL estimator)
 *     L    = −(1/N) Σ_t o_t + β (1/N) Σ_t k3_t,   N = valid tokens of the whole batch.
 * Token-level mean over the batch (every token weighs the same), as in core/grpo/loss.ts.
 *
 * Gradient conventions match the reference exactly: on ties the unclipped term is used, and a token
 * whose clipped term binds contributes only through the KL term.
 */
import { tf } from '../../../core/policy/index.ts';
import { ValidationError } from '../../../core/errors/index.ts';

export interface GrpoObjectiveInput {
  /** [N, L] log-probs under the policy being trained (differentiable). */
  readonly logpNew: tf.Tensor2D;
  /** [N, L] 1 for real tokens, 0 for padding. */
  readonly mask: tf.Tensor2D;
  /** N·L behaviour log-probs (row-major, 0 at padding). */
  readonly logpOld: Float32Array;
  /** N·L reference-policy log-probs (row-major, 0 at padding). */
  readonly logpRef: Float32Array;
  /** N sequence advantages, broadcast over each sequence's tokens. */
  readonly advantages: Float32Array;
  /** Clip range ε. Default 0.2. */
  readonly clipEps?: number;
  /** KL coefficient β. Default 0.005 (the paper). */
  readonly klCoef?: number;
}

export interface GrpoObjective {
  /** L, the scalar to minimise. */
  readonly loss: tf.Scalar;
  /** −mean o_t. */
  readonly policyLoss: tf.Scalar;
  /** mean k3_t. */
  readonly kl: tf.Scalar;
}

/** Builds L from tensors; call inside `trainStep`'s loss function (or tf.tidy / tf.grad). */
export function grpoObjective(input: GrpoObjectiveInput): GrpoObjective {
  const [n, l] = input.logpNew.shape;
  if (input.logpOld.length !== n * l) {
    throw new ValidationError('logpOld.length', input.logpOld.length, `must be ${n}×${l} = ${n * l}`);
  }
  if (input.logpRef.length !== n * l) {
    throw new ValidationError('logpRef.length', input.logpRef.length, `must be ${n}×${l} = ${n * l}`);
  }
  if (input.advantages.length !== n) {
    throw new ValidationError(
      'advantages.length',
      input.advantages.length,
      `must be ${n} (one per sequence)`,
    );
  }
  const eps = input.clipEps ?? 0.2;
  const beta = input.klCoef ?? 0.005;
  const mask = input.mask;
  // Which branch of the min binds is piecewise constant in logp_new, so it is decided on the values
  // (the same rule as core/grpo: the clipped term only when strictly smaller) and enters as a
  // constant; where it binds, ρ is outside [1 − ε, 1 + ε] and the clipped term is a constant too.
  // This keeps the graph to ops whose gradients the policy runtime registers (no Minimum/ClipByValue).
  const values = input.logpNew.dataSync() as Float32Array;
  const maskValues = mask.dataSync() as Float32Array;
  const useUnclipped = new Float32Array(n * l);
  const clippedConst = new Float32Array(n * l);
  for (let i = 0; i < n * l; i++) {
    if (!maskValues[i]) continue;
    const ratio = Math.exp((values[i] as number) - (input.logpOld[i] as number));
    const a = input.advantages[Math.floor(i / l)] as number;
    const clippedTerm = Math.min(Math.max(ratio, 1 - eps), 1 + eps) * a;
    if (clippedTerm < ratio * a) clippedConst[i] = clippedTerm;
    else useUnclipped[i] = 1;
  }
  const old = tf.tensor2d(input.logpOld, [n, l]);
  const ref = tf.tensor2d(input.logpRef, [n, l]);
  const adv = tf.tensor2d(input.advantages, [n, 1]);
  // Padding positions are forced to 0 before exp so garbage there can never become inf·0 = NaN.
  const logpNew = tf.mul(input.logpNew, mask);
  const ratio = tf.exp(tf.sub(logpNew, tf.mul(old, mask)));
  const objective = tf.add(
    tf.mul(tf.mul(ratio, adv), tf.tensor2d(useUnclipped, [n, l])),
    tf.tensor2d(clippedConst, [n, l]),
  );
  const d = tf.sub(tf.mul(ref, mask), logpNew);
  const k3 = tf.sub(tf.sub(tf.exp(d), d), 1);
  const tokens = Math.max(
    1,
    maskValues.reduce((a, b) => a + b, 0),
  );
  const policyLoss = tf.neg(tf.div(tf.sum(tf.mul(objective, mask)), tokens)) as tf.Scalar;
  const kl = tf.div(tf.sum(tf.mul(k3, mask)), tokens) as tf.Scalar;
  const loss = tf.add(policyLoss, tf.mul(kl, beta)) as tf.Scalar;
  return { loss, policyLoss, kl };
}
