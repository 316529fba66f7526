/**
 * Mask measurements: area, bounding box, intersection/union, IoU, modified IoU and the gIoU/cIoU
 * accumulators used by referring/reasoning segmentation benchmarks:
 *   gIoU = mean over samples of I_i / U_i;   cIoU = (Σ I_i) / (Σ U_i).
 *
 * Convention for an empty union (both masks empty on every counted pixel): IoU = 1. The prediction
 * agrees with the ground truth everywhere, and for rewards "GT is empty, agent predicted nothing"
 * is a correct answer. (pycocotools returns 0 here; we deliberately differ.)
 */
import { ValidationError } from '../errors/index.ts';
import type { Box } from '../geometry/index.ts';
import { assertSameSize, BinaryMask } from './binary-mask.ts';
import { squaredDistanceToOutside } from './distance-transform.ts';
import { FLUSH_WORDS, laneSum, wordView } from './words.ts';

/** Number of foreground pixels. */
export function maskArea(mask: BinaryMask): number {
  const d = mask.data;
  const dw = wordView(d);
  let n = 0;
  let tail = 0;
  if (dw) {
    for (let i = 0; i < dw.length;) {
      let acc = 0;
      for (const end = Math.min(dw.length, i + FLUSH_WORDS); i < end; i++) acc += dw[i]!;
      n += laneSum(acc);
    }
    tail = dw.length * 4;
  }
  for (let i = tail; i < d.length; i++) n += d[i]!;
  return n;
}

/** Tight bounding box [x1, y1, x2, y2] in pixel edges (x2/y2 exclusive), or null for an empty mask. */
export function maskBbox(mask: BinaryMask): Box | null {
  const { width: w, height: h, data } = mask;
  let x1 = w;
  let y1 = h;
  let x2 = -1;
  let y2 = -1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let first = -1;
    for (let x = 0; x < w; x++) {
      if (data[row + x] !== 0) {
        first = x;
        break;
      }
    }
    if (first < 0) continue;
    let last = first;
    for (let x = w - 1; x > first; x--) {
      if (data[row + x] !== 0) {
        last = x;
        break;
      }
    }
    if (y1 === h) y1 = y;
    y2 = y;
    if (first < x1) x1 = first;
    if (last > x2) x2 = last;
  }
  return y2 < 0 ? null : [x1, y1, x2 + 1, y2 + 1];
}

export interface IntersectionUnion {
  intersection: number;
  union: number;
}

/**
 * Pixel counts of a∩b and a∪b. Pixels where `ignore` is 1 are left out of both counts. Throws a
 * ValidationError when sizes differ.
 */
export function maskIntersectionUnion(a: BinaryMask, b: BinaryMask, ignore?: BinaryMask): IntersectionUnion {
  assertSameSize(a, b, 'mask');
  if (ignore !== undefined) assertSameSize(a, ignore, 'ignore');
  const da = a.data;
  const db = b.data;
  let inter = 0;
  let union = 0;
  // Four pixels per step when the buffers are word-aligned; the byte loops finish the tail.
  let tail = 0;
  const wa = wordView(da);
  const wb = wordView(db);
  const wn = ignore === undefined ? null : wordView(ignore.data);
  if (wa && wb && (ignore === undefined || wn)) {
    for (let i = 0; i < wa.length;) {
      let accI = 0;
      let accU = 0;
      const end = Math.min(wa.length, i + FLUSH_WORDS);
      if (wn === null) {
        for (; i < end; i++) {
          const x = wa[i]!;
          const y = wb[i]!;
          accI += x & y;
          accU += x | y;
        }
      } else {
        for (; i < end; i++) {
          const keep = wn[i]! ^ 0x01010101;
          const x = wa[i]! & keep;
          const y = wb[i]! & keep;
          accI += x & y;
          accU += x | y;
        }
      }
      inter += laneSum(accI);
      union += laneSum(accU);
    }
    tail = wa.length * 4;
  }
  if (ignore === undefined) {
    for (let i = tail; i < da.length; i++) {
      const x = da[i]!;
      const y = db[i]!;
      inter += x & y;
      union += x | y;
    }
  } else {
    const dn = ignore.data;
    for (let i = tail; i < da.length; i++) {
      const keep = dn[i]! ^ 1;
      const x = da[i]! & keep;
      const y = db[i]! & keep;
      inter += x & y;
      union += x | y;
    }
  }
  return { intersection: inter, union };
}

/** IoU from counts, with the empty-union convention of this module (1). */
export function iouFromCounts(intersection: number, union: number): number {
  return union === 0 ? 1 : intersection / union;
}

/** Intersection over union; pixels where `ignore` is 1 are excluded. Empty union → 1 (see header). */
export function maskIou(a: BinaryMask, b: BinaryMask, ignore?: BinaryMask): number {
  const { intersection, union } = maskIntersectionUnion(a, b, ignore);
  return iouFromCounts(intersection, union);
}

/** Bands up to this half-width are built by stamping discs on the boundary, wider ones by EDT. */
const STAMP_MAX_PX = 12;

export interface BoundaryBandOptions {
  /**
   * Half-width of the ignored band in pixels (default 2): a pixel is in the band when the
   * centre-to-centre Euclidean distance to the nearest pixel of the other GT class is ≤ bandPx,
   * i.e. bandPx pixel layers on each side of the GT boundary. 0 disables the band.
   */
  bandPx?: number;
}

