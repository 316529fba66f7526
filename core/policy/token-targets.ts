/**
 * Teacher forcing: token sequences → one-hot rows per head ("slot") and a scatter matrix that puts
 * each slot's log-prob at its position in the sequence. A batch may mix box and refine actions and
 * refine types; a slot an action does not use has an all-zero row, so it contributes log-prob 0,
 * conditions nothing, and is masked out.
 *
 * Slots: 0 box centre, 1 box offset, 2 width, 3 height, 4 type, 5 positive patch, 6 positive offset,
 * 7 negative patch, 8 negative offset.
 */
import type { ActionCodec, ActionTokens } from './action-codec.ts';
import { MAX_ACTION_TOKENS, typeHasNegative, typeHasPositive } from './action-codec.ts';
import { ValidationError } from '../errors/index.ts';

export const SLOT_COUNT = 9;

export const Slot = {
  boxCentre: 0,
  boxOffset: 1,
  boxWidth: 2,
  boxHeight: 3,
  type: 4,
  posPatch: 5,
  posOffset: 6,
  negPatch: 7,
  negOffset: 8,
} as const;

export interface TokenTargets {
  readonly size: number;
  /** One-hot rows per slot, [B, classes of that slot]. */
  readonly oneHots: readonly Float32Array[];
  /** Classes per slot. */
  readonly classes: readonly number[];
  /** [B, SLOT_COUNT, MAX_ACTION_TOKENS]: 1 where slot s is the token at position j. */
  readonly scatter: Float32Array;
  /** [B, MAX_ACTION_TOKENS]: 1 for real tokens. */
  readonly mask: Float32Array;
  readonly hasBox: boolean;
  readonly hasRefine: boolean;
  /**
   * Dense per-patch targets of the rows that carry them (ActionTokens.dense), absent when none do:
   * coverage [B, P], classes [B, P, C], and `rows` [B] 1 where row b has them.
   */
  readonly dense?: {
    readonly coverage: Float32Array;
    readonly classes: Float32Array;
    readonly classCount: number;
    readonly rows: Float32Array;
  };
  /**
   * Soft patch targets of the point slots (ActionTokens.points), absent when no row has them:
   * per slot [B, P] rows (zero where row b has none) and `rows` [B] 1 where row b has them.
   */
  readonly soft?: ReadonlyMap<number, { readonly values: Float32Array; readonly rows: Uint8Array }>;
}

/** Slot of each position of a token sequence. */
export function slotsOf(tokens: ActionTokens): number[] {
  if (tokens.kind === 'box') return [Slot.boxCentre, Slot.boxOffset, Slot.boxWidth, Slot.boxHeight];
  const type = tokens.ids[0] as number;
  const slots: number[] = [Slot.type];
  if (typeHasPositive(type)) slots.push(Slot.posPatch, Slot.posOffset);
  if (typeHasNegative(type)) slots.push(Slot.negPatch, Slot.negOffset);
  return slots;
}

export function buildTargets(tokens: readonly ActionTokens[], codec: ActionCodec): TokenTargets {
  const B = tokens.length;
  const P = codec.patches;
  const O = codec.offsetClasses;
  const S = codec.sizeBins;
  const classes = [P, O, S, S, 4, P, O, P, O];
  const oneHots = classes.map((n) => new Float32Array(B * n));
  const L = MAX_ACTION_TOKENS;
  const scatter = new Float32Array(B * SLOT_COUNT * L);
  const mask = new Float32Array(B * L);
  let hasBox = false;
  let hasRefine = false;
  tokens.forEach((t, b) => {
    codec.validate(t);
    if (t.kind === 'box') hasBox = true;
    else hasRefine = true;
    slotsOf(t).forEach((slot, j) => {
      const id = t.ids[j] as number;
      (oneHots[slot] as Float32Array)[b * (classes[slot] as number) + id] = 1;
      scatter[(b * SLOT_COUNT + slot) * L + j] = 1;
      mask[b * L + j] = 1;
    });
  });
  return {
    size: B,
    oneHots,
    classes,
    scatter,
    mask,
    hasBox,
    hasRefine,
    ...denseOf(tokens, P),
    ...softOf(tokens, P),
  };
}

