/**
 * Line charts as SVG strings (and PNG through sharp): nice 1-2-5 ticks, grid, legend, optional EMA
 * smoothing (raw drawn faint, smoothed on top), NaN-tolerant (gaps), and long series decimated to
 * about 2000 vertices. No plotting dependency: the SVG is written here and rasterized by librsvg.
 */
import { ValidationError } from '../errors/index.ts';
import { svgToPng } from './rasterize.ts';
import { prepareSegments, emaSmooth, isFinitePoint, type XY } from './series-prep.ts';
import { niceScale, formatTick, type Scale } from './ticks.ts';
import { fmt, legendSvg, paletteColor, svgText } from './svg-text.ts';

export interface LineSeries {
  readonly name: string;
  /** [x, y] pairs in data units; non-finite values (NaN, ±∞, or null read from JSON) make gaps. */
  readonly points: readonly (readonly [number, number])[];
  /** CSS colour; defaults to the palette by series index. */
  readonly color?: string;
}

export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly LineSeries[];
  /** Image width in pixels (default 720). */
  readonly width?: number;
  /** Image height in pixels (default 360). */
  readonly height?: number;
  /** Fixed y domain [lo, hi]; values outside are clipped. Default: data extent widened to nice ticks. */
  readonly yRange?: readonly [number, number];
  /** EMA factor in [0, 1): 0 or absent draws the raw series only; > 0 draws raw faint + smoothed. */
  readonly smoothing?: number;
  /** Ticks on whole numbers only (for step or epoch axes); default true when all x are integers. */
  readonly integerX?: boolean;
  /** Draw a dot at each point of series with at most this many finite points (default 20). */
  readonly markersUpTo?: number;
  /** Vertex budget per series before decimation (default 2000). */
  readonly maxPoints?: number;
}

/** Plot-area geometry, exported so tests can find where a data value lands. */
export interface PlotArea {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
  readonly x: Scale;
  readonly y: Scale;
}

const MARGIN = { left: 68, right: 20, bottom: 48, titleH: 30 };

function checkSize(field: string, v: number): number {
  if (!Number.isInteger(v) || v < 120 || v > 8000)
    throw new ValidationError(field, v, 'must be an integer pixel size in [120, 8000]');
  return v;
}

interface DataExtent {
  readonly x: [number, number] | null;
  readonly y: [number, number] | null;
  readonly integerX: boolean;
}

/** Extent of the finite points of all series, in one pass without allocating. */
function dataExtent(series: readonly (readonly XY[])[]): DataExtent {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  let integerX = true;
  for (const pts of series) {
    for (const [x, y] of pts) {
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      if (integerX && !Number.isInteger(x)) integerX = false;
    }
  }
  return { x: x0 <= x1 ? [x0, x1] : null, y: y0 <= y1 ? [y0, y1] : null, integerX: integerX && x0 <= x1 };
}

/** Normalizes points read from JSON (null → NaN) so every later step sees numbers. */
function toNumbers(points: LineSeries['points']): XY[] {
  const out: XY[] = new Array<XY>(points.length);
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as LineSeries['points'][number];
    const x = typeof p[0] === 'number' ? p[0] : p[0] === null ? Number.NaN : Number(p[0]);
    const y = typeof p[1] === 'number' ? p[1] : p[1] === null ? Number.NaN : Number(p[1]);
    out[i] = x === p[0] && y === p[1] ? p : [x, y];
  }
  return out;
}

function legendFor(opts: LineChartOptions): { svg: string; height: number } {
  const width = checkSize('width', opts.width ?? 720);
  return legendSvg(
    opts.series.map((s, i) => ({ name: s.name, color: s.color ?? paletteColor(i) })),
    MARGIN.left,
    MARGIN.titleH - 2,
    width - MARGIN.left - MARGIN.right,
  );
}

/** Computes the layout (plot area and scales) a chart with these options uses. */
export function lineChartLayout(opts: LineChartOptions): PlotArea {
  return layoutFor(opts, dataExtent(opts.series.map((s) => toNumbers(s.points))), legendFor(opts).height);
}

function layoutFor(opts: LineChartOptions, data: DataExtent, legendHeight: number): PlotArea {
  const width = checkSize('width', opts.width ?? 720);
  const height = checkSize('height', opts.height ?? 360);
  const xs = data.x ?? [0, 1];
  let y: Scale;
  if (opts.yRange) {
    const [lo, hi] = opts.yRange;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo))
      throw new ValidationError('yRange', opts.yRange, 'must be [lo, hi] with finite lo < hi');
    y = niceScale(lo, hi, 5, false);
  } else {
    const ys = data.y ?? [0, 1];
    y = niceScale(ys[0], ys[1], 5, true);
  }
  const integerX = opts.integerX ?? data.integerX;
  const x = niceScale(xs[0], xs[1], 6, false, integerX ? 1 : 0);
  const top = MARGIN.titleH + legendHeight + 6;
  return {
    left: MARGIN.left,
    top,
    width: width - MARGIN.left - MARGIN.right,
    height: Math.max(20, height - top - MARGIN.bottom),
    x,
    y,
  };
}

function pathFor(seg: readonly XY[], area: PlotArea): string {
  const sx = (v: number): number => area.left + ((v - area.x.min) / (area.x.max - area.x.min)) * area.width;
  const sy = (v: number): number =>
    area.top + area.height - ((v - area.y.min) / (area.y.max - area.y.min)) * area.height;
  return seg.map((p, i) => `${i ? 'L' : 'M'}${fmt(sx(p[0]))} ${fmt(sy(p[1]))}`).join('');
}

