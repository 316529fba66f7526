/**
 * Actions as short token sequences (the pointer design of ARCHITECTURE.md, "The policy").
 *
 * Box action, 4 tokens:   [centre patch ∈ P, offset-in-patch ∈ K², width bin ∈ S, height bin ∈ S]
 * Refine action, 1–5:     [type ∈ {stop, positive, negative, both}]
 *                         + [patch, offset] of the positive point   (types positive, both)
 *                         + [patch, offset] of the negative point   (types negative, both)
 *
 * Each id indexes the vocabulary of its own head (the head at position i is fixed by the kind and
 * the type token). Positions are normalised to the image (u = x / W), so one grid serves any image
 * size and aspect: patch column = ⌊u·G⌋, offset column = ⌊frac(u·G)·K⌋, decoded at the offset
 * cell's centre. Sizes are log-spaced: frac = minFrac^(1 − bin/(S−1)), bin 0 = minFrac, S−1 = 1,
 * encoded to the nearest bin in log space.
 */
import type { BoxAction, PointAction } from '../actions/index.ts';
import { POINT_ACTION_TYPES, pointActionType } from '../actions/index.ts';
import { ValidationError } from '../errors/index.ts';
import type { Box, ImageSize, Point } from '../geometry/index.ts';
import type { PolicyConfig } from './config.ts';
import { policyDims } from './config.ts';

export type ActionKind = 'box' | 'refine';

/** A sampled or target action as token ids, one per head in sequence order. */
export interface ActionTokens {
  readonly kind: ActionKind;
  readonly ids: readonly number[];
  /**
   * Dense per-patch targets of the observation this action answers (supervised warm start only;
   * never part of the emitted sequence, ignored by everything but `supervisedLoss`).
   */
  readonly dense?: DensePatchTargets;
  /**
   * Soft targets for the point tokens' patches (supervised warm start only, like `dense`): where a
   * click would do as well as the one in `ids`, as a distribution over the patch grid.
   */
  readonly points?: PointPatchTargets;
}

/**
 * Per-patch targets of a refinement's clicks: `positive`/`negative` are distributions over the P
 * patches (sum 1) that replace the one-hot of that point's patch token in the supervised loss;
 * `positiveOffsets`/`negativeOffsets` give, per patch, the offset token of the best click inside it
 * (−1 where the patch holds none), so a target may be conditioned on any patch with weight.
 */
export interface PointPatchTargets {
  readonly positive?: Float32Array;
  readonly negative?: Float32Array;
  readonly positiveOffsets?: Int16Array;
  readonly negativeOffsets?: Int16Array;
}

/** What each patch of an observation shows, for the policy's dense heads (config.denseClasses). */
export interface DensePatchTargets {
  /** [P]: share of each patch covered by the referred object, in [0, 1]. */
  readonly coverage: Float32Array;
  /** [P · denseClasses]: share of each patch showing each class (rows sum to 1). */
  readonly classes: Float32Array;
}

/** Index of each refine type token, in the order of POINT_ACTION_TYPES. */
export const TYPE_STOP = 0;
export const TYPE_POSITIVE = 1;
export const TYPE_NEGATIVE = 2;
export const TYPE_BOTH = 3;

/** Longest token sequence of any action (refine with both points). */
export const MAX_ACTION_TOKENS = 5;

export function typeHasPositive(type: number): boolean {
  return type === TYPE_POSITIVE || type === TYPE_BOTH;
}

export function typeHasNegative(type: number): boolean {
  return type === TYPE_NEGATIVE || type === TYPE_BOTH;
}

export class ActionCodec {
  readonly grid: number;
  readonly patches: number;
  readonly offsetBins: number;
  readonly offsetClasses: number;
  readonly sizeBins: number;
  readonly minSizeFrac: number;

  constructor(config: PolicyConfig) {
    const dims = policyDims(config);
    this.grid = dims.grid;
    this.patches = dims.patches;
    this.offsetBins = config.offsetBins;
    this.offsetClasses = dims.offsetClasses;
    this.sizeBins = config.sizeBins;
    this.minSizeFrac = config.minSizeFrac;
  }

