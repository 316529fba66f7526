/**
 * What the pretrain tests share: TF.js on its WASM backend and one GrabCut worker thread for the
 * file's tests, and the options of a run small enough to build pools in a few seconds.
 */
import { afterAll, beforeAll } from 'vitest';
import { initTf } from '../../core/policy/index.ts';
import { DEFAULT_PRETRAIN, type PretrainOptions } from '../../core/pretrain/index.ts';
import { WorkerEnvPool } from '../../services/sam-env/index.ts';

/** The recipe's options at a size for tests: 24 samples, 24 refinement states, 2 steps of 8. */
export const SMALL_PRETRAIN: PretrainOptions = {
  ...DEFAULT_PRETRAIN,
  seed: 3,
  samples: 24,
  refineExamples: 24,
  auxExamples: 8,
  steps: 2,
  batchSize: 8,
  refreshPerStep: 1,
  trainWorkers: 1,
};

/** Starts TF.js (wasm) and a one-worker GrabCut pool before the file's tests, closes it after. */
export function useGrabCutPool(): () => WorkerEnvPool {
  let env: WorkerEnvPool | undefined;
  beforeAll(async () => {
    await initTf('wasm');
    env = new WorkerEnvPool({ workers: 1 });
  });
  afterAll(async () => {
    await env?.close();
  });
  return () => {
    if (!env) throw new Error('the GrabCut pool starts in beforeAll');
    return env;
  };
}
