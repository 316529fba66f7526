/**
 * Preparing line series for drawing: splitting at non-finite values (a NaN/∞ is a gap, never a
 * zero), exponential-moving-average smoothing, and min/max decimation of long series.
 *
 * Smoothing is the debiased EMA TensorBoard uses: s_t = α·s_{t-1} + (1-α)·y_t, reported as
 * s_t / (1 - α^t), so the curve does not start pulled towards zero. Non-finite y values are skipped
 * (they neither reset nor poison the average).
 *
 * Decimation keeps, per bucket of consecutive points, the minimum and the maximum (in x order), so
 * spikes survive and a 100k-point series draws with ~`maxPoints` vertices.
 */

export type XY = readonly [number, number];

export function isFinitePoint(p: XY): boolean {
  return Number.isFinite(p[0]) && Number.isFinite(p[1]);
}

/** Runs of consecutive finite points; a non-finite point ends a run. */
export function splitSegments(points: readonly XY[]): XY[][] {
  const out: XY[][] = [];
  let cur: XY[] = [];
  for (const p of points) {
    if (isFinitePoint(p)) cur.push(p);
    else if (cur.length) {
      out.push(cur);
      cur = [];
    }
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Debiased EMA of y with factor `alpha` ∈ [0, 1); non-finite y stay non-finite. */
export function emaSmooth(points: readonly XY[], alpha: number): XY[] {
  const a = Math.min(Math.max(alpha, 0), 0.999);
  let s = 0;
  let ak = 1; // α^k, kept as a running product
  const out: XY[] = new Array<XY>(points.length);
  for (let i = 0; i < points.length; i++) {
    const [x, y] = points[i] as XY;
    if (!Number.isFinite(y)) {
      out[i] = [x, Number.NaN];
      continue;
    }
    s = a * s + (1 - a) * y;
    ak *= a;
    const debias = 1 - ak;
    out[i] = [x, debias > 0 ? s / debias : y];
  }
  return out;
}

/** Min/max decimation of one run to about `maxPoints` points (first and last always kept). */
export function decimate(points: readonly XY[], maxPoints: number): XY[] {
  const n = points.length;
  if (n <= maxPoints || maxPoints < 4) return points.slice();
  const buckets = Math.max(1, Math.floor((maxPoints - 2) / 2));
  const size = (n - 2) / buckets;
  const out: XY[] = [points[0] as XY];
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor(b * size);
    const end = Math.min(n - 1, 1 + Math.floor((b + 1) * size));
    if (end <= start) continue;
    let lo = start;
    let hi = start;
    for (let i = start; i < end; i++) {
      const y = (points[i] as XY)[1];
      if (y < (points[lo] as XY)[1]) lo = i;
      if (y > (points[hi] as XY)[1]) hi = i;
    }
    if (lo === hi) out.push(points[lo] as XY);
    else if (lo < hi) out.push(points[lo] as XY, points[hi] as XY);
    else out.push(points[hi] as XY, points[lo] as XY);
  }
  out.push(points[n - 1] as XY);
  return out;
}

/**
 * Splits into finite runs and decimates them so the whole series has about `maxPoints` vertices,
 * each run getting a share proportional to its length.
 */
export function prepareSegments(points: readonly XY[], maxPoints: number): XY[][] {
  const segs = splitSegments(points);
  const total = segs.reduce((s, g) => s + g.length, 0);
  if (total <= maxPoints) return segs;
  return segs.map((g) => decimate(g, Math.max(4, Math.round((maxPoints * g.length) / total))));
}