function drawSegments(
  segs: readonly XY[][],
  area: PlotArea,
  color: string,
  widthPx: number,
  opacity: number,
  markers = false,
): string {
  const parts: string[] = [];
  const lines = segs.filter((s) => s.length > 1);
  if (lines.length) {
    parts.push(
      `<path d="${lines.map((s) => pathFor(s, area)).join('')}" fill="none" stroke="${color}" stroke-width="${widthPx}"` +
        ` stroke-opacity="${opacity}" stroke-linejoin="round" stroke-linecap="round"/>`,
    );
  }
  // Isolated points would be invisible as zero-length paths: draw them as dots (all points when
  // `markers`, so short series such as per-step evaluation curves show their samples).
  for (const s of markers ? segs.flatMap((g) => g.map((p) => [p])) : segs.filter((g) => g.length === 1)) {
    const d = pathFor(s, area).slice(1).split(' ');
    parts.push(
      `<circle cx="${d[0]}" cy="${d[1]}" r="${widthPx + 1}" fill="${color}" fill-opacity="${opacity}"/>`,
    );
  }
  return parts.join('');
}

function axesSvg(area: PlotArea, opts: LineChartOptions): string {
  const parts: string[] = [];
  const { left, top, width, height } = area;
  const bottom = top + height;
  for (const t of area.y.ticks) {
    const py = bottom - ((t - area.y.min) / (area.y.max - area.y.min)) * height;
    parts.push(
      `<line x1="${fmt(left)}" y1="${fmt(py)}" x2="${fmt(left + width)}" y2="${fmt(py)}" stroke="#e4e4e4" stroke-width="1"/>`,
    );
    parts.push(
      svgText(left - 6, py + 4, formatTick(t, area.y.step), { size: 11, anchor: 'end', fill: '#444' }),
    );
  }
  for (const t of area.x.ticks) {
    const px = left + ((t - area.x.min) / (area.x.max - area.x.min)) * width;
    parts.push(
      `<line x1="${fmt(px)}" y1="${fmt(top)}" x2="${fmt(px)}" y2="${fmt(bottom)}" stroke="#f0f0f0" stroke-width="1"/>`,
    );
    parts.push(
      `<line x1="${fmt(px)}" y1="${fmt(bottom)}" x2="${fmt(px)}" y2="${fmt(bottom + 4)}" stroke="#666"/>`,
    );
    parts.push(
      svgText(px, bottom + 16, formatTick(t, area.x.step), { size: 11, anchor: 'middle', fill: '#444' }),
    );
  }
  parts.push(
    `<rect x="${fmt(left)}" y="${fmt(top)}" width="${fmt(width)}" height="${fmt(height)}" fill="none" stroke="#888" stroke-width="1"/>`,
  );
  parts.push(svgText(left + width / 2, bottom + 36, opts.xLabel, { size: 12, anchor: 'middle' }));
  parts.push(svgText(16, top + height / 2, opts.yLabel, { size: 12, anchor: 'middle', rotate: -90 }));
  return parts.join('');
}

/** Renders a line chart as a standalone SVG document string. */
export function lineChartSvg(opts: LineChartOptions): string {
  const width = checkSize('width', opts.width ?? 720);
  const height = checkSize('height', opts.height ?? 360);
  const smoothing = opts.smoothing ?? 0;
  if (!(smoothing >= 0 && smoothing < 1))
    throw new ValidationError('smoothing', smoothing, 'must be an EMA factor in [0, 1)');
  const maxPoints = opts.maxPoints ?? 2000;
  const markersUpTo = opts.markersUpTo ?? 20;
  const colored = opts.series.map((s, i) => ({
    ...s,
    color: s.color ?? paletteColor(i),
    pts: toNumbers(s.points),
  }));
  const legend = legendFor(opts);
  const area = layoutFor(opts, dataExtent(colored.map((c) => c.pts)), legend.height);
  const clipId = 'plot-clip';
  const body: string[] = [];
  for (const s of colored) {
    if (smoothing > 0) {
      body.push(drawSegments(prepareSegments(s.pts, maxPoints), area, s.color, 1.2, 0.25));
      body.push(drawSegments(prepareSegments(emaSmooth(s.pts, smoothing), maxPoints), area, s.color, 2, 1));
    } else {
      const few = s.pts.filter(isFinitePoint).length <= markersUpTo;
      body.push(drawSegments(prepareSegments(s.pts, maxPoints), area, s.color, 2, 1, few));
    }
  }
  const empty = colored.every((s) => !s.pts.some(isFinitePoint));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<defs><clipPath id="${clipId}"><rect x="${fmt(area.left)}" y="${fmt(area.top)}" width="${fmt(area.width)}" height="${fmt(area.height)}"/></clipPath></defs>`,
    svgText(width / 2, 20, opts.title, { size: 15, anchor: 'middle', weight: 'bold' }),
    legend.svg,
    axesSvg(area, opts),
    `<g clip-path="url(#${clipId})">${body.join('')}</g>`,
    empty
      ? svgText(area.left + area.width / 2, area.top + area.height / 2, 'no data', {
          size: 14,
          anchor: 'middle',
          fill: '#999',
        })
      : '',
    '</svg>',
  ].join('\n');
}

/** Renders a line chart as PNG bytes of exactly width × height pixels. */
export async function lineChartPng(opts: LineChartOptions): Promise<Buffer> {
  return svgToPng(lineChartSvg(opts));
}
