/**
 * Data-parallel training over real worker threads (each with its own TF.js WASM runtime): the mean
 * of the workers' gradients equals the full batch's gradient, their copies stay bit-identical, and
 * a worker's error reaches the caller.
 */
import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchTerminate } from '../helpers/watch-terminate.ts';
import { SamVeteranError } from '../../core/errors/index.ts';
import { PointerPolicy, initTf, type ActionTokens, type PreparedBatch } from '../../core/policy/index.ts';
import { DataParallelTrainer } from '../../core/pretrain/data-parallel.ts';
import { concatPrepared } from '../../core/pretrain/index.ts';
import { TINY, makeFixture } from '../policy/fixtures.ts';

const CONFIG = { ...TINY, convStem: 4 };
let policy: PointerPolicy;
let inputs: PreparedBatch[];
let targets: ActionTokens[];

beforeAll(async () => {
  await initTf('wasm');
  // A large epsilon makes Adam's step nearly linear in the gradient, so rounding differences between
  // the two ways of summing the batch stay rounding-sized (at t = 1 Adam is sign(g) otherwise).
  policy = await PointerPolicy.create(CONFIG, { seed: 3, train: { learningRate: 1e-2, epsilon: 1e-2 } });
  inputs = [];
  targets = [];
  for (let i = 0; i < 8; i++) {
    const f = makeFixture(100 + i);
    inputs.push(policy.prepare([f.observation]));
    // Box actions all have the same token count, so the row-weighted mean of the two halves'
    // mean losses is exactly the full batch's mean loss.
    targets.push(policy.codec.encodeAction({ kind: 'box', box: f.box }, f.observation));
  }
});

afterAll(() => policy.dispose());

