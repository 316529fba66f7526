/**
 * The oracle's clearance rule (`OracleOptions.negativeClearance`, `pretrain --negative-clearance f`):
 * an extra region whose safest negative click (its far point) is closer to the object than f × the
 * image's long side is skipped as if it were not there. The oracle then clicks the next clickable
 * extra region, or the missed region alone, or stops; the rule reaches the refinement pools, and bad
 * values are refused by name.
 */
import { describe, expect, it } from 'vitest';
import { registerPretrainCommand } from '../../cli/commands/pretrain.ts';
import { farNegativePoint, oracleDecision } from '../../core/agent/index.ts';
import { BinaryMask, errorRegions } from '../../core/mask/index.ts';
import { PointerPolicy } from '../../core/policy/index.ts';
import {
  DEFAULT_PRETRAIN,
  buildPools,
  clickLabels,
  oracleTargets,
  pretrain,
} from '../../core/pretrain/index.ts';
import { exampleEncoder } from '../../core/pretrain/fresh-examples.ts';
import { TINY } from '../policy/fixtures.ts';
import { commandError } from '../helpers/command-error.ts';
import { SMALL_PRETRAIN, useGrabCutPool } from '../helpers/grabcut-pool.ts';

const SIDE = 32;

function rect(x1: number, y1: number, x2: number, y2: number): BinaryMask {
  const m = new BinaryMask(SIDE, SIDE);
  for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) m.set(x, y, 1);
  return m;
}

function union(...masks: BinaryMask[]): BinaryMask {
  const out = new BinaryMask(SIDE, SIDE);
  for (let i = 0; i < out.data.length; i++) out.data[i] = masks.some((m) => m.data[i]) ? 1 : 0;
  return out;
}

/** Distance from a point to the nearest pixel centre of `m` (brute force). */
function distanceTo(m: BinaryMask, p: readonly [number, number]): number {
  let best = Infinity;
  for (let y = 0; y < m.height; y++)
    for (let x = 0; x < m.width; x++)
      if (m.get(x, y)) best = Math.min(best, Math.hypot(x + 0.5 - p[0], y + 0.5 - p[1]));
  return best;
}

// The object 10..22; a mask 8..24 around it leaves a 2-px rim, the thin extra region a near-exact
// box gives GrabCut.
const gt = rect(10, 10, 22, 22);
const rimMask = rect(8, 8, 24, 24);
const [rim] = errorRegions(rimMask, gt).extra;
if (!rim) throw new Error('no rim');
/** The rim's far point's distance to the object, as a fraction of the 32-px side. */
const rimClearance = distanceTo(gt, farNegativePoint(rim, gt)) / SIDE;

describe('the oracle with a clearance rule', () => {
  it('clicks the rim below its clearance and stops above it', () => {
    expect(rimClearance).toBeGreaterThan(0);
    const below = oracleDecision(rimMask, gt, { negativeClearance: rimClearance - 0.005 });
    expect(below.action.negative).toEqual(rim.centre);
    expect(below.negativeRegion?.area).toBe(rim.area);
    // The far point it found on the way is the one the `far` targets would compute.
    expect(below.farNegative).toEqual(farNegativePoint(rim, gt));
    // Off (the default): the same click, without the far point.
    const off = oracleDecision(rimMask, gt);
    expect(off.action).toEqual(below.action);
    expect(off.farNegative).toBeUndefined();
    const above = oracleDecision(rimMask, gt, { negativeClearance: rimClearance + 0.005 });
    expect(above.action).toEqual({ kind: 'points', positive: null, negative: null });
    expect(above.negativeRegion).toBeUndefined();
  });

  it('clicks the next extra region that is clickable, at its far point', () => {
    // The rim (larger) and a blob apart from the object in the corner.
    const blobMask = rect(26, 0, 32, 6);
    const mask = union(rimMask, blobMask);
    const [first, second] = errorRegions(mask, gt).extra;
    expect(first?.area).toBe(rim.area);
    const off = oracleDecision(mask, gt);
    expect(off.negativeRegion?.area).toBe(rim.area);
    const on = oracleDecision(mask, gt, { negativeClearance: rimClearance + 0.005 });
    expect(on.negativeRegion?.area).toBe(second?.area);
    expect(on.action.negative).toEqual(second?.centre);
    // Apart from the object, the far point is the region's own centre; the targets read it.
    expect(on.farNegative).toEqual(second?.centre);
    const { codec } = exampleEncoder(TINY);
    const size = { width: SIDE, height: SIDE };
    const t = oracleTargets(on, size, codec, 'far', gt);
    expect(t.ids.slice(-2)).toEqual(codec.encodePoint(on.farNegative!, size));
  });

  it('clicks the missed part alone when the only extra region is too thin to click', () => {
    // The mask misses a 3×3 corner of the object: alone it is below the both-ratio of the rim (so
    // the oracle clicks only the rim); with the rim skipped, the missed part is what is left to click.
    const missedHole = rect(10, 10, 13, 13);
    const mask = new BinaryMask(SIDE, SIDE, rimMask.data.slice());
    for (let i = 0; i < mask.data.length; i++) if (missedHole.data[i]) mask.data[i] = 0;
    const off = oracleDecision(mask, gt);
    expect(off.action.positive).toBeNull();
    expect(off.action.negative).not.toBeNull();
    const on = oracleDecision(mask, gt, { negativeClearance: rimClearance + 0.005 });
    expect(on.action.negative).toBeNull();
    expect(on.action.positive).not.toBeNull();
    expect(gt.get(Math.floor(on.action.positive![0]), Math.floor(on.action.positive![1]))).toBe(1);
  });
});

describe('pretrain --negative-clearance', () => {
  const env = useGrabCutPool();
  const OPTS = SMALL_PRETRAIN;

  it('is off by default and reaches the labels', () => {
    expect(DEFAULT_PRETRAIN.negativeClearance).toBe(0);
    expect(clickLabels({ pointTargets: 'far', negativeClearance: 0.02 })).toEqual({
      pointTargets: 'far',
      negativeClearance: 0.02,
    });
  });

  it('makes the oracle stop on more of the pool states', async () => {
    const policy = await PointerPolicy.create(TINY, { seed: 1 });
    const pools = async (negativeClearance: number) =>
      buildPools(policy, env(), { ...OPTS, negativeClearance });
    const off = await pools(0);
    const on = await pools(0.05);
    expect(on.stopFraction).toBeGreaterThan(off.stopFraction);
    policy.dispose();
  }, 120_000);

  it('refuses bad values, naming the option', async () => {
    const policy = await PointerPolicy.create(TINY, { seed: 1 });
    for (const bad of [-0.01, 0.5, Number.NaN]) {
      await expect(pretrain(policy, env(), { ...OPTS, negativeClearance: bad })).rejects.toThrow(
        /negativeClearance/,
      );
    }
    policy.dispose();
    for (const bad of ['2', '-0.1', 'x']) {
      expect(await commandError(registerPretrainCommand, 'pretrain', ['--negative-clearance', bad])).toMatch(
        new RegExp(`--negative-clearance.*${bad.replace('.', '\\.')}`),
      );
    }
  });
});
