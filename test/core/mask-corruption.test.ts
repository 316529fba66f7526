import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import {
  BinaryMask,
  corruptMask,
  errorRegions,
  maskArea,
  maskIou,
  rasterizePolygon,
} from '../../core/mask/index.ts';
import { Rng } from '../../core/rng/index.ts';

const size = { width: 160, height: 120 };
const circle: number[] = [];
for (let k = 0; k < 64; k++)
  circle.push(80 + 40 * Math.cos((k * Math.PI) / 32), 60 + 35 * Math.sin((k * Math.PI) / 32));
const gt = rasterizePolygon(circle, size);
const gtArea = maskArea(gt);

function xorCount(a: BinaryMask, b: BinaryMask): number {
  let n = 0;
  for (let i = 0; i < a.data.length; i++) n += a.data[i]! ^ b.data[i]!;
  return n;
}

describe('corruptMask', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = corruptMask(gt, new Rng(42));
    const b = corruptMask(gt, new Rng(42));
    expect(Buffer.compare(a.mask.data, b.mask.data)).toBe(0);
    expect([a.added, a.removed, a.operations]).toEqual([b.added, b.removed, b.operations]);
    const others = [1, 2, 3, 4, 5].map((s) => corruptMask(gt, new Rng(s)).mask);
    expect(others.some((m) => Buffer.compare(m.data, a.mask.data) !== 0)).toBe(true);
  });

  it('changes the mask by at most maxChangeFraction of the GT area, and reports exact counts', () => {
    let changed = 0;
    for (let seed = 0; seed < 60; seed++) {
      const frac = [0.05, 0.15, 0.3][seed % 3]!;
      const r = corruptMask(gt, new Rng(seed), { maxChangeFraction: frac, operations: [1, 4] });
      const diff = xorCount(r.mask, gt);
      expect(r.added + r.removed).toBe(diff);
      expect(diff).toBeLessThanOrEqual(frac * gtArea);
      if (diff > 0) changed++;
      // Added pixels lie outside GT, removed inside; both visible as error regions.
      const { missed, extra } = errorRegions(r.mask, gt);
      expect(missed.reduce((s, x) => s + x.area, 0)).toBe(r.removed);
      expect(extra.reduce((s, x) => s + x.area, 0)).toBe(r.added);
    }
    expect(changed).toBeGreaterThan(50); // nearly every call really corrupts
  });

  it('produces both additions and removals across seeds', () => {
    const rs = Array.from({ length: 30 }, (_, s) => corruptMask(gt, new Rng(`mix-${s}`)));
    expect(rs.some((r) => r.added > 0)).toBe(true);
    expect(rs.some((r) => r.removed > 0)).toBe(true);
    expect(Math.min(...rs.map((r) => maskIou(r.mask, gt)))).toBeGreaterThan(0.6);
  });

  it('returns clean copies when asked: operations 0 or cleanProbability 1', () => {
    for (const opts of [{ operations: 0 }, { cleanProbability: 1 }]) {
      const r = corruptMask(gt, new Rng(9), opts);
      expect(r).toMatchObject({ added: 0, removed: 0, operations: 0 });
      expect(Buffer.compare(r.mask.data, gt.data)).toBe(0);
      expect(r.mask).not.toBe(gt);
    }
    // cleanProbability 0.5 gives a mix.
    const clean = Array.from({ length: 40 }, (_, s) =>
      corruptMask(gt, new Rng(s), { cleanProbability: 0.5 }),
    ).filter((r) => r.operations === 0).length;
    expect(clean).toBeGreaterThan(8);
    expect(clean).toBeLessThan(32);
  });

  it('handles an empty GT by adding blobs within 1% of the image', () => {
    const r = corruptMask(new BinaryMask(100, 100), new Rng(3), { maxChangeFraction: 1, operations: 2 });
    expect(r.removed).toBe(0);
    expect(r.added).toBeLessThanOrEqual(100);
  });

  it('rejects bad options naming the field', () => {
    expect(() => corruptMask(gt, new Rng(1), { maxChangeFraction: -0.1 })).toThrow(ValidationError);
    expect(() => corruptMask(gt, new Rng(1), { maxChangeFraction: NaN })).toThrow(
      'maxChangeFraction NaN must be in [0, 10]',
    );
    expect(() => corruptMask(gt, new Rng(1), { vertices: [2, 5] })).toThrow(
      'vertices [2, 5] must be [lo, hi] with 3 <= lo <= hi',
    );
  });
});