describe('DataParallelTrainer', () => {
  it('trains two workers to the weights one full-batch trainStep reaches, and keeps them identical', async () => {
    const reference = policy.clone({ frozen: false });
    const trainer = await DataParallelTrainer.start(policy, 2);
    try {
      const losses: number[] = [];
      const refLosses: number[] = [];
      for (let step = 0; step < 3; step++) {
        const r = await trainer.step([{ inputs, targets }], {
          learningRate: 1e-2,
          smoothing: 0,
          probe: true,
        });
        losses.push(r.loss);
        expect(r.parts[0]).toBeCloseTo(r.loss, 4);
        const batch = concatPrepared(inputs);
        refLosses.push(reference.trainStep(() => reference.supervisedLoss(batch, targets)).loss);
      }
      for (let i = 0; i < 3; i++) expect(losses[i]).toBeCloseTo(refLosses[i] as number, 4);
      expect(losses[2]).toBeLessThan(losses[0] as number);
      const trained = (await trainer.finish()).weights; // throws if the workers' copies differ
      const ref = reference.getWeights();
      let maxDiff = 0;
      let moved = 0;
      trained.forEach((w, i) => {
        const r = ref[i]!;
        expect(w.name).toBe(r.name);
        for (let k = 0; k < w.data.length; k++) {
          maxDiff = Math.max(maxDiff, Math.abs((w.data[k] as number) - (r.data[k] as number)));
        }
      });
      const start = policy.getWeights();
      trained.forEach((w, i) => {
        for (let k = 0; k < w.data.length; k++) if (w.data[k] !== start[i]!.data[k]) moved++;
      });
      expect(moved).toBeGreaterThan(1000);
      expect(maxDiff).toBeLessThan(1e-4);
    } finally {
      await trainer.close();
      reference.dispose();
    }
  });

  it('reports a worker error naming the fault, and refuses an empty batch', async () => {
    const trainer = await DataParallelTrainer.start(policy, 2);
    try {
      await expect(
        trainer.step([{ inputs: [], targets: [] }], { learningRate: 1e-3, smoothing: 0, probe: false }),
      ).rejects.toThrow(/batch is empty/);
      // One row for two workers is refused before anything is sent: the copies stay in step.
      await trainer.step([{ inputs, targets }], { learningRate: 1e-3, smoothing: 0, probe: false });
      await expect(
        trainer.step([{ inputs: inputs.slice(0, 1), targets: targets.slice(0, 1) }], {
          learningRate: 1e-3,
          smoothing: 0,
          probe: false,
        }),
      ).rejects.toThrow(/cannot give each of 2 workers an example/);
      await trainer.step([{ inputs, targets }], { learningRate: 1e-3, smoothing: 0, probe: false });
      expect((await trainer.finish()).weights.length).toBeGreaterThan(0); // throws if the copies diverged
      const bad: ActionTokens[] = targets.map((t) => ({ ...t, ids: [9999, 0, 0, 0] }));
      const err = await trainer
        .step([{ inputs, targets: bad }], { learningRate: 1e-3, smoothing: 0, probe: false })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SamVeteranError);
      expect(String((err as Error).message)).toMatch(/training worker: .*9999/);
    } finally {
      await trainer.close();
    }
  });

  it('passes the loss options (the type-token weight) to its workers', async () => {
    const obs = [0, 1, 2, 3].map((i) => makeFixture(200 + i, 96, 80, true));
    const rows = obs.map((f) => policy.prepare([f.observation]));
    // Positive clicks only: every row has the same token count, so the two halves' mean is exact.
    const refine = obs.map((f) =>
      policy.codec.encodeAction(
        { kind: 'points', positive: [f.box[0] + 1, f.box[1] + 1], negative: null },
        f.observation,
      ),
    );
    const batch = concatPrepared(rows);
    const expected = (typeWeight: number): number =>
      policy.supervisedLoss(batch, refine, { typeWeight }).dataSync()[0] as number;
    const trainer = await DataParallelTrainer.start(policy, 2);
    try {
      const r = await trainer.step([{ inputs: rows, targets: refine }], {
        learningRate: 1e-3,
        smoothing: 0,
        typeWeight: 5,
        probe: false,
      });
      expect(r.loss).toBeCloseTo(expected(5), 4);
      expect(Math.abs(expected(5) - expected(1))).toBeGreaterThan(1e-2);
    } finally {
      await trainer.close();
    }
  });

  it('passes the dense weight and the dense targets to its workers', async () => {
    const dense = await PointerPolicy.create({ ...CONFIG, denseClasses: 2 }, { seed: 4 });
    const P = (CONFIG.viewSize / CONFIG.patchSize) ** 2;
    const withDense = targets.map((t, i) => ({
      ...t,
      dense: {
        coverage: Float32Array.from({ length: P }, (_, p) => ((p + i) % 3 === 0 ? 1 : 0)),
        classes: Float32Array.from({ length: 2 * P }, (_, k) => ((k + i) % 2 === 0 ? 1 : 0)),
      },
    }));
    const batch = concatPrepared(inputs);
    const expected = (denseWeight: number): number =>
      dense.supervisedLoss(batch, withDense, { denseWeight }).dataSync()[0] as number;
    const trainer = await DataParallelTrainer.start(dense, 2);
    try {
      const r = await trainer.step([{ inputs, targets: withDense }], {
        learningRate: 1e-3,
        smoothing: 0,
        denseWeight: 2,
        probe: false,
      });
      expect(r.loss).toBeCloseTo(expected(2), 4);
      expect(expected(2) - expected(0)).toBeGreaterThan(0.5);
    } finally {
      await trainer.close();
      dense.dispose();
    }
  });

  it('ends its workers by themselves on close (no terminate)', async () => {
    const trainer = await DataParallelTrainer.start(policy, 2);
    const workers = (trainer as unknown as { workers: Worker[] }).workers;
    const terminated = watchTerminate(workers);
    await trainer.step([{ inputs, targets }], { learningRate: 1e-3, smoothing: 0, probe: false });
    const t0 = performance.now();
    await trainer.close(120_000);
    expect(performance.now() - t0).toBeLessThan(30_000);
    expect(terminated.count).toBe(0);
    for (const w of workers) expect(w.threadId).toBe(-1);
    await expect(
      trainer.step([{ inputs, targets }], { learningRate: 1e-3, smoothing: 0, probe: false }),
    ).rejects.toThrow(/closed/);
  }, 60_000);
});
