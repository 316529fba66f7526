/**
 * The learner's TensorFlow.js objective against core/grpo's pure reference: same value, same
 * gradient with respect to the new log-probs (on the plain-JS 'cpu' backend, float32).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { grpoLoss } from '../../core/grpo/index.ts';
import { initTf, tf } from '../../core/policy/index.ts';
import { Rng } from '../../core/rng/index.ts';
import { grpoObjective } from '../../services/learner/index.ts';

const N = 7;
const L = 5;

beforeAll(async () => {
  await initTf('cpu');
});

/** Random inputs with ragged sequence lengths and ratios on both sides of the clip range. */
function inputs(seed: number) {
  const rng = new Rng(seed);
  const mask = new Float32Array(N * L);
  const logpNew = new Float32Array(N * L);
  const logpOld = new Float32Array(N * L);
  const logpRef = new Float32Array(N * L);
  const advantages = new Float32Array(N);
  for (let b = 0; b < N; b++) {
    const len = 1 + rng.int(L);
    advantages[b] = rng.normal();
    for (let j = 0; j < len; j++) {
      const i = b * L + j;
      mask[i] = 1;
      logpOld[i] = -rng.uniform(0.05, 3);
      // Log-ratios up to ±0.6: ρ from 0.55 to 1.8, so some tokens clip.
      logpNew[i] = Math.min(0, logpOld[i] + rng.uniform(-0.6, 0.6));
      logpRef[i] = Math.min(0, logpOld[i] + rng.uniform(-0.3, 0.3));
    }
    // Padding carries garbage that must not leak into the loss.
    for (let j = len; j < L; j++) logpNew[b * L + j] = -50;
  }
  return { mask, logpNew, logpOld, logpRef, advantages };
}

function reference(x: ReturnType<typeof inputs>, eps: number, klCoef: number) {
  const tokenAdv = new Float64Array(N * L);
  for (let b = 0; b < N; b++) tokenAdv.fill(x.advantages[b] as number, b * L, (b + 1) * L);
  return grpoLoss({
    logpNew: x.logpNew,
    logpOld: x.logpOld,
    logpRef: x.logpRef,
    advantages: tokenAdv,
    mask: x.mask,
    eps,
    klCoef,
  });
}

describe('grpoObjective', () => {
  it.each([
    [1, 0.2, 0.005],
    [2, 0.1, 0.05],
    [3, 0.3, 0],
  ])('matches core/grpo grpoLoss in value and gradient (seed %i, eps %f, beta %f)', (seed, eps, klCoef) => {
    const x = inputs(seed);
    const ref = reference(x, eps, klCoef);
    expect(ref.clipFraction).toBeGreaterThan(0); // the case covers clipped tokens
    expect(ref.clipFraction).toBeLessThan(1);
    const mask = tf.tensor2d(x.mask, [N, L]);
    const logpNew = tf.tensor2d(x.logpNew, [N, L]);
    const objective = (lp: tf.Tensor): tf.Scalar =>
      grpoObjective({
        logpNew: lp as tf.Tensor2D,
        mask,
        logpOld: x.logpOld,
        logpRef: x.logpRef,
        advantages: x.advantages,
        clipEps: eps,
        klCoef,
      }).loss;
    const parts = tf.tidy(() => {
      const o = grpoObjective({
        logpNew,
        mask,
        logpOld: x.logpOld,
        logpRef: x.logpRef,
        advantages: x.advantages,
        clipEps: eps,
        klCoef,
      });
      return [o.loss, o.policyLoss, o.kl].map((t) => t.dataSync()[0] as number);
    });
    const [loss, policyLoss, kl] = parts as [number, number, number];
    expect(loss).toBeCloseTo(ref.loss, 5);
    expect(policyLoss).toBeCloseTo(ref.policyLoss, 5);
    expect(kl).toBeCloseTo(ref.kl, 6);
    const grad = tf.grad(objective)(logpNew).dataSync();
    let maxErr = 0;
    let maxAbs = 0;
    for (let i = 0; i < N * L; i++) {
      maxErr = Math.max(maxErr, Math.abs((grad[i] as number) - (ref.grad[i] as number)));
      maxAbs = Math.max(maxAbs, Math.abs(ref.grad[i] as number));
    }
    expect(maxAbs).toBeGreaterThan(1e-3);
    expect(maxErr).toBeLessThan(1e-6 + 1e-4 * maxAbs);
    // Padding gets no gradient even though its log-probs are garbage.
    for (let i = 0; i < N * L; i++) if (x.mask[i] === 0) expect(Math.abs(grad[i] as number)).toBe(0);
    mask.dispose();
    logpNew.dispose();
  });

  it('rejects inputs whose sizes disagree, naming the field', () => {
    const mask = tf.ones([2, L]) as tf.Tensor2D;
    expect(() =>
      grpoObjective({
        logpNew: mask,
        mask,
        logpOld: new Float32Array(3),
        logpRef: new Float32Array(2 * L),
        advantages: new Float32Array(2),
      }),
    ).toThrow(/logpOld.length 3 must be 2×5 = 10/);
    expect(() =>
      grpoObjective({
        logpNew: mask,
        mask,
        logpOld: new Float32Array(2 * L),
        logpRef: new Float32Array(2 * L),
        advantages: new Float32Array(3),
      }),
    ).toThrow(/advantages.length 3 must be 2 \(one per sequence\)/);
    mask.dispose();
  });
});
