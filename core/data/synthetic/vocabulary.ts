/**
 * The closed vocabulary of the synthetic referring-segmentation world: shape kinds, colours, size
 * classes, and the colour×shape pairs held out of training for the out-of-distribution split.
 *
 * Held-out pairs never occur in train or id-val scenes at all (neither as targets nor as
 * distractors, nor in any query), so "the red star" in ood-val asks the policy to compose two
 * attributes it has only ever seen apart. Each colour and each shape is held out in exactly one
 * pair, so every attribute on its own is still seen in training.
 */

export const SHAPES = ['circle', 'square', 'triangle', 'star', 'hexagon', 'ellipse', 'diamond'] as const;
export type ShapeKind = (typeof SHAPES)[number];

export const COLORS = ['red', 'green', 'blue', 'yellow', 'purple', 'orange'] as const;
export type ColorName = (typeof COLORS)[number];

export const SIZES = ['small', 'medium', 'large'] as const;
export type SizeClass = (typeof SIZES)[number];

/** Nominal sRGB of each colour; objects jitter around it so colour is a class, not one value. */
export const COLOR_RGB: Readonly<Record<ColorName, readonly [number, number, number]>> = {
  red: [214, 38, 40],
  green: [44, 168, 62],
  blue: [38, 84, 218],
  yellow: [236, 206, 40],
  purple: [142, 58, 190],
  orange: [242, 128, 28],
};

/**
 * Object "radius" (half of its nominal extent) per size class, as a fraction of the shorter image
 * side. The gaps between classes (0.075→0.095, 0.12→0.15) keep the classes visually distinct.
 */
export const SIZE_RADIUS: Readonly<Record<SizeClass, readonly [number, number]>> = {
  small: [0.055, 0.075],
  medium: [0.095, 0.12],
  large: [0.15, 0.185],
};

/** Colour×shape pairs that exist only in the ood-val split. */
export const HELD_OUT_PAIRS: ReadonlyArray<readonly [ColorName, ShapeKind]> = [
  ['red', 'star'],
  ['green', 'hexagon'],
  ['blue', 'triangle'],
  ['yellow', 'circle'],
  ['purple', 'square'],
  ['orange', 'diamond'],
];

export function isHeldOutPair(color: ColorName, shape: ShapeKind): boolean {
  return HELD_OUT_PAIRS.some(([c, s]) => c === color && s === shape);
}

/** Query words reserved for the out-of-distribution family; no in-distribution query uses them. */
export const OOD_ONLY_WORDS = [
  'second',
  'same color',
  'not',
  'below',
  'above',
  'left of',
  'right of',
  'closest',
];
