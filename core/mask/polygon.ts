/**
 * Polygon rasterization by scanline with the even-odd rule, sampled at pixel centres: pixel (x, y)
 * is set when its centre (x + 0.5, y + 0.5) lies inside the polygon. Edges use a half-open rule
 * (an edge counts for scanline yc when exactly one endpoint has y ≤ yc, and a span covers
 * xa ≤ x + 0.5 < xb), so two polygons sharing an edge never both claim the pixels on it and the
 * rasterized area converges to the analytic area.
 *
 * Several polygons (COCO "segmentation" lists, ReasonSeg/LabelMe shapes of one object) are combined
 * by union: each polygon is filled with the even-odd rule on its own, then OR-ed. This is the COCO
 * meaning of a multi-polygon object (separate parts). Note pycocotools' `frPyObjects` uses a
 * different, boundary-upsampling rasterizer, so edge pixels may differ from COCO's own masks.
 */
import { ValidationError } from '../errors/index.ts';
import type { ImageSize, Point } from '../geometry/index.ts';
import { BinaryMask } from './binary-mask.ts';

/** A polygon as points [[x, y], ...] or COCO's flat [x1, y1, x2, y2, ...], in absolute pixels. */
export type PolygonInput = readonly Point[] | readonly (readonly number[])[] | readonly number[];

/** Normalizes a polygon to flat coordinates, validating ≥ 3 points and finite values. */
export function polygonToFlat(poly: PolygonInput, field = 'polygon'): Float64Array {
  if (!Array.isArray(poly))
    throw new ValidationError(field, poly, 'must be an array of points or flat coordinates');
  let flat: Float64Array;
  if (poly.length > 0 && Array.isArray(poly[0])) {
    const pts = poly as readonly (readonly number[])[];
    flat = new Float64Array(pts.length * 2);
    for (let i = 0; i < pts.length; i++) {
      const p = pts[i]!;
      if (!Array.isArray(p) || p.length !== 2)
        throw new ValidationError(`${field}[${i}]`, p, 'must be [x, y]');
      flat[2 * i] = p[0]!;
      flat[2 * i + 1] = p[1]!;
    }
  } else {
    const nums = poly as readonly number[];
    if (nums.length % 2 !== 0) {
      throw new ValidationError(field, poly, `has an odd number (${nums.length}) of flat coordinates`);
    }
    flat = new Float64Array(nums.length);
    for (let i = 0; i < nums.length; i++) {
      if (typeof nums[i] !== 'number')
        throw new ValidationError(`${field}[${i}]`, nums[i], 'must be a number');
      flat[i] = nums[i]!;
    }
  }
  for (let i = 0; i < flat.length; i++) {
    if (!Number.isFinite(flat[i]!)) {
      const pointIndex = i >> 1;
      throw new ValidationError(
        `${field}[${pointIndex}]`,
        [flat[2 * pointIndex], flat[2 * pointIndex + 1]],
        'must be finite',
      );
    }
  }
  if (flat.length < 6)
    throw new ValidationError(field, poly, `has ${flat.length / 2} points, needs at least 3`);
  return flat;
}

/** Rasterizes one polygon (even-odd rule, pixel-centre sampling) into a new mask. */
export function rasterizePolygon(points: PolygonInput, size: ImageSize, field = 'polygon'): BinaryMask {
  const mask = new BinaryMask(size.width, size.height);
  fillPolygon(mask, polygonToFlat(points, field));
  return mask;
}

/** Rasterizes the union of several polygons (each even-odd) into a new mask. */
export function rasterizePolygons(
  polys: readonly PolygonInput[],
  size: ImageSize,
  field = 'polygons',
): BinaryMask {
  if (!Array.isArray(polys)) throw new ValidationError(field, polys, 'must be an array of polygons');
  const mask = new BinaryMask(size.width, size.height);
  for (let i = 0; i < polys.length; i++) fillPolygon(mask, polygonToFlat(polys[i]!, `${field}[${i}]`));
  return mask;
}

/**
 * ORs (value 1) or clears (value 0) the pixels inside a flat polygon into `mask` in place.
 * Exposed for mask corruption, which paints many small polygons.
 */
export function fillPolygon(mask: BinaryMask, flat: Float64Array, value: 0 | 1 = 1): void {
  const { width: w, height: h, data } = mask;
  const n = flat.length >> 1;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    const y = flat[2 * i + 1]!;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  // Rows whose centre can lie inside: minY ≤ y + 0.5 < maxY.
  const yStart = Math.max(0, Math.ceil(minY - 0.5));
  const yEnd = Math.min(h - 1, Math.ceil(maxY - 0.5) - 1);
  const xs = new Float64Array(n);
  for (let y = yStart; y <= yEnd; y++) {
    const yc = y + 0.5;
    let m = 0;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const yi = flat[2 * i + 1]!;
      const yj = flat[2 * j + 1]!;
      if (yi <= yc !== yj <= yc) {
        const xi = flat[2 * i]!;
        const xj = flat[2 * j]!;
        xs[m++] = xi + ((yc - yi) * (xj - xi)) / (yj - yi);
      }
    }
    if (m < 2) continue;
    const cross = xs.subarray(0, m).sort();
    const row = y * w;
    for (let k = 0; k + 1 < m; k += 2) {
      const x0 = Math.max(0, Math.ceil(cross[k]! - 0.5));
      const x1 = Math.min(w, Math.ceil(cross[k + 1]! - 0.5));
      if (x1 > x0) data.fill(value, row + x0, row + x1);
    }
  }
}