function softOf(tokens: readonly ActionTokens[], P: number): Pick<TokenTargets, 'soft'> {
  if (!tokens.some((t) => t.points)) return {};
  const soft = new Map<number, { values: Float32Array; rows: Uint8Array }>();
  const put = (slot: number, b: number, v: Float32Array | undefined): void => {
    if (!v) return;
    let e = soft.get(slot);
    if (!e) {
      e = { values: new Float32Array(tokens.length * P), rows: new Uint8Array(tokens.length) };
      soft.set(slot, e);
    }
    e.values.set(v, b * P);
    e.rows[b] = 1;
  };
  tokens.forEach((t, b) => {
    put(Slot.posPatch, b, t.points?.positive);
    put(Slot.negPatch, b, t.points?.negative);
  });
  return soft.size > 0 ? { soft } : {};
}

function denseOf(tokens: readonly ActionTokens[], P: number): Pick<TokenTargets, 'dense'> {
  const first = tokens.find((t) => t.dense)?.dense;
  if (!first) return {};
  const C = first.classes.length / P;
  const B = tokens.length;
  const coverage = new Float32Array(B * P);
  const classes = new Float32Array(B * P * C);
  const rows = new Float32Array(B);
  tokens.forEach((t, b) => {
    if (!t.dense) return;
    if (t.dense.classes.length !== P * C) {
      throw new ValidationError(
        `tokens[${b}].dense.classes`,
        t.dense.classes.length,
        `must have ${P * C} values like the batch's other dense targets`,
      );
    }
    coverage.set(t.dense.coverage, b * P);
    classes.set(t.dense.classes, b * P * C);
    rows[b] = 1;
  });
  return { dense: { coverage, classes, classCount: C, rows } };
}

/**
 * The rows the supervised loss scores each slot's log-probs against, or undefined when they are the
 * one-hot targets themselves (no smoothing, no soft patch targets): see `smoothTargets`.
 */
export function scoreTargets(
  targets: TokenTargets,
  codec: ActionCodec,
  epsilon: number,
): Float32Array[] | undefined {
  return epsilon > 0 || targets.soft ? smoothTargets(targets, codec, epsilon) : undefined;
}

/**
 * Smoothed targets for the supervised warm start: q = (1 − ε)·t + ε·K(target), where t is the
 * one-hot target, or a point slot's soft patch distribution when the row has one
 * (ActionTokens.points), and K is a Gaussian (σ = 1 cell) around the hard target over the patch
 * grid for patch tokens, over the offset grid for offsets, over bins for sizes, and uniform for the
 * type token. Near misses of ordinal tokens then cost less than far ones, which the plain one-hot
 * cross-entropy cannot express. Teacher forcing still conditions on the hard targets.
 */
export function smoothTargets(targets: TokenTargets, codec: ActionCodec, epsilon: number): Float32Array[] {
  const G = codec.grid;
  const K = codec.offsetBins;
  const kernels: ((id: number, n: number) => Float32Array)[] = [
    grid2d(G),
    grid2d(K),
    line1d(),
    line1d(),
    (id, n) => new Float32Array(n).fill(1 / n),
    grid2d(G),
    grid2d(K),
    grid2d(G),
    grid2d(K),
  ];
  return targets.oneHots.map((oh, s) => {
    const n = targets.classes[s] as number;
    const out = new Float32Array(oh.length);
    const soft = targets.soft?.get(s);
    for (let b = 0; b < targets.size; b++) {
      const row = oh.subarray(b * n, (b + 1) * n);
      const id = row.indexOf(1);
      if (id < 0) continue;
      const t = soft?.rows[b] ? soft.values.subarray(b * n, (b + 1) * n) : row;
      const k = epsilon > 0 ? (kernels[s] as (id: number, n: number) => Float32Array)(id, n) : undefined;
      for (let i = 0; i < n; i++)
        out[b * n + i] = (k ? epsilon * (k[i] as number) : 0) + (1 - epsilon) * (t[i] as number);
    }
    return out;
  });
}

function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x;
  for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) / s;
  return v;
}

function grid2d(side: number): (id: number, n: number) => Float32Array {
  return (id, n) => {
    const v = new Float32Array(n);
    const r0 = Math.floor(id / side);
    const c0 = id % side;
    for (let i = 0; i < n; i++) {
      const dr = Math.floor(i / side) - r0;
      const dc = (i % side) - c0;
      v[i] = Math.exp(-(dr * dr + dc * dc) / 2);
    }
    return normalise(v);
  };
}

function line1d(): (id: number, n: number) => Float32Array {
  return (id, n) => {
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = Math.exp(-((i - id) * (i - id)) / 2);
    return normalise(v);
  };
}
