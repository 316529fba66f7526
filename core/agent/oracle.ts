/**
 * The oracle that supervises the warm start (issue 4, "Warm start") and serves as an upper-bound
 * policy in tests: boxes from (jittered) GT boxes; a refinement clicks the interior centre of the
 * largest missed region (positive) and of the largest extra region (negative), and stops once the
 * modified IoU reaches the good-enough threshold. Regions too small to matter are ignored, like a
 * human who would not click a two-pixel sliver.
 */
import type { BoxAction, PointAction } from '../actions/index.ts';
import type { Box, ImageSize } from '../geometry/index.ts';
import { clampTo } from '../geometry/index.ts';
import type { BinaryMask, ErrorRegion, ErrorRegions } from '../mask/index.ts';
import { errorRegions, maskArea, modifiedIou } from '../mask/index.ts';
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
  /** The largest extra region, when the negative click is its centre. */
  readonly negativeRegion?: ErrorRegion;
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
  const e = extra[0];
  const ratio = opts.bothRatio ?? 0.35;
  const useM = m !== undefined && (e === undefined || m.area >= ratio * e.area);
  const useE = e !== undefined && (m === undefined || e.area >= ratio * m.area);
  if (!useM && !useE) return { action: STOP };
  return {
    action: { kind: 'points', positive: useM ? m.centre : null, negative: useE ? e.centre : null },
    ...(useM ? { positiveRegion: m } : {}),
    ...(useE ? { negativeRegion: e } : {}),
  };
}
