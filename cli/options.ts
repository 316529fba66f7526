/**
 * Parsers of numeric command-line values, shared by every subcommand. Each error is a ValidationError
 * naming the flag and the value as typed: `--steps "1.5" must be a non-negative integer`.
 */
import { ValidationError } from '../core/errors/index.ts';

function integerRule(min: number): string {
  if (min === 0) return 'a non-negative integer';
  if (min === 1) return 'a positive integer';
  if (min === Number.MIN_SAFE_INTEGER) return 'an integer';
  return `an integer >= ${min}`;
}

/** Commander argument parser: an integer of at least `min` (default 0). */
export function intOption(flag: string, min = 0): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min) {
      throw new ValidationError(flag, v, `must be ${integerRule(min)}`);
    }
    return n;
  };
}

/** An optional integer option read inside an action: undefined stays undefined. */
export function optionalInt(
  flag: string,
  v: string | undefined,
  min = Number.MIN_SAFE_INTEGER,
): number | undefined {
  return v === undefined ? undefined : intOption(flag, min)(v);
}

export type NumberRange = 'positive' | 'non-negative' | 'probability';

/** Commander argument parser: a finite number that is positive, non-negative, or in [0, 1]. */
export function numberOption(flag: string, range: NumberRange): (v: string) => number {
  return (v) => {
    const x = Number(v);
    const ok =
      v.trim() !== '' &&
      Number.isFinite(x) &&
      (range === 'positive' ? x > 0 : range === 'non-negative' ? x >= 0 : x >= 0 && x <= 1);
    if (!ok) {
      throw new ValidationError(
        flag,
        v,
        `must be ${range === 'probability' ? 'a number in [0, 1]' : `a ${range} number`}`,
      );
    }
    return x;
  };
}
