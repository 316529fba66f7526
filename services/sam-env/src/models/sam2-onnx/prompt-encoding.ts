/**
 * Turns validated prompts into a family's decoder tensors (reference/sam2-onnx.md §0, §1, §2A):
 * points in the model's 1024 frame, the box as two corner points labelled 2 (top-left) and 3
 * (bottom-right) — first for SAM2 exports, after the clicks for Meta SAM1 as in its notebook —,
 * clicks labelled 1/0, and the previous low-res logits as mask input with has_mask_input = 1.
 * No padding point is added for a single prompt: the SAM2 graphs append their own (0,0)/−1 point,
 * and SAM1 needs one only without a box, which a transition always has. Prompts sharing one run are
 * equalised to the same point count with (0,0)/−1 points ("not a point" in every family).
 */
import { ResourceExhaustedError, ValidationError } from '../../../../../core/errors/index.ts';
import { validateBox, validatePoint } from '../../../../../core/geometry/index.ts';
import type { EnvImage, TransitionPrompt } from '../../model.ts';
import type { FamilySpec } from './families.ts';
import { toModelFrame } from './image-transforms.ts';
import { ort } from './ort-session.ts';

/** Side of SAM's low-res logits and mask input. */
export const LOW_RES = 256;
export const LOW_AREA = LOW_RES * LOW_RES;

export interface EncodedPrompt {
  readonly coords: readonly (readonly [number, number])[];
  readonly labels: readonly number[];
  readonly mask: Float32Array | undefined;
  /** Points passed to the graph for this prompt (before run padding), box corners included. */
  readonly numPoints: number;
}

/** Validates one prompt (fields named `prompts[i]…`) and converts it to model-frame points and labels. */
/** Validates one prompt and converts it to model-frame points and labels. */
export function encodePrompt(
  spec: FamilySpec,
  p: TransitionPrompt,
  i: number,
  image: EnvImage,
  maxPoints: number,
): EncodedPrompt {
  const field = `prompts[${i}]`;
  const box = validateBox(p.box, image, `${field}.box`);
  if (p.points.length > maxPoints) {
    throw new ResourceExhaustedError(
      `${field}.points`,
      p.points.length,
      `exceeds the limit of ${maxPoints} points per prompt`,
    );
  }
  const kind = spec.preprocess;
  const corners = [toModelFrame(kind, [box[0], box[1]], image), toModelFrame(kind, [box[2], box[3]], image)];
  const clicks = p.points.map((pt, j) => {
    validatePoint(pt.point, image, `${field}.points[${j}].point`);
    if (pt.label !== 0 && pt.label !== 1)
      throw new ValidationError(`${field}.points[${j}].label`, pt.label, 'must be 0 or 1');
    return toModelFrame(kind, pt.point, image);
  });
  const cornerLabels = [2, 3];
  const clickLabels = p.points.map((pt) => pt.label);
  const coords = spec.boxFirst ? [...corners, ...clicks] : [...clicks, ...corners];
  const labels = spec.boxFirst ? [...cornerLabels, ...clickLabels] : [...clickLabels, ...cornerLabels];
  let mask: Float32Array | undefined;
  if (p.prevLogits) {
    const { width, height, data } = p.prevLogits;
    if (width !== LOW_RES || height !== LOW_RES || data.length !== LOW_AREA) {
      throw new ValidationError(
        `${field}.prevLogits`,
        `${width}x${height} (${data.length} values)`,
        `must be ${LOW_RES}x${LOW_RES} low-res logits from the previous step`,
      );
    }
    for (let k = 0; k < data.length; k++) {
      if (!Number.isFinite(data[k]))
        throw new ValidationError(`${field}.prevLogits.data[${k}]`, data[k], 'must be finite');
    }
    mask = data;
  }
  return { coords, labels, mask, numPoints: coords.length };
}

/** The per-prompt decoder inputs of one run (L = chunk.length prompts, P = most points). */
export function promptFeeds(
  spec: FamilySpec,
  chunk: readonly EncodedPrompt[],
  image: EnvImage,
): Record<string, ort.Tensor> {
  const s = spec;
  const L = chunk.length;
  const P = Math.max(...chunk.map((p) => p.numPoints));
  const coords = new Float32Array(L * P * 2);
  const labels = s.labels.type === 'int32' ? new Int32Array(L * P) : new Float32Array(L * P);
  labels.fill(-1); // padding points: (0,0) with label −1
  const masks = new Float32Array(L * LOW_AREA);
  const has = new Float32Array(L);
  chunk.forEach((p, l) => {
    p.coords.forEach((c, k) => {
      coords[(l * P + k) * 2] = c[0];
      coords[(l * P + k) * 2 + 1] = c[1];
      labels[l * P + k] = p.labels[k]!;
    });
    if (p.mask) {
      masks.set(p.mask, l * LOW_AREA);
      has[l] = 1;
    }
  });
  const feeds: Record<string, ort.Tensor> = {};
  feeds[s.coords.name] = new ort.Tensor('float32', coords, [L, P, 2]);
  feeds[s.labels.name] =
    s.labels.type === 'int32'
      ? new ort.Tensor('int32', labels as Int32Array, [L, P])
      : new ort.Tensor('float32', labels as Float32Array, [L, P]);
  feeds[s.maskInput.name] = new ort.Tensor('float32', masks, [L, 1, LOW_RES, LOW_RES]);
  feeds[s.hasMaskInput.name] = new ort.Tensor('float32', has, [L]);
  if (s.origSize) {
    const hw = [image.height, image.width];
    feeds[s.origSize.name] =
      s.origSize.type === 'int64'
        ? new ort.Tensor('int64', BigInt64Array.from(hw.map((v) => BigInt(v))), [2])
        : s.origSize.type === 'int32'
          ? new ort.Tensor('int32', Int32Array.from(hw), [2])
          : new ort.Tensor('float32', Float32Array.from(hw), [2]);
  }
  return feeds;
}
