import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import {
  boxArea,
  boxCenter,
  boxCornerL1,
  boxIou,
  pointInBox,
  scaleBox,
  scalePoint,
  validateBox,
  validatePoint,
} from '../../core/geometry/index.ts';

const size = { width: 100, height: 50 };

function validationError(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).code).toBe('INVALID_ARGUMENT');
    return e as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('validateBox', () => {
  it('accepts boxes inside the image, edges included', () => {
    expect(validateBox([0, 0, 100, 50], size)).toEqual([0, 0, 100, 50]);
    expect(validateBox([10.5, 2, 10.5, 3], size)).toEqual([10.5, 2, 10.5, 3]);
  });

  it('names the field and quotes the value for NaN and Infinity', () => {
    let e = validationError(() => validateBox([Number.NaN, 0, 1, 1], size, 'task.box'));
    expect(e.field).toBe('task.box');
    expect(e.message).toBe('task.box [NaN, 0, 1, 1] must be finite numbers');
    e = validationError(() => validateBox([0, 0, Number.POSITIVE_INFINITY, 1], size));
    expect(e.message).toBe('box [0, 0, Infinity, 1] must be finite numbers');
    e = validationError(() => validateBox([0, 0, 1, '2' as unknown as number], size));
    expect(e.field).toBe('box');
  });

  it('rejects unordered corners and wrong arity', () => {
    expect(validationError(() => validateBox([10, 5, 3, 40], size)).message).toBe(
      'box [10, 5, 3, 40] has x2 < x1',
    );
    expect(validationError(() => validateBox([1, 40, 3, 5], size)).message).toBe(
      'box [1, 40, 3, 5] has y2 < y1',
    );
    expect(validationError(() => validateBox([1, 2, 3], size)).message).toBe(
      'box [1, 2, 3] must be [x1, y1, x2, y2]',
    );
  });

  it('rejects boxes outside the image, or clamps them on request', () => {
    expect(validationError(() => validateBox([-1, 0, 10, 10], size)).message).toBe(
      'box [-1, 0, 10, 10] is outside the 100x50 image',
    );
    expect(validationError(() => validateBox([0, 0, 10, 50.5], size)).message).toMatch(
      /is outside the 100x50 image$/,
    );
    expect(validateBox([-5, -1, 120, 60], size, 'box', true)).toEqual([0, 0, 100, 50]);
    expect(validationError(() => validateBox([101, 0, 120, 10], size, 'box', true)).message).toBe(
      'box [101, 0, 120, 10] lies entirely outside the 100x50 image',
    );
    // Clamping does not excuse NaN or disorder.
    expect(validationError(() => validateBox([5, 0, 1, 10], size, 'box', true)).message).toMatch(/x2 < x1/);
  });
});

describe('validatePoint', () => {
  it('accepts [0, W)×[0, H)', () => {
    expect(validatePoint([0, 0], size)).toEqual([0, 0]);
    expect(validatePoint([99.9, 49.9], size)).toEqual([99.9, 49.9]);
  });

  it('names the field for NaN, Infinity, arity and out-of-image points', () => {
    expect(validationError(() => validatePoint([Number.NaN, 1], size, 'positive')).message).toBe(
      'positive [NaN, 1] must be finite numbers',
    );
    expect(validationError(() => validatePoint([1, Number.NEGATIVE_INFINITY], size)).message).toBe(
      'point [1, -Infinity] must be finite numbers',
    );
    expect(validationError(() => validatePoint([1], size)).message).toBe('point [1] must be [x, y]');
    expect(validationError(() => validatePoint([100, 10], size)).message).toBe(
      'point [100, 10] is outside the 100x50 image',
    );
    expect(validationError(() => validatePoint([3, -0.5], size)).field).toBe('point');
  });

  it('clamps on request, staying strictly inside', () => {
    const [x, y] = validatePoint([150, -3], size, 'point', true);
    expect(x).toBeLessThan(100);
    expect(x).toBeCloseTo(100, 4);
    expect(y).toBe(0);
  });
});

describe('box measures', () => {
  it('IoU matches hand values', () => {
    expect(boxIou([0, 0, 2, 2], [0, 0, 2, 2])).toBe(1);
    expect(boxIou([0, 0, 2, 2], [1, 1, 3, 3])).toBeCloseTo(1 / 7, 12); // 1 / (4 + 4 − 1)
    expect(boxIou([0, 0, 4, 4], [1, 1, 3, 3])).toBe(0.25); // 4 / 16
    expect(boxIou([0, 0, 2, 2], [2, 0, 4, 2])).toBe(0); // touching edges
    expect(boxIou([0, 0, 2, 2], [5, 5, 6, 6])).toBe(0);
    expect(boxIou([1, 1, 1, 1], [1, 1, 1, 1])).toBe(0); // both empty: 0, not NaN
    expect(boxIou([1, 1, 3, 3], [0, 0, 2, 2])).toBe(boxIou([0, 0, 2, 2], [1, 1, 3, 3]));
  });

  it('corner L1 is the mean of the four absolute differences', () => {
    expect(boxCornerL1([0, 0, 10, 10], [1, 2, 13, 14])).toBe(2.5); // (1 + 2 + 3 + 4) / 4
    expect(boxCornerL1([5, 5, 9, 9], [5, 5, 9, 9])).toBe(0);
  });

  it('area, centre, containment', () => {
    expect(boxArea([0, 0, 4, 3])).toBe(12);
    expect(boxArea([4, 0, 0, 3])).toBe(0);
    expect(boxCenter([0, 10, 4, 20])).toEqual([2, 15]);
    expect(pointInBox([0, 10], [0, 10, 4, 20])).toBe(true);
    expect(pointInBox([4, 20], [0, 10, 4, 20])).toBe(true);
    expect(pointInBox([4.01, 15], [0, 10, 4, 20])).toBe(false);
  });

  it('scales between frames and back', () => {
    const from = { width: 640, height: 480 };
    const to = { width: 1024, height: 1024 };
    const b = scaleBox([64, 48, 320, 240], from, to);
    expect(b[0]).toBeCloseTo(102.4, 10);
    expect(b[1]).toBeCloseTo(102.4, 10);
    expect(b[2]).toBeCloseTo(512, 10);
    expect(b[3]).toBeCloseTo(512, 10);
    const back = scaleBox(b, to, from);
    [64, 48, 320, 240].forEach((v, i) => expect(back[i]).toBeCloseTo(v, 10));
    const p = scalePoint(scalePoint([333, 111], from, to), to, from);
    expect(p[0]).toBeCloseTo(333, 10);
    expect(p[1]).toBeCloseTo(111, 10);
  });
});
