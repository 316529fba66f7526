import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import {
  barChartPng,
  barChartSvg,
  decimate,
  emaSmooth,
  formatTick,
  lineChartLayout,
  lineChartPng,
  lineChartSvg,
  niceScale,
  type LineChartOptions,
} from '../../core/report/index.ts';
import { checkWellFormedXml } from './svg-check.ts';

async function rgbAt(
  png: Buffer,
): Promise<{ width: number; height: number; at: (x: number, y: number) => [number, number, number] }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    at: (x, y) => {
      const i = (Math.round(y) * info.width + Math.round(x)) * info.channels;
      return [data[i] as number, data[i + 1] as number, data[i + 2] as number];
    },
  };
}

const isRed = ([r, g, b]: [number, number, number]): boolean => r > 200 && g < 80 && b < 80;

describe('nice ticks', () => {
  it('uses 1-2-5 steps and expands to whole steps', () => {
    const s = niceScale(0.03, 0.93);
    expect(s.step).toBe(0.2);
    expect([s.min, s.max]).toEqual([0, 1]);
    expect(s.ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceScale(0, 4800).step).toBe(1000);
    expect(niceScale(-7, 23).ticks).toEqual([-10, 0, 10, 20, 30]);
    expect(niceScale(-7, 23, 8).ticks).toEqual([-10, -5, 0, 5, 10, 15, 20, 25]);
  });
  it('keeps a fixed range exactly and widens a degenerate one', () => {
    const f = niceScale(0, 1, 5, false);
    expect([f.min, f.max]).toEqual([0, 1]);
    const d = niceScale(3, 3);
    expect(d.max).toBeGreaterThan(d.min);
    expect(d.min).toBeLessThanOrEqual(3);
    expect(d.max).toBeGreaterThanOrEqual(3);
  });
  it('formats labels with the decimals the step needs', () => {
    expect(formatTick(0.2, 0.2)).toBe('0.2');
    expect(formatTick(0.05, 0.05)).toBe('0.05');
    expect(formatTick(2000, 1000)).toBe('2000');
    expect(formatTick(20000, 5000)).toBe('20k');
    expect(formatTick(2e-6, 1e-6)).toBe('2.0e-6');
  });
});

describe('series preparation', () => {
  it('decimates long series keeping the extremes, first and last', () => {
    const pts: [number, number][] = Array.from({ length: 100_000 }, (_, i) => [i, Math.sin(i / 50)]);
    pts[77_777] = [77_777, 9];
    pts[12_345] = [12_345, -9];
    const d = decimate(pts, 2000);
    expect(d.length).toBeLessThanOrEqual(2000);
    expect(d[0]).toEqual(pts[0]);
    expect(d[d.length - 1]).toEqual(pts[pts.length - 1]);
    expect(d.some((p) => p[1] === 9)).toBe(true);
    expect(d.some((p) => p[1] === -9)).toBe(true);
    for (let i = 1; i < d.length; i++)
      expect((d[i] as [number, number])[0]).toBeGreaterThan((d[i - 1] as [number, number])[0]);
  });
  it('EMA is debiased (a constant stays constant) and skips NaN', () => {
    const s = emaSmooth(
      [
        [0, 2],
        [1, 2],
        [2, Number.NaN],
        [3, 2],
      ],
      0.9,
    );
    expect(s[0]?.[1]).toBeCloseTo(2, 12);
    expect(s[1]?.[1]).toBeCloseTo(2, 12);
    expect(Number.isNaN(s[2]?.[1])).toBe(true);
    expect(s[3]?.[1]).toBeCloseTo(2, 12);
  });
});

