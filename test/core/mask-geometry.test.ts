import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import type { Point } from '../../core/geometry/index.ts';
import {
  BinaryMask,
  bilinearResizeLogits,
  connectedComponents,
  maskArea,
  maskBbox,
  maskFromLogits,
  rasterizePolygon,
  rasterizePolygons,
  resizeMaskNearest,
} from '../../core/mask/index.ts';

const size = { width: 300, height: 240 };

function shoelace(pts: readonly Point[]): number {
  let a = 0;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++)
    a += pts[j]![0] * pts[i]![1] - pts[i]![0] * pts[j]![1];
  return Math.abs(a) / 2;
}

describe('rasterizePolygon', () => {
  it('samples pixel centres: an axis-aligned square covers exactly its pixels', () => {
    expect(maskArea(rasterizePolygon([0, 0, 4, 0, 4, 4, 0, 4], size))).toBe(16);
    const m = rasterizePolygon(
      [
        [0.4, 0.4],
        [2.6, 0.4],
        [2.6, 2.6],
        [0.4, 2.6],
      ],
      size,
    );
    // Centres 0.5, 1.5, 2.5 lie inside [0.4, 2.6] on both axes → 3×3 pixels.
    expect(maskArea(m)).toBe(9);
    expect(maskBbox(m)).toEqual([0, 0, 3, 3]);
  });

  it('matches the analytic area of a triangle and a circle within 1%', () => {
    const tri: Point[] = [
      [10.3, 20.7],
      [250.1, 45.2],
      [90.6, 230.9],
    ];
    const triArea = shoelace(tri);
    expect(Math.abs(maskArea(rasterizePolygon(tri, size)) - triArea) / triArea).toBeLessThan(0.01);
    const circle: number[] = [];
    for (let k = 0; k < 256; k++) {
      const t = (2 * Math.PI * k) / 256;
      circle.push(150.2 + 100 * Math.cos(t), 120.7 + 100 * Math.sin(t));
    }
    const area = maskArea(rasterizePolygon(circle, size));
    expect(Math.abs(area - Math.PI * 100 * 100) / (Math.PI * 100 * 100)).toBeLessThan(0.01);
  });

  it('flat COCO coordinates and point lists give the same mask; clockwise or not', () => {
    const pts: Point[] = [
      [5, 5],
      [60, 8],
      [40, 70],
    ];
    const a = rasterizePolygon(pts, size);
    expect(Buffer.compare(rasterizePolygon(pts.flat(), size).data, a.data)).toBe(0);
    expect(Buffer.compare(rasterizePolygon([...pts].reverse(), size).data, a.data)).toBe(0);
    expect(maskArea(a)).toBeGreaterThan(1000);
  });

  it('uses the even-odd rule: the centre of a pentagram is empty', () => {
    const star: Point[] = [];
    for (let k = 0; k < 5; k++) {
      const t = -Math.PI / 2 + (4 * Math.PI * k) / 5;
      star.push([100 + 80 * Math.cos(t), 100 + 80 * Math.sin(t)]);
    }
    const m = rasterizePolygon(star, size);
    expect(m.get(100, 100)).toBe(0);
    expect(m.get(100, 30)).toBe(1); // in the top spike
  });

  it('clips to the image and unions several polygons', () => {
    const m = rasterizePolygons(
      [
        [-10, -10, 10, -10, 10, 10, -10, 10],
        [290, 230, 310, 230, 310, 250, 290, 250],
      ],
      size,
    );
    expect(maskArea(m)).toBe(100 + 100);
    expect(m.get(0, 0)).toBe(1);
    expect(m.get(299, 239)).toBe(1);
  });

  it('rejects polygons with fewer than 3 points or non-finite coordinates, naming the field', () => {
    expect(() => rasterizePolygon([0, 0, 5, 5], size)).toThrow(ValidationError);
    expect(() => rasterizePolygon([0, 0, 5, 5], size)).toThrow(
      'polygon [0, 0, 5, 5] has 2 points, needs at least 3',
    );
    expect(() => rasterizePolygon([0, 0, 5, 5, 7], size)).toThrow(
      'has an odd number (5) of flat coordinates',
    );
    expect(() => rasterizePolygon([0, 0, 5, NaN, 1, 9], size)).toThrow('polygon[1] [5, NaN] must be finite');
    expect(() =>
      rasterizePolygons(
        [
          [0, 0, 5, 0, 5, 5],
          [
            [0, 0],
            [1, Infinity],
            [2, 2],
          ],
        ],
        size,
        'shapes',
      ),
    ).toThrow('shapes[1][1] [1, Infinity] must be finite');
  });
});

