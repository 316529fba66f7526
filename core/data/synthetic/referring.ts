/**
 * Referring expressions of the synthetic world, as data: a `Description` says which object a query
 * means; `resolveDescription` evaluates it on a scene and `phraseDescription` turns it into English.
 * A query is only emitted when its description resolves to exactly one object with clear margins
 * (positions, sizes and distances must differ by a visible amount), so every query has one
 * unambiguous referent.
 */
import type { Rng } from '../../rng/index.ts';
import type { Scene, SceneObject } from './scene.ts';
import type { ColorName, ShapeKind, SizeClass } from './vocabulary.ts';

/** Attribute constraints; an empty filter matches every object. */
export interface AttributeFilter {
  readonly shape?: ShapeKind;
  readonly color?: ColorName;
  readonly size?: SizeClass;
}

export type Direction = 'left' | 'right' | 'top' | 'bottom';
export type Relation = 'below' | 'above' | 'left of' | 'right of';
export type OrdinalKey = 'largest' | 'smallest' | 'left' | 'top';

export type Description =
  /** The only object matching the filter. */
  | { readonly kind: 'filter'; readonly filter: AttributeFilter }
  /** The object of the filter furthest towards `dir` ("the leftmost circle"). */
  | { readonly kind: 'extreme'; readonly filter: AttributeFilter; readonly dir: Direction }
  /** The biggest / smallest by polygon area ("the largest star"). */
  | { readonly kind: 'superlative'; readonly filter: AttributeFilter; readonly which: 'largest' | 'smallest' }
  /** The rank-th (1-based) by `by` ("the second largest square"). */
  | {
      readonly kind: 'ordinal';
      readonly filter: AttributeFilter;
      readonly rank: number;
      readonly by: OrdinalKey;
    }
  /** The only object of the filter lying in a direction from a reference object. */
  | {
      readonly kind: 'relation';
      readonly filter: AttributeFilter;
      readonly relation: Relation;
      readonly ref: Description;
    }
  /** The object of the filter nearest to a reference object (centre distance). */
  | { readonly kind: 'closest'; readonly filter: AttributeFilter; readonly ref: Description }
  /** Objects other than the reference, of the reference's colour, matching the filter. */
  | { readonly kind: 'same-color-as'; readonly filter: AttributeFilter; readonly ref: Description };

/** Margins that make a referent "clearly" unique. */
export interface ResolveMargins {
  /** Minimum gap between centre coordinates, as a fraction of the shorter image side (default 0.06). */
  position: number;
  /** Minimum ratio between polygon areas for largest/smallest (default 1.3). */
  areaRatio: number;
  /** Minimum ratio between the nearest and second-nearest distance (default 1.35). */
  distanceRatio: number;
}

export const DEFAULT_MARGINS: ResolveMargins = { position: 0.06, areaRatio: 1.3, distanceRatio: 1.35 };

export function matchesFilter(o: SceneObject, f: AttributeFilter): boolean {
  return (
    (f.shape === undefined || o.shape === f.shape) &&
    (f.color === undefined || o.color === f.color) &&
    (f.size === undefined || o.size === f.size)
  );
}

/**
 * The objects a description refers to, or null when the scene makes it ambiguous (a margin is not
 * met, or a reference object is not unique). A usable query resolves to exactly one object.
 */
export function resolveDescription(
  d: Description,
  scene: Scene,
  margins: ResolveMargins = DEFAULT_MARGINS,
): SceneObject[] | null {
  const side = Math.min(scene.width, scene.height);
  const gap = margins.position * side;
  const pool = scene.objects.filter((o) => matchesFilter(o, d.filter));
  switch (d.kind) {
    case 'filter':
      return pool;
    case 'extreme': {
      const key = (o: SceneObject): number =>
        d.dir === 'left' ? o.cx : d.dir === 'right' ? -o.cx : d.dir === 'top' ? o.cy : -o.cy;
      const sorted = [...pool].sort((a, b) => key(a) - key(b));
      if (sorted.length >= 2 && key(sorted[1] as SceneObject) - key(sorted[0] as SceneObject) < gap)
        return null;
      return sorted.slice(0, 1);
    }
    case 'superlative': {
      const sorted = [...pool].sort((a, b) => (d.which === 'largest' ? b.area - a.area : a.area - b.area));
      const [first, second] = sorted;
      if (first && second && !clearlyDifferentAreas(first, second, margins.areaRatio)) return null;
      return sorted.slice(0, 1);
    }
    case 'ordinal': {
      const key = (o: SceneObject): number =>
        d.by === 'largest' ? -o.area : d.by === 'smallest' ? o.area : d.by === 'left' ? o.cx : o.cy;
      const byArea = d.by === 'largest' || d.by === 'smallest';
      const sorted = [...pool].sort((a, b) => key(a) - key(b));
      if (sorted.length < d.rank) return [];
      // The neighbours on both sides of the chosen rank must be clearly separated from it.
      for (const j of [d.rank - 2, d.rank]) {
        const other = sorted[j];
        const me = sorted[d.rank - 1] as SceneObject;
        if (other === undefined) continue;
        const clear = byArea
          ? clearlyDifferentAreas(me, other, margins.areaRatio)
          : Math.abs(key(me) - key(other)) >= gap;
        if (!clear) return null;
      }
      return [sorted[d.rank - 1] as SceneObject];
    }
    case 'relation': {
      const ref = resolveDescription(d.ref, scene, margins);
      if (ref === null || ref.length !== 1) return null;
      const r = ref[0] as SceneObject;
      const hits: SceneObject[] = [];
      for (const o of pool) {
        if (o === r) continue;
        const side = relationSide(o, r, d.relation, gap);
        if (side === 'ambiguous') return null;
        if (side === 'yes') hits.push(o);
      }
      return hits;
    }
    case 'closest': {
      const ref = resolveDescription(d.ref, scene, margins);
      if (ref === null || ref.length !== 1) return null;
      const r = ref[0] as SceneObject;
      const sorted = pool
        .filter((o) => o !== r)
        .map((o) => ({ o, dist: Math.hypot(o.cx - r.cx, o.cy - r.cy) }))
        .sort((a, b) => a.dist - b.dist);
      const [first, second] = sorted;
      if (first && second && second.dist < first.dist * margins.distanceRatio) return null;
      return first ? [first.o] : [];
    }
    case 'same-color-as': {
      const ref = resolveDescription(d.ref, scene, margins);
      if (ref === null || ref.length !== 1) return null;
      const r = ref[0] as SceneObject;
      return pool.filter((o) => o !== r && o.color === r.color);
    }
  }
}

