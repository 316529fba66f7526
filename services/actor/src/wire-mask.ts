/**
 * BinaryMask ↔ the wire's COCO RLE (`RleMask`: height, width, compressed counts). The learner decodes
 * the observation's `currentMask` with `maskFromWire` to rebuild exactly the mask the actor showed.
 */
import { decodeCocoRle, encodeCocoRle, type BinaryMask } from '../../../core/mask/index.ts';
import type { RleMask } from '../../../core/wire/index.ts';

export function maskToWire(mask: BinaryMask): RleMask {
  const coco = encodeCocoRle(mask);
  return { height: mask.height, width: mask.width, counts: coco.counts };
}

export function maskFromWire(rle: RleMask, field = 'mask'): BinaryMask {
  return decodeCocoRle({ size: [rle.height, rle.width], counts: rle.counts }, field);
}
