/**
 * Soft click targets for the warm start (`pretrain --point-targets`).
 *
 * The oracle clicks the deepest pixel of the largest error region (the point farthest from its
 * boundary). As a one-hot target over the 8×8 patch grid that point is fragile: when a region spans
 * several patches, which of them holds the single deepest pixel changes with a pixel of difference,
 * while a click anywhere deep inside the region does nearly as well. Measured on the 2026-12-04 warm
 * start (300 id-val states after its own box): its greedy negative click chose the oracle's patch in
 * 46% of the states; there the click raised the IoU by 0.149, elsewhere by −0.029 (the oracle's click:
 * +0.30 / +0.20), and 21% of its negative clicks were on no extra region at all.
 *
 * `depth` spreads each point's patch target over the patches the region covers, in proportion to
 * depth^power of the region's deepest pixel in each patch (depth: distance to the region's
 * boundary), so a patch deep in the region is nearly as right as the deepest one and a patch it
 * only grazes is not. Each patch also gets the offset of its deepest pixel, so a target can be
 * conditioned on any of them (`depth-sampled`: the patch the offset head reads is drawn from the
 * distribution each time the example is used, and the offset is that patch's deepest pixel).
 */
import type { ImageSize } from '../geometry/index.ts';
import type { BinaryMask, ErrorRegion } from '../mask/index.ts';
import type { ActionCodec, ActionTokens, PointPatchTargets } from '../policy/index.ts';
import { typeHasNegative, typeHasPositive } from '../policy/index.ts';
import { farNegativePoint, type OracleDecision } from '../agent/index.ts';
import type { Rng } from '../rng/index.ts';
import { ValidationError } from '../errors/index.ts';

export type PointTargetMode = 'centre' | 'depth' | 'depth-sampled' | 'far';

/** How the oracle's refinements become training targets. */
export interface ClickLabels {
  readonly pointTargets: PointTargetMode;
  /** The oracle's `negativeClearance` (OracleOptions). Default 0. */
  readonly negativeClearance?: number;
}
export const POINT_TARGET_MODES: readonly PointTargetMode[] = ['centre', 'depth', 'depth-sampled', 'far'];

/**
 * `far`: the negative click's target is the pixel of the extra region that is farthest from the
 * target object, as long as it is also inside the region (`farNegativePoint`, with the oracle in
 * core/agent, whose clearance rule reads the same point). On the thin rim a near-exact box leaves
 * around an object the region's centre is ~2 px from the object: a click a few pixels off lands on
 * the object, and GrabCut (like SAM) then cuts the object away.
 */
export { FAR_DEPTH_WEIGHT, farNegativePoint } from '../agent/index.ts';

/** Exponent of the depth weighting: 2 makes a patch half as deep a quarter as likely. */
export const DEPTH_POWER = 2;

type Codec = Pick<ActionCodec, 'encodePoint' | 'patches'>;

/**
 * Per patch: depth^power of the region's deepest pixel in it (normalised to sum 1) and that pixel's
 * offset token (−1 where the region has no pixel).
 */
export function regionPatchTargets(
  region: ErrorRegion,
  size: ImageSize,
  codec: Codec,
  power = DEPTH_POWER,
): { weights: Float32Array; offsets: Int16Array } {
  const P = codec.patches;
  const best = new Float32Array(P);
  const offsets = new Int16Array(P).fill(-1);
  const [x1, y1, x2, y2] = region.bbox;
  for (let y = y1; y < y2; y++) {
    for (let x = x1; x < x2; x++) {
      const pt: [number, number] = [x + 0.5, y + 0.5];
      const d = region.depthAt(pt);
      if (d <= 0) continue;
      const [patch, offset] = codec.encodePoint(pt, size);
      if (d > (best[patch] as number)) {
        best[patch] = d;
        offsets[patch] = offset;
      }
    }
  }
  // The oracle's own click (the region's centre) keeps its patch's offset, so `depth` conditions the
  // offset head exactly as `centre` does.
  const [cp, co] = codec.encodePoint(region.centre, size);
  offsets[cp] = co;
  let sum = 0;
  const weights = new Float32Array(P);
  for (let p = 0; p < P; p++) {
    const w = Math.pow(best[p] as number, power);
    weights[p] = w;
    sum += w;
  }
  if (!(sum > 0)) throw new ValidationError('region', region.area, 'has no pixel inside the image');
  for (let p = 0; p < P; p++) weights[p] = (weights[p] as number) / sum;
  return { weights, offsets };
}

/** The oracle's action as target tokens, with soft patch targets in the `depth` modes. */
export function oracleTargets(
  decision: OracleDecision,
  size: ImageSize,
  codec: Codec & Pick<ActionCodec, 'encodeAction'>,
  mode: PointTargetMode,
  gt?: BinaryMask,
): ActionTokens {
  if (mode === 'far') {
    if (!gt) throw new ValidationError('gt', gt, "is needed for point targets 'far'");
    const region = decision.negativeRegion;
    const negative = region ? (decision.farNegative ?? farNegativePoint(region, gt)) : null;
    const action = negative ? { ...decision.action, negative } : decision.action;
    return codec.encodeAction(action, size);
  }
  const tokens = codec.encodeAction(decision.action, size);
  if (mode === 'centre') return tokens;
  const points: {
    -readonly [K in keyof PointPatchTargets]: PointPatchTargets[K];
  } = {};
  if (decision.positiveRegion) {
    const t = regionPatchTargets(decision.positiveRegion, size, codec);
    points.positive = t.weights;
    points.positiveOffsets = t.offsets;
  }
  if (decision.negativeRegion) {
    const t = regionPatchTargets(decision.negativeRegion, size, codec);
    points.negative = t.weights;
    points.negativeOffsets = t.offsets;
  }
  return decision.positiveRegion || decision.negativeRegion ? { ...tokens, points } : tokens;
}

/**
 * `depth-sampled`: the target with each point's patch drawn from its soft distribution and the
 * offset of that patch's deepest pixel (the soft distribution stays the patch token's target).
 */
export function resampleClickPatches(tokens: ActionTokens, rng: Rng): ActionTokens {
  const pts = tokens.points;
  if (!pts || tokens.kind !== 'refine') return tokens;
  const ids = tokens.ids.slice();
  const type = ids[0] as number;
  let i = 1;
  const draw = (weights: Float32Array | undefined, offsets: Int16Array | undefined): void => {
    if (weights && offsets) {
      const p = rng.categorical(weights);
      if ((offsets[p] as number) >= 0) {
        ids[i] = p;
        ids[i + 1] = offsets[p] as number;
      }
    }
    i += 2;
  };
  if (typeHasPositive(type)) draw(pts.positive, pts.positiveOffsets);
  if (typeHasNegative(type)) draw(pts.negative, pts.negativeOffsets);
  return { ...tokens, ids };
}
