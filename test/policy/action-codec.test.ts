import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import { boxIou } from '../../core/geometry/index.ts';
import type { Box } from '../../core/geometry/index.ts';
import {
  ActionCodec,
  buildVocabulary,
  resolvePolicyConfig,
  tokenize,
  PAD_ID,
  UNK_ID,
} from '../../core/policy/index.ts';
import { Rng } from '../../core/rng/index.ts';

const codec = new ActionCodec(resolvePolicyConfig());
const size = { width: 256, height: 192 };

describe('ActionCodec', () => {
  it('decodes encoded boxes within the quantisation error (boxes of 1/16 of the side and up: mean IoU > 0.9)', () => {
    const rng = new Rng(3);
    let worst = 1;
    let sum = 0;
    for (let i = 0; i < 500; i++) {
      const w = rng.uniform(size.width / 16, size.width);
      const h = rng.uniform(size.height / 16, size.height);
      const x1 = rng.uniform(0, size.width - w);
      const y1 = rng.uniform(0, size.height - h);
      const box: Box = [x1, y1, x1 + w, y1 + h];
      const tokens = codec.encodeAction({ kind: 'box', box }, size);
      expect(tokens.kind).toBe('box');
      expect(tokens.ids).toHaveLength(4);
      const back = codec.decodeTokens(tokens, size);
      if (back.kind !== 'box') throw new Error('expected a box');
      const iou = boxIou(box, back.box);
      worst = Math.min(worst, iou);
      sum += iou;
      // Re-encoding a decoded box is a fixed point unless clamping at the border moved it.
      const [bx1, by1, bx2, by2] = back.box;
      if (bx1 > 0 && by1 > 0 && bx2 < size.width && by2 < size.height) {
        expect(codec.encodeAction(back, size).ids).toEqual(tokens.ids);
      }
    }
    expect(sum / 500).toBeGreaterThan(0.9);
    expect(worst).toBeGreaterThan(0.7);
  });

  it('decodes points to the centre of their offset cell (error <= half a cell)', () => {
    const rng = new Rng(4);
    const cellX = size.width / (codec.grid * codec.offsetBins);
    const cellY = size.height / (codec.grid * codec.offsetBins);
    for (let i = 0; i < 300; i++) {
      const p = [rng.uniform(0, size.width), rng.uniform(0, size.height)] as const;
      const q = [rng.uniform(0, size.width), rng.uniform(0, size.height)] as const;
      const tokens = codec.encodeAction({ kind: 'points', positive: p, negative: q }, size);
      expect(tokens.ids).toHaveLength(5);
      expect(tokens.ids[0]).toBe(3);
      const back = codec.decodeTokens(tokens, size);
      if (back.kind !== 'points' || !back.positive || !back.negative) throw new Error('expected both points');
      expect(Math.abs(back.positive[0] - p[0])).toBeLessThanOrEqual(cellX / 2 + 1e-9);
      expect(Math.abs(back.positive[1] - p[1])).toBeLessThanOrEqual(cellY / 2 + 1e-9);
      expect(Math.abs(back.negative[0] - q[0])).toBeLessThanOrEqual(cellX / 2 + 1e-9);
      expect(back.positive[0]).toBeLessThan(size.width);
    }
  });

  it('encodes each refine type with its own token layout', () => {
    const p = [10, 20] as const;
    expect(codec.encodeAction({ kind: 'points', positive: null, negative: null }, size).ids).toEqual([0]);
    expect(codec.encodeAction({ kind: 'points', positive: p, negative: null }, size).ids).toHaveLength(3);
    const neg = codec.encodeAction({ kind: 'points', positive: null, negative: p }, size);
    expect(neg.ids[0]).toBe(2);
    const back = codec.decodeTokens(neg, size);
    expect(back).toMatchObject({ kind: 'points', positive: null });
    expect(codec.decodeTokens({ kind: 'refine', ids: [0] }, size)).toEqual({
      kind: 'points',
      positive: null,
      negative: null,
    });
  });

  it('maps size bins monotonically onto [minSizeFrac, 1]', () => {
    expect(codec.decodeSize(0)).toBeCloseTo(codec.minSizeFrac, 12);
    expect(codec.decodeSize(codec.sizeBins - 1)).toBeCloseTo(1, 12);
    expect(codec.encodeSize(2)).toBe(codec.sizeBins - 1);
    expect(codec.encodeSize(0)).toBe(0);
    for (let b = 0; b < codec.sizeBins; b++) expect(codec.encodeSize(codec.decodeSize(b))).toBe(b);
  });

  it('rejects malformed token sequences naming the field', () => {
    expect(() => codec.decodeTokens({ kind: 'box', ids: [1, 2, 3] }, size)).toThrow(ValidationError);
    expect(() => codec.decodeTokens({ kind: 'box', ids: [1, 2, 3] }, size)).toThrow(
      'tokens.ids [1, 2, 3] must have 4 ids',
    );
    expect(() => codec.decodeTokens({ kind: 'box', ids: [64, 0, 0, 0] }, size)).toThrow(
      'tokens.ids[0] 64 must be an integer in [0, 64)',
    );
    expect(() => codec.decodeTokens({ kind: 'refine', ids: [7] }, size)).toThrow(
      'tokens.ids[0] 7 must be a refine type',
    );
    expect(() => codec.decodeTokens({ kind: 'refine', ids: [1, 3] }, size)).toThrow('must have 3 ids');
  });
});

describe('query vocabulary', () => {
  const vocab = buildVocabulary(['the', 'red', 'circle'], 4);

  it('maps known words, plurals, and unknown words to stable hash buckets', () => {
    const ids = tokenize(vocab, 'The RED circles, zigzag!', 8);
    expect(ids.slice(0, 3)).toEqual([2, 3, 4]);
    const bucket = ids[3] as number;
    expect(bucket).toBeGreaterThanOrEqual(5);
    expect(bucket).toBeLessThan(vocab.size);
    expect(tokenize(vocab, 'zigzag', 8)).toEqual([bucket]);
    expect(ids).not.toContain(PAD_ID);
  });

  it('falls back to UNK without buckets and truncates long queries', () => {
    const noBuckets = buildVocabulary(['the'], 0);
    expect(tokenize(noBuckets, 'the zigzag', 8)).toEqual([2, UNK_ID]);
    expect(tokenize(vocab, 'the the the the the', 3)).toHaveLength(3);
  });
});
