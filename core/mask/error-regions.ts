/**
 * Error regions of a predicted mask against the ground truth: the connected components of
 * GT ∧ ¬pred ("missed", false negatives) and pred ∧ ¬GT ("extra", false positives).
 *
 * Each region gets an interior centre: the pixel whose centre is farthest from the region's
 * boundary (maximum of the exact Euclidean distance transform; the image border counts as
 * boundary). Unlike the centroid, it always lies on the region, even for a U- or C-shaped region.
 * Ties (e.g. the ridge of a rectangle) go to the tied pixel nearest the mean of the tied pixels, so
 * the centre sits in the middle of the ridge rather than at its first raster pixel.
 */
import type { Box, Point } from '../geometry/index.ts';
import { assertSameSize, BinaryMask } from './binary-mask.ts';
import { connectedComponents, type Connectivity } from './components.ts';
import { squaredDistanceToOutside } from './distance-transform.ts';
import type { ErrorRegion } from './types.ts';

export interface ErrorRegionOptions {
  /** Regions smaller than this many pixels are dropped (default 1: keep all). */
  minArea?: number;
  /** Pixel connectivity used to split regions (default 8). */
  connectivity?: Connectivity;
}

export interface ErrorRegions {
  /** False-negative regions (GT pixels the prediction lacks), largest first. */
  missed: ErrorRegion[];
  /** False-positive regions (predicted pixels outside GT), largest first. */
  extra: ErrorRegion[];
}

class Region implements ErrorRegion {
  readonly kind: 'missed' | 'extra';
  readonly area: number;
  readonly bbox: Box;
  readonly centre: Point;
  readonly radius: number;
  /** Distance to boundary over the bbox (row-major, bbox width), 0 off the region. */
  private readonly depth: Float32Array;

  constructor(kind: 'missed' | 'extra', area: number, bbox: Box, depth: Float32Array) {
    this.kind = kind;
    this.area = area;
    this.bbox = bbox;
    this.depth = depth;
    const bw = bbox[2] - bbox[0];
    let best = 0;
    for (let i = 0; i < depth.length; i++) if (depth[i]! > best) best = depth[i]!;
    // Mean of the tied maxima, then the tied pixel closest to it.
    let sx = 0;
    let sy = 0;
    let n = 0;
    for (let i = 0; i < depth.length; i++) {
      if (depth[i] === best) {
        sx += i % bw;
        sy += (i / bw) | 0;
        n++;
      }
    }
    const mx = sx / n;
    const my = sy / n;
    let pick = 0;
    let pickD = Infinity;
    for (let i = 0; i < depth.length; i++) {
      if (depth[i] !== best) continue;
      const dx = (i % bw) - mx;
      const dy = ((i / bw) | 0) - my;
      const d = dx * dx + dy * dy;
      if (d < pickD) {
        pickD = d;
        pick = i;
      }
    }
    this.radius = best;
    this.centre = [bbox[0] + (pick % bw) + 0.5, bbox[1] + ((pick / bw) | 0) + 0.5];
  }

  contains(point: Point): boolean {
    return this.depthAt(point) > 0;
  }

  depthAt(point: Point): number {
    const x = Math.floor(point[0]) - this.bbox[0];
    const y = Math.floor(point[1]) - this.bbox[1];
    const bw = this.bbox[2] - this.bbox[0];
    const bh = this.bbox[3] - this.bbox[1];
    if (!(x >= 0 && y >= 0 && x < bw && y < bh)) return 0;
    return this.depth[y * bw + x]!;
  }
}

/**
 * The connected regions of `mask` as ErrorRegions of the given kind, largest first (ties in
 * raster order). Useful on its own for any "which blob, and where is its middle" question.
 */
export function maskRegions(
  mask: BinaryMask,
  kind: 'missed' | 'extra',
  opts: ErrorRegionOptions = {},
): ErrorRegion[] {
  const minArea = opts.minArea ?? 1;
  const { labels, components } = connectedComponents(mask, opts.connectivity ?? 8);
  const w = mask.width;
  const regions: ErrorRegion[] = [];
  for (const comp of components) {
    if (comp.area < minArea) continue;
    const [x1, y1, x2, y2] = comp.bbox;
    const bw = x2 - x1;
    const bh = y2 - y1;
    // Crop with a one-pixel ring of "outside": that ring stands for both other labels and the image
    // border, and clamping any outside pixel beyond the ring into it only shortens the distance, so
    // the transform on the crop is exact.
    const cw = bw + 2;
    const ch = bh + 2;
    const crop = new Uint8Array(cw * ch);
    for (let y = 0; y < bh; y++) {
      const src = (y1 + y) * w + x1;
      const dst = (y + 1) * cw + 1;
      for (let x = 0; x < bw; x++) crop[dst + x] = labels[src + x] === comp.label ? 1 : 0;
    }
    const sq = squaredDistanceToOutside(crop, cw, ch);
    const depth = new Float32Array(bw * bh);
    for (let y = 0; y < bh; y++) {
      for (let x = 0; x < bw; x++) depth[y * bw + x] = Math.sqrt(sq[(y + 1) * cw + x + 1]!);
    }
    regions.push(new Region(kind, comp.area, comp.bbox, depth));
  }
  regions.sort((a, b) => b.area - a.area);
  return regions;
}

/** Missed (GT ∧ ¬pred) and extra (pred ∧ ¬GT) regions, each sorted by area, largest first. */
export function errorRegions(pred: BinaryMask, gt: BinaryMask, opts: ErrorRegionOptions = {}): ErrorRegions {
  assertSameSize(gt, pred, 'pred');
  const n = gt.data.length;
  const missed = new Uint8Array(n);
  const extra = new Uint8Array(n);
  const p = pred.data;
  const g = gt.data;
  for (let i = 0; i < n; i++) {
    const a = p[i]! !== 0 ? 1 : 0;
    const b = g[i]! !== 0 ? 1 : 0;
    missed[i] = b & (a ^ 1);
    extra[i] = a & (b ^ 1);
  }
  return {
    missed: maskRegions(new BinaryMask(gt.width, gt.height, missed), 'missed', opts),
    extra: maskRegions(new BinaryMask(gt.width, gt.height, extra), 'extra', opts),
  };
}

/** The largest error region of either kind (missed wins a tie), or null when pred equals GT. */
export function largestErrorRegion(
  pred: BinaryMask,
  gt: BinaryMask,
  opts: ErrorRegionOptions = {},
): ErrorRegion | null {
  const { missed, extra } = errorRegions(pred, gt, opts);
  const m = missed[0];
  const e = extra[0];
  if (m === undefined) return e ?? null;
  if (e === undefined) return m;
  return e.area > m.area ? e : m;
}
