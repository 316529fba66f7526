/**
 * Scene layout for the synthetic world: places shapes one by one (later shapes are painted over
 * earlier ones) and keeps a label map of which object owns each pixel, so a target's mask is
 * exactly "its rasterised polygon minus everything painted after it".
 *
 * Placement is rejection sampling: a candidate is kept only if it lies inside the image and every
 * object already placed keeps at least `minVisibleFraction` of its pixels visible — occlusion
 * happens, but no object is hidden so much that its colour, shape or size class becomes
 * unreadable.
 */
import type { Point } from '../../geometry/index.ts';
import { rasterizePolygon } from '../../mask/index.ts';
import type { Rng } from '../../rng/index.ts';
import { polygonArea, polygonExtent, sampleShapeParams, shapePolygon, type ShapeGeometry } from './shapes.ts';
import { COLOR_RGB, SIZE_RADIUS, type ColorName, type ShapeKind, type SizeClass } from './vocabulary.ts';

/** What the query planner asks for; placement decides where. */
export interface ObjectSpec {
  readonly shape: ShapeKind;
  readonly color: ColorName;
  readonly size: SizeClass;
}

export interface SceneObject extends ShapeGeometry, ObjectSpec {
  /** Paint order: 0 is at the back. Equals the index in `Scene.objects`. */
  readonly id: number;
  /** Index of the spec this object was made from (the planner's numbering). */
  readonly specIndex: number;
  /** The object's own colour (the class colour with a small per-object jitter). */
  readonly rgb: readonly [number, number, number];
  readonly polygon: readonly Point[];
  /** Polygon area in square pixels (unoccluded). */
  readonly area: number;
  /** Rasterised pixel count of the whole polygon. */
  readonly fullPixels: number;
  /** Pixels still visible after later objects are painted. */
  visiblePixels: number;
}

export interface Scene {
  readonly width: number;
  readonly height: number;
  readonly objects: SceneObject[];
  /** Owner of each pixel (row-major): object id, or −1 for background. */
  readonly labels: Int16Array;
}

export interface LayoutOptions {
  /** Minimum visible fraction of every object after occlusion (default 0.6). */
  minVisibleFraction?: number;
  /** Minimum visible pixel count of every object (default 12). */
  minVisiblePixels?: number;
  /** Placement attempts per object before it is dropped (default 40). */
  maxAttempts?: number;
}

/**
 * Places `specs` in the given order (index 0 at the back). Objects that cannot be placed within
 * `maxAttempts` are dropped; callers check `specIndex` of the result for the ones they need.
 */
export function layoutScene(
  specs: readonly ObjectSpec[],
  width: number,
  height: number,
  rng: Rng,
  opts: LayoutOptions = {},
): Scene {
  const minFraction = opts.minVisibleFraction ?? 0.6;
  const minPixels = opts.minVisiblePixels ?? 12;
  const maxAttempts = opts.maxAttempts ?? 40;
  const labels = new Int16Array(width * height).fill(-1);
  const objects: SceneObject[] = [];
  const side = Math.min(width, height);
  const size = { width, height };
  const covered: number[] = [];

  specs.forEach((spec, specIndex) => {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const [lo, hi] = SIZE_RADIUS[spec.size];
      const radius = rng.uniform(lo, hi) * side;
      const { rotation, aspect } = sampleShapeParams(spec.shape, rng);
      const cx = rng.uniform(0, width);
      const cy = rng.uniform(0, height);
      const geometry: ShapeGeometry = { kind: spec.shape, cx, cy, radius, rotation, aspect };
      const polygon = shapePolygon(geometry);
      const [ex1, ey1, ex2, ey2] = polygonExtent(polygon);
      if (ex1 < 1 || ey1 < 1 || ex2 > width - 1 || ey2 > height - 1) continue;
      const mask = rasterizePolygon(polygon, size);
      // Scan only the polygon's extent; count the pixels it would take from each earlier object.
      const bx1 = Math.max(0, Math.floor(ex1));
      const by1 = Math.max(0, Math.floor(ey1));
      const bx2 = Math.min(width, Math.ceil(ex2) + 1);
      const by2 = Math.min(height, Math.ceil(ey2) + 1);
      covered.length = objects.length;
      covered.fill(0);
      let full = 0;
      for (let y = by1; y < by2; y++) {
        for (let x = bx1; x < bx2; x++) {
          const i = y * width + x;
          if (mask.data[i] !== 1) continue;
          full++;
          const owner = labels[i] as number;
          if (owner >= 0) covered[owner] = (covered[owner] as number) + 1;
        }
      }
      if (full < minPixels) continue;
      const ok = objects.every((o, j) => {
        const left = o.visiblePixels - (covered[j] as number);
        return left >= minFraction * o.fullPixels && left >= minPixels;
      });
      if (!ok) continue;
      const id = objects.length;
      for (let y = by1; y < by2; y++) {
        for (let x = bx1; x < bx2; x++) {
          const i = y * width + x;
          if (mask.data[i] === 1) labels[i] = id;
        }
      }
      objects.forEach((o, j) => (o.visiblePixels -= covered[j] as number));
      const base = COLOR_RGB[spec.color];
      const rgb = base.map((c) =>
        Math.max(0, Math.min(255, Math.round(c + rng.uniform(-14, 14)))),
      ) as unknown as [number, number, number];
      objects.push({
        ...geometry,
        ...spec,
        id,
        specIndex,
        rgb,
        polygon,
        area: polygonArea(polygon),
        fullPixels: full,
        visiblePixels: full,
      });
      return;
    }
  });
  return { width, height, objects, labels };
}

/** The visible mask of one object as 0/1 bytes (row-major). */
export function objectMaskData(scene: Scene, id: number): Uint8Array {
  const out = new Uint8Array(scene.labels.length);
  for (let i = 0; i < out.length; i++) if (scene.labels[i] === id) out[i] = 1;
  return out;
}
