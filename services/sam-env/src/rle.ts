/**
 * Masks on sam-env's wire: BinaryMask ↔ COCO compressed RLE via core/mask (pycocotools-identical),
 * converted to the wire's { height, width, counts } and with the field path in errors.
 */
import { decodeCocoRle, rleEncode, rleToString, type BinaryMask } from '../../../core/mask/index.ts';
import type { RleMask } from '../../../core/wire/index.ts';

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

export function rleToMask(rle: RleMask, field: string): BinaryMask {
  return decodeCocoRle({ size: [rle.height, rle.width], counts: rle.counts }, field);
}
