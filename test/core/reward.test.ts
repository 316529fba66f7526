import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import type { Point } from '../../core/geometry/index.ts';
import type { ErrorRegion } from '../../core/mask/index.ts';
import {
  DEFAULT_REWARD_CONFIG,
  auxiliaryReward,
  boxL1ThresholdFor,
  gradeDelta,
  localizationReward,
  maskCaseOf,
  maskUnderstandingReward,
  rewardConfig,
} from '../../core/reward/index.ts';

describe('localizationReward', () => {
  const gtBox = [100, 100, 200, 200] as const;

  it('scales the L1 threshold with the long side (10 px at 840)', () => {
    expect(boxL1ThresholdFor({ width: 840, height: 420 })).toBe(10);
    expect(boxL1ThresholdFor({ width: 300, height: 420 })).toBe(5);
    expect(boxL1ThresholdFor({ width: 1680, height: 1000 })).toBe(20);
  });

  it('reproduces the hand-computed table', () => {
    // pred [105,95,205,210] vs gt [100,100,200,200]:
    //   intersection 95×100 = 9500, areas 100×115 = 11500 and 10000, union 12000 → IoU 0.7917 ≥ 0.5
    //   corner L1 = (5 + 5 + 5 + 10) / 4 = 6.25 px
    const pred = [105, 95, 205, 210] as const;
    const big = localizationReward({
      parsed: true,
      predBox: pred,
      gtBox,
      imageSize: { width: 840, height: 420 },
      samIou: 0.8,
    });
    expect(big).toMatchObject({
      format: 1,
      boxIou: 1,
      boxL1: 1,
      sam: 0.8,
      l1ThresholdPx: 10,
      rawBoxL1Px: 6.25,
    });
    expect(big.rawBoxIou).toBeCloseTo(9500 / 12000, 12);
    expect(big.total).toBeCloseTo(3.8, 12);
    // On a 420-px image τ = 5 px, so 6.25 px misses the L1 point.
    const small = localizationReward({
      parsed: true,
      predBox: pred,
      gtBox,
      imageSize: { width: 420, height: 300 },
      samIou: 0.8,
    });
    expect(small).toMatchObject({ boxIou: 1, boxL1: 0, l1ThresholdPx: 5 });
    expect(small.total).toBeCloseTo(2.8, 12);
    // Far away: only format + R_SAM.
    const far = localizationReward({
      parsed: true,
      predBox: [300, 300, 400, 400],
      gtBox,
      imageSize: { width: 840, height: 840 },
      samIou: 0.1,
    });
    expect(far).toMatchObject({ format: 1, boxIou: 0, boxL1: 0, rawBoxIou: 0, rawBoxL1Px: 200 });
    expect(far.total).toBeCloseTo(1.1, 12);
  });

  it('counts IoU exactly at the threshold as accurate', () => {
    // [0,0,100,50] inside [0,0,100,100]: 5000 / 10000 = 0.5; L1 = 50/4 = 12.5 > 10.
    const r = localizationReward({
      parsed: true,
      predBox: [0, 0, 100, 50],
      gtBox: [0, 0, 100, 100],
      imageSize: { width: 840, height: 840 },
      samIou: 0,
    });
    expect(r).toMatchObject({ boxIou: 1, boxL1: 0, total: 2 });
  });

  it('gives 0 for a format error', () => {
    const r = localizationReward({
      parsed: false,
      predBox: null,
      gtBox,
      imageSize: { width: 840, height: 840 },
      samIou: 0.9,
    });
    expect(r).toMatchObject({ format: 0, boxIou: 0, boxL1: 0, sam: 0, total: 0 });
  });

  it('uses thresholds from config', () => {
    const cfg = rewardConfig({ boxIouThreshold: 0.8, boxL1ThresholdPx: 20 });
    const r = localizationReward(
      {
        parsed: true,
        predBox: [105, 95, 205, 210],
        gtBox,
        imageSize: { width: 420, height: 420 },
        samIou: 0.5,
      },
      cfg,
    );
    expect(r).toMatchObject({ boxIou: 0, boxL1: 1, l1ThresholdPx: 10 });
  });

  it('rejects an out-of-range R_SAM', () => {
    expect(() =>
      localizationReward({
        parsed: true,
        predBox: gtBox,
        gtBox,
        imageSize: { width: 840, height: 840 },
        samIou: 1.2,
      }),
    ).toThrow(new ValidationError('samIou', 1.2, 'must be in [0, 1]'));
  });
});

