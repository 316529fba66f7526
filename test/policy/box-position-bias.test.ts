import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PointerPolicy,
  initTf,
  loadPolicyBytes,
  policyToBytes,
  resolvePolicyConfig,
  type NamedWeight,
} from '../../core/policy/index.ts';
import { repeatRows } from '../../core/policy/observation.ts';
import { buildVocabulary, wordId } from '../../core/policy/vocabulary.ts';
import { Rng } from '../../core/rng/index.ts';
import { TINY, makeFixture } from './fixtures.ts';

// TINY: a 4×4 patch grid; the box's first token is its centre patch gy·4 + gx.
const G = 4;
const obs = [0, 1, 2, 3].map((s) => makeFixture(20 + s, 64, 64).observation);

let plain: PointerPolicy;
let biased: PointerPolicy;

beforeAll(async () => {
  await initTf('wasm');
  plain = await PointerPolicy.create(TINY, { seed: 4 });
  biased = await PointerPolicy.create({ ...TINY, boxPositionBias: true }, { seed: 4 });
});

afterAll(() => {
  plain.dispose();
  biased.dispose();
});

function withSlope(p: PointerPolicy, sx: number, sy: number): NamedWeight[] {
  return p.getWeights().map((w) => {
    if (w.name !== 'ptr.box.wxy') return w;
    const data = new Float32Array(w.data.length);
    for (let i = 0; i < data.length; i += 2) {
      data[i] = sx;
      data[i + 1] = sy;
    }
    return { ...w, data };
  });
}

const centres = (p: PointerPolicy): number[] => p.greedy(obs, 'box').map((a) => a.tokens.ids[0] as number);

describe('boxPositionBias (a position slope on the box centre, set by the global context)', () => {
  it('is off by default and starts as a no-op: the same seed gives the same box log-probs', () => {
    expect(resolvePolicyConfig(TINY).boxPositionBias).toBe(false);
    expect(() => resolvePolicyConfig({ ...TINY, boxPositionBias: 1 as unknown as boolean })).toThrow(
      /config\.boxPositionBias/,
    );
    const a = plain.greedy(obs, 'box');
    const b = biased.greedy(obs, 'box');
    a.forEach((x, i) => {
      expect(b[i]?.tokens.ids).toEqual(x.tokens.ids);
      expect(Array.from(b[i]?.logprobs ?? [])).toEqual(Array.from(x.logprobs));
    });
  });

  it('moves the box to the grid edge its slope points at', async () => {
    const weights = biased.getWeights();
    try {
      biased.setWeights(withSlope(biased, -50, 0));
      expect(centres(biased).map((c) => c % G)).toEqual([0, 0, 0, 0]);
      biased.setWeights(withSlope(biased, 50, 0));
      expect(centres(biased).map((c) => c % G)).toEqual([G - 1, G - 1, G - 1, G - 1]);
      biased.setWeights(withSlope(biased, 0, 50));
      expect(centres(biased).map((c) => Math.floor(c / G))).toEqual([G - 1, G - 1, G - 1, G - 1]);
      const again = loadPolicyBytes(policyToBytes(biased));
      expect(again.config.boxPositionBias).toBe(true);
      expect(centres(again)).toEqual(centres(biased));
      again.dispose();
    } finally {
      biased.setWeights(weights);
    }
  });

  it('learns a slope from box targets at one side of the image', async () => {
    const p = await PointerPolicy.create({ ...TINY, boxPositionBias: true }, { seed: 6 });
    try {
      const prep = p.prepare(obs);
      // Every target box centred in the leftmost patch column.
      const targets = p.greedy(obs, 'box').map((a, i) => ({
        kind: 'box' as const,
        ids: [(i % G) * G, ...a.tokens.ids.slice(1)],
      }));
      for (let k = 0; k < 5; k++) p.trainStep(() => p.supervisedLoss(prep, targets));
      const wxy = p.getWeights().find((w) => w.name === 'ptr.box.wxy')?.data as Float32Array;
      let sx = 0;
      for (let i = 0; i < wxy.length; i += 2) sx += wxy[i] as number;
      expect(sx).toBeLessThan(0);
    } finally {
      p.dispose();
    }
  });
});

