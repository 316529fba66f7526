import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import { PointerPolicy, initTf, policyDims, resolvePolicyConfig } from '../../core/policy/index.ts';
import { loadPolicyBytes, policyToBytes } from '../../core/policy/index.ts';
import { TINY, makeFixture } from './fixtures.ts';

const fixture = makeFixture(5, 96, 80, true);

let plain: PointerPolicy;
let wide: PointerPolicy;

beforeAll(async () => {
  await initTf('wasm');
  plain = await PointerPolicy.create(TINY, { seed: 1 });
  wide = await PointerPolicy.create({ ...TINY, patchMargin: 2 }, { seed: 1 });
});

afterAll(() => {
  plain.dispose();
  wide.dispose();
});

describe('patchMargin (overlapping patch windows)', () => {
  it('defaults to 0, so configs without the key (older checkpoints) keep plain patches', () => {
    const c = resolvePolicyConfig({ ...TINY });
    expect(c.patchMargin).toBe(0);
    expect(policyDims(c).patchFeatures).toBe(8 * 8 * 4);
    expect(policyDims({ ...c, patchMargin: 2 }).patchFeatures).toBe(12 * 12 * 4);
    expect(() => resolvePolicyConfig({ patchMargin: -1 })).toThrow(ValidationError);
  });

  it('holds each plain patch at the centre of its window, its neighbours around it, zeros outside', () => {
    const a = plain.prepare([fixture.observation]).patches;
    const b = wide.prepare([fixture.observation]).patches;
    const [C, p, m, G] = [4, 8, 2, 4];
    const w = p + 2 * m;
    const plainAt = (gy: number, gx: number, py: number, px: number, c: number): number =>
      a[(gy * G + gx) * p * p * C + (py * p + px) * C + c] as number;
    const wideAt = (gy: number, gx: number, wy: number, wx: number, c: number): number =>
      b[(gy * G + gx) * w * w * C + (wy * w + wx) * C + c] as number;
    for (let gy = 0; gy < G; gy++) {
      for (let gx = 0; gx < G; gx++) {
        for (let py = 0; py < p; py++) {
          for (let px = 0; px < p; px++) {
            for (let c = 0; c < C; c++) {
              expect(wideAt(gy, gx, py + m, px + m, c)).toBe(plainAt(gy, gx, py, px, c));
            }
          }
        }
      }
    }
    // Right margin of patch (1, 1) = first columns of patch (1, 2); top-left corner of patch (0, 0) is outside.
    expect(wideAt(1, 1, m, m + p, 0)).toBe(plainAt(1, 2, 0, 0, 0));
    expect(wideAt(1, 1, m + 3, m + p + 1, 3)).toBe(plainAt(1, 2, 3, 1, 3));
    expect(wideAt(0, 0, 0, 0, 0)).toBe(0);
  });

  it('round-trips through a checkpoint with its architecture', async () => {
    const bytes = policyToBytes(wide);
    const again = loadPolicyBytes(bytes);
    expect(again.config.patchMargin).toBe(2);
    const o = [fixture.observation];
    expect(again.greedy(o, 'box')[0]?.tokens).toEqual(wide.greedy(o, 'box')[0]?.tokens);
    again.dispose();
  });
});
