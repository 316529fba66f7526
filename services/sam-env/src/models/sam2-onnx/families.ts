/**
 * The public SAM ONNX export families this plugin loads, with their exact I/O contracts
 * (shared/reference/sam2-onnx.md §1A, §1C, §1D, §2A), and detection from a decoder's input names.
 *
 * A family fixes: tensor names and dtypes, the preprocessing (SAM2: squash to 1024²; SAM1: longest
 * side 1024 + zero pad), the prompt frame, whether the graph upsamples to the image (it does when it
 * takes the original size), whether the label dimension can batch several prompts, and the
 * single-mask selection rule.
 */
import { ValidationError } from '../../../../../core/errors/index.ts';

export type Sam2OnnxFamily = 'sam2-samexporter' | 'sam2-rectlabel' | 'sam2-ort' | 'sam1-meta';
export const SAM_ONNX_FAMILIES: readonly Sam2OnnxFamily[] = [
  'sam2-samexporter',
  'sam2-rectlabel',
  'sam2-ort',
  'sam1-meta',
];

export type TensorType = 'float32' | 'int32' | 'int64' | 'bool';

/** A tensor contract; `null` dims are dynamic (symbolic in the model). */
export interface TensorSpec {
  readonly name: string;
  readonly type: TensorType;
  readonly shape: readonly (number | null)[];
}

/**
 * How the single mask is chosen from the decoder's tokens:
 * - `best-iou`: argmax of the predicted IoU over all returned tokens (multimask exports).
 * - `stability`: SAM2 `_dynamic_multimask_via_stability` — token 0 when its stability ≥ thresh, else best of 1..3.
 * - `sam1-points`: Meta `SamOnnxModel.select_masks` — token 0 when ≥ 3 points were passed, else best of 1..3.
 * With one returned token any rule takes it.
 */
export type SelectionRule = 'best-iou' | 'stability' | 'sam1-points';

export interface FamilySpec {
  readonly family: Sam2OnnxFamily;
  readonly preprocess: 'squash' | 'longest-side';
  /** Encoder outputs by role; the encoder's single image input may have any name. */
  readonly encoderOutputs: {
    readonly embed: TensorSpec;
    readonly feat0?: TensorSpec;
    readonly feat1?: TensorSpec;
  };
  /** Decoder inputs receiving the encoder outputs (same shapes). */
  readonly decoderEmbedInputs: { readonly embed: string; readonly feat0?: string; readonly feat1?: string };
  readonly coords: TensorSpec;
  readonly labels: TensorSpec;
  readonly maskInput: TensorSpec;
  readonly hasMaskInput: TensorSpec;
  /** Present when the graph upsamples to the original size itself. */
  readonly origSize?: TensorSpec;
  readonly masks: TensorSpec;
  readonly iou: TensorSpec;
  /** Separate low-res logits output (absent: `masks` are the low-res logits). */
  readonly lowRes?: TensorSpec;
  /** Order of the box corners relative to the clicks in the point list (Meta SAM1 appends the box). */
  readonly boxFirst: boolean;
  /** Whether the label dimension may hold several prompts in one run. */
  readonly batch: boolean;
  readonly selection: SelectionRule;
}

const EMBED = [1, 256, 64, 64] as const;
const FEAT0_SAM2 = [1, 32, 256, 256] as const;
const FEAT1_SAM2 = [1, 64, 128, 128] as const;
const LOW = 256;

function t(name: string, type: TensorType, shape: readonly (number | null)[]): TensorSpec {
  return { name, type, shape };
}

