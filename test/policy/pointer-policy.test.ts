import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SamVeteranError, ValidationError } from '../../core/errors/index.ts';
import type { ActionKind, ActionTokens, PolicyObservation } from '../../core/policy/index.ts';
import {
  MAX_ACTION_TOKENS,
  PointerPolicy,
  Slot,
  buildTargets,
  initTf,
  repeatRows,
  smoothTargets,
  tf,
} from '../../core/policy/index.ts';
import { Rng } from '../../core/rng/index.ts';
import { TINY, makeFixture } from './fixtures.ts';

let policy: PointerPolicy;
const fixtures = Array.from({ length: 6 }, (_, i) => makeFixture(100 + i, 96, 80, i % 2 === 1));
const observations: PolicyObservation[] = fixtures.map((f) => f.observation);

beforeAll(async () => {
  await initTf('wasm');
  policy = await PointerPolicy.create(TINY, { seed: 7 });
});

afterAll(() => policy.dispose());

function logSumExp(values: number[]): number {
  const m = Math.max(...values);
  return m + Math.log(values.reduce((s, v) => s + Math.exp(v - m), 0));
}

describe('PointerPolicy', () => {
  it('builds a deterministic network from a seed', async () => {
    const again = await PointerPolicy.create(TINY, { seed: 7 });
    const other = await PointerPolicy.create(TINY, { seed: 8 });
    const a = policy.getWeights();
    expect(again.getWeights()).toEqual(a);
    expect(other.getWeights()[0]?.data).not.toEqual(a[0]?.data);
    expect(policy.parameterCount).toBe(a.reduce((n, w) => n + w.data.length, 0));
    again.dispose();
    other.dispose();
  });

  it('samples box and refine actions with per-token log-probs and in-image coordinates', () => {
    const kinds = observations.map((_, i) => (i % 2 === 0 ? 'box' : 'refine') as ActionKind);
    const out = policy.sample(observations, { rng: new Rng(1), kind: kinds });
    expect(out).toHaveLength(observations.length);
    out.forEach((s, i) => {
      expect(s.tokens.kind).toBe(kinds[i]);
      expect(s.logprobs).toHaveLength(s.tokens.ids.length);
      for (const lp of s.logprobs) expect(lp).toBeLessThanOrEqual(0);
      if (kinds[i] === 'box') {
        expect(s.tokens.ids).toHaveLength(4);
        expect(s.action.kind).toBe('box');
        if (s.action.kind === 'box') {
          const [x1, y1, x2, y2] = s.action.box;
          expect(x1).toBeGreaterThanOrEqual(0);
          expect(y1).toBeGreaterThanOrEqual(0);
          expect(x2).toBeLessThanOrEqual(96);
          expect(y2).toBeLessThanOrEqual(80);
          expect(x2).toBeGreaterThan(x1);
        }
      } else {
        expect(s.action.kind).toBe('points');
        expect([1, 3, 5]).toContain(s.tokens.ids.length);
      }
    });
  });

  it('is deterministic given the rng, and temperature -> 0 equals greedy', () => {
    const a = policy.sample(observations, { rng: new Rng(5), kind: 'box' });
    const b = policy.sample(observations, { rng: new Rng(5), kind: 'box' });
    expect(b.map((s) => s.tokens.ids)).toEqual(a.map((s) => s.tokens.ids));
    for (const kind of ['box', 'refine'] as const) {
      const greedy = policy.greedy(observations, kind);
      const cold = policy.sample(observations, { rng: new Rng(9), kind, temperature: 1e-4 });
      expect(cold.map((s) => s.tokens.ids)).toEqual(greedy.map((s) => s.tokens.ids));
    }
  });

  it('reports sampling log-probs equal to the teacher-forced log-probs of the learner', () => {
    const kinds = observations.map((_, i) => (i < 3 ? 'box' : 'refine') as ActionKind);
    const sampled = policy.sample(observations, { rng: new Rng(11), kind: kinds, temperature: 1.5 });
    const forced = policy.logProbsSync(
      observations,
      sampled.map((s) => s.tokens),
    );
    sampled.forEach((s, i) => {
      const f = forced[i] as Float32Array;
      expect(f).toHaveLength(s.logprobs.length);
      s.logprobs.forEach((lp, j) => expect(f[j]).toBeCloseTo(lp, 4));
    });
  });

  it('gives a normalised distribution at every head', () => {
    const obs = [observations[1] as PolicyObservation];
    const P = policy.dims.patches;
    // Position 0 of a box action: all patches.
    const centre = Array.from({ length: P }, (_, p) => ({ kind: 'box', ids: [p, 0, 0, 0] }) as ActionTokens);
    const lpCentre = centre.map((t) => (policy.logProbsSync(obs, [t])[0] as Float32Array)[0] as number);
    expect(logSumExp(lpCentre)).toBeCloseTo(0, 4);
    // Height bins given a prefix.
    const heights = Array.from(
      { length: policy.config.sizeBins },
      (_, h) => ({ kind: 'box', ids: [5, 3, 2, h] }) as ActionTokens,
    );
    const lpH = policy
      .logProbsSync(
        heights.map(() => obs[0] as PolicyObservation),
        heights,
      )
      .map((r) => r[3] as number);
    expect(logSumExp(lpH)).toBeCloseTo(0, 4);
    // The refine type token over its four values.
    const types: ActionTokens[] = [
      { kind: 'refine', ids: [0] },
      { kind: 'refine', ids: [1, 2, 3] },
      { kind: 'refine', ids: [2, 4, 5] },
      { kind: 'refine', ids: [3, 2, 3, 4, 5] },
    ];
    const lpT = policy
      .logProbsSync(
        types.map(() => obs[0] as PolicyObservation),
        types,
      )
      .map((r) => r[0] as number);
    expect(logSumExp(lpT)).toBeCloseTo(0, 4);
    // The negative offset given type "both" and both patches.
    const offs = Array.from(
      { length: policy.dims.offsetClasses },
      (_, o) => ({ kind: 'refine', ids: [3, 2, 3, 4, o] }) as ActionTokens,
    );
    const lpO = policy
      .logProbsSync(
        offs.map(() => obs[0] as PolicyObservation),
        offs,
      )
      .map((r) => r[4] as number);
    expect(logSumExp(lpO)).toBeCloseTo(0, 4);
  });

  it('returns [B, 5] log-prob and mask tensors for a mixed batch', () => {
    const tokens: ActionTokens[] = [
      { kind: 'box', ids: [1, 2, 3, 4] },
      { kind: 'refine', ids: [2, 7, 1] },
    ];
    const [lpData, maskData] = tf.tidy(() => {
      const { logprobs, mask } = policy.logProbs(observations.slice(0, 2), tokens);
      expect(logprobs.shape).toEqual([2, MAX_ACTION_TOKENS]);
      return [logprobs.dataSync(), mask.dataSync()];
    });
    expect(Array.from(maskData)).toEqual([1, 1, 1, 1, 0, 1, 1, 1, 0, 0]);
    expect(lpData[4]).toBe(0);
    expect(lpData[8]).toBe(0);
  });

  it('batched sampling matches one-at-a-time sampling', () => {
    const batched = policy.greedy(observations, 'refine');
    const single = observations.map(
      (o) => (policy.greedy([o], 'refine')[0] as { tokens: ActionTokens }).tokens,
    );
    expect(batched.map((s) => s.tokens)).toEqual(single);
  });

  it('rows that share an observation (rowOf) score and train exactly like repeated observations', async () => {
    const a = await PointerPolicy.create(TINY, { seed: 5, train: { learningRate: 1e-2 } });
    const b = await PointerPolicy.create(TINY, { seed: 5, train: { learningRate: 1e-2 } });
    const obs = observations.slice(0, 2);
    const shared = repeatRows(a.prepare(obs), [3, 2]);
    const repeated = b.prepare([obs[0], obs[0], obs[0], obs[1], obs[1]] as PolicyObservation[]);
    expect(shared.patches.length * 5).toBe(repeated.patches.length * 2);
    const tokens = a.sample(repeated, {
      kind: ['box', 'refine', 'refine', 'box', 'refine'],
      rng: new Rng('t'),
    });
    const ids = tokens.map((t) => t.tokens);
    const lp = (p: PointerPolicy, prep: typeof shared): Float32Array =>
      tf.tidy(() => p.logProbs(prep, ids).logprobs.dataSync() as Float32Array);
    const before = lp(a, shared);
    lp(b, repeated).forEach((v, i) => expect(before[i]).toBeCloseTo(v, 5));
    // One train step each on −Σ log π: same gradient norm, same weights after.
    const loss = (p: PointerPolicy, prep: typeof shared) => () =>
      tf.tidy(() => {
        const { logprobs, mask } = p.logProbs(prep, ids);
        return tf.neg(tf.sum(tf.mul(logprobs, mask))) as tf.Scalar;
      });
    const ga = a.trainStep(loss(a, shared)).gradNorm;
    const gb = b.trainStep(loss(b, repeated)).gradNorm;
    expect(ga).toBeGreaterThan(0);
    expect(ga).toBeCloseTo(gb, 4);
    const after = lp(a, shared);
    lp(b, repeated).forEach((v, i) => expect(after[i]).toBeCloseTo(v, 4));
    expect(after.some((v, i) => Math.abs(v - (before[i] as number)) > 1e-3)).toBe(true);
    // A rowOf that names observations the arrays do not hold is refused.
    const bad = { ...shared, rowOf: Int32Array.from([0, 0, 0, 2, 2]) };
    expect(() => a.sample(bad, { kind: 'box', rng: new Rng('x') })).toThrow(ValidationError);
    a.dispose();
    b.dispose();
  });

  it('samples from kept encodings exactly as from the observations, and refuses stale ones', async () => {
    const p = await PointerPolicy.create(TINY, { seed: 11, train: { learningRate: 1e-2 } });
    const prep = p.prepare(observations.slice(0, 2));
    const rows = repeatRows(prep, [4, 3]);
    const encoded = p.encodeObservations(prep);
    expect(encoded.count).toBe(2);
    for (const kind of ['box', 'refine'] as const) {
      const a = p.sample(rows, { kind, rng: new Rng(`k${kind}`), encoded });
      const b = p.sample(rows, { kind, rng: new Rng(`k${kind}`) });
      expect(a.map((x) => x.tokens)).toEqual(b.map((x) => x.tokens));
      a.forEach((x, i) => x.logprobs.forEach((lp, k) => expect(lp).toBeCloseTo(b[i]?.logprobs[k] ?? NaN, 5)));
    }
    // Wrong observation count, another policy's encoding, stale after a step, disposed.
    expect(() =>
      p.sample(repeatRows(p.prepare(observations.slice(0, 3)), [1, 1, 1]), {
        kind: 'box',
        rng: new Rng('x'),
        encoded,
      }),
    ).toThrow(/encoded.count/);
    const other = p.clone();
    expect(() => other.sample(rows, { kind: 'box', rng: new Rng('x'), encoded })).toThrow(/this policy/);
    other.dispose();
    p.trainStep(() =>
      p.supervisedLoss(prep, [
        { kind: 'box', ids: [1, 2, 3, 4] },
        { kind: 'box', ids: [5, 6, 7, 8] },
      ]),
    );
    expect(() => p.sample(rows, { kind: 'box', rng: new Rng('x'), encoded })).toThrow(/stale/);
    encoded.dispose();
    encoded.dispose(); // idempotent
    expect(() => p.sample(rows, { kind: 'box', rng: new Rng('x'), encoded })).toThrow(/disposed/);
    // An encoding holds tensors until disposed, and nothing after.
    const baseline = tf.memory().numTensors;
    const fresh = p.encodeObservations(prep);
    expect(tf.memory().numTensors).toBeGreaterThan(baseline);
    fresh.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
    p.dispose();
  });

  it('overfits a fixed mini-batch in a few supervised steps', async () => {
    const student = await PointerPolicy.create(TINY, { seed: 3, train: { learningRate: 3e-3 } });
    const targets = fixtures.map((f) =>
      student.codec.encodeAction({ kind: 'box', box: f.box }, f.observation),
    );
    const prep = student.prepare(observations);
    const first = student.trainStep(() => student.supervisedLoss(prep, targets)).loss;
    let last = first;
    for (let i = 0; i < 24; i++) last = student.trainStep(() => student.supervisedLoss(prep, targets)).loss;
    expect(last).toBeLessThan(0.6 * first);
    expect(student.stepCount).toBe(25);
    student.dispose();
  });

  it('clones a frozen reference copy that refuses to train', () => {
    const ref = policy.clone();
    expect(ref.frozen).toBe(true);
    expect(ref.getWeights()).toEqual(policy.getWeights());
    expect(() =>
      ref.trainStep(() => ref.supervisedLoss(observations.slice(0, 1), [{ kind: 'refine', ids: [0] }])),
    ).toThrow(SamVeteranError);
    expect(() => ref.trainStep(() => tf.scalar(0))).toThrow('this policy is frozen');
    ref.dispose();
    expect(() => ref.getWeights()).toThrow('this policy has been disposed');
  });

  it('keeps the AdamW weight decay decoupled from the gradient', async () => {
    const p = await PointerPolicy.create(TINY, {
      seed: 4,
      train: { learningRate: 0.1, weightDecay: 0.5, maxGradNorm: 0 },
    });
    const before = p.getWeights();
    // A loss that does not depend on the weights: Adam moves nothing, decay shrinks matrices only.
    p.trainStep(() =>
      tf.mul(tf.sum(p.logProbs(observations.slice(0, 1), [{ kind: 'refine', ids: [0] }]).logprobs), 0),
    );
    const after = p.getWeights();
    const w = after.findIndex((x) => x.name === 'patch.w');
    const b = after.findIndex((x) => x.name === 'patch.b');
    expect(after[w]?.data[0]).toBeCloseTo((before[w]?.data[0] as number) * (1 - 0.1 * 0.5), 6);
    expect(after[b]?.data).toEqual(before[b]?.data);
    p.dispose();
  });

  it('steps heads without gradients safely and resumes Adam exactly from its exported state', async () => {
    const a = await PointerPolicy.create(TINY, { seed: 6 });
    const boxOnly: ActionTokens[] = [{ kind: 'box', ids: [1, 2, 3, 4] }];
    const refineOnly: ActionTokens[] = [{ kind: 'refine', ids: [3, 1, 2, 3, 4] }];
    const obs = observations.slice(0, 1);
    expect(await a.getOptimizerState()).toBeNull();
    a.trainStep(() => a.supervisedLoss(obs, boxOnly));
    const typeBefore = a.getWeights().find((w) => w.name === 'type.w')?.data;
    const boxHeadBefore = a.getWeights().find((w) => w.name === 'box.h.w')?.data;
    a.trainStep(() => a.supervisedLoss(obs, refineOnly));
    // The refine step moves the type head; the box height head got no gradient and stays put.
    expect(a.getWeights().find((w) => w.name === 'type.w')?.data).not.toEqual(typeBefore);
    expect(a.getWeights().find((w) => w.name === 'box.h.w')?.data).toEqual(boxHeadBefore);

    const state = await a.getOptimizerState();
    expect(state?.iterations).toBe(2);
    expect(state?.moments).toHaveLength(2 * a.specs.length);
    const b = a.clone({ frozen: false });
    await b.setOptimizerState(state as NonNullable<typeof state>);
    a.trainStep(() => a.supervisedLoss(obs, boxOnly));
    b.trainStep(() => b.supervisedLoss(obs, boxOnly));
    expect(b.getWeights()).toEqual(a.getWeights());
    await expect(b.setOptimizerState({ iterations: 1, moments: [] })).rejects.toThrow(
      'optimizerState.moments',
    );
    a.dispose();
    b.dispose();
  });

  it('smooths supervised targets around the target token, normalised per row', () => {
    const tokens: ActionTokens[] = [
      { kind: 'box', ids: [5, 3, 2, 7] },
      { kind: 'refine', ids: [0] },
    ];
    const t = buildTargets(tokens, policy.codec);
    const soft = smoothTargets(t, policy.codec, 0.2);
    const centre = (soft[Slot.boxCentre] as Float32Array).subarray(0, policy.dims.patches);
    expect(centre.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(centre.indexOf(Math.max(...centre))).toBe(5);
    // Grid neighbour (row 0, col 4) gets more than a far patch (row 3, col 3).
    expect(centre[4]).toBeGreaterThan(centre[3 * policy.dims.grid + 3] as number);
    // Unused slots stay all-zero (refine action has no patch tokens).
    expect((soft[Slot.posPatch] as Float32Array).every((v) => v === 0)).toBe(true);
    const [hard, smooth] = tf.tidy(() => [
      policy.supervisedLoss(observations.slice(0, 2), tokens).dataSync()[0] as number,
      policy.supervisedLoss(observations.slice(0, 2), tokens, { smoothing: 0.2 }).dataSync()[0] as number,
    ]);
    expect(smooth).not.toBeCloseTo(hard, 3);
    expect(() => policy.supervisedLoss(observations.slice(0, 2), tokens, { smoothing: 1 })).toThrow(
      'smoothing 1 must be in [0, 1)',
    );
  });

  it('weights the refinement type token by typeWeight, keeping the token-count normaliser', () => {
    const tokens: ActionTokens[] = [
      { kind: 'box', ids: [1, 2, 3, 4] },
      { kind: 'refine', ids: [3, 7, 1, 5, 2] },
      { kind: 'refine', ids: [0] },
    ];
    const obs = observations.slice(0, 3);
    const [lp, plain, weighted] = tf.tidy(() => [
      policy.logProbs(obs, tokens).logprobs.dataSync(),
      policy.supervisedLoss(obs, tokens).dataSync()[0] as number,
      policy.supervisedLoss(obs, tokens, { typeWeight: 3 }).dataSync()[0] as number,
    ]);
    const L = MAX_ACTION_TOKENS;
    // Type tokens sit at position 0 of the refine rows (rows 1 and 2); 10 real tokens in all.
    const typeLp = (lp[L] as number) + (lp[2 * L] as number);
    expect(weighted - plain).toBeCloseTo((-2 * typeLp) / 10, 5);
    expect(() => policy.supervisedLoss(obs, tokens, { typeWeight: 0 })).toThrow('typeWeight 0');
  });
  it('leaves no tensors behind after sampling, log-probs and train steps', async () => {
    const p = await PointerPolicy.create(TINY, { seed: 12 });
    const tokens: ActionTokens[] = observations.map(() => ({ kind: 'refine', ids: [3, 1, 2, 3, 4] }));
    p.trainStep(() => p.supervisedLoss(observations, tokens, { smoothing: 0.1 })); // creates the Adam moments
    const before = tf.memory().numTensors;
    p.sample(observations, { rng: new Rng(2), kind: 'box' });
    p.sample(observations, { rng: new Rng(2), kind: 'refine' });
    p.logProbsSync(observations, tokens);
    p.trainStep(() => p.supervisedLoss(observations, tokens, { smoothing: 0.1 }));
    expect(tf.memory().numTensors).toBe(before);
    p.dispose();
  });

  it('rejects bad inputs naming the field', () => {
    const bad = { ...observations[0], rgb: new Uint8Array(5) } as PolicyObservation;
    expect(() => policy.sample([bad], { rng: new Rng(0), kind: 'box' })).toThrow(ValidationError);
    expect(() => policy.sample([bad], { rng: new Rng(0), kind: 'box' })).toThrow('observations[0].rgb');
    expect(() => policy.sample(observations, { rng: new Rng(0), kind: ['box'] })).toThrow(
      'must be one kind or 6 kinds',
    );
    expect(() => policy.sample(observations, { rng: new Rng(0), kind: 'box', temperature: -1 })).toThrow(
      'temperature -1',
    );
    expect(() => policy.setWeights(policy.getWeights().slice(1))).toThrow(ValidationError);
  });
});
