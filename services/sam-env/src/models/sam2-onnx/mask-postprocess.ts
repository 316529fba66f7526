/**
 * Post-processing shared by the SAM families: bilinear upsampling of low-res logits with
 * align_corners=False (F.interpolate, §0), the mask threshold (logit > 0), the stability score
 * count(logit > δ) / count(logit > −δ) (SAM2 `_get_stability_scores`, 1 when nothing is above −δ),
 * and the single-mask selection rules of §0, §1C and §2A.
 */
import { BinaryMask } from '../../../../../core/mask/index.ts';
import { axisWeights } from './image-transforms.ts';
import type { SelectionRule } from './families.ts';

/** Bilinear resize of a row-major float map (half-pixel centres, edge clamp). */
export function upsampleBilinear(
  src: Float32Array,
  sw: number,
  sh: number,
  dw: number,
  dh: number,
): Float32Array {
  const xs = axisWeights(sw, dw);
  const ys = axisWeights(sh, dh);
  const out = new Float32Array(dw * dh);
  for (let y = 0; y < dh; y++) {
    const r0 = ys.i0[y]! * sw;
    const r1 = ys.i1[y]! * sw;
    const wy = ys.w1[y]!;
    for (let x = 0; x < dw; x++) {
      const x0 = xs.i0[x]!;
      const x1 = xs.i1[x]!;
      const wx = xs.w1[x]!;
      const top = src[r0 + x0]! * (1 - wx) + src[r0 + x1]! * wx;
      const bottom = src[r1 + x0]! * (1 - wx) + src[r1 + x1]! * wx;
      out[y * dw + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}

/** Binary mask of `logits > 0` (SAM's mask_threshold). */
export function thresholdLogits(logits: ArrayLike<number>, width: number, height: number): BinaryMask {
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = logits[i]! > 0 ? 1 : 0;
  return new BinaryMask(width, height, data);
}

export function stabilityScore(logits: ArrayLike<number>, delta: number): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > delta) inter++;
    if (v > -delta) union++;
  }
  return union > 0 ? inter / union : 1;
}

function argmax(values: readonly number[], from: number): number {
  let best = from;
  for (let i = from + 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

export interface SelectionInput {
  /** Predicted IoU per returned token. */
  readonly ious: readonly number[];
  /** Low-res logits of token 0 (for the stability rule). */
  readonly token0: () => ArrayLike<number>;
  /** Number of points passed to the graph for this prompt, box corners included. */
  readonly numPoints: number;
  readonly stabilityDelta: number;
  readonly stabilityThresh: number;
}

/**
 * Index of the token to return as the single mask. One token: take it. Four tokens (token 0 is the
 * single-mask token): `sam1-points` applies Meta's rule, the SAM2 rules apply the stability rule.
 * Otherwise (multimask only): the best predicted IoU.
 */
export function selectToken(rule: SelectionRule, input: SelectionInput): number {
  const { ious } = input;
  if (ious.length <= 1) return 0;
  if (ious.length !== 4) return argmax(ious, 0);
  if (rule === 'sam1-points') {
    // Meta select_masks: score = iou + (num_points − 2.5)·[1000, 0, 0, 0].
    return input.numPoints >= 3 ? 0 : argmax(ious, 1);
  }
  return stabilityScore(input.token0(), input.stabilityDelta) >= input.stabilityThresh ? 0 : argmax(ious, 1);
}