function clearlyDifferentAreas(a: SceneObject, b: SceneObject, ratio: number): boolean {
  const big = Math.max(a.area, b.area);
  const small = Math.min(a.area, b.area);
  return big >= ratio * small;
}

/**
 * Whether `o` lies in direction `rel` from `r`: clearly yes (inside the 45° cone around the axis
 * and at least `gap` away along it), clearly no (outside a 60° cone or less than gap/2 along the
 * axis), or ambiguous in between.
 */
function relationSide(
  o: SceneObject,
  r: SceneObject,
  rel: Relation,
  gap: number,
): 'yes' | 'no' | 'ambiguous' {
  const dx = o.cx - r.cx;
  const dy = o.cy - r.cy;
  const along = rel === 'below' ? dy : rel === 'above' ? -dy : rel === 'right of' ? dx : -dx;
  const across = rel === 'below' || rel === 'above' ? Math.abs(dx) : Math.abs(dy);
  if (along >= gap && along >= across) return 'yes';
  if (along < gap / 2 || along < across * Math.tan(Math.PI / 6)) return 'no';
  return 'ambiguous';
}

const ARTICLE_AN = new Set(['ellipse', 'orange', 'object']);

function withArticle(word: string): string {
  return `${ARTICLE_AN.has(word) ? 'an' : 'a'} ${word}`;
}

/** "small red triangle", "blue shape", "object" — the noun phrase of a filter, without "the". */
export function filterPhrase(
  f: AttributeFilter,
  rng: Rng,
  nouns: readonly string[] = ['shape', 'object'],
): string {
  const words: string[] = [];
  if (f.size !== undefined) words.push(f.size);
  if (f.color !== undefined) words.push(f.color);
  words.push(f.shape ?? rng.pick(f.color !== undefined ? [...nouns, 'one'] : nouns));
  return words.join(' ');
}

/** English text for a description; variants are drawn from `rng`. */
export function phraseDescription(d: Description, rng: Rng): string {
  switch (d.kind) {
    case 'filter':
      return `the ${filterPhrase(d.filter, rng)}`;
    case 'extreme': {
      const word =
        d.dir === 'left'
          ? 'leftmost'
          : d.dir === 'right'
            ? 'rightmost'
            : d.dir === 'top'
              ? rng.pick(['top', 'topmost'])
              : rng.pick(['bottom', 'bottommost']);
      return `the ${word} ${filterPhrase(d.filter, rng)}`;
    }
    case 'superlative': {
      const word = d.which === 'largest' ? rng.pick(['largest', 'biggest']) : 'smallest';
      return `the ${word} ${filterPhrase(d.filter, rng)}`;
    }
    case 'ordinal': {
      const nth = ['first', 'second', 'third', 'fourth'][d.rank - 1] ?? `${d.rank}th`;
      const np = filterPhrase(d.filter, rng);
      if (d.by === 'largest' || d.by === 'smallest') return `the ${nth} ${d.by} ${np}`;
      return `the ${nth} ${np} from the ${d.by}`;
    }
    case 'relation':
      return `the ${filterPhrase(d.filter, rng)} ${d.relation} the ${refPhrase(d.ref, rng)}`;
    case 'closest':
      return `the ${filterPhrase(d.filter, rng)} closest to the ${refPhrase(d.ref, rng)}`;
    case 'same-color-as': {
      const base = `the ${filterPhrase(d.filter, rng)} with the same color as the ${refPhrase(d.ref, rng)}`;
      const refShape = d.ref.kind === 'filter' ? d.ref.filter.shape : undefined;
      // "…as the star that is not a star": the reference itself has its own colour, so say so.
      return refShape !== undefined && d.filter.shape === undefined
        ? `${base} that is not ${withArticle(refShape)}`
        : base;
    }
  }
}

function refPhrase(d: Description, rng: Rng): string {
  return phraseDescription(d, rng).replace(/^the /, '');
}