describe('maskUnderstandingReward', () => {
  it('grades Δ by [0, 0.1, 0.5] (strictly above each threshold)', () => {
    expect([-0.3, 0, 1e-9, 0.1, 0.10001, 0.5, 0.50001, 1].map((d) => gradeDelta(d))).toEqual([
      0, 0, 1, 1, 2, 2, 3, 3,
    ]);
  });

  // case × action table; Δ = after − before.
  const table: Array<{
    name: string;
    mod: number;
    before: number;
    after?: number;
    action: 'stop' | 'positive' | 'negative' | 'both';
    want: { case: string; dcs: number; deltaReward: number; total: number };
  }> = [
    {
      name: 'stop on good enough → 1 + 3',
      mod: 0.93,
      before: 0.88,
      action: 'stop',
      want: { case: 'good_enough', dcs: 1, deltaReward: 3, total: 4 },
    },
    {
      name: 'modified IoU exactly 0.9 is good enough',
      mod: 0.9,
      before: 0.85,
      action: 'stop',
      want: { case: 'good_enough', dcs: 1, deltaReward: 3, total: 4 },
    },
    {
      name: 'stop when refinement needed → 0',
      mod: 0.6,
      before: 0.55,
      action: 'stop',
      want: { case: 'needs_refinement', dcs: 0, deltaReward: 0, total: 0 },
    },
    {
      name: 'needed, Δ = 0.05 → 1 + 1',
      mod: 0.6,
      before: 0.5,
      after: 0.55,
      action: 'positive',
      want: { case: 'needs_refinement', dcs: 1, deltaReward: 1, total: 2 },
    },
    {
      name: 'needed, Δ = 0.3 → 1 + 2',
      mod: 0.4,
      before: 0.3,
      after: 0.6,
      action: 'both',
      want: { case: 'needs_refinement', dcs: 1, deltaReward: 2, total: 3 },
    },
    {
      name: 'needed, Δ = 0.6 → 1 + 3',
      mod: 0.25,
      before: 0.2,
      after: 0.8,
      action: 'negative',
      want: { case: 'needs_refinement', dcs: 1, deltaReward: 3, total: 4 },
    },
    {
      name: 'needed, Δ = −0.1 (harmful, beyond the 0.02 tolerance) → 1 − 1.5',
      mod: 0.6,
      before: 0.5,
      after: 0.4,
      action: 'positive',
      want: { case: 'needs_refinement', dcs: 1, deltaReward: -1.5, total: -0.5 },
    },
    {
      name: 'needed, Δ = −0.01 (within the tolerance) → 1 + 0',
      mod: 0.6,
      before: 0.5,
      after: 0.49,
      action: 'positive',
      want: { case: 'needs_refinement', dcs: 1, deltaReward: 0, total: 1 },
    },
    {
      name: 'refining a good mask that improves, Δ = 0.05 → 0 + 1',
      mod: 0.95,
      before: 0.85,
      after: 0.9,
      action: 'positive',
      want: { case: 'good_enough', dcs: 0, deltaReward: 1, total: 1 },
    },
    {
      name: 'refining a good mask that worsens by 0.05 → 0 − 1.5',
      mod: 0.95,
      before: 0.85,
      after: 0.8,
      action: 'both',
      want: { case: 'good_enough', dcs: 0, deltaReward: -1.5, total: -1.5 },
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const r = maskUnderstandingReward({
        modifiedIouBefore: row.mod,
        iouBefore: row.before,
        iouAfter: row.after,
        actionType: row.action,
        formatOk: true,
      });
      expect(r).toMatchObject(row.want);
      expect(r.delta).toBeCloseTo(row.after === undefined ? 0 : row.after - row.before, 12);
    });
  }

  it('gives 0 for a format error, in either case', () => {
    for (const mod of [0.95, 0.3]) {
      const r = maskUnderstandingReward({
        modifiedIouBefore: mod,
        iouBefore: 0.3,
        iouAfter: 0.9,
        actionType: 'both',
        formatOk: false,
      });
      expect(r.total).toBe(0);
      expect(r.dcs).toBe(0);
    }
  });

  it('pays R_DCS for a refinement that does not help only as far as neutralRefineCredit says', () => {
    const at = (credit: number | undefined, after: number) =>
      maskUnderstandingReward(
        { modifiedIouBefore: 0.6, iouBefore: 0.5, iouAfter: after, actionType: 'positive', formatOk: true },
        rewardConfig(credit === undefined ? {} : { neutralRefineCredit: credit }),
      );
    // Δ = 0 and Δ = −0.01 (within the harm tolerance): the paper pays 1; credit 0 pays what a stop pays.
    for (const after of [0.5, 0.49]) {
      expect(at(undefined, after)).toMatchObject({ dcs: 1, total: 1 });
      expect(at(0.25, after)).toMatchObject({ dcs: 0.25, total: 0.25 });
      expect(at(0, after)).toMatchObject({ dcs: 0, total: 0 });
    }
    // A helpful click keeps its full R_DCS; a harmful one keeps its penalty (still below a stop).
    expect(at(0, 0.55)).toMatchObject({ dcs: 1, deltaReward: 1, total: 2 });
    expect(at(0, 0.4).total).toBe(-0.5);
    // The stop on a mask that needs refinement is unaffected.
    const stop = maskUnderstandingReward(
      { modifiedIouBefore: 0.6, iouBefore: 0.5, actionType: 'stop', formatOk: true },
      rewardConfig({ neutralRefineCredit: 0 }),
    );
    expect(stop.total).toBe(0);
    expect(() => rewardConfig({ neutralRefineCredit: 1.5 })).toThrow(/neutralRefineCredit/);
  });

  it('can withhold R_Δ from refinements of good masks', () => {
    const cfg = rewardConfig({ deltaOnGoodEnough: false });
    const r = maskUnderstandingReward(
      { modifiedIouBefore: 0.95, iouBefore: 0.85, iouAfter: 0.9, actionType: 'positive', formatOk: true },
      cfg,
    );
    expect(r).toMatchObject({ dcs: 0, deltaReward: 0, total: 0 });
  });

  it('takes its thresholds and the stop bonus from config', () => {
    const cfg = rewardConfig({ deltaThresholds: [0, 0.2], goodEnoughIou: 0.8 });
    expect(
      maskUnderstandingReward(
        { modifiedIouBefore: 0.85, iouBefore: 0.8, actionType: 'stop', formatOk: true },
        cfg,
      ).total,
    ).toBe(3);
    expect(
      maskUnderstandingReward(
        { modifiedIouBefore: 0.5, iouBefore: 0.2, iouAfter: 0.9, actionType: 'both', formatOk: true },
        cfg,
      ).total,
    ).toBe(3);
    expect(() => rewardConfig({ deltaThresholds: [0.5, 0.1] })).toThrow(/must be strictly ascending/);
  });

  it('requires iouAfter for a refinement and IoUs in [0, 1]', () => {
    expect(() =>
      maskUnderstandingReward({
        modifiedIouBefore: 0.5,
        iouBefore: 0.5,
        actionType: 'positive',
        formatOk: true,
      }),
    ).toThrow(new ValidationError('iouAfter', undefined, "is required for a 'positive' refinement"));
    expect(() =>
      maskUnderstandingReward({
        modifiedIouBefore: Number.NaN,
        iouBefore: 0.5,
        actionType: 'stop',
        formatOk: true,
      }),
    ).toThrow('modifiedIouBefore NaN must be in [0, 1]');
  });

  it('under the improvable rule, a mask the env cannot improve is GOOD ENOUGH and stopping pays', () => {
    // (modified IoU, improvable) → case, for each rule.
    const absolute = rewardConfig({ caseRule: 'absolute' });
    expect(maskCaseOf(0.5, false)).toBe('good_enough');
    expect(maskCaseOf(0.5, true)).toBe('needs_refinement');
    expect(maskCaseOf(0.5, undefined)).toBe('needs_refinement');
    expect(maskCaseOf(0.95, true)).toBe('good_enough');
    expect(maskCaseOf(0.5, false, absolute)).toBe('needs_refinement');
    const base = { modifiedIouBefore: 0.5, iouBefore: 0.45, formatOk: true } as const;
    // Unfixable (e.g. the box is on the wrong object): stop 1 + 3 = 4; a click that changes
    // nothing earns 0 (it earned R_DCS = 1 under the absolute rule); a lucky gain of 0.05 earns 1.
    expect(maskUnderstandingReward({ ...base, improvable: false, actionType: 'stop' }).total).toBe(4);
    expect(
      maskUnderstandingReward({ ...base, improvable: false, actionType: 'positive', iouAfter: 0.45 }).total,
    ).toBe(0);
    expect(
      maskUnderstandingReward({ ...base, improvable: false, actionType: 'positive', iouAfter: 0.5 }).total,
    ).toBe(1);
    expect(
      maskUnderstandingReward(
        { ...base, improvable: false, actionType: 'positive', iouAfter: 0.45 },
        absolute,
      ).total,
    ).toBe(1);
    // Fixable: the paper's table, stop 0, refine 1 + R_Δ.
    expect(maskUnderstandingReward({ ...base, improvable: true, actionType: 'stop' }).total).toBe(0);
    expect(
      maskUnderstandingReward({ ...base, improvable: true, actionType: 'both', iouAfter: 0.7 }).total,
    ).toBe(3);
  });

  it('pays a correct stop R_DCS + stopBonus when set, R_DCS + the number of thresholds otherwise', () => {
    const good = { modifiedIouBefore: 0.95, iouBefore: 0.93, formatOk: true, actionType: 'stop' } as const;
    expect(maskUnderstandingReward(good).total).toBe(4);
    expect(maskUnderstandingReward(good, rewardConfig({ deltaThresholds: [0, 0.2] })).total).toBe(3);
    const two = rewardConfig({ stopBonus: 2 });
    expect(maskUnderstandingReward(good, two)).toMatchObject({ dcs: 1, deltaReward: 2, total: 3 });
    // A wrong stop and every refinement are unchanged by it.
    const bad = { modifiedIouBefore: 0.5, iouBefore: 0.45, formatOk: true } as const;
    expect(maskUnderstandingReward({ ...bad, actionType: 'stop', improvable: true }, two).total).toBe(0);
    expect(
      maskUnderstandingReward({ ...bad, actionType: 'both', iouAfter: 0.7, improvable: true }, two).total,
    ).toBe(3);
    expect(() => rewardConfig({ stopBonus: -1 })).toThrow();
  });
});

