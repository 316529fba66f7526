/** `globalMaxPool`: the global context also reads max_p h through weights that start at zero. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import type { ActionTokens } from '../../core/policy/index.ts';
import {
  PointerPolicy,
  encodePolicyFile,
  initTf,
  loadPolicyBytes,
  resolvePolicyConfig,
  serializePolicy,
  tf,
} from '../../core/policy/index.ts';
import { TINY, makeFixture } from './fixtures.ts';

const observations = [1, 2, 3].map((s) => makeFixture(300 + s, 64, 48, true).observation);
const tokens: ActionTokens[] = [
  { kind: 'refine', ids: [1, 3, 2] },
  { kind: 'refine', ids: [2, 5, 0] },
  { kind: 'refine', ids: [0] },
];
const disposables: PointerPolicy[] = [];

beforeAll(async () => {
  await initTf('wasm');
});
afterAll(() => disposables.forEach((p) => p.dispose()));

async function make(globalMaxPool: boolean): Promise<PointerPolicy> {
  const p = await PointerPolicy.create({ ...TINY, globalMaxPool }, { seed: 3 });
  disposables.push(p);
  return p;
}

const logProbsOf = (p: PointerPolicy): Float32Array =>
  tf.tidy(() => p.logProbs(observations, tokens).logprobs.dataSync() as Float32Array);

describe('global max pooling', () => {
  it('starts as the mean-pooled network with the same weights, then learns through the max', async () => {
    const plain = await make(false);
    const pooled = await make(true);
    const byName = new Map(plain.getWeights().map((w) => [w.name, w]));
    pooled.setWeights(pooled.getWeights().map((w) => byName.get(w.name) ?? w));
    const wmax = (): Float32Array =>
      pooled.getWeights().find((w) => w.name === 'glob.wmax')?.data ?? new Float32Array();
    expect(wmax().length).toBe(TINY.dModel * TINY.dModel);
    expect(wmax().every((v) => v === 0)).toBe(true);
    expect(Array.from(logProbsOf(pooled))).toEqual(Array.from(logProbsOf(plain)));

    const { grads } = pooled.computeGradients(() => pooled.supervisedLoss(observations, tokens));
    const g = grads.get('glob.wmax');
    expect(g?.some((v) => v !== 0)).toBe(true);
    pooled.trainStep(() => pooled.supervisedLoss(observations, tokens));
    expect(wmax().some((v) => v !== 0)).toBe(true);
    expect(Array.from(logProbsOf(pooled))).not.toEqual(Array.from(logProbsOf(plain)));
  });

  it('is off for checkpoints written before the option existed', async () => {
    const pooled = await make(true);
    const s = serializePolicy(pooled);
    expect(s.manifest.config.globalMaxPool).toBe(true);
    const plain = await make(false);
    const old = serializePolicy(plain);
    const { globalMaxPool: _dropped, ...config } = old.manifest.config;
    const loaded = loadPolicyBytes(
      encodePolicyFile({ ...old, manifest: { ...old.manifest, config } as never }),
    );
    disposables.push(loaded);
    expect(loaded.config.globalMaxPool).toBe(false);
    expect(Array.from(logProbsOf(loaded))).toEqual(Array.from(logProbsOf(plain)));
  });

  it('rejects a value that is not a boolean, naming the field', () => {
    expect(() => resolvePolicyConfig({ globalMaxPool: 'yes' as never })).toThrow(ValidationError);
    expect(() => resolvePolicyConfig({ globalMaxPool: 1 as never })).toThrow('config.globalMaxPool 1');
  });
});
