/**
 * Decoding positions at the heads' means (`decode: 'mean'`): the tokens and their
 * log-probs are the drawn ones, and the box and the clicks are placed at each head's mean under its
 * distribution given the tokens before it. The means are checked against the distributions the
 * teacher-forced path (`logProbs`, an independent computation) gives for every class of the head.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoxAction, PointAction } from '../../core/actions/index.ts';
import { ValidationError } from '../../core/errors/index.ts';
import type { ActionTokens, PolicyObservation } from '../../core/policy/index.ts';
import { PointerPolicy, initTf, tf } from '../../core/policy/index.ts';
import { meanCell, meanIndex } from '../../core/policy/sampling.ts';
import { Rng } from '../../core/rng/index.ts';
import { TINY, makeFixture } from './fixtures.ts';

let policy: PointerPolicy;
let boxObs: PolicyObservation[];
let refineObs: PolicyObservation[];

beforeAll(async () => {
  await initTf('wasm');
  policy = await PointerPolicy.create(TINY, { seed: 11 });
  boxObs = [1, 2, 3].map((s) => makeFixture(s).observation);
  refineObs = [4, 5, 6, 7, 8, 9].map((s) => makeFixture(s, 96, 80, true).observation);
});

afterAll(() => policy.dispose());

/** π(class | obs, prefix) for every class of the head at `position`, by teacher forcing. */
function headDistribution(
  obs: PolicyObservation,
  prefix: readonly number[],
  position: number,
  classes: number,
  suffix: readonly number[],
  kind: ActionTokens['kind'],
): number[] {
  const tokens: ActionTokens[] = Array.from({ length: classes }, (_, k) => ({
    kind,
    ids: [...prefix, k, ...suffix],
  }));
  const lp = tf.tidy(
    () => policy.logProbs(new Array(classes).fill(obs), tokens).logprobs.dataSync() as Float32Array,
  );
  return Array.from({ length: classes }, (_, k) => Math.exp(lp[k * 5 + position] as number));
}

describe('mean decoding', () => {
  it('meanIndex and meanCell are the softmax means', () => {
    // Two equal logits far above the rest: the mean lies halfway between them.
    const row = Float32Array.from([-30, -30, 5, -30, 5, -30]);
    expect(meanIndex(row)).toBeCloseTo(3, 6);
    const flat = new Float32Array(16); // uniform over a 4 × 4 grid
    const [x, y] = meanCell(flat, 4);
    expect(x).toBeCloseTo(1.5, 6);
    expect(y).toBeCloseTo(1.5, 6);
    const corner = Float32Array.from({ length: 16 }, (_, k) => (k === 7 ? 40 : 0)); // column 3, row 1
    const [cx, cy] = meanCell(corner, 4);
    expect(cx).toBeCloseTo(3, 5);
    expect(cy).toBeCloseTo(1, 5);
  });

  it('keeps the tokens and log-probs, and places the box at the heads’ means', () => {
    const byTokens = policy.greedy(boxObs, 'box');
    const byMean = policy.greedy(boxObs, 'box', 'mean');
    const { offsetBins: K, sizeBins: S } = policy.config;
    const O = K * K;
    byMean.forEach((m, b) => {
      const t = byTokens[b]!;
      expect(m.tokens).toEqual(t.tokens);
      expect(Array.from(m.logprobs)).toEqual(Array.from(t.logprobs));
      const obs = boxObs[b]!;
      const [patch, off, wBin, hBin] = t.tokens.ids as [number, number, number, number];
      const pOff = headDistribution(obs, [patch], 1, O, [wBin, hBin], 'box');
      const pW = headDistribution(obs, [patch, off], 2, S, [hBin], 'box');
      const pH = headDistribution(obs, [patch, off, wBin], 3, S, [], 'box');
      const ox = pOff.reduce((a, p, k) => a + p * (k % K), 0);
      const oy = pOff.reduce((a, p, k) => a + p * Math.floor(k / K), 0);
      const mw = pW.reduce((a, p, k) => a + p * k, 0);
      const mh = pH.reduce((a, p, k) => a + p * k, 0);
      const size = { width: obs.width, height: obs.height };
      const expected = policy.codec.decodeBoxAt(patch, ox, oy, mw, mh, size).box;
      const got = (m.action as BoxAction).box;
      got.forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 3));
      // The mean moved the box off the token's cell (an untrained head spreads its mass), and the
      // centre stays inside the chosen patch.
      const tokenBox = (t.action as BoxAction).box;
      expect(got.some((v, i) => Math.abs(v - (tokenBox[i] as number)) > 0.1)).toBe(true);
      const G = policy.codec.grid;
      const cx = ((got[0] + got[2]) / 2 / obs.width) * G;
      if (got[0] > 0 && got[2] < obs.width) expect(Math.floor(cx)).toBe(patch % G);
    });
  });

  it('places each click at its offset head’s mean inside the drawn patch', () => {
    const byTokens = policy.sample(refineObs, { kind: 'refine', rng: new Rng('clicks'), temperature: 1 });
    const byMean = policy.sample(refineObs, {
      kind: 'refine',
      rng: new Rng('clicks'),
      temperature: 1,
      decode: 'mean',
    });
    const K = policy.config.offsetBins;
    const O = K * K;
    let clicks = 0;
    byMean.forEach((m, b) => {
      const t = byTokens[b]!;
      // Same stream, same tokens: decoding does not touch what is drawn.
      expect(m.tokens).toEqual(t.tokens);
      const ids = t.tokens.ids;
      const a = m.action as PointAction;
      const obs = refineObs[b]!;
      const size = { width: obs.width, height: obs.height };
      const points = [a.positive, a.negative].filter((p) => p !== null);
      points.forEach((point, i) => {
        const at = 1 + 2 * i;
        const p = headDistribution(obs, ids.slice(0, at + 1), at + 1, O, ids.slice(at + 2), 'refine');
        const ox = p.reduce((s, v, k) => s + v * (k % K), 0);
        const oy = p.reduce((s, v, k) => s + v * Math.floor(k / K), 0);
        const expected = policy.codec.decodePointAt(ids[at] as number, ox, oy, size);
        expect(point[0]).toBeCloseTo(expected[0], 3);
        expect(point[1]).toBeCloseTo(expected[1], 3);
        clicks++;
      });
      if (points.length === 0) expect(a).toEqual(t.action);
    });
    expect(clicks).toBeGreaterThan(0);
  });

  it('refuses an unknown decode, naming it', () => {
    const call = () =>
      policy.sample(boxObs, { kind: 'box', rng: new Rng('x'), decode: 'median' as unknown as 'mean' });
    expect(call).toThrow(ValidationError);
    expect(call).toThrow(/decode/);
    // The policy keeps serving.
    expect(policy.greedy(boxObs, 'box')).toHaveLength(boxObs.length);
  });
});
