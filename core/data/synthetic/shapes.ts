/**
 * Shape kinds as polygons in absolute pixel coordinates. Each kind is scaled so that a given
 * nominal radius gives roughly comparable visual extent (a square of half-side r would look much
 * bigger than a triangle of circumradius r), and rotated only within a range that keeps the kind
 * recognisable (a square rotated by 45° would be a diamond).
 */
import type { Point } from '../../geometry/index.ts';
import type { Rng } from '../../rng/index.ts';
import type { ShapeKind } from './vocabulary.ts';

/** Geometry of one shape instance; `polygon` is derived from these. */
export interface ShapeGeometry {
  readonly kind: ShapeKind;
  /** Centre in pixels. */
  readonly cx: number;
  readonly cy: number;
  /** Nominal radius in pixels (half the nominal extent). */
  readonly radius: number;
  /** Rotation in radians. */
  readonly rotation: number;
  /** Minor/major axis ratio (ellipse and diamond only; 1 otherwise). */
  readonly aspect: number;
}

/** Draws the kind-specific free parameters (rotation, aspect) for a shape of the given kind. */
export function sampleShapeParams(kind: ShapeKind, rng: Rng): { rotation: number; aspect: number } {
  const deg = Math.PI / 180;
  switch (kind) {
    case 'circle':
      return { rotation: 0, aspect: 1 };
    case 'ellipse':
      return { rotation: rng.uniform(0, Math.PI), aspect: rng.uniform(0.48, 0.62) };
    case 'square':
      return { rotation: rng.uniform(-12, 12) * deg, aspect: 1 };
    case 'diamond':
      return { rotation: rng.uniform(-10, 10) * deg, aspect: rng.uniform(0.6, 0.72) };
    case 'triangle':
      return { rotation: rng.uniform(-15, 15) * deg + (rng.bool(0.25) ? Math.PI : 0), aspect: 1 };
    case 'hexagon':
      return { rotation: rng.uniform(0, Math.PI / 3), aspect: 1 };
    case 'star':
      return { rotation: rng.uniform(-15, 15) * deg, aspect: 1 };
  }
}

function rotateAround(cx: number, cy: number, rotation: number, local: Array<[number, number]>): Point[] {
  const c = Math.cos(rotation);
  const s = Math.sin(rotation);
  return local.map(([x, y]) => [cx + x * c - y * s, cy + x * s + y * c] as Point);
}

/** Vertices of a regular n-gon of circumradius `r`, first vertex pointing up (−y). */
function regular(n: number, r: number, phase = 0): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const a = phase - Math.PI / 2 + (2 * Math.PI * i) / n;
    out.push([r * Math.cos(a), r * Math.sin(a)]);
  }
  return out;
}

/** The shape's outline as a closed polygon (last vertex not repeated), in pixel coordinates. */
export function shapePolygon(g: ShapeGeometry): Point[] {
  const r = g.radius;
  let local: Array<[number, number]>;
  switch (g.kind) {
    case 'circle':
    case 'ellipse': {
      // Enough vertices that the chord error stays below ~0.1 px at these radii.
      const n = Math.max(24, Math.ceil(2 * Math.PI * Math.sqrt(r) * 2));
      local = [];
      for (let i = 0; i < n; i++) {
        const a = (2 * Math.PI * i) / n;
        local.push([r * Math.cos(a), r * g.aspect * Math.sin(a)]);
      }
      if (g.kind === 'ellipse') {
        // The major axis gets a little longer so an ellipse's area is not much below a circle's.
        local = local.map(([x, y]) => [x * 1.15, y * 1.15]);
      }
      break;
    }
    case 'square': {
      const h = 0.84 * r;
      local = [
        [-h, -h],
        [h, -h],
        [h, h],
        [-h, h],
      ];
      break;
    }
    case 'diamond': {
      const v = 1.12 * r;
      local = [
        [0, -v],
        [v * g.aspect, 0],
        [0, v],
        [-v * g.aspect, 0],
      ];
      break;
    }
    case 'triangle': {
      // Circumradius 1.2r; shift down so the triangle's bounding box is centred on (cx, cy).
      const pts = regular(3, 1.2 * r);
      const top = Math.min(...pts.map((p) => p[1]));
      const bottom = Math.max(...pts.map((p) => p[1]));
      const dy = -(top + bottom) / 2;
      local = pts.map(([x, y]) => [x, y + dy]);
      break;
    }
    case 'hexagon':
      local = regular(6, 1.02 * r);
      break;
    case 'star': {
      const outer = regular(5, 1.22 * r);
      const inner = regular(5, 0.5 * 1.22 * r, Math.PI / 5);
      local = [];
      for (let i = 0; i < 5; i++) local.push(outer[i] as [number, number], inner[i] as [number, number]);
      break;
    }
  }
  return rotateAround(g.cx, g.cy, g.rotation, local);
}

/** Polygon area by the shoelace formula, in square pixels. */
export function polygonArea(points: readonly Point[]): number {
  let a = 0;
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as Point;
    const q = points[(i + 1) % points.length] as Point;
    a += p[0] * q[1] - q[0] * p[1];
  }
  return Math.abs(a) / 2;
}

/** Axis-aligned extent of a polygon: [minX, minY, maxX, maxY] (real-valued). */
export function polygonExtent(points: readonly Point[]): [number, number, number, number] {
  let x1 = Infinity;
  let y1 = Infinity;
  let x2 = -Infinity;
  let y2 = -Infinity;
  for (const [x, y] of points) {
    if (x < x1) x1 = x;
    if (y < y1) y1 = y;
    if (x > x2) x2 = x;
    if (y > y2) y2 = y;
  }
  return [x1, y1, x2, y2];
}
