/**
 * Dense heads (config.denseClasses): per-patch target coverage and class shares, trained by
 * `supervisedLoss({ denseWeight })` next to the token loss; they never change the action heads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import type { ActionTokens, DensePatchTargets } from '../../core/policy/index.ts';
import {
  PointerPolicy,
  encodePolicyFile,
  initTf,
  loadPolicyBytes,
  resolvePolicyConfig,
  serializePolicy,
  tf,
} from '../../core/policy/index.ts';
import { Rng } from '../../core/rng/index.ts';
import { TINY, makeFixture } from './fixtures.ts';

const C = 3;
const P = (TINY.viewSize / TINY.patchSize) ** 2;
const observations = [1, 2, 3].map((s) => makeFixture(500 + s, 64, 48, s === 3).observation);

function randomDense(seed: number): DensePatchTargets {
  const rng = new Rng(seed);
  const coverage = Float32Array.from({ length: P }, () => (rng.bool(0.3) ? rng.uniform(0, 1) : 0));
  const classes = new Float32Array(P * C);
  for (let p = 0; p < P; p++) {
    const w = Array.from({ length: C }, () => rng.uniform(0, 1));
    const s = w.reduce((a, v) => a + v, 0);
    w.forEach((v, c) => (classes[p * C + c] = v / s));
  }
  return { coverage, classes };
}

const dense = [randomDense(1), randomDense(2)];
// Row 1 has no dense targets: it must not count in the dense loss.
const tokens: ActionTokens[] = [
  { kind: 'box', ids: [2, 1, 3, 4], dense: dense[0] as DensePatchTargets },
  { kind: 'box', ids: [5, 0, 7, 2] },
  { kind: 'refine', ids: [1, 3, 2], dense: dense[1] as DensePatchTargets },
];
const disposables: PointerPolicy[] = [];

beforeAll(async () => {
  await initTf('wasm');
});
afterAll(() => disposables.forEach((p) => p.dispose()));

async function make(denseClasses: number, seed = 3): Promise<PointerPolicy> {
  const p = await PointerPolicy.create({ ...TINY, denseClasses }, { seed });
  disposables.push(p);
  return p;
}

const lossOf = (p: PointerPolicy, denseWeight: number, t: readonly ActionTokens[] = tokens): number =>
  tf.tidy(() => p.supervisedLoss(observations, t, { denseWeight }).dataSync()[0] as number);

describe('dense heads', () => {
  it('add their parameters last, so every other parameter starts as without them', async () => {
    const plain = await make(0);
    const withDense = await make(C);
    const a = plain.getWeights();
    const b = withDense.getWeights();
    expect(b.slice(0, a.length).map((w) => w.name)).toEqual(a.map((w) => w.name));
    expect(b.slice(a.length).map((w) => [w.name, w.shape])).toEqual([
      ['dense.seg.w', [TINY.dModel, 1]],
      ['dense.seg.b', [1]],
      ['dense.cls.w', [TINY.dModel, C]],
      ['dense.cls.b', [C]],
    ]);
    for (let i = 0; i < a.length; i++) expect(b[i]?.data).toEqual(a[i]?.data);
    // The action heads do not read them: same log-probs, weight 0 gives the token loss alone.
    const lp = (p: PointerPolicy): Float32Array =>
      tf.tidy(() => p.logProbs(observations, tokens).logprobs.dataSync() as Float32Array);
    expect(lp(withDense)).toEqual(lp(plain));
    expect(lossOf(withDense, 0)).toBeCloseTo(lossOf(plain, 0), 6);
  });

  it('score each patch by binary cross-entropy of coverage plus cross-entropy of class shares', async () => {
    const p = await make(C);
    // With zero weights every patch's logits are the biases, so the loss has a closed form.
    const segBias = 0.4;
    const clsBias = [0.3, -0.2, 0.1];
    p.setWeights(
      p
        .getWeights()
        .map((w) =>
          w.name === 'dense.seg.w' || w.name === 'dense.cls.w'
            ? { ...w, data: new Float32Array(w.data.length) }
            : w.name === 'dense.seg.b'
              ? { ...w, data: Float32Array.of(segBias) }
              : w.name === 'dense.cls.b'
                ? { ...w, data: Float32Array.from(clsBias) }
                : w,
        ),
    );
    const sig = 1 / (1 + Math.exp(-segBias));
    const z = Math.log(clsBias.reduce((a, v) => a + Math.exp(v), 0));
    let sum = 0;
    for (const d of dense) {
      for (let q = 0; q < P; q++) {
        const t = d.coverage[q] as number;
        sum += -(t * Math.log(sig) + (1 - t) * Math.log(1 - sig));
        for (let c = 0; c < C; c++) sum += -(d.classes[q * C + c] as number) * ((clsBias[c] as number) - z);
      }
    }
    const expected = sum / (dense.length * P);
    const w = 0.7;
    expect(lossOf(p, w) - lossOf(p, 0)).toBeCloseTo(w * expected, 4);
    // No row with dense targets: the weight changes nothing.
    const bare = tokens.map(({ kind, ids }) => ({ kind, ids }));
    expect(lossOf(p, w, bare)).toBeCloseTo(lossOf(p, 0, bare), 6);
  });

  it('learn: training on the dense loss lowers it and moves the trunk', async () => {
    const p = await make(C, 9);
    p.setTrainOptions({ learningRate: 3e-3 });
    const denseOnly = (): number => lossOf(p, 1) - lossOf(p, 0);
    const before = denseOnly();
    const trunkBefore = p
      .getWeights()
      .find((w) => w.name === 'patch.w')
      ?.data.slice();
    for (let i = 0; i < 30; i++)
      p.trainStep(() => p.supervisedLoss(observations, tokens, { denseWeight: 1 }));
    expect(denseOnly()).toBeLessThan(before * 0.8);
    expect(p.getWeights().find((w) => w.name === 'patch.w')?.data).not.toEqual(trunkBefore);
  });

  it('predict per-patch coverage probabilities and class distributions, which training moves towards the targets', async () => {
    const p = await make(C, 11);
    const before = p.densePredictions(observations.slice(0, 1));
    expect(before.coverage).toHaveLength(P);
    expect(before.classes).toHaveLength(P * C);
    for (const v of before.coverage) expect(v > 0 && v < 1).toBe(true);
    for (let q = 0; q < P; q++) {
      const row = before.classes.slice(q * C, (q + 1) * C);
      expect(row.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 5);
    }
    // Row 0's targets: its coverage predictions move towards them with training.
    const target = (dense[0] as DensePatchTargets).coverage;
    const error = (c: Float32Array): number =>
      c.reduce((a, v, q) => a + Math.abs(v - (target[q] as number)), 0) / P;
    p.setTrainOptions({ learningRate: 3e-3 });
    for (let i = 0; i < 30; i++)
      p.trainStep(() => p.supervisedLoss(observations, tokens, { denseWeight: 1 }));
    expect(error(p.densePredictions(observations.slice(0, 1)).coverage)).toBeLessThan(error(before.coverage));
    const plain = await make(0);
    expect(() => plain.densePredictions(observations)).toThrow(/config\.denseClasses 0/);
  });

  it("with denseBox, add each patch's coverage logit to the box centre's logits", async () => {
    const plain = await make(C, 13);
    const boxed = await PointerPolicy.create({ ...TINY, denseClasses: C, denseBox: true }, { seed: 13 });
    disposables.push(boxed);
    // A coverage head with zero weights and bias b adds the same b to every patch: the centre
    // distribution is unchanged. A head that reads h changes it.
    const setSeg = (p: PointerPolicy, bias: number, scale: number): void =>
      p.setWeights(
        p
          .getWeights()
          .map((w) =>
            w.name === 'dense.seg.b'
              ? { ...w, data: Float32Array.of(bias) }
              : w.name === 'dense.seg.w'
                ? { ...w, data: w.data.map((_, i) => scale * Math.sin(i + 1)) }
                : w,
          ),
      );
    const boxRows: ActionTokens[] = [{ kind: 'box', ids: [2, 1, 3, 4] }];
    const centreLp = (p: PointerPolicy): number =>
      tf.tidy(() => p.logProbs(observations.slice(0, 1), boxRows).logprobs.dataSync()[0] as number);
    setSeg(boxed, 2.5, 0);
    expect(centreLp(boxed)).toBeCloseTo(centreLp(plain), 5);
    setSeg(boxed, 0, 1);
    expect(Math.abs(centreLp(boxed) - centreLp(plain))).toBeGreaterThan(1e-3);
    // Sampling reads the same logits: the greedy centre is the most likely one under logProbs.
    const [greedy] = boxed.greedy(observations.slice(0, 1), 'box');
    const ids = greedy!.tokens.ids;
    const lpOf = (centre: number): number =>
      tf.tidy(
        () =>
          boxed
            .logProbs(observations.slice(0, 1), [{ kind: 'box', ids: [centre, ...ids.slice(1)] }])
            .logprobs.dataSync()[0] as number,
      );
    const best = lpOf(ids[0] as number);
    for (let c = 0; c < P; c++) expect(lpOf(c)).toBeLessThanOrEqual(best + 1e-6);
    // So the box token now trains the coverage head too.
    boxed.setTrainOptions({ learningRate: 1e-2 });
    const seg = (): Float32Array =>
      boxed
        .getWeights()
        .find((w) => w.name === 'dense.seg.w')
        ?.data.slice() as Float32Array;
    const before = seg();
    boxed.trainStep(() => boxed.supervisedLoss(observations.slice(0, 1), boxRows));
    expect(seg()).not.toEqual(before);
    expect(() => resolvePolicyConfig({ ...TINY, denseBox: true })).toThrow(
      /config\.denseBox true needs config\.denseClasses/,
    );
    expect(() => resolvePolicyConfig({ ...TINY, denseBox: 'yes' as never })).toThrow(ValidationError);
  });

  it('round-trip through a checkpoint with the heads and the config key', async () => {
    const p = await make(C);
    const loaded = await loadPolicyBytes(encodePolicyFile(serializePolicy(p)));
    disposables.push(loaded);
    expect(loaded.config.denseClasses).toBe(C);
    expect(lossOf(loaded, 1)).toBe(lossOf(p, 1));
  });

  it('reject bad settings and malformed targets by name', async () => {
    const plain = await make(0);
    expect(() => lossOf(plain, 1)).toThrow(ValidationError);
    expect(() => lossOf(plain, 1)).toThrow(/denseWeight.*config\.denseClasses/);
    const p = await make(C);
    expect(() => lossOf(p, -1)).toThrow('denseWeight -1');
    // Row 0 replaced by a box action with the given dense targets, rows 1–2 as before.
    const withRow0 = (d: DensePatchTargets): ActionTokens[] => [
      { kind: 'box', ids: [2, 1, 3, 4], dense: d },
      tokens[1] as ActionTokens,
      tokens[2] as ActionTokens,
    ];
    const cls = (n: number): Float32Array => new Float32Array(n);
    expect(() => lossOf(p, 1, withRow0({ coverage: cls(3), classes: cls(P * C) }))).toThrow(
      /tokens\.dense\.coverage 3/,
    );
    // Every row agrees with row 0 (2 classes) but the policy has 3.
    const two = (): DensePatchTargets => ({ coverage: cls(P), classes: cls(P * 2) });
    const allTwo: ActionTokens[] = tokens.map(({ kind, ids }) => ({ kind, ids, dense: two() }));
    expect(() => lossOf(p, 1, allTwo)).toThrow(/tokens\.dense\.classes.*denseClasses 3/);
    // Rows disagree with each other: the first one that differs from row 0 is named.
    expect(() => lossOf(p, 1, withRow0({ coverage: cls(P), classes: cls(P * 5) }))).toThrow(
      /tokens\[2\]\.dense\.classes/,
    );
  });
});
