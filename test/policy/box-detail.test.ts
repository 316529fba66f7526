/**
 * config.boxDetail: the box's offset and size heads also read the raw input features of the centre
 * patch's 3×3 neighbourhood. Against a float64 loop over the grid; sampling against teacher forcing,
 * kept encodings and shared rows; the other heads untouched; save/load.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionKind, PolicyObservation } from '../../core/policy/index.ts';
import {
  PointerPolicy,
  initTf,
  loadPolicyBytes,
  policyToBytes,
  repeatRows,
  resolvePolicyConfig,
  tf,
} from '../../core/policy/index.ts';
import { boxContext, type Params } from '../../core/policy/network.ts';
import { Rng } from '../../core/rng/index.ts';
import { TINY, makeFixture } from './fixtures.ts';

const observations: PolicyObservation[] = Array.from(
  { length: 4 },
  (_, i) => makeFixture(300 + i, 96, 80, i % 2 === 1).observation,
);
let plain: PointerPolicy;
let detail: PointerPolicy;

beforeAll(async () => {
  await initTf('wasm');
  plain = await PointerPolicy.create(TINY, { seed: 9 });
  detail = await PointerPolicy.create({ ...TINY, boxDetail: true }, { seed: 9 });
});

afterAll(() => {
  plain.dispose();
  detail.dispose();
});

describe('boxDetail (the box heads read the raw neighbourhood of the centre patch)', () => {
  it('is off by default, validated, and adds one weight matrix after all the others', () => {
    expect(resolvePolicyConfig(TINY).boxDetail).toBe(false);
    expect(() => resolvePolicyConfig({ ...TINY, boxDetail: 'yes' as unknown as boolean })).toThrow(
      /config\.boxDetail.*yes/,
    );
    const a = plain.getWeights();
    const b = detail.getWeights();
    expect(b).toHaveLength(a.length + 1);
    const last = b[b.length - 1];
    expect(last?.name).toBe('box.detail.w');
    expect(last?.shape).toEqual([9 * detail.dims.patchFeatures, TINY.dModel]);
    // Every other parameter starts exactly as without it.
    a.forEach((w, i) => {
      expect(b[i]?.name).toBe(w.name);
      expect(Array.from(b[i]?.data ?? [])).toEqual(Array.from(w.data));
    });
  });

  it('equals relu([g; h_p]·Wc + bc + Σ_k raw(p − δ_k)·Wd_k) over the 3×3 neighbourhood', () => {
    const [B, G, F, d] = [3, 4, 5, 6];
    const P = G * G;
    const rng = new Rng(31);
    const rand = (n: number, s = 1): Float32Array => Float32Array.from({ length: n }, () => rng.normal(0, s));
    const h = rand(B * P * d);
    const raw = rand(B * P * F);
    const g = rand(B * d);
    const wc = rand(2 * d * d, 0.3);
    const bc = rand(d, 0.1);
    const wd = rand(9 * F * d, 0.3);
    // Centres at a corner, an edge and inside the grid, so that some neighbours are off the grid.
    const centres = [0, 2, 1 * G + 2];
    const oneHot = new Float32Array(B * P);
    centres.forEach((p, b) => (oneHot[b * P + p] = 1));
    const got = tf.tidy(() => {
      const params: Params = new Map<string, tf.Tensor>([
        ['box.ctx.w', tf.tensor2d(wc, [2 * d, d])],
        ['box.ctx.b', tf.tensor1d(bc)],
        ['box.detail.w', tf.tensor2d(wd, [9 * F, d])],
      ]);
      const h3 = tf.tensor3d(h, [B, P, d]);
      const enc = { h: h3, u: h3, g: tf.tensor2d(g, [B, d]), patches: tf.tensor3d(raw, [B, P, F]) };
      return boxContext(params, enc, tf.tensor2d(oneHot, [B, P])).dataSync() as Float32Array;
    });
    for (let b = 0; b < B; b++) {
      const p = centres[b] as number;
      const [py, px] = [Math.floor(p / G), p % G];
      for (let j = 0; j < d; j++) {
        let s = bc[j] as number;
        for (let i = 0; i < d; i++) {
          s += (g[b * d + i] as number) * (wc[i * d + j] as number);
          s += (h[(b * P + p) * d + i] as number) * (wc[(d + i) * d + j] as number);
        }
        for (let k = 0; k < 9; k++) {
          const [y, x] = [py - (Math.floor(k / 3) - 1), px - ((k % 3) - 1)];
          if (y < 0 || y >= G || x < 0 || x >= G) continue;
          for (let f = 0; f < F; f++) {
            s += (raw[(b * P + y * G + x) * F + f] as number) * (wd[(k * F + f) * d + j] as number);
          }
        }
        expect(got[b * d + j]).toBeCloseTo(Math.max(0, s), 4);
      }
    }
  });

  it('moves the box offset and size logits, and leaves the centre and the refinement heads alone', () => {
    const kinds = observations.map(() => 'refine' as ActionKind);
    const refineA = plain.sample(observations, { rng: new Rng(3), kind: kinds });
    const refineB = detail.sample(observations, { rng: new Rng(3), kind: kinds });
    refineA.forEach((a, i) => {
      expect(refineB[i]?.tokens).toEqual(a.tokens);
      expect(Array.from(refineB[i]?.logprobs ?? [])).toEqual(Array.from(a.logprobs));
    });
    const boxes = plain.sample(observations, { rng: new Rng(4), kind: 'box' }).map((s) => s.tokens);
    const lpA = plain.logProbsSync(observations, boxes);
    const lpB = detail.logProbsSync(observations, boxes);
    lpA.forEach((a, i) => {
      const b = lpB[i] as Float32Array;
      expect(b[0]).toBe(a[0]); // the centre patch is read before the detail
      // The detail weights start small, not at zero: the offset, width and height tokens move.
      for (const j of [1, 2, 3]) expect(b[j]).not.toBe(a[j]);
    });
  });

  it('samples with the log-probs the learner scores, from kept encodings and shared rows alike', () => {
    const kinds = observations.map((_, i) => (i % 2 ? 'box' : 'refine') as ActionKind);
    const sampled = detail.sample(observations, { rng: new Rng(11), kind: kinds, temperature: 1.5 });
    const forced = detail.logProbsSync(
      observations,
      sampled.map((s) => s.tokens),
    );
    sampled.forEach((s, i) => s.logprobs.forEach((lp, j) => expect(forced[i]?.[j]).toBeCloseTo(lp, 4)));

    const prep = detail.prepare(observations.slice(0, 2));
    const rows = repeatRows(prep, [3, 2]);
    const before = tf.memory().numTensors;
    const encoded = detail.encodeObservations(prep);
    const a = detail.sample(rows, { kind: 'box', rng: new Rng('k'), encoded });
    const b = detail.sample(rows, { kind: 'box', rng: new Rng('k') });
    const c = detail.sample(
      [0, 0, 0, 1, 1].map((i) => observations[i] as PolicyObservation),
      { kind: 'box', rng: new Rng('k') },
    );
    expect(a.map((x) => x.tokens)).toEqual(b.map((x) => x.tokens));
    expect(c.map((x) => x.tokens)).toEqual(b.map((x) => x.tokens));
    a.forEach((x, i) => x.logprobs.forEach((lp, k) => expect(lp).toBeCloseTo(c[i]?.logprobs[k] ?? NaN, 5)));
    encoded.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('learns from box targets, and saves and loads to the same boxes', async () => {
    const p = await PointerPolicy.create(
      { ...TINY, boxDetail: true },
      { seed: 2, train: { learningRate: 1e-2 } },
    );
    const targets = p.greedy(observations, 'box').map((s) => s.tokens);
    const shifted = targets.map((t) => ({ ...t, ids: [t.ids[0] as number, 3, 5, 7] }));
    const w0 = p
      .getWeights()
      .find((w) => w.name === 'box.detail.w')
      ?.data.slice() as Float32Array;
    for (let i = 0; i < 5; i++) p.trainStep(() => p.supervisedLoss(observations, shifted));
    const w1 = p.getWeights().find((w) => w.name === 'box.detail.w')?.data as Float32Array;
    expect(w1.some((v, i) => v !== w0[i])).toBe(true);
    const again = loadPolicyBytes(policyToBytes(p));
    expect(again.config.boxDetail).toBe(true);
    const x = p.greedy(observations, 'box');
    const y = again.greedy(observations, 'box');
    x.forEach((s, i) => {
      expect(y[i]?.tokens).toEqual(s.tokens);
      expect(Array.from(y[i]?.logprobs ?? [])).toEqual(Array.from(s.logprobs));
    });
    again.dispose();
    p.dispose();
  });
});
