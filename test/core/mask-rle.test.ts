import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import {
  BinaryMask,
  decodeCocoRle,
  encodeCocoRle,
  rleDecode,
  rleDecodeInto,
  rleEncode,
  rleFromString,
  rleToString,
} from '../../core/mask/index.ts';
import { Rng } from '../../core/rng/index.ts';

/** Builds a mask from rows of '0'/'1' characters. */
function fromRows(rows: string[]): BinaryMask {
  const h = rows.length;
  const w = rows[0]!.length;
  const m = new BinaryMask(w, h);
  rows.forEach((r, y) => [...r].forEach((c, x) => m.set(x, y, c === '1' ? 1 : 0)));
  return m;
}

/** Index of the first differing byte, or -1 (toEqual on megabyte arrays is very slow). */
function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return -2;
  return Buffer.compare(a, b) === 0 ? -1 : a.findIndex((v, i) => v !== b[i]);
}

/**
 * Random mask built from runs in row-major order, with run lengths drawn from 1..maxRun (so 1-pixel
 * runs, runs crossing rows, and long runs all occur); fill() keeps it fast for megapixel masks.
 */
function randomMask(w: number, h: number, rng: Rng, maxRun: number): BinaryMask {
  const m = new BinaryMask(w, h);
  let v = rng.int(2);
  for (let i = 0; i < w * h;) {
    const len = 1 + rng.int(maxRun);
    m.data.fill(v, i, Math.min(w * h, i + len));
    i += len;
    v ^= 1;
  }
  return m;
}

