import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import {
  BinaryMask,
  boundaryBand,
  IouAccumulator,
  maskArea,
  maskBbox,
  maskIntersectionUnion,
  maskIou,
  modifiedIou,
} from '../../core/mask/index.ts';

function rect(w: number, h: number, x1: number, y1: number, x2: number, y2: number): BinaryMask {
  const m = new BinaryMask(w, h);
  for (let y = y1; y < y2; y++) m.data.fill(1, y * w + x1, y * w + x2);
  return m;
}

function disc(w: number, h: number, cx: number, cy: number, r: number): BinaryMask {
  const m = new BinaryMask(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r) m.set(x, y, 1);
  }
  return m;
}

describe('maskArea / maskBbox', () => {
  it('counts pixels and returns an exclusive pixel-edge bbox', () => {
    const m = rect(20, 10, 3, 2, 8, 7);
    m.set(15, 9, 1);
    expect(maskArea(m)).toBe(26);
    expect(maskBbox(m)).toEqual([3, 2, 16, 10]);
  });
  it('returns null for an empty mask and the full frame for a full one', () => {
    expect(maskBbox(new BinaryMask(5, 4))).toBeNull();
    expect(maskBbox(BinaryMask.full({ width: 5, height: 4 }))).toEqual([0, 0, 5, 4]);
    const one = new BinaryMask(1, 1);
    one.set(0, 0, 1);
    expect(maskBbox(one)).toEqual([0, 0, 1, 1]);
  });
});

describe('maskIou', () => {
  it('computes intersection over union', () => {
    // a = 10×10 at (0,0); b = 10×10 at (5,0): I = 50, U = 150.
    const a = rect(20, 10, 0, 0, 10, 10);
    const b = rect(20, 10, 5, 0, 15, 10);
    expect(maskIntersectionUnion(a, b)).toEqual({ intersection: 50, union: 150 });
    expect(maskIou(a, b)).toBeCloseTo(1 / 3, 12);
    expect(maskIou(a, a)).toBe(1);
  });
  it('excludes ignored pixels from both counts', () => {
    const a = rect(20, 10, 0, 0, 10, 10);
    const b = rect(20, 10, 5, 0, 15, 10);
    const ignore = rect(20, 10, 10, 0, 20, 10); // drops b's 50 pixels right of a
    expect(maskIntersectionUnion(a, b, ignore)).toEqual({ intersection: 50, union: 100 });
    expect(maskIou(a, b, ignore)).toBe(0.5);
  });
  it('agrees with a per-pixel count on odd sizes, unaligned buffers and with ignore', () => {
    let seed = 5;
    const rand = (w: number, h: number, offset: number): BinaryMask => {
      const m = new BinaryMask(w, h, new Uint8Array(w * h + offset).subarray(offset));
      for (let i = 0; i < w * h; i++) {
        seed = (seed * 1664525 + 1013904223) >>> 0;
        m.data[i] = seed >>> 31;
      }
      return m;
    };
    for (const [w, h, off] of [
      [37, 13, 0],
      [37, 13, 1],
      [64, 64, 0],
      [1, 3, 0],
    ] as const) {
      const a = rand(w, h, 0);
      const b = rand(w, h, off);
      const ign = rand(w, h, 0);
      let i0 = 0;
      let u0 = 0;
      let i1 = 0;
      let u1 = 0;
      let area = 0;
      for (let i = 0; i < w * h; i++) {
        const [x, y, z] = [a.data[i]!, b.data[i]!, ign.data[i]!];
        area += x;
        i0 += x & y;
        u0 += x | y;
        if (!z) {
          i1 += x & y;
          u1 += x | y;
        }
      }
      expect(maskArea(a)).toBe(area);
      expect(maskIntersectionUnion(a, b)).toEqual({ intersection: i0, union: u0 });
      expect(maskIntersectionUnion(a, b, ign)).toEqual({ intersection: i1, union: u1 });
    }
  });

  it('scores two empty masks 1 (agreement), unlike pycocotools which gives 0', () => {
    expect(maskIou(new BinaryMask(4, 4), new BinaryMask(4, 4))).toBe(1);
    expect(maskIou(new BinaryMask(4, 4), rect(4, 4, 0, 0, 1, 1))).toBe(0);
  });
  it('rejects masks of different sizes with a ValidationError', () => {
    expect(() => maskIou(new BinaryMask(4, 4), new BinaryMask(4, 5))).toThrow(ValidationError);
    expect(() => maskIou(new BinaryMask(4, 4), new BinaryMask(4, 5))).toThrow(
      'mask "4x5" does not match the 4x4 reference size',
    );
    expect(() => maskIou(new BinaryMask(4, 4), new BinaryMask(4, 4), new BinaryMask(2, 2))).toThrow(
      /^ignore /,
    );
    expect(() => modifiedIou(new BinaryMask(3, 4), new BinaryMask(4, 4))).toThrow(/^pred "3x4"/);
  });
});

