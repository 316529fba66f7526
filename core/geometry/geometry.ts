/**
 * Boxes and points in absolute pixel coordinates of the original image (x right, y down, origin at
 * the top-left corner of the top-left pixel). A box [x1, y1, x2, y2] spans x1 ≤ x ≤ x2; a pixel
 * (i, j) is inside it when its centre (i + 0.5, j + 0.5) is.
 */
import { ValidationError } from '../errors/index.ts';

export type Box = readonly [x1: number, y1: number, x2: number, y2: number];
export type Point = readonly [x: number, y: number];

export interface ImageSize {
  readonly width: number;
  readonly height: number;
}

function checkFinite(field: string, value: unknown, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new ValidationError(field, value, 'must be finite numbers');
}

/**
 * Validates a box against an image: finite, ordered (x1 ≤ x2, y1 ≤ y2) and inside [0, W]×[0, H].
 * With `clamp`, coordinates outside the image are clamped instead (order and finiteness are still
 * required); a box entirely outside the image is still an error.
 */
export function validateBox(box: readonly number[], size: ImageSize, field = 'box', clamp = false): Box {
  if (!Array.isArray(box) || box.length !== 4)
    throw new ValidationError(field, box, 'must be [x1, y1, x2, y2]');
  for (const v of box) checkFinite(field, box, v);
  let [x1, y1, x2, y2] = box as unknown as [number, number, number, number];
  if (x2 < x1) throw new ValidationError(field, box, 'has x2 < x1');
  if (y2 < y1) throw new ValidationError(field, box, 'has y2 < y1');
  const inside = x1 >= 0 && y1 >= 0 && x2 <= size.width && y2 <= size.height;
  if (!inside) {
    if (!clamp) {
      throw new ValidationError(field, box, `is outside the ${size.width}x${size.height} image`);
    }
    if (x2 < 0 || y2 < 0 || x1 > size.width || y1 > size.height) {
      throw new ValidationError(field, box, `lies entirely outside the ${size.width}x${size.height} image`);
    }
    x1 = clampTo(x1, 0, size.width);
    x2 = clampTo(x2, 0, size.width);
    y1 = clampTo(y1, 0, size.height);
    y2 = clampTo(y2, 0, size.height);
  }
  return [x1, y1, x2, y2];
}

/** Validates a point: finite and inside [0, W)×[0, H) (with `clamp`, clamped to the image). */
export function validatePoint(
  point: readonly number[],
  size: ImageSize,
  field = 'point',
  clamp = false,
): Point {
  if (!Array.isArray(point) || point.length !== 2) throw new ValidationError(field, point, 'must be [x, y]');
  for (const v of point) checkFinite(field, point, v);
  let [x, y] = point as unknown as [number, number];
  if (x < 0 || y < 0 || x >= size.width || y >= size.height) {
    if (!clamp) throw new ValidationError(field, point, `is outside the ${size.width}x${size.height} image`);
    x = clampTo(x, 0, size.width - 1e-6);
    y = clampTo(y, 0, size.height - 1e-6);
  }
  return [x, y];
}

export function clampTo(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

export function boxArea(b: Box): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

/** Intersection over union of two boxes (0 when both are empty). */
export function boxIou(a: Box, b: Box): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  const inter = iw > 0 && ih > 0 ? iw * ih : 0;
  const union = boxArea(a) + boxArea(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** Mean absolute difference of the four corner coordinates, in pixels. */
export function boxCornerL1(a: Box, b: Box): number {
  return (Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2]) + Math.abs(a[3] - b[3])) / 4;
}

export function boxCenter(b: Box): Point {
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
}

/** Maps a box between two frames of the same image (e.g. original pixels → a 1024×1024 model frame). */
export function scaleBox(b: Box, from: ImageSize, to: ImageSize): Box {
  const sx = to.width / from.width;
  const sy = to.height / from.height;
  return [b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy];
}

export function scalePoint(p: Point, from: ImageSize, to: ImageSize): Point {
  return [(p[0] * to.width) / from.width, (p[1] * to.height) / from.height];
}

export function pointInBox(p: Point, b: Box): boolean {
  return p[0] >= b[0] && p[0] <= b[2] && p[1] >= b[1] && p[1] <= b[3];
}
