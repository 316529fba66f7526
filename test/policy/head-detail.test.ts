/**
 * config.boxDetail / pointDetail: the box's offset and size heads (the points' offset heads) also
 * read the raw input features of their patch's 3×3 neighbourhood. Against a float64 loop over the
 * grid; sampling against teacher forcing, kept encodings and shared rows; the other heads untouched;
 * save/load.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionKind, PolicyConfig, PolicyObservation } from '../../core/policy/index.ts';
import {
  PointerPolicy,
  initTf,
  loadPolicyBytes,
  policyToBytes,
  repeatRows,
  resolvePolicyConfig,
  tf,
} from '../../core/policy/index.ts';
import { headContext, type Params } from '../../core/policy/network.ts';
import { DETAIL_CHANNELS } from '../../core/policy/params.ts';
import { Rng } from '../../core/rng/index.ts';
import { TINY, makeFixture } from './fixtures.ts';

const observations: PolicyObservation[] = Array.from(
  { length: 4 },
  (_, i) => makeFixture(300 + i, 96, 80, i % 2 === 1).observation,
);
let plain: PointerPolicy;
let detail: PointerPolicy;
let points: PointerPolicy;

beforeAll(async () => {
  await initTf('wasm');
  plain = await PointerPolicy.create(TINY, { seed: 9 });
  detail = await PointerPolicy.create({ ...TINY, boxDetail: true }, { seed: 9 });
  points = await PointerPolicy.create({ ...TINY, pointDetail: true }, { seed: 9 });
});

afterAll(() => {
  plain.dispose();
  detail.dispose();
  points.dispose();
});

describe('boxDetail, pointDetail (offset heads read the raw neighbourhood of their patch)', () => {
  it('is off by default, validated, and adds weight matrices after all the others', () => {
    expect(resolvePolicyConfig(TINY).boxDetail).toBe(false);
    expect(resolvePolicyConfig(TINY).pointDetail).toBe(false);
    expect(() => resolvePolicyConfig({ ...TINY, boxDetail: 'yes' as unknown as boolean })).toThrow(
      /config\.boxDetail.*yes/,
    );
    expect(() => resolvePolicyConfig({ ...TINY, pointDetail: 1 as unknown as boolean })).toThrow(
      /config\.pointDetail.*1/,
    );
    const F = points.dims.patchFeatures;
    const shapes = (head: string): (string | number)[][] => [
      [`${head}.detail.wr`, F, DETAIL_CHANNELS],
      [`${head}.detail.br`, DETAIL_CHANNELS],
      [`${head}.detail.wo`, 9 * DETAIL_CHANNELS, TINY.dModel],
    ];
    const tail = (p: PointerPolicy, n: number): (string | number)[][] =>
      p
        .getWeights()
        .slice(-n)
        .map((w) => [w.name, ...w.shape]);
    expect(tail(points, 6)).toEqual([...shapes('pos'), ...shapes('neg')]);
    expect(tail(detail, 3)).toEqual(shapes('box'));
    // Every other parameter starts exactly as without them.
    const a = plain.getWeights();
    for (const p of [detail, points]) {
      const b = p.getWeights();
      expect(b).toHaveLength(a.length + (p === detail ? 3 : 6));
      a.forEach((w, i) => {
        expect(b[i]?.name).toBe(w.name);
        expect(Array.from(b[i]?.data ?? [])).toEqual(Array.from(w.data));
      });
    }
  });

  it('equals relu([gk; h_p]·Wc + bc + [relu(raw(p − δ_k)·Wr + br)]_k·Wo) over the 3×3 neighbourhood', () => {
    const [B, G, F, d] = [3, 4, 5, 6];
    const P = G * G;
    const rng = new Rng(31);
    const rand = (n: number, s = 1): Float32Array => Float32Array.from({ length: n }, () => rng.normal(0, s));
    const h = rand(B * P * d);
    const raw = rand(B * P * F);
    const g = rand(B * d);
    const wc = rand(2 * d * d, 0.3);
    const bc = rand(d, 0.1);
    const r = DETAIL_CHANNELS;
    const wr = rand(F * r, 0.5);
    const br = rand(r, 0.2);
    const wo = rand(9 * r * d, 0.3);
    // Patches at a corner, an edge and inside the grid, so that some neighbours are off the grid.
    const centres = [0, 2, 1 * G + 2];
    const oneHot = new Float32Array(B * P);
    centres.forEach((p, b) => (oneHot[b * P + p] = 1));
    const contextOf = (prefix: 'box' | 'neg', config: Partial<PolicyConfig>): Float32Array =>
      tf.tidy(() => {
        const params: Params = new Map<string, tf.Tensor>([
          [`${prefix}.ctx.w`, tf.tensor2d(wc, [2 * d, d])],
          [`${prefix}.ctx.b`, tf.tensor1d(bc)],
          [`${prefix}.detail.wr`, tf.tensor2d(wr, [F, r])],
          [`${prefix}.detail.br`, tf.tensor1d(br)],
          [`${prefix}.detail.wo`, tf.tensor2d(wo, [9 * r, d])],
        ]);
        const h3 = tf.tensor3d(h, [B, P, d]);
        const enc = { h: h3, u: h3, g: tf.tensor2d(g, [B, d]), patches: tf.tensor3d(raw, [B, P, F]) };
        const c = resolvePolicyConfig({ ...TINY, ...config });
        const out = headContext(params, c, prefix, enc.g, enc, tf.tensor2d(oneHot, [B, P]));
        return out.dataSync() as Float32Array;
      });
    const reference = (withDetail: boolean): number[] =>
      centres.flatMap((p, b) => {
        const [py, px] = [Math.floor(p / G), p % G];
        return Array.from({ length: d }, (_, j) => {
          let s = bc[j] as number;
          for (let i = 0; i < d; i++) {
            s += (g[b * d + i] as number) * (wc[i * d + j] as number);
            s += (h[(b * P + p) * d + i] as number) * (wc[(d + i) * d + j] as number);
          }
          for (let k = 0; withDetail && k < 9; k++) {
            const [y, x] = [py - (Math.floor(k / 3) - 1), px - ((k % 3) - 1)];
            const inside = y >= 0 && y < G && x >= 0 && x < G;
            for (let c = 0; c < r; c++) {
              let z = br[c] as number;
              for (let f = 0; inside && f < F; f++) {
                z += (raw[(b * P + y * G + x) * F + f] as number) * (wr[f * r + c] as number);
              }
              s += Math.max(0, z) * (wo[(k * r + c) * d + j] as number);
            }
          }
          return Math.max(0, s);
        });
      });
    const near = (got: Float32Array, want: number[]): void =>
      want.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 4));
    near(contextOf('box', { boxDetail: true }), reference(true));
    near(contextOf('neg', { pointDetail: true }), reference(true));
    // Each flag serves its own heads only.
    near(contextOf('box', { pointDetail: true }), reference(false));
    near(contextOf('neg', { boxDetail: true }), reference(false));
  });

  it('moves only the offset (and size) tokens of its own heads', () => {
    const refineKinds = observations.map(() => 'refine' as ActionKind);
    // Every refinement type, so that both point heads are scored.
    const refines = observations.map((_, i) => ({ kind: 'refine' as const, ids: [3, 2 + i, 1, 5, 2] }));
    const boxes = plain.sample(observations, { rng: new Rng(4), kind: 'box' }).map((s) => s.tokens);
    const lp = (p: PointerPolicy, tokens: typeof boxes): Float32Array[] =>
      p.logProbsSync(observations, tokens);
    const [boxPlain, boxDetail, boxPoints] = [lp(plain, boxes), lp(detail, boxes), lp(points, boxes)];
    const [refPlain, refDetail, refPoints] = [lp(plain, refines), lp(detail, refines), lp(points, refines)];
    boxPlain.forEach((a, i) => {
      // boxDetail: the centre is read before the detail; the offset, width and height move (the
      // detail weights start small, not at zero). pointDetail leaves the box alone.
      expect((boxDetail[i] as Float32Array)[0]).toBe(a[0]);
      for (const j of [1, 2, 3]) expect((boxDetail[i] as Float32Array)[j]).not.toBe(a[j]);
      expect(Array.from(boxPoints[i] as Float32Array)).toEqual(Array.from(a));
    });
    refPlain.forEach((a, i) => {
      // Refinement [type, pos patch, pos offset, neg patch, neg offset]: only the offsets move.
      expect(Array.from(refDetail[i] as Float32Array)).toEqual(Array.from(a));
      const b = refPoints[i] as Float32Array;
      for (const j of [0, 1, 3]) expect(b[j]).toBe(a[j]);
      for (const j of [2, 4]) expect(b[j]).not.toBe(a[j]);
    });
    // The same draws where the distributions are the same: the refinement tokens of boxDetail.
    const a = plain.sample(observations, { rng: new Rng(3), kind: refineKinds });
    const b = detail.sample(observations, { rng: new Rng(3), kind: refineKinds });
    expect(b.map((x) => x.tokens)).toEqual(a.map((x) => x.tokens));
  });

  it('samples with the log-probs the learner scores, from kept encodings and shared rows alike', async () => {
    const both = await PointerPolicy.create({ ...TINY, boxDetail: true, pointDetail: true }, { seed: 5 });
    const kinds = observations.map((_, i) => (i % 2 ? 'box' : 'refine') as ActionKind);
    const sampled = both.sample(observations, { rng: new Rng(11), kind: kinds, temperature: 1.5 });
    const forced = both.logProbsSync(
      observations,
      sampled.map((s) => s.tokens),
    );
    sampled.forEach((s, i) => s.logprobs.forEach((lp, j) => expect(forced[i]?.[j]).toBeCloseTo(lp, 4)));

    const prep = both.prepare(observations.slice(0, 2));
    const rows = repeatRows(prep, [3, 2]);
    const before = tf.memory().numTensors;
    const encoded = both.encodeObservations(prep);
    for (const kind of ['box', 'refine'] as const) {
      const a = both.sample(rows, { kind, rng: new Rng('k'), encoded });
      const b = both.sample(rows, { kind, rng: new Rng('k') });
      const c = both.sample(
        [0, 0, 0, 1, 1].map((i) => observations[i] as PolicyObservation),
        { kind, rng: new Rng('k') },
      );
      expect(a.map((x) => x.tokens)).toEqual(b.map((x) => x.tokens));
      expect(c.map((x) => x.tokens)).toEqual(b.map((x) => x.tokens));
      a.forEach((x, i) => x.logprobs.forEach((lp, k) => expect(lp).toBeCloseTo(c[i]?.logprobs[k] ?? NaN, 5)));
    }
    encoded.dispose();
    expect(tf.memory().numTensors).toBe(before);
    both.dispose();
  });

  it('learns from box and point targets, and saves and loads to the same actions', async () => {
    const p = await PointerPolicy.create(
      { ...TINY, boxDetail: true, pointDetail: true },
      { seed: 2, train: { learningRate: 1e-2 } },
    );
    const boxes = p
      .greedy(observations, 'box')
      .map((s) => ({ ...s.tokens, ids: [s.tokens.ids[0] as number, 3, 5, 7] }));
    const refines = observations.map(() => ({ kind: 'refine' as const, ids: [3, 4, 1, 9, 2] }));
    const detailWeights = (): Float32Array[] =>
      p
        .getWeights()
        .filter((w) => w.name.endsWith('.detail.wo'))
        .map((w) => w.data.slice());
    const w0 = detailWeights();
    expect(w0).toHaveLength(3);
    for (let i = 0; i < 5; i++) {
      p.trainStep(() => p.supervisedLoss([...observations, ...observations], [...boxes, ...refines]));
    }
    detailWeights().forEach((w, k) => expect(w.some((v, i) => v !== w0[k]?.[i])).toBe(true));
    const again = loadPolicyBytes(policyToBytes(p));
    expect([again.config.boxDetail, again.config.pointDetail]).toEqual([true, true]);
    for (const kind of ['box', 'refine'] as const) {
      const x = p.greedy(observations, kind);
      const y = again.greedy(observations, kind);
      x.forEach((s, i) => {
        expect(y[i]?.tokens).toEqual(s.tokens);
        expect(Array.from(y[i]?.logprobs ?? [])).toEqual(Array.from(s.logprobs));
      });
    }
    again.dispose();
    p.dispose();
  });
});
