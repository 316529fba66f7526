/**
 * COCO RLE for sam-env's wire masks: BinaryMask (row-major) ↔ pycocotools' compressed counts string.
 * Runs are taken in column-major order and start with a run of zeros; the string form is
 * pycocotools' `rleToString`: each count (minus the count two places earlier, for i > 2) is written
 * as 5-bit groups, least significant first, 0x20 = "more groups follow", 0x10 = sign of the last
 * group, each offset by 48 into printable ASCII.
 */
import { ValidationError } from '../../../core/errors/index.ts';
import { BinaryMask } from '../../../core/mask/index.ts';
import type { RleMask } from '../../../core/wire/index.ts';

export function maskToRle(mask: BinaryMask): RleMask {
  const { width: w, height: h, data } = mask;
  const counts: number[] = [];
  let prev = 0;
  let run = 0;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      const v = data[y * w + x] ? 1 : 0;
      if (v !== prev) {
        counts.push(run);
        run = 0;
        prev = v;
      }
      run++;
    }
  }
  counts.push(run);
  return { height: h, width: w, counts: countsToString(counts) };
}

export function rleToMask(rle: RleMask, field: string): BinaryMask {
  const counts = countsFromString(rle.counts, `${field}.counts`);
  const { width: w, height: h } = rle;
  const data = new Uint8Array(w * h);
  let pos = 0;
  let v = 0;
  for (const c of counts) {
    if (c < 0 || pos + c > w * h) {
      throw new ValidationError(`${field}.counts`, rle.counts, `has runs that do not sum to ${h}x${w}=${w * h}`);
    }
    if (v) {
      for (let k = pos; k < pos + c; k++) data[(k % h) * w + Math.floor(k / h)] = 1;
    }
    pos += c;
    v ^= 1;
  }
  if (pos !== w * h) {
    throw new ValidationError(`${field}.counts`, rle.counts, `has runs summing to ${pos}, expected ${h}x${w}=${w * h}`);
  }
  return new BinaryMask(w, h, data);
}

function countsToString(cnts: readonly number[]): string {
  let s = '';
  for (let i = 0; i < cnts.length; i++) {
    let x = cnts[i] ?? 0;
    if (i > 2) x -= cnts[i - 2] ?? 0;
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x >>= 5;
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

function countsFromString(s: string, field: string): number[] {
  const cnts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= s.length) throw new ValidationError(field, s, 'ends in the middle of a count');
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new ValidationError(field, s, `has an invalid character at ${p}`);
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x |= -1 << (5 * k);
    }
    if (cnts.length > 2) x += cnts[cnts.length - 2] ?? 0;
    cnts.push(x);
  }
  return cnts;
}