/** Element-wise equality of count arrays without vitest's slow deep diff on huge arrays. */
function sameCounts(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

describe('rleEncode / rleDecode', () => {
  it('encodes column-major runs starting with zeros (hand-computed)', () => {
    // 2×2 mask [[0,1],[1,1]]: read down column 0 (0,1) then column 1 (1,1) → 0,1,1,1 → [1, 3].
    expect(rleEncode(fromRows(['01', '11']))).toEqual({ size: [2, 2], counts: [1, 3] });
    // First pixel set: the leading zeros run is empty → [0, ...].
    // 2×3 [[1,0,0],[1,0,1]]: columns (1,1),(0,0),(0,1) → 1,1,0,0,0,1 → [0, 2, 3, 1].
    expect(rleEncode(fromRows(['100', '101'])).counts).toEqual([0, 2, 3, 1]);
  });

  it('encodes empty and full masks as [h*w] and [0, h*w]', () => {
    expect(rleEncode(new BinaryMask(7, 5)).counts).toEqual([35]);
    expect(rleEncode(BinaryMask.full({ width: 7, height: 5 })).counts).toEqual([0, 35]);
  });

  const sizes: [number, number][] = [
    [1, 1],
    [1, 37],
    [53, 1],
    [517, 389],
    [389, 517],
    [388, 300], // width % 4 == 0: the word-at-a-time paths
    [4, 1],
    [1024, 1024],
  ];
  it.each(sizes)('round-trips random %ix%i masks, uncompressed and compressed', (w, h) => {
    const rng = new Rng(`rle-${w}x${h}`);
    for (const maxRun of w * h > 100_000 ? [3, 5000] : [1, 2, 7, 40, 1000]) {
      const m = randomMask(w, h, rng, maxRun);
      const rle = rleEncode(m);
      expect(rle.counts.reduce((a, b) => a + b, 0)).toBe(w * h);
      expect(firstDiff(rleDecode(rle).data, m.data)).toBe(-1);
      const coco = encodeCocoRle(m);
      expect(sameCounts(rleFromString(coco.counts), rle.counts)).toBe(true);
      expect(firstDiff(decodeCocoRle(coco).data, m.data)).toBe(-1);
    }
  });

  it.each([
    ['empty', (s: { width: number; height: number }) => new BinaryMask(s.width, s.height)],
    ['full', (s: { width: number; height: number }) => BinaryMask.full(s)],
  ])('round-trips %s masks of odd sizes', (_name, make) => {
    for (const [w, h] of sizes) {
      const m = make({ width: w, height: h });
      expect(firstDiff(rleDecode(rleEncode(m)).data, m.data)).toBe(-1);
      expect(firstDiff(decodeCocoRle(encodeCocoRle(m)).data, m.data)).toBe(-1);
    }
  });

  it('handles mask buffers that are not 4-byte aligned (byte paths)', () => {
    const rng = new Rng('unaligned');
    const src = randomMask(64, 16, rng, 9);
    const backing = new Uint8Array(64 * 16 + 1);
    backing.set(src.data, 1);
    const unaligned = new BinaryMask(64, 16, backing.subarray(1));
    expect(rleEncode(unaligned)).toEqual(rleEncode(src));
    const target = new BinaryMask(64, 16, new Uint8Array(64 * 16 + 3).subarray(3));
    expect(firstDiff(rleDecodeInto(rleEncode(src), target).data, src.data)).toBe(-1);
  });

  it('rejects counts that do not sum to h*w, naming the field and the sum', () => {
    const bad = { size: [2, 3] as const, counts: [1, 2, 2] };
    expect(() => rleDecode(bad)).toThrow(ValidationError);
    expect(() => rleDecode(bad)).toThrow('rle.counts "sum 5" must sum to height*width = 2*3 = 6');
    expect(() => decodeCocoRle({ size: [2, 3], counts: '7' }, 'segmentation')).toThrow(
      /^segmentation\.counts "sum 7" must sum to height\*width = 2\*3 = 6$/,
    );
  });

  it('rejects negative or fractional counts and bad sizes, naming the field', () => {
    expect(() => rleDecode({ size: [2, 2], counts: [1, -1, 4] })).toThrow(
      'rle.counts[1] -1 must be a non-negative integer',
    );
    expect(() => rleDecode({ size: [2, 2], counts: [1.5, 2.5] })).toThrow(ValidationError);
    expect(() => rleDecode({ size: [0, 2], counts: [] })).toThrow(
      'rle.size [0, 2] must be positive integers',
    );
    expect(() => decodeCocoRle({ size: [2], counts: [4] })).toThrow('rle.size [2] must be [height, width]');
  });

  it('decodes into a reused mask, overwriting it, and checks its size', () => {
    const target = BinaryMask.full({ width: 4, height: 3 });
    rleDecodeInto({ size: [3, 4], counts: [2, 5, 1, 1, 3] }, target);
    expect(firstDiff(target.data, fromRows(['0110', '0100', '1110']).data)).toBe(-1);
    expect(() => rleDecodeInto({ size: [3, 4], counts: [12] }, new BinaryMask(3, 4))).toThrow(
      'target "3x4" does not match the RLE size 4x3',
    );
  });

  it('rejects malformed compressed strings', () => {
    // '0' + 0x20 = 'P' means "more chars follow" but the string ends.
    expect(() => rleFromString('P')).toThrow('rle.counts "P" ends inside a count (at char 1)');
    expect(() => rleFromString('1 2')).toThrow(ValidationError);
  });
});

/*
 * Compressed-string test vectors, derived by hand from pycocotools' maskApi.c rleToString:
 *
 *   for i in 0..m-1:  x = cnts[i]; if (i > 2) x -= cnts[i-2];
 *     repeat: c = x & 0x1f; x >>= 5 (arithmetic);
 *             more = (c & 0x10) ? x != -1 : x != 0;  if more: c |= 0x20;  emit chr(c + 48)
 *
 * Single counts (i ≤ 2, no delta):
 *   1   → c=1, x=0, no more → chr(49) '1'.
 *   16  → c=16 (sign bit set!), x=0, more = (0 != -1) = true → c=48 → chr(96) '`';
 *         then c=0, x=0, done → '0'. So 16 → "`0" (a positive value needs a zero digit after it).
 *   50  → 50 = 0b1_10010: c=18 (sign bit set), x=1, more → c=50 → chr(98) 'b'; then c=1 → '1'. "b1".
 *   100 → 100 = 0b11_00100: c=4, x=3, more → c=36 → chr(84) 'T'; then c=3 → '3'. "T3".
 *   1024*1024 = 2^20 → digits 0,0,0,0 then 1: '0'+32='P' four times, then '1'. "PPPP1".
 * Deltas (i > 2, against cnts[i-2]):
 *   -4  → -4 & 31 = 28 (0b11100), x = -4 >> 5 = -1; sign bit set so more = (x != -1) = false
 *         → chr(28+48) = 'L'.
 *   -40 → -40 & 31 = 24, x = -2; sign set, more = (-2 != -1) → c=56 → chr(104) 'h';
 *         then -2 & 31 = 30, x = -1, done → chr(78) 'N'. "hN".
 *   -2  → 30, x=-1, done → 'N'.
 */
describe('rleToString / rleFromString (pycocotools compressed counts)', () => {
  const vectors: [string, number[], string][] = [
    ['2x2 [[0,1],[1,1]] → [1, 3]', [1, 3], '13'],
    ['single counts with the sign bit', [16, 50, 100], '`0b1T3'],
    // 3×4 mask whose column-major sequence is 00 11111 0 1 000 → counts [2, 5, 1, 1, 3];
    // i=3 stores 1-5 = -4 ('L'), i=4 stores 3-1 = 2.
    ['delta against cnts[i-2], negative', [2, 5, 1, 1, 3], '251L2'],
    // 8×8 mask: counts [0, 50, 3, 10, 1]: '0', 50 → "b1", '3', 10-50 = -40 → "hN", 1-3 = -2 → 'N'.
    ['multi-char negative delta', [0, 50, 3, 10, 1], '0b13hNN'],
    ['full 1024x1024 mask', [0, 1024 * 1024], '0PPPP1'],
    ['empty 1024x1024 mask', [1024 * 1024], 'PPPP1'],
  ];
  it.each(vectors)('%s', (_name, counts, expected) => {
    expect(rleToString(counts)).toBe(expected);
    expect(rleFromString(expected)).toEqual(counts);
  });

  it('matches the hand-derived string for real masks end to end', () => {
    // The 3×4 mask of the vector above: columns (0,0,1) (1,1,1) (1,0,1) (0,0,0).
    const m = fromRows(['0110', '0100', '1110']);
    expect(encodeCocoRle(m)).toEqual({ size: [3, 4], counts: '251L2' });
    expect(firstDiff(decodeCocoRle({ size: [3, 4], counts: '251L2' }).data, m.data)).toBe(-1);
    // Uncompressed counts are accepted by decodeCocoRle too.
    expect(firstDiff(decodeCocoRle({ size: [3, 4], counts: [2, 5, 1, 1, 3] }).data, m.data)).toBe(-1);
  });

  it('round-trips large counts and deltas beyond 32 bits of payload', () => {
    const counts = [5, 3_000_000_000, 7, 12, 2_999_999_000, 1];
    expect(rleFromString(rleToString(counts))).toEqual(counts);
  });
});
