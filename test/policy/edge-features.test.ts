import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import { edgeFeatureCount, edgeFeaturesInto } from '../../core/policy/edge-features.ts';
import {
  PointerPolicy,
  initTf,
  loadPolicyBytes,
  policyDims,
  policyToBytes,
  resolvePolicyConfig,
  type PolicyObservation,
} from '../../core/policy/index.ts';
import { Rng } from '../../core/rng/index.ts';
import { TINY, makeFixture } from './fixtures.ts';

// TINY: a 32-px view of 8-px patches (a 4×4 grid); edges are measured at 64 px, 16 px per patch.
const BINS = 8;
const EDGES = { ...TINY, edgeBins: BINS, edgeCells: 2 };
const config = resolvePolicyConfig(EDGES);
const PER_PATCH = 2 * 2 * BINS;

/** A 64×64 grey image (mild noise) with a bright region where `inside(x, y)`. */
function image(inside: (x: number, y: number) => boolean, noise = 6, seed = 1): PolicyObservation {
  const rng = new Rng(seed);
  const rgb = new Uint8Array(64 * 64 * 3);
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      const v = (inside(x, y) ? 200 : 90) + rng.int(noise + 1);
      rgb.fill(v, 3 * (y * 64 + x), 3 * (y * 64 + x) + 3);
    }
  }
  return { width: 64, height: 64, rgb, query: 'the thing' };
}

function features(obs: PolicyObservation): Float32Array {
  const out = new Float32Array(16 * PER_PATCH);
  edgeFeaturesInto(obs, config, out, 0, PER_PATCH);
  return out;
}

/** Energy of patch (gy, gx), cell (cy, cx), summed over bins in `bins`. */
function energy(f: Float32Array, gy: number, gx: number, cy: number, cx: number, bins: number[]): number {
  const base = (gy * 4 + gx) * PER_PATCH + (cy * 2 + cx) * BINS;
  return bins.reduce((s, k) => s + (f[base + k] as number), 0);
}

const ALL = [...Array(BINS).keys()];
// A gradient along x (a vertical edge) has orientation 0, split between the last and the first bin;
// along y (a horizontal edge) π/2, split between the middle two.
const ALONG_X = [BINS - 1, 0];
const ALONG_Y = [BINS / 2 - 1, BINS / 2];

