import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import {
  broadcastToTokens,
  clippedSurrogate,
  computeAdvantages,
  groupNormalizedAdvantages,
  grpoLoss,
  k3Kl,
  reinforcePlusPlusAdvantages,
  zeroVarianceGroups,
} from '../../core/grpo/index.ts';

function expectClose(actual: ArrayLike<number>, expected: readonly number[], digits = 6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++)
    expect(actual[i], `index ${i}`).toBeCloseTo(expected[i] as number, digits);
}

describe('groupNormalizedAdvantages', () => {
  it('reproduces the hand-computed table', () => {
    // Group 1 [0,1,2,3]: mean 1.5, var (2.25+0.25+0.25+2.25)/4 = 1.25, std 1.118034
    //   → ±0.5/1.118034 = ±0.447214, ±1.5/1.118034 = ±1.341641
    // Group 2 [4,4,4,4]: degenerate → 0
    // Group 3 [0,0,0,4]: mean 1, var (1+1+1+9)/4 = 3, std 1.732051 → −1/1.732051 = −0.577350, 3/1.732051 = 1.732051
    const a = groupNormalizedAdvantages(new Float32Array([0, 1, 2, 3, 4, 4, 4, 4, 0, 0, 0, 4]), 4, 0);
    expectClose(
      a,
      [-1.341641, -0.447214, 0.447214, 1.341641, 0, 0, 0, 0, -0.57735, -0.57735, -0.57735, 1.732051],
    );
  });

  it('applies eps in the denominator', () => {
    // [0,1]: mean 0.5, std 0.5 → ±0.5 / (0.5 + 1) = ±0.333333
    expectClose(groupNormalizedAdvantages([0, 1], 2, 1), [-1 / 3, 1 / 3]);
  });

  it('is exactly zero, never NaN, for groups of equal rewards', () => {
    // 0.1 three times does not sum to exactly 0.3: without the equality check this leaks noise/ε.
    const a = groupNormalizedAdvantages(new Float64Array([0.1, 0.1, 0.1, 7, 7, 7]), 3, 1e-12);
    expect(Array.from(a)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('reinforcePlusPlusAdvantages', () => {
  it('reproduces the hand-computed table (group-mean baseline, then batch whitening)', () => {
    // Groups (G=2) [1,3], [0,0], [2,6] → centred [−1,1], [0,0], [−2,2]
    // batch mean 0, var (1+1+0+0+4+4)/6 = 1.666667, std 1.290994
    //   → ±1/1.290994 = ±0.774597, ±2/1.290994 = ±1.549193; the degenerate group stays 0.
    const r = [1, 3, 0, 0, 2, 6];
    expectClose(reinforcePlusPlusAdvantages(r, 2, 0), [-0.774597, 0.774597, 0, 0, -1.549193, 1.549193]);
    // Per-group normalization instead gives every non-degenerate group unit scale:
    expectClose(groupNormalizedAdvantages(r, 2, 0), [-1, 1, 0, 0, -1, 1]);
    expectClose(computeAdvantages('reinforce++', r, 2, 0), [-0.774597, 0.774597, 0, 0, -1.549193, 1.549193]);
    expectClose(computeAdvantages('group', r, 2, 0), [-1, 1, 0, 0, -1, 1]);
  });

  it('keeps the relative scale of groups (a small spread stays small)', () => {
    // [0, 0.02] and [0, 4]: centred ±0.01 and ±2; batch std = sqrt((2·0.0001 + 2·4)/4) = sqrt(2.00005) = 1.414231
    const a = reinforcePlusPlusAdvantages([0, 0.02, 0, 4], 2, 0);
    expectClose(a, [-0.01 / 1.414231, 0.01 / 1.414231, -2 / 1.414231, 2 / 1.414231]);
  });

  it('is zero, never NaN, for an all-equal batch', () => {
    expect(Array.from(reinforcePlusPlusAdvantages(new Float32Array(16).fill(2.5), 8))).toEqual(
      new Array(16).fill(0),
    );
    expect(Array.from(reinforcePlusPlusAdvantages([0.1, 0.1, 0.1, 0.1], 2, 0))).toEqual([0, 0, 0, 0]);
  });

  it('validates the layout', () => {
    expect(() => reinforcePlusPlusAdvantages([1, 2, 3], 2)).toThrow(
      new ValidationError('rewards.length', 3, 'must be a multiple of groupSize 2'),
    );
    expect(() => groupNormalizedAdvantages([1, Number.NaN], 2)).toThrow('rewards[1] NaN must be finite');
    expect(() => groupNormalizedAdvantages([1, 2], 0)).toThrow('groupSize 0 must be an integer >= 1');
  });
});

describe('draw-weighted advantages', () => {
  it('weights 1 give exactly the unweighted advantages', () => {
    const r = [1, 3, 0, 0, 2, 6, 5, 4];
    const ones = new Float64Array(8).fill(1);
    for (const mode of ['reinforce++', 'group'] as const)
      expect(Array.from(computeAdvantages(mode, r, 4, 1e-6, ones))).toEqual(
        Array.from(computeAdvantages(mode, r, 4, 1e-6)),
      );
  });

  it('reproduces the hand-computed weighted baseline, scale and batch whitening', () => {
    // One group of 4: a stop (reward 4) that was 70% of the draws, three clicks (−0.35, −0.35, 1) 10%
    // each: weights [2.8, 0.4, 0.4, 0.4] (0.7 / 0.25 and 0.1 / 0.25). Σw = 4.
    // Weighted mean b = (11.2 − 0.14 − 0.14 + 0.4)/4 = 11.32/4 = 2.83.
    // Per group: w(r − b) = [3.276, −1.272, −1.272, −0.732];
    //   weighted var = (2.8·1.3689 + 0.4·10.1124·2 + 0.4·3.3489)/4 = (3.83292 + 8.08992 + 1.33956)/4
    //   = 3.3156, std 1.820879 → [1.799131, −0.698564, −0.698564, −0.402004].
    const r = [4, -0.35, -0.35, 1];
    const w = [2.8, 0.4, 0.4, 0.4];
    expectClose(groupNormalizedAdvantages(r, 4, 0, w), [1.799131, -0.698564, -0.698564, -0.402004]);
    // REINFORCE++: the same centred values, whitened over the batch: mean 0, std of
    // [3.276, −1.272, −1.272, −0.732] = √((10.732176 + 1.617984·2 + 0.535824)/4) = √3.6259920 = 1.904204.
    expectClose(reinforcePlusPlusAdvantages(r, 4, 0, w), [1.720404, -0.667996, -0.667996, -0.384413]);
    // Unweighted, the three clicks pull the baseline to 1.075 and the stop's advantage up with it.
    expect(groupNormalizedAdvantages(r, 4, 0)[0]).toBeGreaterThan(1.5);
  });

  it('keeps equal-reward groups at exactly zero and names bad weights', () => {
    // [2, 2] carries no signal whatever its weights; [0, 1] centres to ±0.5, whitened over all four
    // (std √(0.5/4)) to ±√2.
    expectClose(reinforcePlusPlusAdvantages([2, 2, 0, 1], 2, 0, [3, 0.5, 1, 1]), [
      0,
      0,
      -Math.SQRT2,
      Math.SQRT2,
    ]);
    expect(reinforcePlusPlusAdvantages([2, 2, 0, 1], 2, 0, [3, 0.5, 1, 1])[0]).toBe(0);
    expect(() => computeAdvantages('group', [0, 1], 2, 0, [1, 0])).toThrow(
      'weights[1] 0 must be finite and > 0',
    );
    expect(() => computeAdvantages('group', [0, 1], 2, 0, [1])).toThrow('weights.length 1 must equal 2');
  });
});

describe('zeroVarianceGroups', () => {
  it('counts groups whose rewards are all equal', () => {
    expect(zeroVarianceGroups([1, 1, 0, 1, 2, 2], 2)).toBe(2);
    expect(zeroVarianceGroups(new Float32Array([4, 4, 4, 4]), 4)).toBe(1);
    expect(zeroVarianceGroups([], 8)).toBe(0);
  });
});

describe('broadcastToTokens', () => {
  it('repeats each sequence advantage over its tokens', () => {
    expect(Array.from(broadcastToTokens([1, -2, 5], [2, 3, 0]))).toEqual([1, 1, -2, -2, -2]);
    expect(() => broadcastToTokens([1], [1, 2])).toThrow(ValidationError);
  });
});

describe('k3Kl', () => {
  it('reproduces hand values', () => {
    // d = ref − pol. ref=ln .25, pol=ln .5: d = −ln 2 → 0.5 + 0.693147 − 1 = 0.193147
    // ref=ln .5, pol=ln .25: d = ln 2 → 2 − 0.693147 − 1 = 0.306853; equal → 0
    const k = k3Kl([Math.log(0.5), Math.log(0.25), -1.3], [Math.log(0.25), Math.log(0.5), -1.3]);
    expectClose(k, [0.193147, 0.306853, 0]);
    for (const v of k3Kl([-5, -0.1, -2], [-0.2, -3, -2.5])) expect(v).toBeGreaterThanOrEqual(0);
  });
});

// Tokens (N = 4 valid, t4 is padding), ε = 0.2:
//  t  ratio  A    ρA     clip(ρ)A  min     binding    ∂loss/∂logp_new = −ρA/N if unclipped
//  0  1.5   +1   1.5    1.2       1.2     clipped    0
//  1  0.5   +1   0.5    0.8       0.5     unclipped  −0.125
//  2  0.5   −1   −0.5   −0.8      −0.8    clipped    0
//  3  1.1   −2   −2.2   −2.2      −2.2    unclipped  +0.55
//  Σ min = −1.3 → loss = 1.3/4 = 0.325; clipFraction 2/4; ratio mean 0.9, min 0.5, max 1.5
const ln = Math.log;
const logpNew = new Float32Array([ln(0.6), ln(0.3), ln(0.3), ln(0.55), ln(0.5)]);
const logpOld = new Float32Array([ln(0.4), ln(0.6), ln(0.6), ln(0.5), ln(0.05)]);
const advantages = new Float32Array([1, 1, -1, -2, 5]);
const mask = new Uint8Array([1, 1, 1, 1, 0]);
// Reference: t0 ref/new = 0.5 → k3 0.193147; t2 ref/new = 2 → 0.306853; t1, t3 equal → 0. Mean 0.5/4 = 0.125.
const logpRef = new Float32Array([ln(0.3), ln(0.3), ln(0.6), ln(0.55), ln(0.01)]);

describe('clippedSurrogate', () => {
  it('reproduces the hand-computed table', () => {
    const s = clippedSurrogate({ logpNew, logpOld, advantages, mask, eps: 0.2 });
    expect(s.tokens).toBe(4);
    expect(s.loss).toBeCloseTo(0.325, 6);
    expect(s.clipFraction).toBe(0.5);
    expect(s.ratioMean).toBeCloseTo(0.9, 6);
    expect(s.ratioMin).toBeCloseTo(0.5, 6);
    expect(s.ratioMax).toBeCloseTo(1.5, 6);
    expectClose(s.grad, [0, -0.125, 0, 0.55, 0]);
  });

  it('is the plain policy gradient loss at ratio 1', () => {
    const s = clippedSurrogate({ logpNew: [-1, -2], logpOld: [-1, -2], advantages: [2, -1] });
    expect(s.loss).toBeCloseTo(-0.5, 12);
    expect(s.clipFraction).toBe(0);
  });

  it('returns zeros when no token is valid', () => {
    const s = clippedSurrogate({ logpNew: [-1], logpOld: [-2], advantages: [1], mask: [0] });
    expect(s).toMatchObject({ loss: 0, tokens: 0, clipFraction: 0 });
  });

  it('checks lengths', () => {
    expect(() => clippedSurrogate({ logpNew: [-1, -1], logpOld: [-1], advantages: [1, 1] })).toThrow(
      new ValidationError('logpOld.length', 1, 'must equal logpNew.length 2'),
    );
  });
});

describe('grpoLoss', () => {
  it('adds β · mean k3 over the valid tokens', () => {
    // loss = 0.325 + 0.005 × 0.125 = 0.325625
    // ∂/∂logp_new of the KL part: β(1 − ref/new)/N → t0 0.005·0.5/4 = 0.000625, t2 0.005·(−1)/4 = −0.00125
    const r = grpoLoss({ logpNew, logpOld, logpRef, advantages, mask });
    expect(r.policyLoss).toBeCloseTo(0.325, 6);
    expect(r.kl).toBeCloseTo(0.125, 6);
    expect(r.loss).toBeCloseTo(0.325625, 6);
    expectClose(r.grad, [0.000625, -0.125, -0.00125, 0.55, 0]);
  });

  it('has the analytic gradient of its loss (central differences away from clip edges)', () => {
    const n = 6;
    const pol = Float64Array.from({ length: n }, (_, i) => -0.5 - 0.3 * i);
    const old = Float64Array.from(pol, (v, i) => v + [0.05, -0.4, 0.3, -0.1, 0.5, 0][i]!);
    const ref = Float64Array.from(pol, (v, i) => v + [0.2, -0.3, 0.1, 0, -0.6, 0.4][i]!);
    const adv = Float64Array.from([1.2, -0.7, 0.4, -1.5, 2, 0.3]);
    const base = { logpOld: old, logpRef: ref, advantages: adv, klCoef: 0.1 };
    const g = grpoLoss({ ...base, logpNew: pol }).grad;
    const h = 1e-6;
    for (let t = 0; t < n; t++) {
      const up = Float64Array.from(pol);
      const down = Float64Array.from(pol);
      up[t]! += h;
      down[t]! -= h;
      const numeric =
        (grpoLoss({ ...base, logpNew: up }).loss - grpoLoss({ ...base, logpNew: down }).loss) / (2 * h);
      expect(g[t], `token ${t}`).toBeCloseTo(numeric, 6);
    }
  });
});