describe('connectedComponents', () => {
  // Two pixels touching only diagonally, plus a separate 2×2 block.
  const m = new BinaryMask(6, 4);
  m.set(0, 0, 1);
  m.set(1, 1, 1);
  for (const [x, y] of [
    [4, 2],
    [5, 2],
    [4, 3],
    [5, 3],
  ] as const)
    m.set(x, y, 1);

  it('joins diagonal neighbours with 8-connectivity', () => {
    const { labels, components } = connectedComponents(m, 8);
    expect(components).toEqual([
      { label: 1, area: 2, bbox: [0, 0, 2, 2] },
      { label: 2, area: 4, bbox: [4, 2, 6, 4] },
    ]);
    expect(labels[0]).toBe(1);
    expect(labels[1 * 6 + 1]).toBe(1);
    expect(labels[3 * 6 + 5]).toBe(2);
    expect(labels[1]).toBe(0);
  });

  it('splits them with 4-connectivity', () => {
    const { components } = connectedComponents(m, 4);
    expect(components.map((c) => c.area)).toEqual([1, 1, 4]);
    expect(() => connectedComponents(m, 6 as 4)).toThrow('connectivity 6 must be 4 or 8');
  });

  it('labels a 1024×1024 snake (one component across every row) exactly', () => {
    // Horizontal stripes joined at alternating ends form one long snake component.
    const w = 1024;
    const big = new BinaryMask(w, w);
    for (let y = 0; y < w; y += 2) big.data.fill(1, y * w, y * w + w);
    for (let y = 1; y < w; y += 2) big.set(y % 4 === 1 ? w - 1 : 0, y, 1);
    const { components } = connectedComponents(big, 4);
    expect(components).toHaveLength(1);
    expect(components[0]!.area).toBe(maskArea(big));
  });

  it('handles one component covering a whole large mask (stack growth)', () => {
    const full = BinaryMask.full({ width: 700, height: 500 });
    const { labels, components } = connectedComponents(full, 4);
    expect(components).toEqual([{ label: 1, area: 350_000, bbox: [0, 0, 700, 500] }]);
    expect(labels.every((l) => l === 1)).toBe(true);
  });
});

describe('BinaryMask.fromBytes', () => {
  it('thresholds arbitrary bytes into 0/1', () => {
    expect([...BinaryMask.fromBytes(2, 2, [0, 255, 128, 3], 127).data]).toEqual([0, 1, 1, 0]);
    expect(() => BinaryMask.fromBytes(2, 2, [1])).toThrow('mask.data [1] has 1 values, expected 2x2=4');
  });
});

describe('resize and logits', () => {
  it('nearest-neighbour resize keeps blocks', () => {
    const m = new BinaryMask(2, 2, Uint8Array.from([1, 0, 0, 1]));
    const up = resizeMaskNearest(m, 4, 4);
    expect([...up.data].join('')).toBe('1100110000110011');
    expect(resizeMaskNearest(up, 2, 2).data).toEqual(m.data);
    expect(() => resizeMaskNearest(m, 0, 2)).toThrow('width 0 must be a positive integer');
  });

  it('thresholds logits at 0 by default', () => {
    const m = maskFromLogits(Float32Array.from([-1, 0, 0.5, 3]), 2, 2);
    expect([...m.data]).toEqual([0, 0, 1, 1]);
    expect([...maskFromLogits(Float32Array.from([-1, 0, 0.5, 3]), 2, 2, 1).data]).toEqual([0, 0, 0, 1]);
    expect(() => maskFromLogits(new Float32Array(3), 2, 2)).toThrow(
      'logits <Float32Array length 3> has 3 values',
    );
  });

  it('bilinear resize matches PyTorch align_corners=False (hand-computed)', () => {
    // torch.nn.functional.interpolate(tensor([[[[0., 1.], [2., 3.]]]]), size=(4, 4), mode='bilinear',
    // align_corners=False): source coords s = (d + 0.5)/2 − 0.5 = -0.25→0, 0.25, 0.75, 1.25→taps (1,1).
    // Row 0 (s_y = 0): [0, 0.25, 0.75, 1]; row 1 (s_y = .25): +0.5; row 2 (.75): +1.5; row 3: +2.
    const out = bilinearResizeLogits(Float32Array.from([0, 1, 2, 3]), 2, 2, 4, 4);
    const expected = [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3];
    expect([...out].map((v) => Math.round(v * 1e6) / 1e6)).toEqual(expected);
    // Downsampling 4 → 2: s = (d + 0.5)·2 − 0.5 = 0.5, 2.5, so each output averages a 2×2 block,
    // e.g. out[0,0] = mean(0, 0.25, 0.5, 0.75) = 0.375.
    const down = bilinearResizeLogits(Float32Array.from(expected), 4, 4, 2, 2);
    expect([...down].map((v) => Math.round(v * 1e6) / 1e6)).toEqual([0.375, 1.125, 1.875, 2.625]);
  });
});
