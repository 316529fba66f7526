/**
 * Grouped bar charts as SVG strings, for before/after comparisons: one group per label (e.g.
 * "id-val gIoU"), one bar per name within it (e.g. "before", "after"; same name → same colour in
 * every group), with optional error bars [lo, hi] (a 95% confidence interval) and the value printed
 * above each bar.
 */
import { ValidationError } from '../errors/index.ts';
import { svgToPng } from './rasterize.ts';
import { niceScale, formatTick, type Scale } from './ticks.ts';
import { fmt, legendSvg, paletteColor, svgText } from './svg-text.ts';

export interface Bar {
  readonly name: string;
  /** Bar height in data units; a non-finite value draws no bar and prints "n/a". */
  readonly value: number;
  /** Lower end of the error bar (e.g. CI 2.5% percentile); drawn only with `hi`. */
  readonly lo?: number;
  /** Upper end of the error bar. */
  readonly hi?: number;
}

export interface BarGroup {
  readonly label: string;
  readonly bars: readonly Bar[];
}

export interface BarChartOptions {
  readonly title: string;
  readonly groups: readonly BarGroup[];
  /** Y axis label (default none). */
  readonly yLabel?: string;
  /** Image width in pixels (default 720). */
  readonly width?: number;
  /** Image height in pixels (default 360). */
  readonly height?: number;
  /** Fixed y domain; default from 0 (or the lowest value if negative) to the highest value/CI end. */
  readonly yRange?: readonly [number, number];
  /** Decimals of the printed values (default 3). */
  readonly digits?: number;
  /** Colours by bar name; default palette in order of first appearance. */
  readonly colors?: Readonly<Record<string, string>>;
}

const M = { left: 60, right: 16, bottom: 44, titleH: 30 };

export function barChartSvg(opts: BarChartOptions): string {
  const width = opts.width ?? 720;
  const height = opts.height ?? 360;
  for (const [f, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < 120 || v > 8000)
      throw new ValidationError(f, v, 'must be an integer pixel size in [120, 8000]');
  }
  const names: string[] = [];
  for (const g of opts.groups) for (const b of g.bars) if (!names.includes(b.name)) names.push(b.name);
  const color = (name: string): string => opts.colors?.[name] ?? paletteColor(names.indexOf(name));
  const legend = legendSvg(
    names.map((n) => ({ name: n, color: color(n), square: true })),
    M.left,
    M.titleH - 2,
    width - M.left - M.right,
  );
  const values: number[] = [0];
  for (const g of opts.groups)
    for (const b of g.bars)
      for (const v of [b.value, b.lo, b.hi]) if (v !== undefined && Number.isFinite(v)) values.push(v);
  let scale: Scale;
  if (opts.yRange) {
    const [lo, hi] = opts.yRange;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo))
      throw new ValidationError('yRange', opts.yRange, 'must be [lo, hi] with finite lo < hi');
    scale = niceScale(lo, hi, 5, false);
  } else {
    // Headroom for the printed values above the tallest bar.
    const hi = Math.max(...values);
    scale = niceScale(Math.min(...values), hi + Math.abs(hi) * 0.08, 5, true);
  }
  const top = M.titleH + legend.height + 8;
  const pw = width - M.left - M.right;
  const ph = Math.max(20, height - top - M.bottom);
  const bottom = top + ph;
  const sy = (v: number): number =>
    bottom - ((Math.min(Math.max(v, scale.min), scale.max) - scale.min) / (scale.max - scale.min)) * ph;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    svgText(width / 2, 20, opts.title, { size: 15, anchor: 'middle', weight: 'bold' }),
    legend.svg,
  ];
  for (const t of scale.ticks) {
    parts.push(
      `<line x1="${M.left}" y1="${fmt(sy(t))}" x2="${M.left + pw}" y2="${fmt(sy(t))}" stroke="#e4e4e4"/>`,
    );
    parts.push(
      svgText(M.left - 6, sy(t) + 4, formatTick(t, scale.step), { size: 11, anchor: 'end', fill: '#444' }),
    );
  }
  const groupW = opts.groups.length ? pw / opts.groups.length : pw;
  const digits = opts.digits ?? 3;
  opts.groups.forEach((g, gi) => {
    const gx = M.left + gi * groupW;
    const inner = groupW * 0.8;
    const barW = g.bars.length ? inner / g.bars.length : inner;
    g.bars.forEach((b, bi) => {
      const x = gx + groupW * 0.1 + bi * barW;
      const cx = x + barW / 2;
      if (!Number.isFinite(b.value)) {
        parts.push(svgText(cx, bottom - 4, 'n/a', { size: 10, anchor: 'middle', fill: '#999' }));
        return;
      }
      const y0 = sy(Math.max(0, scale.min));
      const y1 = sy(b.value);
      parts.push(
        `<rect x="${fmt(x + 1)}" y="${fmt(Math.min(y0, y1))}" width="${fmt(Math.max(1, barW - 2))}" height="${fmt(Math.abs(y0 - y1))}" fill="${color(b.name)}"/>`,
      );
      let labelY = Math.min(y0, y1) - 4;
      if (b.lo !== undefined && b.hi !== undefined && Number.isFinite(b.lo) && Number.isFinite(b.hi)) {
        const cap = Math.min(8, barW / 4);
        const [ylo, yhi] = [sy(b.lo), sy(b.hi)];
        parts.push(
          `<path d="M${fmt(cx)} ${fmt(ylo)}L${fmt(cx)} ${fmt(yhi)}M${fmt(cx - cap)} ${fmt(ylo)}L${fmt(cx + cap)} ${fmt(ylo)}` +
            `M${fmt(cx - cap)} ${fmt(yhi)}L${fmt(cx + cap)} ${fmt(yhi)}" stroke="#222" stroke-width="1.5" fill="none"/>`,
        );
        labelY = Math.min(labelY, yhi - 4);
      }
      parts.push(svgText(cx, labelY, b.value.toFixed(digits), { size: 10, anchor: 'middle', fill: '#222' }));
    });
    parts.push(svgText(gx + groupW / 2, bottom + 16, g.label, { size: 11, anchor: 'middle' }));
  });
  parts.push(
    `<rect x="${M.left}" y="${fmt(top)}" width="${fmt(pw)}" height="${fmt(ph)}" fill="none" stroke="#888"/>`,
  );
  if (opts.yLabel)
    parts.push(svgText(16, top + ph / 2, opts.yLabel, { size: 12, anchor: 'middle', rotate: -90 }));
  parts.push('</svg>');
  return parts.join('\n');
}

export async function barChartPng(opts: BarChartOptions): Promise<Buffer> {
  return svgToPng(barChartSvg(opts));
}
