import { describe, expect, it } from 'vitest';
import { hashString, Rng } from '../../core/rng/index.ts';

function draws(r: Rng, n: number): number[] {
  return Array.from({ length: n }, () => r.nextU32());
}

describe('Rng determinism', () => {
  it('repeats the same sequence for the same seed, number or string', () => {
    expect(draws(new Rng(42), 50)).toEqual(draws(new Rng(42), 50));
    expect(draws(new Rng('run-7'), 50)).toEqual(draws(new Rng('run-7'), 50));
    const a = new Rng(3);
    const b = new Rng(3);
    const mixed = (r: Rng) => [
      r.float(),
      r.int(10),
      r.uniform(-2, 2),
      r.normal(),
      r.normal(),
      r.intBetween(5, 9),
      r.bool(),
    ];
    expect(mixed(a)).toEqual(mixed(b));
  });

  it('gives different sequences for different seeds', () => {
    expect(draws(new Rng(1), 8)).not.toEqual(draws(new Rng(2), 8));
    expect(draws(new Rng('a'), 8)).not.toEqual(draws(new Rng('b'), 8));
    expect(draws(new Rng(0), 8)).not.toEqual(draws(new Rng(-1), 8));
  });

  it('pins the stream (changing the generator would silently change every dataset)', () => {
    // Recorded from this implementation: xoshiro128** over splitmix32(seed).
    expect(new Rng(0).state()).toEqual([2462723854, 1020716019, 454327756, 1275600319]);
    expect(hashString('')).toBe(0x811c9dc5);
  });
});

describe('Rng fork', () => {
  it('gives the same child for the same label and parent state', () => {
    expect(draws(new Rng(9).fork('data'), 20)).toEqual(draws(new Rng(9).fork('data'), 20));
  });

  it('gives independent children for different labels', () => {
    const parent = new Rng(9);
    const a = draws(parent.fork('data'), 200);
    const b = draws(parent.fork('model'), 200);
    const c = draws(parent.fork(1), 200);
    expect(a).not.toEqual(b);
    expect(b).not.toEqual(c);
    // No shared values at all in 200 uint32 draws (a collision is ~1e-5 likely by chance).
    const set = new Set(a);
    expect(b.filter((v) => set.has(v))).toEqual([]);
  });

  it('does not advance the parent, and drawing from a child leaves the parent alone', () => {
    const withFork = new Rng(5);
    const child = withFork.fork('x');
    draws(child, 100);
    expect(draws(withFork, 20)).toEqual(draws(new Rng(5), 20));
  });

  // fork() derives from the parent's seed and the label, not from how much the parent has drawn.
  it('gives the same child regardless of earlier parent draws', () => {
    const a = new Rng(5);
    const b = new Rng(5);
    b.nextU32();
    expect(draws(a.fork('x'), 5)).toEqual(draws(b.fork('x'), 5));
  });
});

describe('Rng state', () => {
  it('restores a stream exactly from state()', () => {
    const r = new Rng('checkpoint');
    draws(r, 37);
    const saved = r.state();
    const after = [draws(r, 10), r.float(), r.int(1000), r.uniform(3, 4)];
    const restored = Rng.fromState(saved);
    expect([draws(restored, 10), restored.float(), restored.int(1000), restored.uniform(3, 4)]).toEqual(
      after,
    );
    expect(Rng.fromState(saved).state()).toEqual(saved);
  });

  // normal() caches the second Box–Muller value; state() carries it so checkpoints restore it.
  it('restores normal() after an odd number of normal draws', () => {
    const r = new Rng(2);
    r.normal();
    const saved = r.state();
    const next = r.normal();
    expect(Rng.fromState(saved).normal()).toBe(next);
  });

  it('gives distinct streams for seeds 0 and 2^32, and rejects fractional seeds', () => {
    expect(draws(new Rng(0), 4)).not.toEqual(draws(new Rng(2 ** 32), 4));
    expect(() => new Rng(1.7)).toThrow(/seed 1.7 must be an integer/);
  });
});

describe('Rng distributions (sanity, fixed seeds)', () => {
  const N = 20_000;

  it('float is in [0, 1) with mean ≈ 1/2 and variance ≈ 1/12', () => {
    const r = new Rng(11);
    let sum = 0;
    let sq = 0;
    let outside = 0;
    for (let i = 0; i < N; i++) {
      const v = r.float();
      if (!(v >= 0 && v < 1)) outside++;
      sum += v;
      sq += v * v;
    }
    expect(outside).toBe(0);
    const mean = sum / N;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01); // σ/√N ≈ 0.002
    expect(Math.abs(sq / N - mean * mean - 1 / 12)).toBeLessThan(0.005);
  });

  it('int(n) is uniform over 0..n−1 (chi-square)', () => {
    const r = new Rng(12);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < N; i++) counts[r.int(10)]!++;
    const expected = N / 10;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(27.9); // df = 9, p = 0.001
    expect(() => r.int(0)).toThrow(RangeError);
  });

  it('intBetween hits both inclusive ends and nothing outside', () => {
    const r = new Rng(13);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(r.intBetween(-2, 2));
    expect([...seen].sort((a, b) => a - b)).toEqual([-2, -1, 0, 1, 2]);
  });

  it('normal has mean ≈ 0 and std ≈ 1, and honours mean/std', () => {
    const r = new Rng(14);
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < N; i++) {
      const v = r.normal();
      sum += v;
      sq += v * v;
    }
    expect(Math.abs(sum / N)).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(sq / N) - 1)).toBeLessThan(0.03);
    const shifted = Array.from({ length: 2000 }, () => r.normal(10, 0.5));
    expect(Math.abs(shifted.reduce((a, b) => a + b, 0) / 2000 - 10)).toBeLessThan(0.05);
  });

  it('categorical follows the weights; zero-weight items never come up', () => {
    const r = new Rng(15);
    const counts = [0, 0, 0];
    for (let i = 0; i < N; i++) counts[r.categorical([1, 0, 3])]!++;
    expect(counts[1]).toBe(0);
    expect(Math.abs(counts[0]! / N - 0.25)).toBeLessThan(0.015);
    expect(() => r.categorical([0, 0])).toThrow(RangeError);
  });

  it('shuffle is a permutation and pick stays in range', () => {
    const r = new Rng(16);
    const items = Array.from({ length: 50 }, (_, i) => i);
    const shuffled = r.shuffle([...items]);
    expect(shuffled).not.toEqual(items);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(items);
    for (let i = 0; i < 100; i++) expect(items).toContain(r.pick(items));
    expect(() => r.pick([])).toThrow(RangeError);
  });
});