describe('boxPositionWords (each query word sets its own box position slope)', () => {
  const words = { ...TINY, boxPositionBias: true, boxPositionWords: true };
  const withQuery = (q: string) => obs.map((o) => ({ ...o, query: q }));

  /** ptr.box.wxyw with one word's row set to (sx, sy). */
  function withWordSlope(p: PointerPolicy, word: string, sx: number, sy: number): NamedWeight[] {
    const id = wordId(buildVocabulary(p.config.words, p.config.hashBuckets), word);
    return p.getWeights().map((w) => {
      if (w.name !== 'ptr.box.wxyw') return w;
      const data = new Float32Array(w.data.length);
      data[2 * id] = sx;
      data[2 * id + 1] = sy;
      return { ...w, data };
    });
  }

  it('needs the position bias, and starts as a no-op', async () => {
    expect(resolvePolicyConfig(TINY).boxPositionWords).toBe(false);
    expect(() => resolvePolicyConfig({ ...TINY, boxPositionWords: true })).toThrow(
      'config.boxPositionWords true needs config.boxPositionBias',
    );
    const p = await PointerPolicy.create(words, { seed: 4 });
    try {
      // Its table comes after every other parameter and starts at zero: the same box log-probs.
      const a = biased.greedy(obs, 'box');
      p.greedy(obs, 'box').forEach((x, i) => {
        expect(x.tokens.ids).toEqual(a[i]?.tokens.ids);
        expect(Array.from(x.logprobs)).toEqual(Array.from(a[i]?.logprobs ?? []));
      });
    } finally {
      p.dispose();
    }
  });

  it('moves the box only for queries with the word, by the sum over the query words (times 4)', async () => {
    const p = await PointerPolicy.create(words, { seed: 4 });
    try {
      p.setWeights(withWordSlope(p, 'leftmost', -15, 0));
      const left = withQuery('the leftmost shape');
      expect(centres2(p, left).map((c) => c % G)).toEqual([0, 0, 0, 0]);
      // Without the word the slope is not there: the boxes are the plain policy's.
      const other = withQuery('the largest shape');
      expect(centres2(p, other)).toEqual(centres2(biased, other));
      // The slope is 4 × the sum over the query's words (one of them has one): a centre-patch
      // log-prob difference between columns 0 and 1 of a row grows by 4 · 15 · (x_1 − x_0) = 60 · 0.5.
      const lp = (q: PointerPolicy, col: number): number[] =>
        (
          q
            .logProbs(
              left,
              left.map(() => ({ kind: 'box' as const, ids: [col, 0, 0, 0] })),
            )
            .logprobs.arraySync() as number[][]
        ).map((row) => row[0] as number);
      const zero = await PointerPolicy.create(words, { seed: 4 });
      const gap = lp(p, 0).map((v, i) => v - (lp(p, 1)[i] as number));
      const gap0 = lp(zero, 0).map((v, i) => v - (lp(zero, 1)[i] as number));
      gap.forEach((v, i) => expect(v - (gap0[i] as number)).toBeCloseTo(30, 2));
      zero.dispose();
      // Encoded once and spread to repeated rows: the same greedy boxes.
      const enc = p.encodeObservations(left);
      const rep = repeatRows(p.prepare(left), [2, 1, 1, 2]);
      const spread = p.sample(rep, { temperature: 0, rng: new Rng(1), kind: 'box', encoded: enc });
      expect(spread.map((a) => a.tokens.ids[0])).toEqual([0, 0, 1, 2, 3, 3].map((i) => centres2(p, left)[i]));
      enc.dispose();
      const again = loadPolicyBytes(policyToBytes(p));
      expect(again.config.boxPositionWords).toBe(true);
      expect(centres2(again, left)).toEqual(centres2(p, left));
      again.dispose();
    } finally {
      p.dispose();
    }
  });
});

function centres2(p: PointerPolicy, o: typeof obs): number[] {
  return p.greedy(o, 'box').map((a) => a.tokens.ids[0] as number);
}

describe('wordFilm (each query word modulates the patch features by its own row)', () => {
  it('starts as a no-op and changes only the actions of queries with the word', async () => {
    const cfg = { ...TINY, wordFilm: true };
    const p = await PointerPolicy.create(cfg, { seed: 4 });
    try {
      const red = obs.map((o) => ({ ...o, query: 'the red shape' }));
      const blue = obs.map((o) => ({ ...o, query: 'the blue shape' }));
      const lps = (q: PointerPolicy, o: typeof obs): number[][] =>
        q.greedy(o, 'box').map((a) => Array.from(a.logprobs));
      // Zero table, last parameter: the plain policy's log-probs to the bit.
      expect(lps(p, red)).toEqual(lps(plain, red));
      const id = wordId(buildVocabulary(p.config.words, p.config.hashBuckets), 'red');
      p.setWeights(
        p.getWeights().map((w) => {
          if (w.name !== 'film.words') return w;
          const data = new Float32Array(w.data.length);
          for (let j = 0; j < w.shape[1]!; j++) data[id * w.shape[1]! + j] = 0.5 * Math.sin(j + 1);
          return { ...w, data };
        }),
      );
      expect(lps(p, blue)).toEqual(lps(plain, blue));
      expect(lps(p, red)).not.toEqual(lps(plain, red));
      const again = loadPolicyBytes(policyToBytes(p));
      expect(again.config.wordFilm).toBe(true);
      expect(lps(again, red)).toEqual(lps(p, red));
      again.dispose();
    } finally {
      p.dispose();
    }
  });
});