  /** Vocabulary size of each head, in sequence order, for a given kind and refine type. */
  headSizes(kind: ActionKind, type = TYPE_BOTH): number[] {
    if (kind === 'box') return [this.patches, this.offsetClasses, this.sizeBins, this.sizeBins];
    const sizes = [POINT_ACTION_TYPES.length];
    if (typeHasPositive(type)) sizes.push(this.patches, this.offsetClasses);
    if (typeHasNegative(type)) sizes.push(this.patches, this.offsetClasses);
    return sizes;
  }

  /** Action → token ids (the supervised target; inverse of decodeTokens up to quantisation). */
  encodeAction(action: BoxAction | PointAction, size: ImageSize): ActionTokens {
    if (action.kind === 'box') return { kind: 'box', ids: this.encodeBox(action.box, size) };
    const type = POINT_ACTION_TYPES.indexOf(pointActionType(action));
    const ids = [type];
    if (action.positive) ids.push(...this.encodePoint(action.positive, size));
    if (action.negative) ids.push(...this.encodePoint(action.negative, size));
    return { kind: 'refine', ids };
  }

  encodeBox(box: Box, size: ImageSize): number[] {
    const [x1, y1, x2, y2] = box;
    const [patch, offset] = this.encodePoint([(x1 + x2) / 2, (y1 + y2) / 2], size);
    return [patch, offset, this.encodeSize((x2 - x1) / size.width), this.encodeSize((y2 - y1) / size.height)];
  }

  /** A point → [patch, offset]. */
  encodePoint(p: Point, size: ImageSize): [number, number] {
    const [col, ox] = this.encodeAxis(p[0] / size.width);
    const [row, oy] = this.encodeAxis(p[1] / size.height);
    return [row * this.grid + col, oy * this.offsetBins + ox];
  }

  encodeSize(frac: number): number {
    const f = Math.min(1, Math.max(this.minSizeFrac, frac));
    const t = 1 - Math.log(f) / Math.log(this.minSizeFrac);
    return Math.min(this.sizeBins - 1, Math.max(0, Math.round(t * (this.sizeBins - 1))));
  }

  decodeSize(bin: number): number {
    return Math.pow(this.minSizeFrac, 1 - bin / (this.sizeBins - 1));
  }

  /** [patch, offset] → a point at the centre of its offset cell, in image pixels. */
  decodePoint(patch: number, offset: number, size: ImageSize): Point {
    return this.decodePointAt(patch, offset % this.offsetBins, Math.floor(offset / this.offsetBins), size);
  }

  /**
   * A point in `patch` at offset cell (ox, oy), which may be fractional (a mean over the offset
   * cells, `decode: 'mean'`): cell k spans [k, k + 1) and integer k decodes at its centre.
   */
  decodePointAt(patch: number, ox: number, oy: number, size: ImageSize): Point {
    const col = patch % this.grid;
    const row = Math.floor(patch / this.grid);
    const u = (col + (ox + 0.5) / this.offsetBins) / this.grid;
    const v = (row + (oy + 0.5) / this.offsetBins) / this.grid;
    return [u * size.width, v * size.height];
  }

  /**
   * A box centred in `patch` at offset cell (ox, oy), with size bins wBin, hBin; all four may be
   * fractional (`decode: 'mean'`), the sizes then interpolating in log space like the bins.
   * Clipped to the image.
   */
  decodeBoxAt(patch: number, ox: number, oy: number, wBin: number, hBin: number, size: ImageSize): BoxAction {
    const [cx, cy] = this.decodePointAt(patch, ox, oy, size);
    const w = this.decodeSize(wBin) * size.width;
    const h = this.decodeSize(hBin) * size.height;
    const box: Box = [
      Math.max(0, cx - w / 2),
      Math.max(0, cy - h / 2),
      Math.min(size.width, cx + w / 2),
      Math.min(size.height, cy + h / 2),
    ];
    return { kind: 'box', box };
  }

