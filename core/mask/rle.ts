/**
 * COCO run-length encoding (RLE), byte-compatible with pycocotools (maskApi.c).
 *
 * Uncompressed form: the mask is read in column-major order (Fortran order: down column 0, then
 * column 1, ...) and stored as alternating run lengths, starting with a run of zeros (which may be
 * 0 when the first pixel is set). An empty H×W mask is [H·W]; a full one is [0, H·W].
 *
 * Compressed string form (pycocotools `rleToString` / `rleFrString`): each count is first
 * delta-coded against the count two places earlier (only for index i > 2, exactly as maskApi.c
 * does — indices 0, 1, 2 are stored as-is), then written as a little-endian base-32 varint with a
 * sign bit: each character carries 5 payload bits (bits 0..4 of the value, then 5..9, ...),
 * bit 0x20 set means "more characters follow", and in the last character bit 0x10 is the sign of
 * the remaining (arithmetic-shifted) value. Characters are offset by 48, so they lie in '0'..'o'.
 */
import { ValidationError } from '../errors/index.ts';
import { BinaryMask } from './binary-mask.ts';
import type { CocoRle, Rle } from './types.ts';
import { wordView } from './words.ts';

/**
 * Encodes a mask as uncompressed COCO RLE (column-major runs, starting with zeros).
 *
 * Reading a row-major mask column by column is a strided walk, so instead the runs are found
 * from their boundaries: a column-major run boundary sits at (x, y) when pixel (x, y) differs from
 * (x, y − 1) — found by comparing whole rows, four bytes at a time — or, for y = 0, from the last
 * pixel of column x − 1. A counting pass sizes per-column buckets, a second pass fills them in
 * increasing y, which leaves the boundaries in column-major order; counts are their differences.
 */
export function rleEncode(mask: BinaryMask): Rle {
  const { width: w, height: h, data } = mask;
  const n = w * h;
  const cursor = new Int32Array(w + 1);
  scanRunBoundaries(data, w, h, cursor, null);
  let total = 0;
  for (let x = 0; x < w; x++) {
    const c = cursor[x]!;
    cursor[x] = total;
    total += c;
  }
  const pos = new Int32Array(total);
  scanRunBoundaries(data, w, h, cursor, pos);
  const counts = new Array<number>(total + 1);
  let prev = 0;
  for (let i = 0; i < total; i++) {
    const p = pos[i]!;
    counts[i] = p - prev;
    prev = p;
  }
  counts[total] = n - prev;
  return { size: [h, w], counts };
}

/**
 * Finds column-major run boundaries. Without `pos`, counts them per column into `cursor`; with
 * `pos`, writes boundary positions (x·h + y) at `pos[cursor[x]++]`.
 */
function scanRunBoundaries(
  data: Uint8Array,
  w: number,
  h: number,
  cursor: Int32Array,
  pos: Int32Array | null,
): void {
  // Row 0: compare with the previous column's last pixel (0 before the first column).
  for (let x = 0; x < w; x++) {
    const before = x === 0 ? 0 : data[(h - 1) * w + x - 1]!;
    if (data[x] !== before) {
      if (pos === null) cursor[x]!++;
      else pos[cursor[x]!++] = x * h;
    }
  }
  const words = w % 4 === 0 ? wordView(data) : null;
  const ww = w >>> 2;
  for (let y = 1; y < h; y++) {
    const row = y * w;
    if (words !== null) {
      // Skip four equal pixel pairs at a time; most of a real mask is unchanged between rows.
      for (let k = (row >>> 2) | 0, end = k + ww; k < end; k++) {
        if (words[k] === words[k - ww]) continue;
        for (let i = k * 4, e = i + 4; i < e; i++) {
          if (data[i] !== data[i - w]) {
            const x = i - row;
            if (pos === null) cursor[x]!++;
            else pos[cursor[x]!++] = x * h + y;
          }
        }
      }
    } else {
      for (let i = row, end = row + w; i < end; i++) {
        if (data[i] !== data[i - w]) {
          const x = i - row;
          if (pos === null) cursor[x]!++;
          else pos[cursor[x]!++] = x * h + y;
        }
      }
    }
  }
}

/**
 * Decodes uncompressed COCO RLE. Validates `size` (positive integers), every count (a
 * non-negative integer) and that the counts sum to height·width.
 *
 * Mirrors the encoder: each run boundary inside a column becomes a toggle at (x, y), the value at
 * the top of each column is read off the runs, and one top-to-bottom pass XORs every row with the
 * row above (four bytes at a time), turning toggles into pixel values. Zero-length runs toggle the
 * same pixel twice and cancel.
 */
export function rleDecode(rle: Rle, field = 'rle'): BinaryMask {
  const [h, w] = validateSize(rle.size, `${field}.size`);
  return rleDecodeInto(rle, new BinaryMask(w, h), field);
}

/**
 * Decodes into an existing mask of the RLE's size (overwriting it), for hot loops that reuse one
 * buffer: first-touching a fresh megabyte can cost more than the decode itself.
 */