const SPECS: Record<Sam2OnnxFamily, FamilySpec> = {
  // §1A vietanhdev/samexporter (also X-AnyLabeling): multimask only, no orig size, graph pads.
  'sam2-samexporter': {
    family: 'sam2-samexporter',
    preprocess: 'squash',
    encoderOutputs: {
      embed: t('image_embed', 'float32', EMBED),
      feat0: t('high_res_feats_0', 'float32', FEAT0_SAM2),
      feat1: t('high_res_feats_1', 'float32', FEAT1_SAM2),
    },
    decoderEmbedInputs: { embed: 'image_embed', feat0: 'high_res_feats_0', feat1: 'high_res_feats_1' },
    coords: t('point_coords', 'float32', [null, null, 2]),
    labels: t('point_labels', 'float32', [null, null]),
    maskInput: t('mask_input', 'float32', [null, 1, LOW, LOW]),
    hasMaskInput: t('has_mask_input', 'float32', [null]),
    masks: t('masks', 'float32', [null, null, LOW, LOW]),
    iou: t('iou_predictions', 'float32', [null, null]),
    boxFirst: true,
    batch: true,
    selection: 'best-iou',
  },
  // §1C RectLabel sam-cpp-macos: 4 tokens, full-size masks + low_res_masks, orig_im_size int64.
  'sam2-rectlabel': {
    family: 'sam2-rectlabel',
    preprocess: 'squash',
    encoderOutputs: {
      embed: t('image_embeddings', 'float32', EMBED),
      feat0: t('high_res_features1', 'float32', FEAT0_SAM2),
      feat1: t('high_res_features2', 'float32', FEAT1_SAM2),
    },
    decoderEmbedInputs: {
      embed: 'image_embeddings',
      feat0: 'high_res_features1',
      feat1: 'high_res_features2',
    },
    coords: t('point_coords', 'float32', [null, null, 2]),
    labels: t('point_labels', 'float32', [null, null]),
    maskInput: t('mask_input', 'float32', [null, 1, LOW, LOW]),
    hasMaskInput: t('has_mask_input', 'float32', [null]),
    origSize: t('orig_im_size', 'int64', [2]),
    masks: t('masks', 'float32', [null, null, null, null]),
    iou: t('iou_predictions', 'float32', [null, null]),
    lowRes: t('low_res_masks', 'float32', [null, null, LOW, LOW]),
    boxFirst: true,
    batch: true,
    selection: 'stability',
  },
  // §1D Microsoft ORT exporter: int32 labels and size, bool masks; "does not support batch mode".
  'sam2-ort': {
    family: 'sam2-ort',
    preprocess: 'squash',
    encoderOutputs: {
      embed: t('image_embeddings', 'float32', EMBED),
      feat0: t('image_features_0', 'float32', FEAT0_SAM2),
      feat1: t('image_features_1', 'float32', FEAT1_SAM2),
    },
    decoderEmbedInputs: { embed: 'image_embeddings', feat0: 'image_features_0', feat1: 'image_features_1' },
    coords: t('point_coords', 'float32', [null, null, 2]),
    labels: t('point_labels', 'int32', [null, null]),
    maskInput: t('input_masks', 'float32', [null, 1, LOW, LOW]),
    hasMaskInput: t('has_input_masks', 'float32', [null]),
    origSize: t('original_image_size', 'int32', [2]),
    masks: t('masks', 'bool', [null, null, null, null]),
    iou: t('iou_predictions', 'float32', [null, null]),
    lowRes: t('low_res_masks', 'float32', [null, null, LOW, LOW]),
    boxFirst: true,
    batch: false,
    selection: 'best-iou',
  },
  // §2A Meta SAM1 SamOnnxModel (also MobileSAM): batch 1, orig_im_size float32, in-graph crop+resize.
  'sam1-meta': {
    family: 'sam1-meta',
    preprocess: 'longest-side',
    encoderOutputs: { embed: t('image_embeddings', 'float32', EMBED) },
    decoderEmbedInputs: { embed: 'image_embeddings' },
    coords: t('point_coords', 'float32', [1, null, 2]),
    labels: t('point_labels', 'float32', [1, null]),
    maskInput: t('mask_input', 'float32', [1, 1, LOW, LOW]),
    hasMaskInput: t('has_mask_input', 'float32', [1]),
    origSize: t('orig_im_size', 'float32', [2]),
    masks: t('masks', 'float32', [null, null, null, null]),
    iou: t('iou_predictions', 'float32', [null, null]),
    lowRes: t('low_res_masks', 'float32', [null, null, LOW, LOW]),
    boxFirst: false,
    batch: false,
    selection: 'sam1-points',
  },
};

export function familySpec(family: Sam2OnnxFamily): FamilySpec {
  return SPECS[family];
}

export function isSam2OnnxFamily(v: string): v is Sam2OnnxFamily {
  return (SAM_ONNX_FAMILIES as readonly string[]).includes(v);
}

/** Every decoder input a family needs. */
export function decoderInputSpecs(spec: FamilySpec): TensorSpec[] {
  const out: TensorSpec[] = [];
  const e = spec.encoderOutputs;
  const d = spec.decoderEmbedInputs;
  out.push({ ...e.embed, name: d.embed });
  if (e.feat0 && d.feat0) out.push({ ...e.feat0, name: d.feat0 });
  if (e.feat1 && d.feat1) out.push({ ...e.feat1, name: d.feat1 });
  out.push(spec.coords, spec.labels, spec.maskInput, spec.hasMaskInput);
  if (spec.origSize) out.push(spec.origSize);
  return out;
}

export function decoderOutputSpecs(spec: FamilySpec): TensorSpec[] {
  return spec.lowRes ? [spec.masks, spec.iou, spec.lowRes] : [spec.masks, spec.iou];
}

export function encoderOutputSpecs(spec: FamilySpec): TensorSpec[] {
  const e = spec.encoderOutputs;
  return [e.embed, ...(e.feat0 ? [e.feat0] : []), ...(e.feat1 ? [e.feat1] : [])];
}

/**
 * Detects the family from a decoder's input names. Throws a ValidationError naming the inputs when
 * none matches, with a hint for the known unsupported exports.
 */
export function detectFamily(decoderInputNames: readonly string[]): Sam2OnnxFamily {
  const has = (n: string): boolean => decoderInputNames.includes(n);
  if (has('image_features_0') && has('input_masks')) return 'sam2-ort';
  if (has('high_res_features1') && has('orig_im_size')) return 'sam2-rectlabel';
  if (has('high_res_feats_0') && !has('orig_im_size')) return 'sam2-samexporter';
  if (
    has('image_embeddings') &&
    has('orig_im_size') &&
    !has('high_res_feats_0') &&
    !has('high_res_features1')
  ) {
    return 'sam1-meta';
  }
  let hint = '';
  if (has('high_res_feats_0') && has('orig_im_size')) {
    hint =
      ' (this looks like the ibaiGorordo export, which has no low-res output and cannot feed logits back)';
  } else if (has('input_points') || has('input_labels')) {
    hint = ' (this looks like a transformers.js export, which has no mask input)';
  }
  throw new ValidationError(
    'decoder.inputs',
    [...decoderInputNames],
    `match no supported SAM export family${hint}; supported: ${SAM_ONNX_FAMILIES.join(', ')} (see reference/sam2-onnx.md)`,
  );
}
