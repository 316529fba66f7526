/**
 * The oracle that supervises the warm start (issue 4, "Warm start") and serves as an upper-bound
 * policy in tests: boxes from (jittered) GT boxes; a refinement clicks the interior centre of the
 * largest missed region (positive) and of the largest extra region (negative), and stops once the
 * modified IoU reaches the good-enough threshold. Regions too small to matter are ignored, like a
 * human who would not click a two-pixel sliver.
 */
import type { BoxAction, PointAction } from '../actions/index.ts';
import type { Box, ImageSize, Point } from '../geometry/index.ts';
import { clampTo } from '../geometry/index.ts';
import type { BinaryMask, ErrorRegion, ErrorRegions } from '../mask/index.ts';
import { errorRegions, maskArea, modifiedIou, squaredDistanceToOutside } from '../mask/index.ts';
import type { Rng } from '../rng/index.ts';

export interface OracleOptions {
  /** Stop when the modified IoU reaches this. Default 0.9 (the paper's GOOD ENOUGH threshold). */
  readonly goodEnoughIou?: number;
  /** Boundary band of the modified IoU in pixels. Default 2. */
  readonly bandPx?: number;
  /** Ignore error regions smaller than this fraction of the GT area (min 4 px). Default 0.02. */
  readonly minRegionFraction?: number;
  /**
   * Click only the larger of the two kinds when the other is below this fraction of it; clicking both
   * on every step makes (p⁺, p⁻) the only refinement the policy sees. Default 0.35.
   */
  readonly bothRatio?: number;
  /**
   * Skip an extra region whose safest negative click (its `far` point, `farNegativePoint`) is closer
   * to the object than this fraction of the image's long side, as if the region were not there. A
   * click is a disk (GrabCut's: 0.025 of the long side), so a negative click that close marks the
   * object's own edge as background and the object is cut away; the thin rim a near-exact box leaves
   * is such a region. Default 0 (every region is clickable).
   */
  readonly negativeClearance?: number;
}

/** A GT box with each side moved by a normal offset of `jitter` × the box side, clamped to the image. */
export function jitterBox(gt: Box, size: ImageSize, rng: Rng, jitter: number): Box {
  const w = Math.max(1, gt[2] - gt[0]);
  const h = Math.max(1, gt[3] - gt[1]);
  let x1 = clampTo(gt[0] + rng.normal(0, jitter * w), 0, size.width - 1);
  let y1 = clampTo(gt[1] + rng.normal(0, jitter * h), 0, size.height - 1);
  let x2 = clampTo(gt[2] + rng.normal(0, jitter * w), 0, size.width);
  let y2 = clampTo(gt[3] + rng.normal(0, jitter * h), 0, size.height);
  if (x2 < x1 + 2) [x1, x2] = [Math.max(0, Math.min(x1, x2) - 1), Math.min(size.width, Math.max(x1, x2) + 1)];
  if (y2 < y1 + 2)
    [y1, y2] = [Math.max(0, Math.min(y1, y2) - 1), Math.min(size.height, Math.max(y1, y2) + 1)];
  return [x1, y1, x2, y2];
}

export function oracleBox(gtBox: Box): BoxAction {
  return { kind: 'box', box: gtBox };
}

/** The oracle's refinement and the error regions its clicks are the centres of. */
export interface OracleDecision {
  readonly action: PointAction;
  /** The largest missed region, when the positive click is its centre. */
  readonly positiveRegion?: ErrorRegion;
  /** The largest (clickable) extra region, when the negative click is its centre. */
  readonly negativeRegion?: ErrorRegion;
  /** `farNegativePoint` of `negativeRegion`, when the clearance rule had to find it. */
  readonly farNegative?: Point;
}

/**
 * The negative click's `far` point in an extra region: the pixel with the largest min(distance to the
 * object, FAR_DEPTH_WEIGHT × depth in the region), the deepest such pixel on ties. The region's centre
 * (its deepest pixel) is ~2 px from the object on the thin rim a near-exact box leaves around it, where
 * a click a few pixels off lands on the object; an extra region apart from the object keeps its centre.
 */
export const FAR_DEPTH_WEIGHT = 2;

