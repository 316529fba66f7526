/**
 * The supervised warm start end to end on a tiny configuration: real synthetic samples, GrabCut in a
 * worker thread for the refinement pool, in this thread and over two data-parallel workers.
 */
import { describe, expect, it } from 'vitest';
import { PointerPolicy, TYPE_STOP, typeHasPositive } from '../../core/policy/index.ts';
import {
  DEFAULT_PRETRAIN,
  REFINE_REFRESH_START,
  buildPools,
  freshRefinementStates,
  oracleTargets,
  pretrain,
  type PretrainOptions,
} from '../../core/pretrain/index.ts';
import {
  episodeInputOf,
  greedyPolicy,
  observationOf,
  oracleDecision,
  runEpisodes,
} from '../../core/agent/index.ts';
import { generateSynthetic } from '../../core/data/index.ts';
import { TINY } from '../policy/fixtures.ts';
import { useGrabCutPool } from '../helpers/grabcut-pool.ts';

const CONFIG = { ...TINY, convStem: 4, localLayers: 1 };
const OPTS: PretrainOptions = {
  ...DEFAULT_PRETRAIN,
  seed: 3,
  samples: 48,
  refineExamples: 16,
  auxExamples: 16,
  steps: 8,
  batchSize: 16,
  refreshPerStep: 2,
  learningRate: 3e-3,
};
const env = useGrabCutPool();