export function rleDecodeInto(rle: Rle, target: BinaryMask, field = 'rle'): BinaryMask {
  const [h, w] = validateSize(rle.size, `${field}.size`);
  if (target.width !== w || target.height !== h) {
    throw new ValidationError(
      'target',
      `${target.width}x${target.height}`,
      `does not match the RLE size ${w}x${h}`,
    );
  }
  const counts = rle.counts;
  if (!Array.isArray(counts))
    throw new ValidationError(`${field}.counts`, counts, 'must be an array of run lengths');
  let sum = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (!Number.isInteger(c) || c < 0) {
      throw new ValidationError(`${field}.counts[${i}]`, c, 'must be a non-negative integer');
    }
    sum += c;
  }
  const n = h * w;
  if (sum !== n) {
    throw new ValidationError(`${field}.counts`, `sum ${sum}`, `must sum to height*width = ${h}*${w} = ${n}`);
  }
  const mask = target;
  const data = mask.data;
  data.fill(0);
  let col = 0; // next column whose top pixel is not yet set
  let pos = 0;
  for (let i = 0; i < counts.length; i++) {
    const end = pos + counts[i]!;
    // Columns starting inside run i take its value at y = 0.
    for (; col < w && col * h < end; col++) data[col] = i & 1;
    if (end < n) {
      const x = (end / h) | 0;
      const y = end - x * h;
      if (y > 0) data[y * w + x]! ^= 1;
    }
    pos = end;
  }
  const words = w % 4 === 0 ? wordView(data) : null;
  if (words !== null) {
    const ww = w >>> 2;
    for (let k = ww; k < words.length; k++) words[k]! ^= words[k - ww]!;
  } else {
    for (let i = w; i < n; i++) data[i]! ^= data[i - w]!;
  }
  return mask;
}

/** pycocotools `rleToString`: compresses counts to the LEB128-like ASCII string. */
export function rleToString(counts: readonly number[]): string {
  // 11 characters carry 55 bits, enough for any safe-integer count or delta.
  const out = Buffer.allocUnsafe(counts.length * 11);
  let p = 0;
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i]!;
    if (i > 2) x -= counts[i - 2]!;
    if (x >= -0x40000000 && x < 0x40000000) {
      // Fast path: 31-bit signed values, where >> is exactly maskApi.c's arithmetic shift.
      for (;;) {
        const c = x & 0x1f;
        x >>= 5;
        if ((c & 0x10) !== 0 ? x !== -1 : x !== 0)
          out[p++] = c + 0x50; // c | 0x20, + 48
        else {
          out[p++] = c + 48;
          break;
        }
      }
    } else {
      let more = true;
      while (more) {
        let c = x & 0x1f; // low bits via ToInt32 are exact for any safe integer
        x = Math.floor(x / 32);
        more = (c & 0x10) !== 0 ? x !== -1 : x !== 0;
        if (more) c |= 0x20;
        out[p++] = c + 48;
      }
    }
  }
  return out.toString('latin1', 0, p);
}

/** pycocotools `rleFrString`: expands the compressed string back to counts. */
export function rleFromString(s: string, field = 'rle.counts'): number[] {
  if (typeof s !== 'string') throw new ValidationError(field, s, 'must be a string');
  const len = s.length;
  // One count ends at every char without the continuation bit; sizing the array up front avoids
  // regrowing it (each regrowth copies into fresh memory).
  let total = 0;
  for (let i = 0; i < len; i++) if (((s.charCodeAt(i) - 48) & 0x20) === 0) total++;
  const counts = new Array<number>(total);
  let m = 0;
  let p = 0;
  while (p < len) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= len) throw new ValidationError(field, s, `ends inside a count (at char ${p})`);
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63)
        throw new ValidationError(field, s, `has invalid char ${JSON.stringify(s[p])} at ${p}`);
      // Payload bits 5k..5k+4; multiplication instead of << keeps it exact past 32 bits.
      x += k < 6 ? (c & 0x1f) << (5 * k) : (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      // Sign-extend: maskApi.c ORs in -1 << 5k, i.e. subtracts 2^(5k) from the non-negative payload.
      if (!more && (c & 0x10) !== 0) x -= 2 ** (5 * k);
    }
    if (m > 2) x += counts[m - 2]!;
    counts[m++] = x;
  }
  return counts;
}

/** Encodes a mask as COCO RLE with the compressed string (what COCO JSON files store). */
export function encodeCocoRle(mask: BinaryMask): CocoRle {
  const rle = rleEncode(mask);
  return { size: rle.size, counts: rleToString(rle.counts) };
}

/** Decodes COCO RLE with either compressed (string) or uncompressed (number[]) counts. */
export function decodeCocoRle(
  rle: { size: readonly number[]; counts: string | number[] },
  field = 'rle',
): BinaryMask {
  if (rle === null || typeof rle !== 'object')
    throw new ValidationError(field, rle, 'must be {size, counts}');
  const size = validateSize(rle.size, `${field}.size`);
  const counts = typeof rle.counts === 'string' ? rleFromString(rle.counts, `${field}.counts`) : rle.counts;
  return rleDecode({ size, counts }, field);
}

function validateSize(size: unknown, field: string): [number, number] {
  if (!Array.isArray(size) || size.length !== 2)
    throw new ValidationError(field, size, 'must be [height, width]');
  const [h, w] = size as [unknown, unknown];
  if (!Number.isInteger(h) || !Number.isInteger(w) || (h as number) < 1 || (w as number) < 1) {
    throw new ValidationError(field, size, 'must be positive integers [height, width]');
  }
  return [h as number, w as number];
}
