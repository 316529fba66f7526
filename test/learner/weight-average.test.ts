import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import { WeightAverage } from '../../core/policy/index.ts';

const w = (name: string, ...xs: number[]) => ({ name, shape: [xs.length], data: Float32Array.from(xs) });

describe('WeightAverage', () => {
  it('folds in each update with the decay, from the starting weights', () => {
    const start = [w('a', 1, 2), w('b', 4)];
    const avg = new WeightAverage(0.75, start);
    avg.update([w('a', 5, 2), w('b', 0)]);
    expect(Array.from(avg.weights()[0]!.data)).toEqual([2, 2]);
    expect(Array.from(avg.weights()[1]!.data)).toEqual([3]);
    avg.update([w('a', 2, 6), w('b', 3)]);
    expect(Array.from(avg.weights()[0]!.data)).toEqual([2, 3]);
    expect(Array.from(avg.weights()[1]!.data)).toEqual([3]);
    expect(avg.updates).toBe(2);
    // Its own copies: changing what it was given or what it returned does not change it.
    start[0]!.data[0] = 100;
    avg.weights()[0]!.data[0] = 100;
    expect(avg.weights()[0]!.data[0]).toBe(2);
  });

  it('refuses a decay outside (0, 1) and weights of another architecture, naming them', () => {
    expect(() => new WeightAverage(1, [])).toThrow(ValidationError);
    expect(() => new WeightAverage(0, [])).toThrow(/weightAverageDecay/);
    const avg = new WeightAverage(0.9, [w('a', 1, 2)]);
    expect(() => avg.update([w('a', 1, 2), w('b', 1)])).toThrow(/2 tensors/);
    expect(() => avg.update([w('c', 1, 2)])).toThrow(/weights\[0\].*c \(2\).*a \(2\)/);
    expect(() => avg.update([w('a', 1)])).toThrow(/a \(1\)/);
  });
});
