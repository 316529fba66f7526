/**
 * Soft click targets of the warm start (core/pretrain/point-targets.ts): the patch token's target
 * spread over the clicked region's patches by depth, each patch's offset at its deepest pixel, the
 * supervised loss reading them, and the sampled conditioning of `depth-sampled`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oracleDecision } from '../../core/agent/index.ts';
import { ValidationError } from '../../core/errors/index.ts';
import { BinaryMask, errorRegions } from '../../core/mask/index.ts';
import {
  PointerPolicy,
  Slot,
  buildTargets,
  initTf,
  scoreTargets,
  tf,
  type ActionTokens,
  type PolicyObservation,
} from '../../core/policy/index.ts';
import {
  FAR_DEPTH_WEIGHT,
  farNegativePoint,
  oracleTargets,
  regionPatchTargets,
  resampleClickPatches,
} from '../../core/pretrain/index.ts';
import { FreshExampleStream } from '../../core/pretrain/fresh-examples.ts';
import { resolvePolicyConfig } from '../../core/policy/index.ts';
import { Rng } from '../../core/rng/index.ts';
import { TINY, makeFixture } from '../policy/fixtures.ts';

// TINY on a 32×32 image: a 4×4 grid of 8-px patches, 4×4 offset bins of 2 px.
const SIZE = { width: 32, height: 32 };

function rect(x1: number, y1: number, x2: number, y2: number): BinaryMask {
  const m = new BinaryMask(32, 32);
  for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) m.set(x, y, 1);
  return m;
}

let policy: PointerPolicy;
beforeAll(async () => {
  await initTf();
  policy = await PointerPolicy.create(TINY, { seed: 3 });
});
afterAll(() => policy.dispose());

describe('regionPatchTargets', () => {
  it('weights each patch by depth² of its deepest pixel and keeps that pixel as its offset', () => {
    // A 14×6 region at x 2..16, y 9..15: patches (row 1, cols 0..2). Deepest pixels (depth 3) lie in
    // the middle row; col 0 holds x 2..7, col 1 x 8..15, col 2 x 16 only (not in the region: x2 = 16).
    const [region] = errorRegions(new BinaryMask(32, 32), rect(2, 9, 16, 15)).missed;
    if (!region) throw new Error('no region');
    const { weights, offsets } = regionPatchTargets(region, SIZE, policy.codec);
    expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    const nonzero = [...weights.keys()].filter((p) => (weights[p] as number) > 0);
    expect(nonzero).toEqual([4, 5]); // row 1, cols 0 and 1
    // Col 1 holds the region's ridge (depth 3); col 0 reaches depth 3 too at x 5..7: check the
    // weights follow the measured depths squared.
    const depthIn = (p: number): number => {
      let best = 0;
      for (let y = 9; y < 15; y++) {
        for (let x = 2; x < 16; x++) {
          const col = Math.floor(x / 8);
          const row = Math.floor(y / 8);
          if (row * 4 + col === p) best = Math.max(best, region.depthAt([x + 0.5, y + 0.5]));
        }
      }
      return best;
    };
    const d4 = depthIn(4);
    const d5 = depthIn(5);
    expect((weights[4] as number) / (weights[5] as number)).toBeCloseTo((d4 * d4) / (d5 * d5), 4);
    // Offsets: −1 off the region; the region's centre keeps its own offset token in its patch.
    expect(offsets[0]).toBe(-1);
    expect(offsets[6]).toBe(-1);
    const [cp, co] = policy.codec.encodePoint(region.centre, SIZE);
    expect(offsets[cp]).toBe(co);
    // The other patch's offset decodes to a pixel of the region at that patch's maximum depth.
    const other = cp === 4 ? 5 : 4;
    const p = policy.codec.decodePoint(other, offsets[other] as number, SIZE);
    expect(region.depthAt(p)).toBeGreaterThan(0);
    expect(region.depthAt(p)).toBeGreaterThanOrEqual(depthIn(other) - 1); // decoded at its 2-px cell's centre
  });

  it('puts the weight on the deep patches of a region that only grazes others', () => {
    // A 12×12 square at 10..22 covers patches (1,1), (1,2), (2,1), (2,2) by 6×6 each, equally deep,
    // and a 3-px sliver added at x 22..25 along y 14..17 reaches into patch (1, 3).
    const gt = rect(10, 10, 22, 22);
    for (let y = 14; y < 17; y++) for (let x = 22; x < 25; x++) gt.set(x, y, 1);
    const [region] = errorRegions(new BinaryMask(32, 32), gt).missed;
    if (!region) throw new Error('no region');
    const { weights } = regionPatchTargets(region, SIZE, policy.codec);
    const square = [5, 6, 9, 10].map((p) => weights[p] as number);
    expect(Math.min(...square)).toBeGreaterThan(0.15);
    // The sliver reaches patch (1, 3) at x 24, one pixel from its boundary: a graze, nearly no weight.
    expect(weights[7]).toBeGreaterThan(0);
    expect(weights[7]).toBeLessThan(0.01);
    expect(square.reduce((a, b) => a + b, 0)).toBeGreaterThan(0.98);
  });
});

describe('oracleTargets', () => {
  it('keeps the oracle tokens and adds soft patch targets for each click in the depth modes', () => {
    const gt = rect(4, 4, 20, 20);
    const mask = rect(4, 4, 12, 20); // misses the right half: a positive click
    for (let y = 24; y < 31; y++) for (let x = 24; x < 31; x++) mask.set(x, y, 1); // and an extra blob
    const decision = oracleDecision(mask, gt);
    expect(decision.positiveRegion).toBeDefined();
    expect(decision.negativeRegion).toBeDefined();
    const centre = oracleTargets(decision, SIZE, policy.codec, 'centre');
    const depth = oracleTargets(decision, SIZE, policy.codec, 'depth');
    expect(centre).toEqual(policy.codec.encodeAction(decision.action, SIZE));
    expect(centre.points).toBeUndefined();
    expect(depth.ids).toEqual(centre.ids);
    const pos = depth.points?.positive as Float32Array;
    const neg = depth.points?.negative as Float32Array;
    // The patch token's hard target (the oracle's click) is the most likely patch of the spread.
    // (The missed strip x 12..20, y 4..20 covers patches 1, 2, 5, 6, 9, 10; its ridge runs down the
    // column border, so several patches tie and the oracle's patch is one of them.)
    expect(pos[centre.ids[1] as number]).toBe(Math.max(...pos));
    expect([...pos.keys()].filter((p) => (pos[p] as number) > 0)).toEqual([1, 2, 5, 6, 9, 10]);
    expect(neg[centre.ids[3] as number]).toBe(Math.max(...neg));
    expect(neg[15]).toBeGreaterThan(0.99); // the 7×7 blob at 24..31 is in patch (3, 3)
    policy.codec.validate(depth);
    // A stop has no click to spread.
    expect(oracleTargets(oracleDecision(gt, gt), SIZE, policy.codec, 'depth').points).toBeUndefined();
  });

  it('rejects soft targets of the wrong length or for a point the action lacks, naming the field', () => {
    const w = new Float32Array(16).fill(1 / 16);
    expect(() =>
      policy.codec.validate({ kind: 'refine', ids: [2, 3, 1], points: { negative: new Float32Array(5) } }),
    ).toThrow(ValidationError);
    expect(() =>
      policy.codec.validate({ kind: 'refine', ids: [2, 3, 1], points: { negative: new Float32Array(5) } }),
    ).toThrow('tokens.points.negative');
    expect(() => policy.codec.validate({ kind: 'refine', ids: [2, 3, 1], points: { positive: w } })).toThrow(
      'tokens.points.positive',
    );
    expect(() =>
      policy.codec.validate({
        kind: 'refine',
        ids: [2, 3, 1],
        points: { negative: w, negativeOffsets: new Float32Array(16) as unknown as Int16Array },
      }),
    ).toThrow('tokens.points.negativeOffsets');
  });
});

describe('soft patch targets in the supervised loss', () => {
  const obs: PolicyObservation[] = [makeFixture(11, 32, 32, true).observation];
  const loss = (tokens: ActionTokens[]): number =>
    tf.tidy(() => policy.supervisedLoss(obs, tokens).dataSync()[0] as number);

  it('scores the patch token against the spread: the loss is linear in it, a one-hot spread is the plain loss', () => {
    const ids = [2, 6, 9] as const; // negative click at patch 6, offset 9
    const onehot = (p: number): Float32Array => {
      const v = new Float32Array(16);
      v[p] = 1;
      return v;
    };
    const mix = new Float32Array(16);
    mix[6] = 0.25;
    mix[11] = 0.75;
    const plain = loss([{ kind: 'refine', ids: [...ids] }]);
    const at6 = loss([{ kind: 'refine', ids: [...ids], points: { negative: onehot(6) } }]);
    const at11 = loss([{ kind: 'refine', ids: [...ids], points: { negative: onehot(11) } }]);
    const mixed = loss([{ kind: 'refine', ids: [...ids], points: { negative: mix } }]);
    expect(at6).toBeCloseTo(plain, 5);
    expect(at11).not.toBeCloseTo(plain, 3);
    // Cross-entropy is linear in the target; the offset token stays conditioned on patch 6 in all three.
    expect(mixed).toBeCloseTo(0.25 * at6 + 0.75 * at11, 5);
    // The score rows: the spread itself without smoothing, mixed with the Gaussian kernel with it.
    const t = buildTargets([{ kind: 'refine', ids: [...ids], points: { negative: mix } }], policy.codec);
    const rows = scoreTargets(t, policy.codec, 0) as Float32Array[];
    expect([...(rows[Slot.negPatch] as Float32Array)]).toEqual([...mix]);
    expect(
      scoreTargets(buildTargets([{ kind: 'refine', ids: [...ids] }], policy.codec), policy.codec, 0),
    ).toBe(undefined);
    const smooth = (scoreTargets(t, policy.codec, 0.1) as Float32Array[])[Slot.negPatch] as Float32Array;
    expect(smooth.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(smooth[11]).toBeGreaterThan(0.6); // 0.9 · 0.75 plus a little kernel mass
    expect(smooth[5]).toBeGreaterThan(0); // patch 6's neighbour, from the kernel around the hard target
  });

  it('training on a spread teaches the patch head the spread', async () => {
    const p = await PointerPolicy.create(TINY, { seed: 9 });
    try {
      const mix = new Float32Array(16);
      mix[6] = 0.3;
      mix[9] = 0.7;
      const tokens: ActionTokens[] = [{ kind: 'refine', ids: [2, 9, 5], points: { negative: mix } }];
      p.setTrainOptions({ learningRate: 0.02 });
      for (let i = 0; i < 150; i++) p.trainStep(() => p.supervisedLoss(obs, tokens));
      // π(patch) from the log-prob of each patch as the target.
      const lp = (patch: number): number =>
        (p.logProbsSync(obs, [{ kind: 'refine', ids: [2, patch, 5] }])[0] as Float32Array)[1] as number;
      expect(Math.exp(lp(9))).toBeCloseTo(0.7, 1);
      expect(Math.exp(lp(6))).toBeCloseTo(0.3, 1);
      expect(Math.exp(lp(0))).toBeLessThan(0.02);
    } finally {
      p.dispose();
    }
  }, 60_000);
});

describe('resampleClickPatches', () => {
  it('draws the conditioning patch from the spread and takes that patch’s deepest offset', () => {
    const weights = new Float32Array(16);
    weights[3] = 0.2;
    weights[7] = 0.8;
    const offsets = new Int16Array(16).fill(-1);
    offsets[3] = 4;
    offsets[7] = 13;
    const t: ActionTokens = {
      kind: 'refine',
      ids: [3, 1, 0, 7, 13], // both: positive at (1, 0) untouched (no spread), negative spread
      points: { negative: weights, negativeOffsets: offsets },
    };
    const rng = new Rng('resample');
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const r = resampleClickPatches(t, rng);
      expect(r.ids.slice(0, 3)).toEqual([3, 1, 0]);
      expect(r.points).toBe(t.points);
      const key = `${r.ids[3]}:${r.ids[4]}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['3:4', '7:13']);
    expect((counts.get('3:4') ?? 0) / 2000).toBeGreaterThan(0.16);
    expect((counts.get('3:4') ?? 0) / 2000).toBeLessThan(0.24);
    // Same seed, same draws; box actions and plain targets pass through.
    const a = new Rng('x');
    const b = new Rng('x');
    expect(resampleClickPatches(t, a).ids).toEqual(resampleClickPatches(t, b).ids);
    const box: ActionTokens = { kind: 'box', ids: [1, 2, 3, 4] };
    expect(resampleClickPatches(box, a)).toBe(box);
  });
});

describe('fresh examples with soft click targets', () => {
  it('carry the spread on auxiliary examples that click, the same in a worker as in this thread', async () => {
    const config = resolvePolicyConfig(TINY);
    const local = await FreshExampleStream.start({
      config,
      seed: 5,
      start: 0,
      inThread: true,
      labels: { pointTargets: 'depth' },
    });
    const worker = await FreshExampleStream.start({
      config,
      seed: 5,
      start: 0,
      labels: { pointTargets: 'depth' },
    });
    const plain = await FreshExampleStream.start({ config, seed: 5, start: 0, inThread: true });
    try {
      let clicks = 0;
      // Most corrupted masks are good enough (a stop); read on until four examples click.
      for (let i = 0; i < 300 && clicks < 4; i++) {
        const [a, b, c] = await Promise.all([local.next(), worker.next(), plain.next()]);
        expect(a.aux![1].ids).toEqual(c.aux![1].ids);
        expect(c.aux![1].points).toBeUndefined();
        if (a.aux![1].ids[0] !== 0) {
          clicks++;
          expect(a.aux![1].points).toBeDefined();
          expect(JSON.stringify(a.aux![1].points)).toBe(JSON.stringify(b.aux![1].points));
        } else expect(a.aux![1].points).toBeUndefined();
      }
      expect(clicks).toBe(4);
    } finally {
      await Promise.all([local.close(), worker.close(), plain.close()]);
    }
  }, 60_000);
});

describe("point targets 'far'", () => {
  /** Distance from a point to the nearest pixel of `m` (brute force). */
  const distanceTo = (m: BinaryMask, p: readonly [number, number]): number => {
    let best = Infinity;
    for (let y = 0; y < m.height; y++)
      for (let x = 0; x < m.width; x++)
        if (m.get(x, y)) best = Math.min(best, Math.hypot(x + 0.5 - p[0], y + 0.5 - p[1]));
    return best;
  };

  it('moves a negative click on a thin rim away from the object, and leaves a far region its centre', () => {
    // The object 10..22 inside a mask 6..26 (a 4-px rim), plus an extra blob 27..31 × 0..5 apart from it.
    const gt = rect(10, 10, 22, 22);
    const mask = rect(6, 6, 26, 26);
    const [rim] = errorRegions(mask, gt).extra;
    if (!rim) throw new Error('no rim');
    const far = farNegativePoint(rim, gt);
    expect(rim.depthAt(far)).toBeGreaterThan(0);
    expect(distanceTo(gt, far)).toBeGreaterThan(distanceTo(gt, rim.centre) + 1);
    // The score is min(distance to the object, 2 × depth): no pixel of the rim scores higher.
    const score = (p: readonly [number, number]): number =>
      Math.min(distanceTo(gt, p), FAR_DEPTH_WEIGHT * rim.depthAt(p as [number, number]));
    for (let y = 6; y < 26; y++)
      for (let x = 6; x < 26; x++) {
        const p: [number, number] = [x + 0.5, y + 0.5];
        if (rim.depthAt(p) > 0) expect(score(p)).toBeLessThanOrEqual(score(far) + 1e-9);
      }
    // A region that does not touch the object: min(·) is its depth, so its deepest pixel, the centre.
    const blob = rect(24, 0, 32, 8);
    const [apart] = errorRegions(blob, gt).extra;
    if (!apart) throw new Error('no blob');
    expect(farNegativePoint(apart, gt)).toEqual(apart.centre);
  });

  it("encodes the far point as the negative click's token, and needs the GT mask", () => {
    const gt = rect(10, 10, 22, 22);
    const mask = rect(6, 6, 26, 26);
    const decision = oracleDecision(mask, gt);
    expect(decision.action.negative).not.toBeNull();
    const centre = oracleTargets(decision, SIZE, policy.codec, 'centre');
    const far = oracleTargets(decision, SIZE, policy.codec, 'far', gt);
    const negAt = centre.ids.length - 2;
    expect(far.ids.slice(0, negAt)).toEqual(centre.ids.slice(0, negAt));
    expect(far.ids.slice(negAt)).toEqual(
      policy.codec.encodePoint(farNegativePoint(decision.negativeRegion!, gt), SIZE),
    );
    expect(far.ids.slice(negAt)).not.toEqual(centre.ids.slice(negAt));
    expect(() => oracleTargets(decision, SIZE, policy.codec, 'far')).toThrow(ValidationError);
    expect(() => oracleTargets(decision, SIZE, policy.codec, 'far')).toThrow(/gt/);
  });
});
