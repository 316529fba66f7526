/**
 * Image preprocessing and the prompt coordinate frame of the SAM families
 * (reference/sam2-onnx.md §0 and §2A):
 * - SAM2 (`squash`): resize to 1024×1024 ignoring the aspect ratio, /255, ImageNet mean/std, CHW;
 *   a point maps as x' = x/W·1024, y' = y/H·1024.
 * - SAM1 (`longest-side`, Meta ResizeLongestSide): newW = floor(W·1024/max(H,W) + 0.5) (same for
 *   newH), resize to newW×newH, (v − [123.675,116.28,103.53]) / [58.395,57.12,57.375], zero-pad
 *   right/bottom to 1024²; a point maps as x' = x·(newW/W), y' = y·(newH/H).
 * Resizing is bilinear with half-pixel centres (cv2.INTER_LINEAR / align_corners=False), without
 * antialiasing.
 */
import type { ImageSize, Point } from '../../../../../core/geometry/index.ts';
import type { EnvImage } from '../../model.ts';

export type PreprocessKind = 'squash' | 'longest-side';

export const SAM_INPUT_SIZE = 1024;
const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
const SAM1_PIXEL_MEAN = [123.675, 116.28, 103.53] as const;
const SAM1_PIXEL_STD = [58.395, 57.12, 57.375] as const;

/** Size of the image inside the model's 1024 frame (the whole frame for `squash`). */
export function resizedSize(kind: PreprocessKind, size: ImageSize, side = SAM_INPUT_SIZE): ImageSize {
  if (kind === 'squash') return { width: side, height: side };
  const scale = side / Math.max(size.width, size.height);
  return { width: Math.floor(size.width * scale + 0.5), height: Math.floor(size.height * scale + 0.5) };
}

/** Maps an absolute image point into the model's 1024 frame. */
export function toModelFrame(kind: PreprocessKind, p: Point, size: ImageSize, side = SAM_INPUT_SIZE): Point {
  if (kind === 'squash') return [(p[0] / size.width) * side, (p[1] / size.height) * side];
  const r = resizedSize(kind, size, side);
  return [p[0] * (r.width / size.width), p[1] * (r.height / size.height)];
}

/** Source index pairs and weights for a half-pixel bilinear resize of one axis. */
export interface AxisWeights {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly w1: Float64Array;
}

export function axisWeights(srcLen: number, dstLen: number): AxisWeights {
  const i0 = new Int32Array(dstLen);
  const i1 = new Int32Array(dstLen);
  const w1 = new Float64Array(dstLen);
  const scale = srcLen / dstLen;
  for (let d = 0; d < dstLen; d++) {
    const s = Math.min(Math.max((d + 0.5) * scale - 0.5, 0), srcLen - 1);
    const lo = Math.floor(s);
    i0[d] = lo;
    i1[d] = Math.min(lo + 1, srcLen - 1);
    w1[d] = s - lo;
  }
  return { i0, i1, w1 };
}

/**
 * Preprocesses an RGB image into a [1,3,1024,1024] float32 CHW tensor buffer for the family's encoder.
 */
export function preprocessImage(kind: PreprocessKind, image: EnvImage, side = SAM_INPUT_SIZE): Float32Array {
  const out = new Float32Array(3 * side * side);
  const r = resizedSize(kind, image, side);
  const xs = axisWeights(image.width, r.width);
  const ys = axisWeights(image.height, r.height);
  const rgb = image.rgb;
  const W = image.width;
  const plane = side * side;
  const mean = kind === 'squash' ? IMAGENET_MEAN.map((m) => m * 255) : SAM1_PIXEL_MEAN;
  const std = kind === 'squash' ? IMAGENET_STD.map((s) => s * 255) : SAM1_PIXEL_STD;
  for (let y = 0; y < r.height; y++) {
    const y0 = ys.i0[y]! * W;
    const y1 = ys.i1[y]! * W;
    const wy = ys.w1[y]!;
    for (let x = 0; x < r.width; x++) {
      const x0 = xs.i0[x]!;
      const x1 = xs.i1[x]!;
      const wx = xs.w1[x]!;
      const a = (y0 + x0) * 3;
      const b = (y0 + x1) * 3;
      const c = (y1 + x0) * 3;
      const d = (y1 + x1) * 3;
      const o = y * side + x;
      for (let ch = 0; ch < 3; ch++) {
        const top = rgb[a + ch]! + (rgb[b + ch]! - rgb[a + ch]!) * wx;
        const bottom = rgb[c + ch]! + (rgb[d + ch]! - rgb[c + ch]!) * wx;
        const v = top + (bottom - top) * wy;
        // (v/255 − m)/s == (v − 255m)/(255s): one form covers both normalisations.
        out[ch * plane + o] = (v - mean[ch]!) / std[ch]!;
      }
    }
  }
  // The padded area (SAM1) stays 0, which is what Meta pads after normalising.
  return out;
}
