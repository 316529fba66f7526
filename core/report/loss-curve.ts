/**
 * Loss curves for supervised pre-training: one PNG of the chosen keys over steps, written
 * atomically. x is each record's `step` (or `epoch`, or the record index).
 */
import { resolve } from 'node:path';
import { ValidationError } from '../errors/index.ts';
import { lineChartPng } from './line-chart.ts';
import { flattenNumeric } from './metric-keys.ts';
import { writeFileAtomic, type MetricsRecord } from './run-folder.ts';

export interface LossCurveOptions {
  /** Chart title (default "Training loss"). */
  readonly title?: string;
  /** Y axis label (default "loss"). */
  readonly yLabel?: string;
  /** EMA smoothing factor in [0, 1) (default 0.6 when there are ≥ 50 records, else 0). */
  readonly smoothing?: number;
  readonly width?: number;
  readonly height?: number;
}

/** Draws `keys` of `records` as a line chart and writes the PNG to `path`; returns its absolute path. */
export async function lossCurvePng(
  records: readonly MetricsRecord[],
  keys: readonly string[],
  path: string,
  opts: LossCurveOptions = {},
): Promise<string> {
  if (keys.length === 0) throw new ValidationError('keys', keys, 'must name at least one metric to plot');
  const flat = records.map((r) => flattenNumeric(r));
  const xKey = flat.some((f) => Number.isFinite(f['step']))
    ? 'step'
    : flat.some((f) => Number.isFinite(f['epoch']))
      ? 'epoch'
      : null;
  const series = keys.map((key) => ({
    name: key,
    points: flat.map((f, i) => {
      const x = xKey ? (f[xKey] ?? Number.NaN) : i;
      return [x, f[key] ?? Number.NaN] as [number, number];
    }),
  }));
  const png = await lineChartPng({
    title: opts.title ?? 'Training loss',
    xLabel: xKey ?? 'record',
    yLabel: opts.yLabel ?? 'loss',
    series,
    smoothing: opts.smoothing ?? (records.length >= 50 ? 0.6 : 0),
    ...(opts.width !== undefined ? { width: opts.width } : {}),
    ...(opts.height !== undefined ? { height: opts.height } : {}),
  });
  const abs = resolve(path);
  writeFileAtomic(abs, png);
  return abs;
}
