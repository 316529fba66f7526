import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PointerPolicy,
  initTf,
  loadPolicyBytes,
  policyToBytes,
  resolvePolicyConfig,
  type NamedWeight,
} from '../../core/policy/index.ts';
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
