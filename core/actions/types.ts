/**
 * The action grammar (ARCHITECTURE.md, "The method"): the first action of an episode is a box, every
 * later action is a pair of optional points. (null, null) is the stop action. Coordinates are
 * absolute pixels of the original image.
 */
import { ValidationError } from '../errors/index.ts';
import type { Box, Point } from '../geometry/index.ts';

export interface BoxAction {
  readonly kind: 'box';
  readonly box: Box;
}

export interface PointAction {
  readonly kind: 'points';
  /** Where the mask missed foreground (a false negative), or null. */
  readonly positive: Point | null;
  /** Where the mask took background (a false positive), or null. */
  readonly negative: Point | null;
}

export type Action = BoxAction | PointAction;

/** The four point-action types of the MDP; dynamic sampling wants all four in a group. */
export type PointActionType = 'stop' | 'positive' | 'negative' | 'both';

export const POINT_ACTION_TYPES: readonly PointActionType[] = ['stop', 'positive', 'negative', 'both'];

export function pointActionType(a: PointAction): PointActionType {
  if (a.positive && a.negative) return 'both';
  if (a.positive) return 'positive';
  if (a.negative) return 'negative';
  return 'stop';
}

/**
 * Why action text could not be read:
 * - `no_json`: no JSON-like object in the text at all;
 * - `syntax`: something JSON-like was found but could not be parsed;
 * - `missing_field`: parsed, but the action's key is absent;
 * - `bad_value`: the key is present with a value that breaks the grammar (arity, NaN, order, range).
 */
export type ActionFormatReason = 'no_json' | 'syntax' | 'missing_field' | 'bad_value';

/**
 * Malformed action text. `field` names the grammar key at fault (`bbox_2d`, `positive_point`,
 * `negative_point`, or `action` for the text as a whole) and `value` is the offending value.
 * Returned by the parsers (they never throw), so it can also be thrown at an edge.
 */
export class ActionFormatError extends ValidationError {
  override name = 'ActionFormatError';
  readonly reason: ActionFormatReason;
  constructor(reason: ActionFormatReason, field: string, value: unknown, problem: string) {
    super(field, value, problem);
    this.reason = reason;
  }
}

export type ParseResult<A> =
  { readonly ok: true; readonly action: A } | { readonly ok: false; readonly error: ActionFormatError };