/** Squared distance of every pixel to the object `gt` (0 on it): what `farPoint` reads. */
function squaredDistanceToObject(gt: BinaryMask): Float64Array {
  const outside = new Uint8Array(gt.width * gt.height);
  for (let i = 0; i < outside.length; i++) outside[i] = gt.data[i] ? 0 : 1;
  return squaredDistanceToOutside(outside, gt.width, gt.height);
}

/** The `far` negative click of `region` against the object `gt` (FAR_DEPTH_WEIGHT above). */
export function farNegativePoint(region: ErrorRegion, gt: BinaryMask): Point {
  return farPoint(region, squaredDistanceToObject(gt), gt.width).point;
}

/** The far point of `region` and its distance to the object, given the object's squared distances. */
function farPoint(
  region: ErrorRegion,
  toObject: Float64Array,
  width: number,
): { point: Point; clearance: number } {
  let best: Point = region.centre;
  let bestScore = -1;
  let bestDepth = -1;
  let clearance = Math.sqrt(
    toObject[Math.floor(region.centre[1]) * width + Math.floor(region.centre[0])] as number,
  );
  const [x1, y1, x2, y2] = region.bbox;
  for (let y = y1; y < y2; y++) {
    for (let x = x1; x < x2; x++) {
      const pt: Point = [x + 0.5, y + 0.5];
      const depth = region.depthAt(pt);
      if (depth <= 0) continue;
      const toGt = Math.sqrt(toObject[y * width + x] as number);
      const score = Math.min(toGt, FAR_DEPTH_WEIGHT * depth);
      if (score > bestScore || (score === bestScore && depth > bestDepth)) {
        best = pt;
        bestScore = score;
        bestDepth = depth;
        clearance = toGt;
      }
    }
  }
  return { point: best, clearance };
}

const STOP: PointAction = { kind: 'points', positive: null, negative: null };

/** The oracle's refinement for `mask` against `gt`. */
export function oracleRefinement(mask: BinaryMask, gt: BinaryMask, opts: OracleOptions = {}): PointAction {
  return oracleDecision(mask, gt, opts).action;
}

/** The error regions as the oracle sees them (those below its minimum area dropped), largest first. */
export function oracleErrorRegions(mask: BinaryMask, gt: BinaryMask, opts: OracleOptions = {}): ErrorRegions {
  const minArea = Math.max(4, Math.round((opts.minRegionFraction ?? 0.02) * maskArea(gt)));
  return errorRegions(mask, gt, { minArea });
}

/** `oracleRefinement` with the regions behind its clicks (the warm start's soft click targets read them). */
export function oracleDecision(mask: BinaryMask, gt: BinaryMask, opts: OracleOptions = {}): OracleDecision {
  const good = opts.goodEnoughIou ?? 0.9;
  if (modifiedIou(mask, gt, { bandPx: opts.bandPx ?? 2 }) >= good) return { action: STOP };
  const { missed, extra } = oracleErrorRegions(mask, gt, opts);
  const m = missed[0];
  const clickable = clickableExtra(extra, gt, opts.negativeClearance ?? 0);
  const e = clickable?.region;
  const ratio = opts.bothRatio ?? 0.35;
  const useM = m !== undefined && (e === undefined || m.area >= ratio * e.area);
  const useE = e !== undefined && (m === undefined || e.area >= ratio * m.area);
  if (!useM && !useE) return { action: STOP };
  return {
    action: { kind: 'points', positive: useM ? m.centre : null, negative: useE ? e.centre : null },
    ...(useM ? { positiveRegion: m } : {}),
    ...(useE ? { negativeRegion: e } : {}),
    ...(useE && clickable?.far ? { farNegative: clickable.far } : {}),
  };
}

/**
 * The largest extra region a negative click can reach at `clearance` × the long side from the object
 * (with its far point), or simply the largest when the clearance is 0.
 */
function clickableExtra(
  extra: readonly ErrorRegion[],
  gt: BinaryMask,
  clearance: number,
): { region: ErrorRegion; far?: Point } | undefined {
  if (!(clearance > 0)) return extra[0] ? { region: extra[0] } : undefined;
  if (extra.length === 0) return undefined;
  const minPx = clearance * Math.max(gt.width, gt.height);
  const toObject = squaredDistanceToObject(gt);
  for (const region of extra) {
    const { point, clearance: c } = farPoint(region, toObject, gt.width);
    if (c >= minPx) return { region, far: point };
  }
  return undefined;
}