  /** Token ids → action in image pixels; throws ValidationError on a malformed sequence. */
  decodeTokens(tokens: ActionTokens, size: ImageSize): BoxAction | PointAction {
    this.validate(tokens);
    const ids = tokens.ids as number[];
    if (tokens.kind === 'box') {
      const [patch, offset, wb, hb] = ids as [number, number, number, number];
      const K = this.offsetBins;
      return this.decodeBoxAt(patch, offset % K, Math.floor(offset / K), wb, hb, size);
    }
    const type = ids[0] as number;
    let i = 1;
    let positive: Point | null = null;
    let negative: Point | null = null;
    if (typeHasPositive(type)) {
      positive = this.decodePoint(ids[i] as number, ids[i + 1] as number, size);
      i += 2;
    }
    if (typeHasNegative(type)) negative = this.decodePoint(ids[i] as number, ids[i + 1] as number, size);
    return { kind: 'points', positive, negative };
  }

  /** Checks length and ranges of a token sequence against its heads. */
  validate(tokens: ActionTokens): void {
    if (tokens.kind !== 'box' && tokens.kind !== 'refine') {
      throw new ValidationError('tokens.kind', tokens.kind, "must be 'box' or 'refine'");
    }
    const type = tokens.kind === 'refine' ? tokens.ids[0] : undefined;
    if (
      tokens.kind === 'refine' &&
      !(Number.isInteger(type) && (type as number) >= 0 && (type as number) < 4)
    ) {
      throw new ValidationError(
        'tokens.ids[0]',
        type,
        'must be a refine type in 0..3 (stop, positive, negative, both)',
      );
    }
    const sizes = this.headSizes(tokens.kind, type);
    if (tokens.ids.length !== sizes.length) {
      throw new ValidationError(
        'tokens.ids',
        tokens.ids,
        `must have ${sizes.length} ids for this ${tokens.kind} action`,
      );
    }
    tokens.ids.forEach((id, i) => {
      const n = sizes[i] as number;
      if (!Number.isInteger(id) || id < 0 || id >= n) {
        throw new ValidationError(`tokens.ids[${i}]`, id, `must be an integer in [0, ${n})`);
      }
    });
    this.validatePoints(tokens);
    if (tokens.dense) {
      const { coverage, classes } = tokens.dense;
      if (!(coverage instanceof Float32Array) || coverage.length !== this.patches) {
        throw new ValidationError(
          'tokens.dense.coverage',
          coverage?.length,
          `must be a Float32Array of ${this.patches} values (one per patch)`,
        );
      }
      if (!(classes instanceof Float32Array) || classes.length === 0 || classes.length % this.patches !== 0) {
        throw new ValidationError(
          'tokens.dense.classes',
          classes?.length,
          `must be a Float32Array of ${this.patches} × classes values`,
        );
      }
    }
  }

  private validatePoints(tokens: ActionTokens): void {
    const pts = tokens.points;
    if (!pts) return;
    const type = tokens.kind === 'refine' ? (tokens.ids[0] as number) : -1;
    const check = (key: keyof PointPatchTargets, present: boolean, offsets: boolean): void => {
      const v = pts[key];
      if (v === undefined) return;
      if (!present) {
        throw new ValidationError(`tokens.points.${key}`, 'present', 'the action has no such point');
      }
      const ok = offsets ? v instanceof Int16Array : v instanceof Float32Array;
      if (!ok || v.length !== this.patches) {
        throw new ValidationError(
          `tokens.points.${key}`,
          v.length,
          `must be a${offsets ? 'n Int16Array' : ' Float32Array'} of ${this.patches} values (one per patch)`,
        );
      }
    };
    check('positive', typeHasPositive(type), false);
    check('negative', typeHasNegative(type), false);
    check('positiveOffsets', typeHasPositive(type), true);
    check('negativeOffsets', typeHasNegative(type), true);
  }

  private encodeAxis(u: number): [number, number] {
    const clamped = Math.min(1 - 1e-9, Math.max(0, u));
    const g = clamped * this.grid;
    const cell = Math.min(this.grid - 1, Math.floor(g));
    const off = Math.min(this.offsetBins - 1, Math.floor((g - cell) * this.offsetBins));
    return [cell, off];
  }
}
