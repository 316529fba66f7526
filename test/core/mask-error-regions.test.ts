import { describe, expect, it } from 'vitest';
import type { Point } from '../../core/geometry/index.ts';
import {
  BinaryMask,
  errorRegions,
  largestErrorRegion,
  maskRegions,
  rasterizePolygon,
  squaredDistanceToOutside,
} from '../../core/mask/index.ts';

function rect(m: BinaryMask, x1: number, y1: number, x2: number, y2: number, v: 0 | 1 = 1): BinaryMask {
  for (let y = y1; y < y2; y++) m.data.fill(v, y * m.width + x1, y * m.width + x2);
  return m;
}

/** Brute-force squared distance to the nearest 0 pixel. */
function bruteSq(data: Uint8Array, w: number, h: number, i: number): number {
  if (data[i] === 0) return 0;
  const x0 = i % w;
  const y0 = Math.floor(i / w);
  let best = Infinity;
  for (let j = 0; j < data.length; j++) {
    if (data[j] !== 0) continue;
    const d = ((j % w) - x0) ** 2 + (Math.floor(j / w) - y0) ** 2;
    if (d < best) best = d;
  }
  return best;
}

describe('squaredDistanceToOutside (Felzenszwalb EDT)', () => {
  it('is exact against brute force on a random blob', () => {
    const w = 23;
    const h = 17;
    const data = new Uint8Array(w * h);
    let s = 12345;
    for (let i = 0; i < data.length; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      data[i] = s % 7 === 0 ? 0 : 1;
    }
    const sq = squaredDistanceToOutside(data, w, h);
    for (let i = 0; i < data.length; i++) expect(sq[i]).toBe(bruteSq(data, w, h, i));
  });
  it('is Infinity everywhere when there is no outside pixel', () => {
    expect([...squaredDistanceToOutside(new Uint8Array(4).fill(1), 2, 2)]).toEqual([
      Infinity,
      Infinity,
      Infinity,
      Infinity,
    ]);
  });
});

describe('errorRegions', () => {
  it('finds missed and extra components sorted by area, with exact areas and bboxes', () => {
    const gt = rect(new BinaryMask(100, 80), 10, 10, 60, 60);
    const pred = gt.clone();
    rect(pred, 10, 10, 30, 20, 0); // missed 20×10 = 200
    rect(pred, 50, 50, 55, 55, 0); // missed 5×5 = 25
    rect(pred, 70, 10, 90, 40); // extra 20×30 = 600
    const { missed, extra } = errorRegions(pred, gt);
    expect(missed.map((r) => [r.kind, r.area, r.bbox])).toEqual([
      ['missed', 200, [10, 10, 30, 20]],
      ['missed', 25, [50, 50, 55, 55]],
    ]);
    expect(extra.map((r) => [r.kind, r.area, r.bbox])).toEqual([['extra', 600, [70, 10, 90, 40]]]);
    expect(largestErrorRegion(pred, gt)?.area).toBe(600);
    expect(errorRegions(pred, gt, { minArea: 100 }).missed).toHaveLength(1);
    expect(largestErrorRegion(gt, gt)).toBeNull();
  });

  it('puts the centre of a rectangle in its middle with radius = half the short side', () => {
    const gt = rect(new BinaryMask(100, 80), 70, 10, 90, 41); // 20×31 extra
    const [r] = errorRegions(gt, new BinaryMask(100, 80)).extra;
    // Depth = centre-to-centre distance to the nearest outside pixel; a 20-wide strip has depth 10
    // on its two middle columns (x = 79, 80) and the tie goes to the middle row (y = 25).
    expect(r!.radius).toBe(10);
    expect(r!.centre[1]).toBe(25.5);
    expect([79.5, 80.5]).toContain(r!.centre[0]);
    expect(r!.contains(r!.centre)).toBe(true);
    expect(r!.depthAt([70.2, 20])).toBe(1);
    expect(r!.depthAt([69.9, 20])).toBe(0);
    expect(r!.contains([95, 20])).toBe(false);
  });

  it('places the centre inside a U-shaped region whose centroid is outside it', () => {
    // U: two 12-wide arms and a 12-high base; the centroid falls in the empty notch.
    const u: Point[] = [
      [20, 20],
      [32, 20],
      [32, 70],
      [68, 70],
      [68, 20],
      [80, 20],
      [80, 82],
      [20, 82],
    ];
    const gt = rasterizePolygon(u, { width: 100, height: 100 });
    const [r] = errorRegions(new BinaryMask(100, 100), gt).missed;
    let sx = 0;
    let sy = 0;
    let n = 0;
    gt.data.forEach((v, i) => {
      if (v) {
        sx += (i % 100) + 0.5;
        sy += Math.floor(i / 100) + 0.5;
        n++;
      }
    });
    const centroid: Point = [sx / n, sy / n];
    expect(r!.contains(centroid)).toBe(false);
    expect(gt.get(Math.floor(centroid[0]), Math.floor(centroid[1]))).toBe(0);
    expect(r!.contains(r!.centre)).toBe(true);
    expect(gt.get(Math.floor(r!.centre[0]), Math.floor(r!.centre[1]))).toBe(1);
    expect(r!.radius).toBeGreaterThanOrEqual(6);
    expect(r!.depthAt(r!.centre)).toBe(r!.radius);
  });

  it('treats the image border as boundary and other components as outside', () => {
    const m = rect(new BinaryMask(10, 10), 0, 0, 10, 3); // full-width band at the top
    const [r] = maskRegions(m, 'extra');
    expect(r!.radius).toBe(2); // the middle row is 2 from the row below and 2 from the virtual row -1
    expect(r!.centre[1]).toBe(1.5);
    // Every region's centre lies on that region for many random regions.
    const rnd = new BinaryMask(64, 64);
    let s = 7;
    for (let i = 0; i < rnd.data.length; i++) {
      s = (s * 1664525 + 1013904223) >>> 0;
      rnd.data[i] = s >>> 30 === 0 ? 1 : 0;
    }
    for (const reg of maskRegions(rnd, 'missed', { connectivity: 4 })) {
      expect(reg.contains(reg.centre)).toBe(true);
      expect(reg.radius).toBeGreaterThanOrEqual(1);
    }
  });
});
