/**
 * `refineJitter` (`pretrain --refine-jitter lo,hi[,uniform|log]`): how far the refinement
 * states' GT boxes are jittered. The uniform draw is the one the earlier recipe made (so its pools
 * rebuild unchanged), the log draw (the default) stays in range and spreads evenly in log j, bad ranges are
 * refused by name, and the range reaches the pools: exact boxes give GrabCut's best start masks.
 */
import { describe, expect, it } from 'vitest';
import { registerPretrainCommand } from '../../cli/commands/pretrain.ts';
import { ValidationError } from '../../core/errors/index.ts';
import { PointerPolicy } from '../../core/policy/index.ts';
import {
  DEFAULT_PRETRAIN,
  buildPools,
  checkRefineJitter,
  drawJitter,
  pretrain,
} from '../../core/pretrain/index.ts';
import { Rng } from '../../core/rng/index.ts';
import { TINY } from '../policy/fixtures.ts';
import { commandError } from '../helpers/command-error.ts';
import { SMALL_PRETRAIN, useGrabCutPool } from '../helpers/grabcut-pool.ts';

const OPTS = SMALL_PRETRAIN;
const env = useGrabCutPool();

describe('refinement jitter', () => {
  it('draws uniformly in j as the earlier recipe did, and in log scale within range', () => {
    const a = new Rng('j');
    const b = new Rng('j');
    const uniform = { lo: 0.03, hi: 0.3, log: false };
    for (let i = 0; i < 50; i++) expect(drawJitter(a, uniform)).toBe(b.uniform(0.03, 0.3));
    expect(DEFAULT_PRETRAIN.refineJitter).toEqual({ lo: 0.02, hi: 0.3, log: true });
    const log = { lo: 0.01, hi: 0.3, log: true };
    const c = new Rng('log');
    const d = new Rng('log');
    const draws = Array.from({ length: 4000 }, () => drawJitter(c, log));
    for (let i = 0; i < 4000; i++) d.float();
    // One uniform per draw: the streams are in step afterwards.
    expect(c.float()).toBe(d.float());
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0.01);
    expect(Math.max(...draws)).toBeLessThanOrEqual(0.3);
    // Half the draws below the geometric mean (√(0.01 · 0.3) ≈ 0.055), not the arithmetic one.
    const below = draws.filter((x) => x < Math.sqrt(0.01 * 0.3)).length / draws.length;
    expect(below).toBeGreaterThan(0.47);
    expect(below).toBeLessThan(0.53);
  });

  it('refuses bad ranges, naming the option', async () => {
    for (const bad of [
      { lo: 0.2, hi: 0.1, log: false },
      { lo: -0.1, hi: 0.1, log: false },
      { lo: 0, hi: 0.3, log: true },
      { lo: 0.1, hi: Number.NaN, log: false },
    ]) {
      expect(() => checkRefineJitter(bad)).toThrow(ValidationError);
      expect(() => checkRefineJitter(bad)).toThrow(/refineJitter/);
    }
    const policy = await PointerPolicy.create(TINY, { seed: 1 });
    await expect(
      pretrain(policy, env(), { ...OPTS, refineJitter: { lo: 0.3, hi: 0.1, log: false } }),
    ).rejects.toThrow(/refineJitter/);
    policy.dispose();
    for (const bad of ['0.3,0.1', '0.1', 'a,b', '0.1,2', '0,0.3,log', '0.1,0.3,cubic', '0.1,0.2,log,x']) {
      expect(await commandError(registerPretrainCommand, 'pretrain', ['--refine-jitter', bad])).toContain(
        `--refine-jitter <lo,hi[,scale]>' argument '${bad}'`,
      );
    }
  });

  it('reaches the pools: exact boxes start from better masks than loose ones', async () => {
    const policy = await PointerPolicy.create(TINY, { seed: 1 });
    const startIou = async (lo: number, hi: number): Promise<number> =>
      (await buildPools(policy, env(), { ...OPTS, refineJitter: { lo, hi, log: false } })).startIou;
    const exact = await startIou(0, 0);
    const loose = await startIou(0.3, 0.3);
    expect(exact).toBeGreaterThan(loose + 0.05);
    // Reproducible: the same range gives the same pools.
    expect(await startIou(0, 0)).toBe(exact);
    policy.dispose();
  }, 120_000);
});