describe('lineChartSvg / lineChartPng', () => {
  const base: LineChartOptions = {
    title: 'A <title> & "quotes"',
    xLabel: 'step',
    yLabel: 'value',
    series: [
      {
        name: 'flat',
        color: '#ff0000',
        points: Array.from({ length: 11 }, (_, i) => [i, 0.5] as [number, number]),
      },
    ],
    yRange: [0, 1],
  };

  it('emits well-formed SVG with escaped text', () => {
    const svg = lineChartSvg(base);
    checkWellFormedXml(svg);
    expect(svg).toContain('A &lt;title&gt; &amp; &quot;quotes&quot;');
  });

  it('renders a PNG of the requested size', async () => {
    const png = await lineChartPng({ ...base, width: 500, height: 300 });
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 500, 300]);
  });

  it('draws a horizontal line at y=0.5 of a [0,1] range in the middle row of the plot', async () => {
    const area = lineChartLayout(base);
    const img = await rgbAt(await lineChartPng(base));
    const midY = area.top + area.height / 2;
    for (const fx of [0.25, 0.5, 0.75]) {
      const x = area.left + fx * area.width;
      expect(isRed(img.at(x, midY)), `pixel at x=${x} y=${midY}`).toBe(true);
      expect(isRed(img.at(x, midY - 10))).toBe(false);
      expect(isRed(img.at(x, midY + 10))).toBe(false);
    }
  });

  it('draws a diagonal through the expected pixels', async () => {
    const opts: LineChartOptions = {
      ...base,
      series: [
        {
          name: 'diag',
          color: '#ff0000',
          points: [
            [0, 0],
            [1, 1],
          ],
        },
      ],
    };
    const area = lineChartLayout(opts);
    const img = await rgbAt(await lineChartPng(opts));
    for (const t of [0.2, 0.5, 0.8]) {
      expect(isRed(img.at(area.left + t * area.width, area.top + (1 - t) * area.height))).toBe(true);
    }
    expect(isRed(img.at(area.left + 0.2 * area.width, area.top + 0.2 * area.height))).toBe(false);
  });

  it('tolerates NaN, infinities, nulls, empty and all-NaN series', async () => {
    const svg = lineChartSvg({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 'gappy',
          points: [
            [0, 1],
            [1, Number.NaN],
            [2, 3],
            [3, Number.POSITIVE_INFINITY],
            [4, 2],
            [5, null as unknown as number],
          ],
        },
        { name: 'empty', points: [] },
        {
          name: 'all-nan',
          points: [
            [0, Number.NaN],
            [1, Number.NaN],
          ],
        },
      ],
      smoothing: 0.5,
    });
    checkWellFormedXml(svg);
    expect(svg).not.toMatch(/NaN|Infinity/);
    const png = await sharp(Buffer.from(svg)).png().toBuffer();
    expect((await sharp(png).metadata()).width).toBe(720);
    const nothing = lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: [] });
    checkWellFormedXml(nothing);
    expect(nothing).toContain('no data');
  });

  it('decimates many points to about 2000 vertices per series', () => {
    const points = Array.from({ length: 50_000 }, (_, i) => [i, Math.cos(i / 100)] as [number, number]);
    const svg = lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points }] });
    const d = /<path d="([^"]+)"/.exec(svg)?.[1] ?? '';
    const vertices = (d.match(/[ML]/g) ?? []).length;
    expect(vertices).toBeGreaterThan(1000);
    expect(vertices).toBeLessThanOrEqual(2000);
  });

  it('draws raw faint and smoothed solid when smoothing is set', () => {
    const points = Array.from({ length: 100 }, (_, i) => [i, i % 2] as [number, number]);
    const svg = lineChartSvg({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [{ name: 's', points }],
      smoothing: 0.9,
    });
    expect(svg).toContain('stroke-opacity="0.25"');
    expect(svg).toContain('stroke-opacity="1"');
  });

  it('rejects bad sizes, ranges and smoothing with the field named', () => {
    expect(() => lineChartSvg({ ...base, width: 10 })).toThrow(ValidationError);
    expect(() => lineChartSvg({ ...base, width: 10 })).toThrow(
      'width 10 must be an integer pixel size in [120, 8000]',
    );
    expect(() => lineChartSvg({ ...base, yRange: [1, 1] })).toThrow(
      'yRange [1, 1] must be [lo, hi] with finite lo < hi',
    );
    expect(() => lineChartSvg({ ...base, smoothing: 1 })).toThrow(
      'smoothing 1 must be an EMA factor in [0, 1)',
    );
  });
});

describe('barChartSvg / barChartPng', () => {
  const opts = {
    title: 'before & after',
    groups: [
      {
        label: 'id-val gIoU',
        bars: [
          { name: 'before', value: 0.6, lo: 0.55, hi: 0.65 },
          { name: 'after', value: 0.8, lo: 0.75, hi: 0.85 },
        ],
      },
      {
        label: 'ood-val gIoU',
        bars: [
          { name: 'before', value: 0.4 },
          { name: 'after', value: Number.NaN },
        ],
      },
    ],
    colors: { before: '#0000ff', after: '#ff0000' },
    yRange: [0, 1] as const,
  };

  it('emits well-formed SVG with error bars and value labels', () => {
    const svg = barChartSvg(opts);
    checkWellFormedXml(svg);
    expect(svg).toContain('0.800');
    expect(svg).toContain('n/a');
    expect(svg).not.toContain('NaN');
  });

  it('draws bars of the right colour at the right height', async () => {
    const img = await rgbAt(await barChartPng(opts));
    expect([img.width, img.height]).toEqual([720, 360]);
    // Plot area: left 60, right 16 → 644 px wide, 2 groups of 322 px; "after" is the 2nd bar of group 1.
    const afterX = 60 + 322 * 0.1 + 322 * 0.8 * 0.75;
    // Scan the column: red from the baseline up to ~80% of the plot height, white above.
    let redRows = 0;
    for (let y = 0; y < 360; y++) if (isRed(img.at(afterX, y))) redRows++;
    const beforeX = 60 + 322 * 0.1 + 322 * 0.8 * 0.25;
    let blueRows = 0;
    for (let y = 0; y < 360; y++) {
      const [r, g, b] = img.at(beforeX, y);
      if (b > 200 && r < 60 && g < 60) blueRows++;
    }
    expect(redRows / blueRows).toBeCloseTo(0.8 / 0.6, 1);
  });
});
