/**
 * Word-level query tokenizer. Token ids: 0 = PAD, 1 = UNK, 2.. = known words in list order, then
 * `hashBuckets` ids for out-of-vocabulary words (FNV-1a of the word modulo the bucket count), so an
 * unseen word still maps to a stable, trainable id instead of collapsing into UNK. UNK is only
 * used when there are no buckets. A trailing plural "s"/"es" is stripped when that yields a known
 * word ("circles" → "circle").
 */
import { hashString } from '../rng/index.ts';

export const PAD_ID = 0;
export const UNK_ID = 1;

/** Words of referring expressions over shapes, colours, sizes, positions and relations. */
// prettier-ignore
export const DEFAULT_WORDS: readonly string[] = [
  // function words
  'the', 'a', 'an', 'of', 'and', 'or', 'not', 'but', 'is', 'are', 'that', 'which', 'with', 'to', 'in', 'on',
  'at', 'as', 'than', 'it', 'its', 'one', 'ones', 'has', 'have', 'same', 'different', 'other', 'another',
  'only', 'there', 'this', 'those', 'these', 'from', 'by', 'both', 'all', 'any', 'no', 'find', 'select',
  'segment', 'show', 'me', 'please', 'where', 'what', 'whose', 'who', 'also', 'neither', 'nor', 'either',
  // objects
  'shape', 'object', 'thing', 'item', 'figure', 'circle', 'square', 'triangle', 'star', 'hexagon', 'ellipse',
  'pentagon', 'rectangle', 'diamond', 'oval', 'cross', 'heart', 'ring', 'disk', 'polygon', 'octagon', 'moon',
  'arrow', 'background',
  // colours
  'colour', 'color', 'red', 'green', 'blue', 'yellow', 'orange', 'purple', 'pink', 'cyan', 'magenta', 'white',
  'black', 'gray', 'grey', 'brown', 'violet', 'teal', 'dark', 'light', 'bright',
  // sizes
  'size', 'small', 'large', 'big', 'tiny', 'huge', 'medium', 'smaller', 'larger', 'bigger', 'smallest',
  'largest', 'biggest', 'tall', 'wide', 'narrow', 'long', 'short',
  // positions
  'left', 'right', 'top', 'bottom', 'leftmost', 'rightmost', 'topmost', 'bottommost', 'upper', 'lower',
  'middle', 'center', 'centre', 'corner', 'side', 'edge', 'highest', 'lowest', 'front', 'back', 'behind',
  // relations
  'above', 'below', 'under', 'over', 'beneath', 'next', 'near', 'nearest', 'closest', 'farthest', 'furthest',
  'far', 'close', 'beside', 'between', 'inside', 'outside', 'touching', 'overlapping', 'occluded', 'partly',
  'hidden', 'covered', 'covering', 'most', 'least', 'more', 'less', 'fewer',
  // ordinals and counts
  'first', 'second', 'third', 'fourth', 'fifth', 'last', 'two', 'three', 'four', 'five', 'number', 'count',
];

export interface Vocabulary {
  readonly words: readonly string[];
  readonly hashBuckets: number;
  /** Total ids: 2 + words + buckets. */
  readonly size: number;
  readonly index: ReadonlyMap<string, number>;
}

export function buildVocabulary(words: readonly string[], hashBuckets: number): Vocabulary {
  const index = new Map<string, number>();
  for (const w of words) if (!index.has(w)) index.set(w, 2 + index.size);
  return { words: [...index.keys()], hashBuckets, size: 2 + index.size + hashBuckets, index };
}

/** Splits a query into lowercase words (letters and digits). */
export function splitWords(query: string): string[] {
  return query
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

export function wordId(vocab: Vocabulary, word: string): number {
  const direct = vocab.index.get(word);
  if (direct !== undefined) return direct;
  for (const suffix of ['es', 's']) {
    if (word.length > suffix.length + 2 && word.endsWith(suffix)) {
      const stem = vocab.index.get(word.slice(0, -suffix.length));
      if (stem !== undefined) return stem;
    }
  }
  if (vocab.hashBuckets === 0) return UNK_ID;
  return 2 + vocab.index.size + (hashString(word) % vocab.hashBuckets);
}

/** Token ids of a query, truncated to `maxTokens` (no padding). */
export function tokenize(vocab: Vocabulary, query: string, maxTokens: number): number[] {
  return splitWords(query)
    .slice(0, maxTokens)
    .map((w) => wordId(vocab, w));
}