/**
 * The band of pixels within `bandPx` of the GT boundary, on both sides (exact Euclidean distance
 * transform). The image border is not a GT boundary.
 */
export function boundaryBand(gt: BinaryMask, opts: BoundaryBandOptions = {}): BinaryMask {
  const bandPx = opts.bandPx ?? 2;
  if (!Number.isFinite(bandPx) || bandPx < 0)
    throw new ValidationError('bandPx', bandPx, 'must be a finite number >= 0');
  const { width: w, height: h, data } = gt;
  const band = new Uint8Array(w * h);
  if (bandPx < 1) return new BinaryMask(w, h, band); // no pixel centre is that close to another
  const limit = bandPx * bandPx;
  if (bandPx > STAMP_MAX_PX) {
    // Wide bands: exact EDT both ways (inside → nearest background, outside → nearest GT).
    const inv = new Uint8Array(w * h);
    for (let i = 0; i < inv.length; i++) inv[i] = data[i]! ^ 1;
    const dIn = squaredDistanceToOutside(data, w, h);
    const dOut = squaredDistanceToOutside(inv, w, h);
    for (let i = 0; i < band.length; i++) if ((data[i] === 1 ? dIn[i]! : dOut[i]!) <= limit) band[i] = 1;
    return new BinaryMask(w, h, band);
  }
  // Narrow bands: the nearest other-class pixel q of any pixel p has a 4-neighbour of p's class
  // (stepping from q towards p would otherwise find a closer one), so stamping a disc of radius
  // bandPx around every pixel that has a 4-neighbour of the other class, marking the pixels of the
  // other class under it, yields exactly the EDT band at the cost of the boundary length.
  const r = Math.floor(bandPx);
  const offX: number[] = [];
  const offY: number[] = [];
  for (let dy = -r; dy <= r; dy++) {
    for (let dx = -r; dx <= r; dx++) {
      if ((dx !== 0 || dy !== 0) && dx * dx + dy * dy <= limit) {
        offX.push(dx);
        offY.push(dy);
      }
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const v = data[i]!;
      const edge =
        (x > 0 && data[i - 1] !== v) ||
        (x < w - 1 && data[i + 1] !== v) ||
        (y > 0 && data[i - w] !== v) ||
        (y < h - 1 && data[i + w] !== v);
      if (!edge) continue;
      for (let k = 0; k < offX.length; k++) {
        const px = x + offX[k]!;
        const py = y + offY[k]!;
        if (px < 0 || py < 0 || px >= w || py >= h) continue;
        const j = py * w + px;
        if (data[j] !== v) band[j] = 1;
      }
    }
  }
  return new BinaryMask(w, h, band);
}

/**
 * Modified IoU: IoU with a band of `bandPx` pixels on both sides of the GT boundary excluded, so
 * annotation jitter along the outline does not count. When nothing is left outside the band
 * (union 0 — e.g. a GT thinner than the band and an empty or in-band prediction) it falls back to
 * the plain IoU, so that an empty prediction never scores 1 on a tiny object.
 */
export function modifiedIou(pred: BinaryMask, gt: BinaryMask, opts: BoundaryBandOptions = {}): number {
  assertSameSize(gt, pred, 'pred');
  const band = boundaryBand(gt, opts);
  const { intersection, union } = maskIntersectionUnion(pred, gt, band);
  if (union === 0) return maskIou(pred, gt);
  return intersection / union;
}

/**
 * Accumulates per-sample intersections and unions for gIoU (mean per-sample IoU) and cIoU
 * (Σ intersection / Σ union). Both are 0 before any sample; an all-empty union gives 1.
 */
export class IouAccumulator {
  private sumIou = 0;
  private sumI = 0;
  private sumU = 0;
  private n = 0;

  /** Adds one sample and returns its IoU. */
  add(pred: BinaryMask, gt: BinaryMask, ignore?: BinaryMask): number {
    const { intersection, union } = maskIntersectionUnion(pred, gt, ignore);
    return this.addCounts(intersection, union);
  }

  /** Adds a sample by its counts (e.g. computed elsewhere) and returns its IoU. */
  addCounts(intersection: number, union: number): number {
    if (!(intersection >= 0 && union >= intersection && Number.isFinite(union))) {
      throw new ValidationError('counts', [intersection, union], 'must satisfy 0 <= intersection <= union');
    }
    const iou = iouFromCounts(intersection, union);
    this.sumIou += iou;
    this.sumI += intersection;
    this.sumU += union;
    this.n++;
    return iou;
  }

  /** Folds another accumulator into this one. */
  merge(other: IouAccumulator): this {
    this.sumIou += other.sumIou;
    this.sumI += other.sumI;
    this.sumU += other.sumU;
    this.n += other.n;
    return this;
  }

  get count(): number {
    return this.n;
  }

  /** Mean per-sample IoU. */
  get gIoU(): number {
    return this.n === 0 ? 0 : this.sumIou / this.n;
  }

  /** Cumulative IoU, Σ I / Σ U. */
  get cIoU(): number {
    if (this.n === 0) return 0;
    return iouFromCounts(this.sumI, this.sumU);
  }
}
