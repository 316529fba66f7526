/**
 * jointPolicy: greedy boxes, and each refinement the most probable whole action among the greedy one
 * and k seeded draws. Against the policy's own greedy and teacher-forced log-probs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greedyPolicy, jointPolicy } from '../../core/agent/index.ts';
import {
  PointerPolicy,
  initTf,
  type PolicyObservation,
  type SampledAction,
} from '../../core/policy/index.ts';
import { TINY, makeFixture } from '../policy/fixtures.ts';

const observations: PolicyObservation[] = Array.from(
  { length: 6 },
  (_, i) => makeFixture(500 + i, 96, 80, true).observation,
);
let policy: PointerPolicy;

beforeAll(async () => {
  await initTf('wasm');
  policy = await PointerPolicy.create(TINY, { seed: 21 });
});

afterAll(() => policy.dispose());

const total = (a: SampledAction): number => Array.from(a.logprobs).reduce((s, x) => s + x, 0);
const act = async (p: ReturnType<typeof jointPolicy>, kind: 'box' | 'refine') =>
  (await p.act(observations, kind)) as SampledAction[];

describe('jointPolicy (refinements decoded as the most probable of greedy + k draws)', () => {
  it('is greedy for boxes, and for refinements with no draws', async () => {
    const greedy = greedyPolicy(policy);
    for (const [draws, kind] of [
      [16, 'box'],
      [0, 'refine'],
    ] as const) {
      const a = await act(jointPolicy(policy, draws), kind);
      const g = (await greedy.act(observations, kind)) as SampledAction[];
      expect(a.map((x) => x.tokens)).toEqual(g.map((x) => x.tokens));
    }
  });

  it('never picks an action less probable than the greedy one, and often a more probable one', async () => {
    const g = (await greedyPolicy(policy).act(observations, 'refine')) as SampledAction[];
    const j = await act(jointPolicy(policy, 64), 'refine');
    j.forEach((a, i) => expect(total(a)).toBeGreaterThanOrEqual(total(g[i] as SampledAction)));
    // An untrained policy's tokens are nearly uniform: token by token argmax is rarely the joint mode.
    expect(j.filter((a, i) => total(a) > total(g[i] as SampledAction) + 1e-6).length).toBeGreaterThan(0);
    // The reported log-probs are the learner's teacher-forced ones for the chosen tokens.
    const forced = policy.logProbsSync(
      observations,
      j.map((a) => a.tokens),
    );
    j.forEach((a, i) => a.logprobs.forEach((lp, k) => expect(forced[i]?.[k]).toBeCloseTo(lp, 4)));
  });

  it('is reproducible for a seed, follows more draws upwards, and refuses a bad count', async () => {
    const a = await act(jointPolicy(policy, 8, 's'), 'refine');
    const b = await act(jointPolicy(policy, 8, 's'), 'refine');
    expect(b.map((x) => x.tokens)).toEqual(a.map((x) => x.tokens));
    // More draws find more probable actions (the draws are seeded, so this is a fixed outcome).
    const many = await act(jointPolicy(policy, 256, 's'), 'refine');
    const mean = (xs: SampledAction[]): number => xs.reduce((s, x) => s + total(x), 0) / xs.length;
    expect(mean(many)).toBeGreaterThanOrEqual(mean(a) - 1e-6);
    expect(() => jointPolicy(policy, -1)).toThrow(/draws -1/);
    expect(() => jointPolicy(policy, 1.5)).toThrow(/draws 1\.5/);
  });
});