describe('edge features (oriented edge energy per patch cell)', () => {
  it('are off by default, so older checkpoints keep their patch size; bad settings name the field', () => {
    const plain = resolvePolicyConfig({ ...TINY });
    expect(plain.edgeBins).toBe(0);
    expect(policyDims(plain).patchFeatures).toBe(8 * 8 * 4);
    expect(policyDims(config).patchFeatures).toBe(8 * 8 * 4 + PER_PATCH);
    expect(edgeFeatureCount(config)).toBe(PER_PATCH);
    expect(() => resolvePolicyConfig({ ...EDGES, edgeCells: 3 })).toThrow(ValidationError);
    expect(() => resolvePolicyConfig({ ...EDGES, edgeCells: 3 })).toThrow(/config\.edgeCells.*3/);
    expect(() => resolvePolicyConfig({ ...EDGES, edgeBins: -1 })).toThrow(/config\.edgeBins/);
    expect(() => resolvePolicyConfig({ ...EDGES, convStem: 2 })).toThrow(/config\.edgeBins/);
  });

  it('put a vertical edge in the cells it crosses, in the horizontal-gradient bins only', () => {
    // Bright from x = 44: the gradient at x = 43, 44 lies in the right cell (x 40–47) of patch column 2.
    const f = features(image((x) => x >= 44));
    for (let gy = 0; gy < 4; gy++) {
      for (const cy of [0, 1]) {
        const onEdge = energy(f, gy, 2, cy, 1, ALONG_X);
        expect(onEdge).toBeGreaterThan(0.3);
        expect(energy(f, gy, 2, cy, 1, ALL)).toBeCloseTo(onEdge, 5);
        expect(energy(f, gy, 2, cy, 0, ALL)).toBe(0);
        expect(energy(f, gy, 1, cy, 1, ALL)).toBe(0);
        expect(energy(f, gy, 3, cy, 0, ALL)).toBe(0);
      }
    }
  });

  it('turn with the image: the transposed edge lands in the transposed cells and the other bins', () => {
    const a = features(image((x) => x >= 44));
    const b = features(image((_x, y) => y >= 44));
    for (let gy = 0; gy < 4; gy++) {
      for (const cy of [0, 1]) {
        expect(energy(b, 2, gy, 1, cy, ALONG_Y)).toBeCloseTo(energy(a, gy, 2, cy, 1, ALONG_X), 1);
        expect(energy(b, 2, gy, 1, cy, ALONG_X)).toBe(0);
      }
    }
    // A diagonal edge: neither axis's bins, the diagonal ones.
    const d = features(image((x, y) => x + y >= 64));
    const diagonal = energy(d, 1, 2, 1, 0, [BINS / 4 - 1, BINS / 4, (3 * BINS) / 4 - 1, (3 * BINS) / 4]);
    expect(diagonal).toBeGreaterThan(0.3);
    expect(energy(d, 1, 2, 1, 0, [0, BINS / 2])).toBeLessThan(0.05 * diagonal);
  });

  it('are measured at edgeScale times the view: the same edge in the same cell at 1× and 4×', () => {
    expect(config.edgeScale).toBe(2);
    expect(() => resolvePolicyConfig({ ...EDGES, edgeScale: 0 })).toThrow(/config\.edgeScale/);
    // edgeScale 1 with 8 cells per patch side: 1-px cells, which 8 divides; 3 does not divide 8.
    expect(() => resolvePolicyConfig({ ...EDGES, edgeScale: 1, edgeCells: 3 })).toThrow(
      "config.edgeCells 3 must divide edgeScale·patchSize = 8 (edges are measured at 1× the view's resolution)",
    );
    const at = (scale: number): Float32Array => {
      const c = resolvePolicyConfig({ ...EDGES, edgeScale: scale });
      const out = new Float32Array(16 * PER_PATCH);
      edgeFeaturesInto(
        image((x) => x >= 44),
        c,
        out,
        0,
        PER_PATCH,
      );
      return out;
    };
    // The image is 64 px: at 1× it is read at 32 px, at 4× at 128 px; the edge at x = 44 (patch
    // column 2, right cell) stays there, and nothing else lights up.
    for (const f of [at(1), at(4)]) {
      for (let gy = 0; gy < 4; gy++) {
        expect(energy(f, gy, 2, 1, 1, ALONG_X)).toBeGreaterThan(0.1);
        expect(energy(f, gy, 1, 1, 1, ALL)).toBe(0);
        expect(energy(f, gy, 3, 1, 1, ALL)).toBe(0);
      }
    }
    // Different resolutions, different measures.
    expect(at(4)).not.toEqual(at(2));
  });

  it('ignore noise below the floor and see a colour edge of equal brightness', () => {
    expect(features(image(() => false, 12)).every((v) => v === 0)).toBe(true);
    const rgb = new Uint8Array(64 * 64 * 3);
    for (let i = 0; i < 64 * 64; i++) {
      const right = i % 64 >= 40;
      rgb.set(right ? [200, 60, 120] : [60, 200, 120], 3 * i);
    }
    const f = features({ width: 64, height: 64, rgb, query: '' });
    expect(energy(f, 0, 2, 0, 1, ALONG_X)).toBeGreaterThan(0.3);
  });

  it('follow the pixels in each prepared patch token, and leave the pixels as they were', async () => {
    await initTf('wasm');
    const plain = await PointerPolicy.create(TINY, { seed: 3 });
    const withEdges = await PointerPolicy.create(EDGES, { seed: 3 });
    try {
      const obs = makeFixture(4, 64, 64).observation;
      const a = plain.prepare([obs]).patches;
      const b = withEdges.prepare([obs]).patches;
      const Fp = 8 * 8 * 4;
      const F = Fp + PER_PATCH;
      expect(b.length).toBe(16 * F);
      const expected = features(obs);
      for (let k = 0; k < 16; k++) {
        expect(Array.from(b.subarray(k * F, k * F + Fp))).toEqual(
          Array.from(a.subarray(k * Fp, (k + 1) * Fp)),
        );
        expect(Array.from(b.subarray(k * F + Fp, (k + 1) * F))).toEqual(
          Array.from(expected.subarray(k * PER_PATCH, (k + 1) * PER_PATCH)),
        );
      }
      expect(b.subarray(0, 16 * F).some((v, i) => i % F >= Fp && v > 0)).toBe(true);
    } finally {
      plain.dispose();
      withEdges.dispose();
    }
  });
});

describe('a policy with edge features', () => {
  let policy: PointerPolicy;
  beforeAll(async () => {
    await initTf('wasm');
    policy = await PointerPolicy.create(EDGES, { seed: 5 });
  });
  afterAll(() => policy.dispose());

  it('trains the embedding rows of its edge features and round-trips through a checkpoint', () => {
    const fx = makeFixture(6, 64, 64);
    const prep = policy.prepare([fx.observation]);
    const target = policy.greedy([fx.observation], 'box')[0]?.tokens;
    const patchW = (): Float32Array =>
      policy.getWeights().find((w) => w.name === 'patch.w')?.data as Float32Array;
    const before = patchW();
    policy.trainStep(() => policy.supervisedLoss(prep, [target as NonNullable<typeof target>]));
    const after = patchW();
    const d = config.dModel;
    const Fp = 8 * 8 * 4;
    const changed = (from: number, to: number): boolean => {
      for (let i = from * d; i < to * d; i++) if (before[i] !== after[i]) return true;
      return false;
    };
    expect(changed(Fp, Fp + PER_PATCH)).toBe(true);

    const again = loadPolicyBytes(policyToBytes(policy));
    expect(again.config.edgeBins).toBe(BINS);
    expect(again.greedy([fx.observation], 'box')[0]?.tokens).toEqual(
      policy.greedy([fx.observation], 'box')[0]?.tokens,
    );
    again.dispose();
  });
});
