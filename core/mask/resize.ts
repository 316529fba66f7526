/**
 * Resampling between the model's frame and the image's: nearest-neighbour for binary masks,
 * bilinear for logits, and thresholding logits into a mask.
 *
 * `bilinearResizeLogits` follows PyTorch `F.interpolate(mode='bilinear', align_corners=False)` with
 * an explicit output size: the source coordinate of output pixel d is s = (d + 0.5)·(in/out) − 0.5,
 * clamped below at 0; the two taps are ⌊s⌋ and min(⌊s⌋ + 1, in − 1) with weight s − ⌊s⌋. SAM's
 * postprocessing upsamples its 256×256 low-res logits this way.
 */
import { ValidationError } from '../errors/index.ts';
import { BinaryMask } from './binary-mask.ts';

function checkDim(field: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new ValidationError(field, v, 'must be a positive integer');
}

/** Nearest-neighbour resize: output pixel (x, y) takes the source pixel under its centre. */
export function resizeMaskNearest(mask: BinaryMask, width: number, height: number): BinaryMask {
  checkDim('width', width);
  checkDim('height', height);
  const { width: sw, height: sh, data } = mask;
  if (sw === width && sh === height) return mask.clone();
  const xs = new Int32Array(width);
  for (let x = 0; x < width; x++) xs[x] = Math.min(sw - 1, Math.floor(((x + 0.5) * sw) / width));
  const out = new BinaryMask(width, height);
  const od = out.data;
  for (let y = 0; y < height; y++) {
    const sy = Math.min(sh - 1, Math.floor(((y + 0.5) * sh) / height));
    const srow = sy * sw;
    const orow = y * width;
    for (let x = 0; x < width; x++) od[orow + x] = data[srow + xs[x]!]!;
  }
  return out;
}

/** Thresholds logits (row-major w×h): pixel = 1 where logit > threshold (default 0, i.e. p > 0.5). */
export function maskFromLogits(data: Float32Array, width: number, height: number, threshold = 0): BinaryMask {
  checkDim('width', width);
  checkDim('height', height);
  if (data.length !== width * height) {
    throw new ValidationError('logits', data, `has ${data.length} values, expected ${width}x${height}`);
  }
  const out = new BinaryMask(width, height);
  const od = out.data;
  for (let i = 0; i < od.length; i++) od[i] = data[i]! > threshold ? 1 : 0;
  return out;
}

/** Source taps and weights along one axis for align_corners=false. */
function taps(inSize: number, outSize: number): { lo: Int32Array; hi: Int32Array; t: Float32Array } {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const t = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let d = 0; d < outSize; d++) {
    const s = Math.max(0, (d + 0.5) * scale - 0.5);
    const i0 = Math.min(Math.floor(s), inSize - 1);
    lo[d] = i0;
    hi[d] = Math.min(i0 + 1, inSize - 1);
    t[d] = s - i0;
  }
  return { lo, hi, t };
}

/** Bilinear resize of a single-channel float image (row-major), PyTorch align_corners=false. */
export function bilinearResizeLogits(
  src: Float32Array,
  sw: number,
  sh: number,
  dw: number,
  dh: number,
): Float32Array {
  checkDim('sw', sw);
  checkDim('sh', sh);
  checkDim('dw', dw);
  checkDim('dh', dh);
  if (src.length !== sw * sh)
    throw new ValidationError('src', src, `has ${src.length} values, expected ${sw}x${sh}`);
  const cx = taps(sw, dw);
  const cy = taps(sh, dh);
  const out = new Float32Array(dw * dh);
  // Horizontal pass per needed source row is cached in two row buffers.
  const rowA = new Float32Array(dw);
  const rowB = new Float32Array(dw);
  let rowAIdx = -1;
  let rowBIdx = -1;
  const fillRow = (buf: Float32Array, sy: number): void => {
    const base = sy * sw;
    for (let x = 0; x < dw; x++) {
      const a = src[base + cx.lo[x]!]!;
      const b = src[base + cx.hi[x]!]!;
      buf[x] = a + (b - a) * cx.t[x]!;
    }
  };
  for (let y = 0; y < dh; y++) {
    const y0 = cy.lo[y]!;
    const y1 = cy.hi[y]!;
    if (rowAIdx !== y0) {
      if (rowBIdx === y0) rowA.set(rowB);
      else fillRow(rowA, y0);
      rowAIdx = y0;
    }
    if (rowBIdx !== y1) {
      fillRow(rowB, y1);
      rowBIdx = y1;
    }
    const ty = cy.t[y]!;
    const orow = y * dw;
    for (let x = 0; x < dw; x++) {
      const a = rowA[x]!;
      out[orow + x] = a + (rowB[x]! - a) * ty;
    }
  }
  return out;
}
