/**
 * config.detint: the policy's front end reads the image recovered from under the overlay's tint
 * (detintOverlay), for the edge features ('edges') or the whole view ('all').
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import { BinaryMask, detintOverlay, overlayRgb } from '../../core/mask/index.ts';
import {
  PointerPolicy,
  initTf,
  loadPolicyBytes,
  policyDims,
  policyToBytes,
  resolvePolicyConfig,
  type PolicyConfig,
  type PolicyObservation,
} from '../../core/policy/index.ts';
import { Rng } from '../../core/rng/index.ts';
import { TINY } from './fixtures.ts';

// TINY: a 32-px view of 8-px patches (4×4 grid); edges at 64 px, 2×2 cells of 8 bins per patch.
const EDGES = { ...TINY, edgeBins: 8, edgeCells: 2 } as const;

/** 64×64: grey noise with a red square at 24..40; the mask covers 8..56 (the square and a margin). */
function scene(): { rgb: Uint8Array; mask: BinaryMask } {
  const rng = new Rng(4);
  const rgb = new Uint8Array(64 * 64 * 3);
  const mask = new BinaryMask(64, 64);
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      const i = 3 * (y * 64 + x);
      const inSquare = x >= 24 && x < 40 && y >= 24 && y < 40;
      rgb[i] = inSquare ? 170 : 110 + rng.int(5);
      rgb[i + 1] = inSquare ? 80 : 110 + rng.int(5);
      rgb[i + 2] = inSquare ? 80 : 110 + rng.int(5);
      if (x >= 8 && x < 56 && y >= 8 && y < 56) mask.set(x, y, 1);
    }
  }
  return { rgb, mask };
}

function observation(rgb: Uint8Array, mask: BinaryMask | null): PolicyObservation {
  return { width: 64, height: 64, rgb, query: 'the red square', mask };
}

let policies: Record<PolicyConfig['detint'], PointerPolicy>;
beforeAll(async () => {
  await initTf();
  policies = {
    none: await PointerPolicy.create(EDGES, { seed: 1 }),
    edges: await PointerPolicy.create({ ...EDGES, detint: 'edges' }, { seed: 1 }),
    all: await PointerPolicy.create({ ...EDGES, detint: 'all' }, { seed: 1 }),
  };
});
afterAll(() => Object.values(policies).forEach((p) => p.dispose()));

describe('detintOverlay', () => {
  it('inverts the tint inside the mask, fills the outline from outside, leaves the rest', () => {
    const { rgb, mask } = scene();
    const overlay = overlayRgb({ width: 64, height: 64, rgb }, mask);
    const into = new Uint8Array(overlay.length);
    const clear = detintOverlay(overlay, mask, into);
    expect(clear).toBe(into);
    let worst = 0;
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 64; x++) {
        const i = 3 * (y * 64 + x);
        const interior = x > 8 && x < 55 && y > 8 && y < 55;
        const outline = mask.get(x, y) && !interior;
        for (let c = 0; c < 3; c++) {
          if (interior) worst = Math.max(worst, Math.abs((clear[i + c] as number) - (rgb[i + c] as number)));
          else if (!outline) expect(clear[i + c]).toBe(rgb[i + c]);
        }
        if (outline && x === 8 && y > 8 && y < 55) {
          // The left outline takes its left neighbour's colour (outside the mask, untinted).
          expect([...clear.subarray(i, i + 3)]).toEqual([...rgb.subarray(i - 3, i)]);
        }
      }
    }
    expect(worst).toBeLessThanOrEqual(1); // rounding of the drawn overlay
    // The overlay itself differs a lot inside (the 45% green).
    const c = 3 * (30 * 64 + 30);
    expect(Math.abs((overlay[c] as number) - (rgb[c] as number))).toBeGreaterThan(40);
  });
});

describe('config.detint', () => {
  it('is none by default and in configs without the key; bad values name the field', () => {
    expect(resolvePolicyConfig(TINY).detint).toBe('none');
    expect(() => resolvePolicyConfig({ ...EDGES, detint: 'some' as never })).toThrow(ValidationError);
    expect(() => resolvePolicyConfig({ ...EDGES, detint: 'some' as never })).toThrow(/config\.detint.*some/);
    expect(() => resolvePolicyConfig({ ...TINY, detint: 'edges' })).toThrow(/config\.detint.*edgeBins/);
    expect(() => resolvePolicyConfig({ ...EDGES, detint: 'all', maskChannel: false })).toThrow(
      /config\.detint.*maskChannel/,
    );
  });

  it("'edges' gives the tinted observation the raw image's edge features away from the outline", () => {
    const { rgb, mask } = scene();
    const overlay = overlayRgb({ width: 64, height: 64, rgb }, mask);
    const dims = policyDims(policies.none.config);
    const F = dims.patchFeatures;
    const E0 = dims.pixelFeatures;
    const edgesOf = (p: PointerPolicy, obs: PolicyObservation): Float32Array[] => {
      const patches = p.prepare([obs]).patches;
      return Array.from({ length: 16 }, (_, k) => patches.slice(k * F + E0, (k + 1) * F));
    };
    const raw = edgesOf(policies.none, observation(rgb, null));
    const tinted = edgesOf(policies.none, observation(overlay, mask));
    const clear = edgesOf(policies.edges, observation(overlay, mask));
    const sum = (v: Float32Array): number => v.reduce((a, b) => a + b, 0);
    // Patches (1..2, 1..2) hold the square's edges, inside the mask and away from its outline (8, 55).
    for (const k of [5, 6, 9, 10]) {
      const r = raw[k] as Float32Array;
      expect(sum(r)).toBeGreaterThan(1);
      const c = clear[k] as Float32Array;
      for (let j = 0; j < r.length; j++) expect(c[j]).toBeCloseTo(r[j] as number, 1);
      // Under the tint the same edges are weaker.
      expect(sum(tinted[k] as Float32Array)).toBeLessThan(0.8 * sum(r));
    }
    // The outline's own edge is gone: patch (0, 0) holds the mask's corner and no image edge.
    expect(sum(tinted[0] as Float32Array)).toBeGreaterThan(0.5);
    expect(sum(clear[0] as Float32Array)).toBeLessThan(0.1 * sum(tinted[0] as Float32Array));
    // The pixel view stays the overlay with 'edges', and becomes the raw image with 'all'.
    const view = (p: PointerPolicy, obs: PolicyObservation): Float32Array =>
      p.prepare([obs]).patches.slice(5 * F, 5 * F + E0);
    expect([...view(policies.edges, observation(overlay, mask))]).toEqual([
      ...view(policies.none, observation(overlay, mask)),
    ]);
    const all = view(policies.all, observation(overlay, mask));
    const rawView = view(policies.none, observation(rgb, mask));
    for (let j = 0; j < all.length; j++) expect(all[j]).toBeCloseTo(rawView[j] as number, 1);
    // Without a mask there is nothing to recover: the same inputs as 'none'.
    expect([...policies.all.prepare([observation(rgb, null)]).patches]).toEqual([
      ...policies.none.prepare([observation(rgb, null)]).patches,
    ]);
  });

  it('round-trips through a checkpoint', () => {
    const again = loadPolicyBytes(policyToBytes(policies.edges));
    try {
      expect(again.config.detint).toBe('edges');
    } finally {
      again.dispose();
    }
  });
});
