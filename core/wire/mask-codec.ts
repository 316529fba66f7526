/**
 * Masks and image digests as they cross process boundaries: BinaryMask ↔ the wire's COCO compressed
 * RLE ({ height, width, counts }, pycocotools-identical via core/mask), and the content digest of a
 * decoded image (sha256 of its raw RGB bytes), the key of every env embedding cache.
 */
import { createHash } from 'node:crypto';
import { decodeCocoRle, rleEncode, rleToString, type BinaryMask } from '../mask/index.ts';
import type { RleMask } from './types.ts';

export function maskToRle(mask: BinaryMask): RleMask {
  return maskToRleWithArea(mask).rle;
}

/** RLE plus the mask area (the sum of the 1-runs), in one pass over the pixels. */
export function maskToRleWithArea(mask: BinaryMask): { rle: RleMask; area: number } {
  const { counts } = rleEncode(mask);
  let area = 0;
  for (let i = 1; i < counts.length; i += 2) area += counts[i] as number;
  return { rle: { height: mask.height, width: mask.width, counts: rleToString(counts) }, area };
}

export function rleToMask(rle: RleMask, field = 'mask'): BinaryMask {
  return decodeCocoRle({ size: [rle.height, rle.width], counts: rle.counts }, field);
}

/** Lowercase hex sha256 of raw RGB bytes. */
export function rgbDigest(rgb: Uint8Array): string {
  return createHash('sha256').update(rgb).digest('hex');
}
