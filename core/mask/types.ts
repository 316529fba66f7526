import type { Box, Point } from '../geometry/index.ts';

/**
 * One connected error region of a predicted mask against the ground truth: `missed` is a
 * false-negative component (GT foreground the mask lacks), `extra` a false-positive component.
 */
export interface ErrorRegion {
  readonly kind: 'missed' | 'extra';
  /** Pixel count. */
  readonly area: number;
  /** Tight bounding box in pixels, [x1, y1, x2, y2] with x2/y2 exclusive (pixel edges). */
  readonly bbox: Box;
  /**
   * Interior centre: the pixel centre (x + 0.5, y + 0.5) farthest from the region's boundary, so it
   * is always inside the region (a centroid can fall outside a non-convex region).
   */
  readonly centre: Point;
  /** Distance in pixels from `centre` to the nearest pixel outside the region (≥ 1 for any region). */
  readonly radius: number;
  /** Whether a point (pixel coordinates) falls on a pixel of the region. */
  contains(point: Point): boolean;
  /** Distance-to-boundary of the pixel under `point` (0 when outside the region). */
  depthAt(point: Point): number;
}

/**
 * COCO run-length encoding, uncompressed form: `counts` are run lengths over the mask read in
 * column-major order (down each column, left to right), alternating 0-runs and 1-runs and always
 * starting with a (possibly empty) 0-run. `size` is [height, width], as in COCO.
 */
export interface Rle {
  readonly size: readonly [height: number, width: number];
  readonly counts: number[];
}

/** COCO RLE with `counts` in pycocotools' compressed string form (see `rleToString`). */
export interface CocoRle {
  readonly size: readonly [height: number, width: number];
  readonly counts: string;
}

/** One 4- or 8-connected foreground component. */
export interface Component {
  /** Label in the labels image (1-based; 0 is background). */
  readonly label: number;
  /** Pixel count. */
  readonly area: number;
  /** Tight bounding box in pixels, [x1, y1, x2, y2] with x2/y2 exclusive (pixel edges). */
  readonly bbox: Box;
}

/** Result of `connectedComponents`. */
export interface Components {
  /** Row-major labels, 0 for background, otherwise `Component.label`. */
  readonly labels: Int32Array;
  /** Components in label order (components[i].label === i + 1). */
  readonly components: Component[];
}