/** A disk-shaped error region: depth = R − distance to the centre, so closeness = 1 − d/R. */
function disk(kind: 'missed' | 'extra', cx: number, cy: number, radius: number): ErrorRegion {
  const dist = (p: Point): number => Math.hypot(p[0] - cx, p[1] - cy);
  return {
    kind,
    area: Math.round(Math.PI * radius * radius),
    bbox: [cx - radius, cy - radius, cx + radius, cy + radius],
    centre: [cx, cy],
    radius,
    contains: (p) => dist(p) < radius,
    depthAt: (p) => Math.max(0, radius - dist(p)),
  };
}

describe('auxiliaryReward', () => {
  const missed = [disk('missed', 20, 20, 10), disk('missed', 100, 20, 4)];
  const extra = [disk('extra', 60, 60, 5)];
  const run = (positive: Point | null, negative: Point | null, m = missed, e = extra, formatOk = true) =>
    auxiliaryReward({ action: { positive, negative }, missed: m, extra: e, formatOk });

  it('scores both points at the centres with the maximum, 1 + 1.5 × 2 = 4', () => {
    expect(run([20, 20], [60, 60])).toEqual({ format: 1, positive: 1, negative: 1, total: 4 });
  });

  it('scores closeness = depth / radius', () => {
    // p+ 5 px from a radius-10 centre → 0.5; p− 1 px from a radius-5 centre → 0.8.
    const r = run([25, 20], [61, 60]);
    expect(r.positive).toBeCloseTo(0.5, 12);
    expect(r.negative).toBeCloseTo(0.8, 12);
    expect(r.total).toBeCloseTo(1 + 1.5 * 1.3, 12);
    // Any missed region counts: 2 px into the radius-4 one → 0.5.
    expect(run([102, 20], null).positive).toBeCloseTo(0.5, 12);
  });

  it('gives 0 for a point of the wrong kind or outside every region', () => {
    expect(run([60, 60], [20, 20])).toEqual({ format: 1, positive: 0, negative: 0, total: 1 });
    expect(run([300, 300], [0, 100])).toMatchObject({ positive: 0, negative: 0, total: 1 });
  });

  it('gives 0 to a part left null while regions of its kind exist', () => {
    expect(run(null, null)).toEqual({ format: 1, positive: 0, negative: 0, total: 1 });
    expect(run([20, 20], null)).toMatchObject({ positive: 1, negative: 0, total: 2.5 });
  });

  it('rewards null for a kind with no regions, and penalises a point there', () => {
    expect(run([20, 20], null, missed, [])).toMatchObject({ positive: 1, negative: 1, total: 4 });
    expect(run([20, 20], [60, 60], missed, [])).toMatchObject({ positive: 1, negative: 0, total: 2.5 });
    expect(run(null, [60, 60], [], extra)).toMatchObject({ positive: 1, negative: 1, total: 4 });
  });

  it('scores stop as full only when nothing is wrong', () => {
    expect(run(null, null, [], [])).toEqual({ format: 1, positive: 1, negative: 1, total: 4 });
    // By default a stop on a mask with errors of one kind keeps the other part's "nothing to mark"
    // (1 + 1.5 = 2.5, as much as a click that misses); auxiliaryStopCredit scales that credit.
    expect(run(null, null, missed, [])).toEqual({ format: 1, positive: 0, negative: 1, total: 2.5 });
    expect(run(null, null, [], extra)).toEqual({ format: 1, positive: 1, negative: 0, total: 2.5 });
    expect(run([300, 300], null, missed, [])).toMatchObject({ positive: 0, negative: 1, total: 2.5 });
    const strict = rewardConfig({ auxiliaryStopCredit: 0 });
    const half = rewardConfig({ auxiliaryStopCredit: 0.5 });
    const stopOn = (cfg: typeof strict) =>
      auxiliaryReward({ action: { positive: null, negative: null }, missed, extra: [], formatOk: true }, cfg)
        .total;
    expect(stopOn(strict)).toBe(1);
    expect(stopOn(half)).toBe(1.75);
    expect(run([20, 20], null, [], [])).toMatchObject({ positive: 0, negative: 1, total: 2.5 });
    expect(run([20, 20], [60, 60], [], [])).toMatchObject({ total: 1 });
  });

  it('gives 0 for a format error', () => {
    expect(run([20, 20], [60, 60], missed, extra, false)).toEqual({
      format: 0,
      positive: 0,
      negative: 0,
      total: 0,
    });
    expect(auxiliaryReward({ action: null, missed, extra, formatOk: true }).total).toBe(0);
  });

  it('has the same maximum as the other tasks', () => {
    const cfg = DEFAULT_REWARD_CONFIG;
    expect(1 + 2 * cfg.auxiliaryPartWeight).toBe(4);
    expect(run([20, 20], [60, 60], missed, extra).total).toBe(4);
  });
});
