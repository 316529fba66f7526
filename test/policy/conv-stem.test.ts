import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import {
  PointerPolicy,
  initTf,
  loadPolicyBytes,
  policyToBytes,
  resolvePolicyConfig,
} from '../../core/policy/index.ts';
import { TINY, makeFixture } from './fixtures.ts';

const fixture = makeFixture(7, 96, 80, true);
let plain: PointerPolicy;
let stem: PointerPolicy;

beforeAll(async () => {
  await initTf('wasm');
  plain = await PointerPolicy.create(TINY, { seed: 2 });
  stem = await PointerPolicy.create({ ...TINY, convStem: 4 }, { seed: 2 });
});

afterAll(() => {
  plain.dispose();
  stem.dispose();
});

describe('convStem (2×2 stride-2 convolutions under the patch tokens)', () => {
  it('defaults to 0 (older checkpoints load as before) and names the field when it cannot apply', () => {
    expect(resolvePolicyConfig(TINY).convStem).toBe(0);
    expect(() => resolvePolicyConfig({ ...TINY, convStem: 4, patchMargin: 2 })).toThrow(ValidationError);
    expect(() => resolvePolicyConfig({ ...TINY, convStem: 4, patchMargin: 2 })).toThrow(/config\.convStem/);
    expect(() => resolvePolicyConfig({ ...TINY, convStem: -1 })).toThrow(/config\.convStem/);
    expect(stem.getWeights().map((w) => w.name)).toEqual(
      expect.arrayContaining(['stem.w0', 'stem.w1', 'stem.w2']),
    );
  });

  it('lays each patch out in quadtree order: runs of 4, 16, 64 features are its 2×2, 4×4, 8×8 cells', () => {
    const a = plain.prepare([fixture.observation]).patches;
    const b = stem.prepare([fixture.observation]).patches;
    const C = 4;
    const F = 64 * C;
    expect(b.length).toBe(a.length);
    // Pixel (py, px) of a patch: plain index py·8 + px; quadtree index from bits y2 x2 y1 x1 y0 x0.
    const quad = (py: number, px: number): number =>
      (((py >> 2) & 1) * 2 + ((px >> 2) & 1)) * 16 +
      (((py >> 1) & 1) * 2 + ((px >> 1) & 1)) * 4 +
      (py & 1) * 2 +
      (px & 1);
    for (let patch = 0; patch < a.length / F; patch++) {
      for (let py = 0; py < 8; py++) {
        for (let px = 0; px < 8; px++) {
          for (let c = 0; c < C; c++) {
            expect(b[patch * F + quad(py, px) * C + c]).toBe(a[patch * F + (py * 8 + px) * C + c]);
          }
        }
      }
    }
    // The first 2×2 cell of patch 0 is pixels (0,0), (0,1), (1,0), (1,1).
    expect(b[4 * C]).toBe(a[(0 * 8 + 2) * C]); // quadtree cell 1 starts at pixel (0, 2)
  });

  it('feeds the tokens: zeroing its output layer changes the policy’s log-probs, and it round-trips', () => {
    const o = [fixture.observation];
    const tokens = stem.greedy(o, 'box').map((s) => s.tokens);
    const before = stem.logProbs(stem.prepare(o), tokens).logprobs.arraySync() as number[][];
    const again = loadPolicyBytes(policyToBytes(stem));
    expect(again.config.convStem).toBe(4);
    expect(again.logProbs(again.prepare(o), tokens).logprobs.arraySync()).toEqual(before);
    again.setWeights(
      again
        .getWeights()
        .map((w) => (w.name === 'stem.w2' ? { ...w, data: new Float32Array(w.data.length) } : w)),
    );
    const zeroed = again.logProbs(again.prepare(o), tokens).logprobs.arraySync() as number[][];
    expect(zeroed[0]).not.toEqual(before[0]);
    again.dispose();
  });
});
