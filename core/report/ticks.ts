/**
 * Axis scales for the charts: "nice" tick steps from the 1-2-5 sequence (step = m·10^k with
 * m ∈ {1, 2, 5}) chosen so that about `target` ticks cover the range, and labels formatted with
 * just enough decimals to tell neighbouring ticks apart.
 */

export interface Scale {
  /** Lower end of the axis domain (data units). */
  readonly min: number;
  /** Upper end of the axis domain (data units); always > min. */
  readonly max: number;
  /** Distance between ticks (data units). */
  readonly step: number;
  /** Tick values inside [min, max], ascending. */
  readonly ticks: readonly number[];
}

/** The 1-2-5 step closest above span / target. */
export function niceStep(span: number, target = 5): number {
  const raw = span / Math.max(1, target);
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const m = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10;
  return m * mag;
}

/** Decimals needed to print multiples of `step` exactly (0 for steps ≥ 1). */
function stepDecimals(step: number): number {
  return Math.max(0, Math.min(12, -Math.floor(Math.log10(step) + 1e-9)));
}

function roundTo(v: number, decimals: number): number {
  const r = Number(v.toFixed(decimals));
  return Object.is(r, -0) ? 0 : r;
}

/** Widens a degenerate range so that it has a visible extent. */
function widen(lo: number, hi: number): [number, number] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi > lo) return [lo, hi];
  const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
  return [lo - pad, hi + pad];
}

/**
 * A scale whose domain is [lo, hi] expanded outward to whole steps (`expand` true, for data-derived
 * axes) or kept exactly (`expand` false, for fixed ranges: ticks are then the step multiples inside).
 * `minStep` floors the step (1 for integer axes such as steps).
 */
export function niceScale(lo: number, hi: number, target = 5, expand = true, minStep = 0): Scale {
  const [a, b] = widen(lo, hi);
  const step = Math.max(niceStep(b - a, target), minStep);
  const dec = stepDecimals(step);
  const min = expand ? roundTo(Math.floor(a / step + 1e-9) * step, dec) : a;
  const max = expand ? roundTo(Math.ceil(b / step - 1e-9) * step, dec) : b;
  const ticks: number[] = [];
  const first = Math.ceil(min / step - 1e-9);
  const last = Math.floor(max / step + 1e-9);
  for (let k = first; k <= last && ticks.length < 100; k++) ticks.push(roundTo(k * step, dec));
  return { min, max: max > min ? max : min + step, step, ticks };
}

/** A tick label: fixed decimals matched to the step, exponent notation for huge or tiny values. */
export function formatTick(value: number, step: number): string {
  const abs = Math.abs(value);
  if (value !== 0 && (abs >= 1e6 || abs < 1e-4)) return value.toExponential(1).replace('e+', 'e');
  if (abs >= 1e4 && step >= 1000) return `${roundTo(value / 1000, stepDecimals(step / 1000))}k`;
  return roundTo(value, stepDecimals(step)).toFixed(stepDecimals(step));
}