async function run(
  trainWorkers: number,
): Promise<{ losses: number[]; parts: number[]; weights: Float32Array[] }> {
  const policy = await PointerPolicy.create(CONFIG, { seed: 1 });
  const start = policy.getWeights().map((w) => w.data);
  const { records } = await pretrain(policy, env(), { ...OPTS, trainWorkers });
  const weights = policy.getWeights().map((w) => w.data);
  policy.dispose();
  // Every weight tensor that the loss reaches moved (the main thread ends with the workers' weights).
  const moved = weights.filter((w, i) => !Buffer.from(w.buffer).equals(Buffer.from(start[i]!.buffer))).length;
  expect(moved).toBeGreaterThan(0.9 * weights.length);
  expect(records.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  for (const r of records) {
    expect(Number.isFinite(r.loss) && Number.isFinite(r.gradNorm) && r.gradNorm > 0).toBe(true);
  }
  const first = records[0]!;
  return {
    losses: records.map((r) => r.loss),
    parts: [first['loss.box'], first['loss.refine'], first['loss.aux']],
    weights,
  };
}

describe('pretrain', () => {
  it('trains in this thread and over two workers from the same batches, reproducibly', async () => {
    const single = await run(1);
    const parallel = await run(2);
    const again = await run(2);
    // Same seed, same batches: the first loss is the same model on the same examples (the workers'
    // mean is weighted by rows, the single thread's by tokens, so they agree closely, not exactly).
    expect(Math.abs(parallel.losses[0]! - single.losses[0]!)).toBeLessThan(0.05 * single.losses[0]!);
    for (const p of [...single.parts, ...parallel.parts]) expect(Number.isFinite(p)).toBe(true);
    // Training lowers the loss either way.
    for (const r of [single, parallel]) expect(r.losses.at(-1)!).toBeLessThan(r.losses[0]!);
    // Data-parallel runs are reproducible to the bit.
    expect(again.losses).toEqual(parallel.losses);
    parallel.weights.forEach((w, i) =>
      expect(Buffer.from(w.buffer).equals(Buffer.from(again.weights[i]!.buffer))).toBe(true),
    );
  }, 120_000);

  it('starts refinement episodes from other objects’ boxes when asked, on masks of the wrong object', async () => {
    // (GrabCut from a jittered GT box on these 256-px scenes: mean IoU ≈ 0.5.)
    const policy = await PointerPolicy.create(CONFIG, { seed: 1 });
    const pools = async (wrongBoxFraction: number) =>
      buildPools(policy, env(), { ...OPTS, refineExamples: 48, wrongBoxFraction });
    const fromGt = await pools(0);
    const fromOthers = await pools(1);
    // A jittered GT box gives GrabCut's mask of the target; another object's box a mask of that
    // object, which barely overlaps the target (occlusion keeps some overlap possible).
    expect(fromGt.startIou).toBeGreaterThan(0.35);
    expect(fromOthers.startIou).toBeLessThan(fromGt.startIou / 3);
    // The oracle's click on such a mask is mostly positive (the whole target is missed).
    const positive = (p: typeof fromGt): number =>
      p.refine.targets.filter((t) => typeHasPositive(t.ids[0] as number)).length / p.refine.targets.length;
    expect(positive(fromOthers)).toBeGreaterThan(positive(fromGt));
    policy.dispose();
  }, 120_000);

  it('labels the states the policy visits itself with the oracle (DAgger)', async () => {
    const policy = await PointerPolicy.create(CONFIG, { seed: 2 });
    const opts = { ...OPTS, refineExamples: 24, daggerFraction: 0.5 };
    const pools = await buildPools(policy, env(), opts);
    expect(pools.refine.inputs.length).toBeGreaterThanOrEqual(24);
    // The first 12 states are the masks the policy's own greedy episodes decided on, in order: rerun
    // those episodes and compare the prepared inputs and the oracle's labels.
    const samples = Array.from(
      { length: 64 },
      (_, i) => generateSynthetic('train', i % opts.samples, { seed: opts.seed }).sample,
    );
    const episodes = await runEpisodes(samples.map(episodeInputOf), greedyPolicy(policy), env());
    const visited = episodes
      .flatMap((e, j) => e.steps.slice(0, -1).map((st) => ({ j, mask: st.mask })))
      .slice(0, 12);
    expect(visited.length).toBe(12);
    visited.forEach(({ j, mask }, k) => {
      const s = samples[j]!;
      const prepared = policy.prepare([observationOf(s.image, s.query, mask)]);
      expect(
        Buffer.from(pools.refine.inputs[k]!.patches.buffer).equals(Buffer.from(prepared.patches.buffer)),
      ).toBe(true);
      // The oracle's label, with the recipe's click targets (a negative click moved away from the object).
      expect(opts.pointTargets).toBe('far');
      expect(pools.refine.targets[k]!.ids).toEqual(
        oracleTargets(oracleDecision(mask, s.gtMask), s.image, policy.codec, 'far', s.gtMask).ids,
      );
    });
    // Without DAgger the pool starts from jittered GT boxes instead: different states.
    const plain = await buildPools(policy, env(), { ...opts, daggerFraction: 0 });
    expect(
      Buffer.from(plain.refine.inputs[0]!.patches.buffer).equals(
        Buffer.from(pools.refine.inputs[0]!.patches.buffer),
      ),
    ).toBe(false);
    policy.dispose();
  }, 120_000);

  it('keeps a moving average of the weights, in this thread and over two workers, without changing the training', async () => {
    const bits = (a: Float32Array[], b: Float32Array[]): boolean =>
      a.length === b.length && a.every((w, i) => Buffer.from(w.buffer).equals(Buffer.from(b[i]!.buffer)));
    const train = async (o: Partial<PretrainOptions>) => {
      const policy = await PointerPolicy.create(CONFIG, { seed: 1 });
      const start = policy.getWeights().map((w) => w.data);
      const r = await pretrain(policy, env(), { ...OPTS, ...o });
      const end = policy.getWeights().map((w) => w.data);
      policy.dispose();
      return { start, end, last: r.lastWeights?.map((w) => w.data) };
    };
    for (const trainWorkers of [1, 2]) {
      // One step: the average is d·w0 + (1 − d)·w1 exactly (float32 storage, float64 arithmetic).
      const plain = await train({ trainWorkers, steps: 1 });
      expect(plain.last).toBeUndefined();
      const avg = await train({ trainWorkers, steps: 1, averageDecay: 0.75 });
      expect(bits(avg.last!, plain.end)).toBe(true);
      const want = plain.end.map((w1, i) =>
        Float32Array.from(w1, (v, j) => 0.75 * plain.start[i]![j]! + 0.25 * v),
      );
      expect(bits(avg.end, want)).toBe(true);
      expect(bits(avg.end, plain.end)).toBe(false);
      // Several steps: the last weights are those of the run without the average, to the bit.
      const plain4 = await train({ trainWorkers, steps: 4 });
      const avg4 = await train({ trainWorkers, steps: 4, averageDecay: 0.5 });
      expect(bits(avg4.last!, plain4.end)).toBe(true);
      expect(bits(avg4.end, plain4.end)).toBe(false);
    }
    for (const averageDecay of [1, -0.1]) {
      await expect(train({ trainWorkers: 1, averageDecay })).rejects.toThrow(`averageDecay ${averageDecay}`);
    }
  }, 180_000);

  it('draws the last steps with the tail mix', async () => {
    const weightsAfter = async (o: Partial<PretrainOptions>): Promise<Float32Array[]> => {
      const policy = await PointerPolicy.create(CONFIG, { seed: 1 });
      await pretrain(policy, env(), { ...OPTS, trainWorkers: 1, ...o });
      const w = policy.getWeights().map((x) => x.data);
      policy.dispose();
      return w;
    };
    const same = (a: Float32Array[], b: Float32Array[]): boolean =>
      a.every((w, i) => Buffer.from(w.buffer).equals(Buffer.from(b[i]!.buffer)));
    const refineHeavy = [0.25, 0.625] as const;
    const plain = await weightsAfter({ mix: refineHeavy });
    // A tail as long as the run is the run with the tail's mix, to the bit.
    expect(same(await weightsAfter({ tail: { steps: OPTS.steps, mix: refineHeavy } }), plain)).toBe(true);
    // A shorter tail changes the batches of its steps only: neither run's weights.
    const half = await weightsAfter({ tail: { steps: OPTS.steps / 2, mix: refineHeavy } });
    expect(same(half, plain)).toBe(false);
    expect(same(half, await weightsAfter({}))).toBe(false);
    await expect(weightsAfter({ tail: { steps: OPTS.steps + 1, mix: refineHeavy } })).rejects.toThrow(
      `tail.steps ${OPTS.steps + 1} exceeds the run's ${OPTS.steps} steps`,
    );
  }, 120_000);

  it('replaces auxiliary examples with a share of the fresh samples only (auxRefreshPerStep)', async () => {
    const weightsAfter = async (extra: Partial<PretrainOptions>): Promise<Float32Array[]> => {
      const p = await PointerPolicy.create(CONFIG, { seed: 1 });
      await pretrain(p, env(), { ...OPTS, steps: 6, refreshPerStep: 3, trainWorkers: 1, ...extra });
      const w = p.getWeights().map((x) => x.data);
      p.dispose();
      return w;
    };
    const same = (x: Float32Array[], y: Float32Array[]): boolean =>
      x.every((w, i) => Buffer.from(w.buffer).equals(Buffer.from(y[i]!.buffer)));
    const plain = await weightsAfter({});
    // All of them is the default, to the bit; fewer changes the auxiliary pool and so the run.
    expect(same(await weightsAfter({ auxRefreshPerStep: 3 }), plain)).toBe(true);
    expect(same(await weightsAfter({ auxRefreshPerStep: 1 }), plain)).toBe(false);
    for (const bad of [4, -1, 1.5]) {
      await expect(weightsAfter({ auxRefreshPerStep: bad })).rejects.toThrow(`auxRefreshPerStep ${bad}`);
    }
  }, 120_000);

  it('refreshes the refinement pool with GrabCut states of fresh samples, reproducibly', async () => {
    const policy = await PointerPolicy.create(CONFIG, { seed: 1 });
    // One fresh sample's states depend on (seed, index) only; a second state follows a click.
    for (const index of [REFINE_REFRESH_START, REFINE_REFRESH_START + 1, REFINE_REFRESH_START + 2]) {
      const a = await freshRefinementStates(policy, env(), 3, index, { pointTargets: 'centre' });
      const b = await freshRefinementStates(policy, env(), 3, index, { pointTargets: 'centre' });
      expect(a.length === 1 || a.length === 2).toBe(true);
      expect(b.map(([, t]) => t.ids)).toEqual(a.map(([, t]) => t.ids));
      a.forEach(([input], k) =>
        expect(Buffer.from(input.patches.buffer).equals(Buffer.from(b[k]![0].patches.buffer))).toBe(true),
      );
      // Only a click leads to a second state.
      expect(a.length === 2).toBe(a[0]![1].ids[0] !== TYPE_STOP);
    }
    policy.dispose();
    const weightsAfter = async (refineRefreshPerStep: number): Promise<Float32Array[]> => {
      const p = await PointerPolicy.create(CONFIG, { seed: 1 });
      await pretrain(p, env(), { ...OPTS, steps: 10, trainWorkers: 1, refineRefreshPerStep });
      const w = p.getWeights().map((x) => x.data);
      p.dispose();
      return w;
    };
    const same = (x: Float32Array[], y: Float32Array[]): boolean =>
      x.every((w, i) => Buffer.from(w.buffer).equals(Buffer.from(y[i]!.buffer)));
    const refreshed = await weightsAfter(2);
    // GrabCut's answers arrive in any order; the pool changes at fixed steps, so the run is the same.
    expect(same(await weightsAfter(2), refreshed)).toBe(true);
    expect(same(await weightsAfter(0), refreshed)).toBe(false);
  }, 180_000);
});