describe('modifiedIou', () => {
  const gt = disc(64, 64, 32, 32, 15);
  it('gives 1 to a mask off by one pixel on the boundary while plain IoU is below 1', () => {
    const dilated = disc(64, 64, 32, 32, 16);
    const eroded = disc(64, 64, 32, 32, 14);
    const shifted = new BinaryMask(64, 64);
    for (let y = 0; y < 64; y++) for (let x = 1; x < 64; x++) shifted.set(x, y, gt.get(x - 1, y) as 0 | 1);
    for (const pred of [dilated, eroded, shifted]) {
      expect(maskIou(pred, gt)).toBeLessThan(0.95);
      expect(modifiedIou(pred, gt)).toBe(1);
    }
  });
  it('still penalises errors beyond the band', () => {
    const far = disc(64, 64, 32, 32, 10);
    const plain = maskIou(far, gt);
    const mod = modifiedIou(far, gt);
    // r=10 vs r=15: the 5-pixel-deep ring of misses keeps 3 of its layers outside the band.
    expect(plain).toBeLessThan(0.5);
    expect(mod).toBeGreaterThan(plain);
    expect(mod).toBeLessThan(0.7);
  });
  it('with bandPx 0 equals plain IoU', () => {
    const pred = disc(64, 64, 30, 33, 13);
    expect(modifiedIou(pred, gt, { bandPx: 0 })).toBe(maskIou(pred, gt));
  });
  it('band has bandPx layers on each side of the boundary', () => {
    // A 10-wide vertical strip: with bandPx 2, columns x ∈ {3,4} outside, {5,6} inside, {13,14}
    // inside, {15,16} outside are in the band.
    const strip = rect(20, 3, 5, 0, 15, 3);
    const band = boundaryBand(strip, { bandPx: 2 });
    const row = [...band.data.subarray(0, 20)].join('');
    expect(row).toBe('00011110000001111000');
    expect(() => boundaryBand(strip, { bandPx: -1 })).toThrow('bandPx -1 must be a finite number >= 0');
  });
  it('matches a brute-force band on random masks (disc stamping and the EDT path)', () => {
    const w = 40;
    const h = 30;
    let seed = 99;
    const m = new BinaryMask(w, h);
    for (let i = 0; i < m.data.length; i++) {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      m.data[i] = seed >>> 29 < 3 ? 1 : 0;
    }
    for (const bandPx of [0.5, 1, 2, 2.5, 13]) {
      const band = boundaryBand(m, { bandPx });
      for (let i = 0; i < m.data.length; i++) {
        let best = Infinity;
        for (let j = 0; j < m.data.length; j++) {
          if (m.data[j] === m.data[i]) continue;
          best = Math.min(best, ((i % w) - (j % w)) ** 2 + (Math.floor(i / w) - Math.floor(j / w)) ** 2);
        }
        expect(band.data[i], `bandPx ${bandPx} pixel ${i}`).toBe(best <= bandPx * bandPx ? 1 : 0);
      }
    }
  });

  it('falls back to plain IoU when the band swallows the whole object', () => {
    const tiny = rect(10, 10, 4, 4, 6, 6);
    expect(modifiedIou(new BinaryMask(10, 10), tiny)).toBe(0);
    expect(modifiedIou(tiny, tiny)).toBe(1);
  });
});

describe('IouAccumulator', () => {
  it('computes gIoU as the mean and cIoU as the pooled ratio (hand-computed)', () => {
    const acc = new IouAccumulator();
    // Sample 1: I=50, U=150 → 1/3. Sample 2: identical 2×2 → I=4, U=4 → 1.
    expect(acc.add(rect(20, 10, 5, 0, 15, 10), rect(20, 10, 0, 0, 10, 10))).toBeCloseTo(1 / 3, 12);
    acc.add(rect(4, 4, 0, 0, 2, 2), rect(4, 4, 0, 0, 2, 2));
    expect(acc.count).toBe(2);
    expect(acc.gIoU).toBeCloseTo((1 / 3 + 1) / 2, 12);
    expect(acc.cIoU).toBeCloseTo(54 / 154, 12);
    const other = new IouAccumulator();
    other.addCounts(0, 46);
    acc.merge(other);
    expect(acc.count).toBe(3);
    expect(acc.cIoU).toBeCloseTo(54 / 200, 12);
    expect(acc.gIoU).toBeCloseTo((1 / 3 + 1 + 0) / 3, 12);
  });
  it('is 0 with no samples and never NaN', () => {
    const acc = new IouAccumulator();
    expect(acc.gIoU).toBe(0);
    expect(acc.cIoU).toBe(0);
    acc.addCounts(0, 0);
    expect(acc.gIoU).toBe(1);
    expect(acc.cIoU).toBe(1);
    expect(() => acc.addCounts(5, 3)).toThrow('counts [5, 3] must satisfy 0 <= intersection <= union');
  });
});
