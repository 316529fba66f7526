/**
 * Autodiff against central finite differences on a tiny network, on TensorFlow.js's plain-JS
 * 'cpu' backend (float32 throughout, so the tolerance is relative and the step fairly large).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ActionTokens, PolicyObservation } from '../../core/policy/index.ts';
import { PointerPolicy, initTf, tf } from '../../core/policy/index.ts';
import { Rng } from '../../core/rng/index.ts';
import { makeFixture } from './fixtures.ts';

const CONFIG = {
  viewSize: 16,
  patchSize: 8,
  dModel: 8,
  mlpHidden: 8,
  attnLayers: 1,
  crossAttnLayers: 1,
  convStem: 2,
  localLayers: 1,
  localChannels: 3,
  boxPositionBias: true,
  boxPositionWords: true,
  wordFilm: true,
  boxDetail: true,
  pointDetail: true,
  globalMaxPool: true,
  maxQueryTokens: 4,
  offsetBins: 2,
  sizeBins: 6,
  hashBuckets: 4,
} as const;

beforeAll(async () => {
  await initTf('cpu');
});

describe('policy gradients', () => {
  it('match finite differences for every parameter tensor', async () => {
    const policy = await PointerPolicy.create(CONFIG, { seed: 5 });
    // Zero-initialised biases put ReLUs exactly on their kink wherever every input of a unit is 0
    // (a ReLU layer after a ReLU layer): finite differences then disagree with any subgradient.
    // Small random biases move the check off the kinks. (The max-pool weights start at zero too,
    // which would hide the Max gradient behind them.)
    const jitter = new Rng(24);
    policy.setWeights(
      policy
        .getWeights()
        .map((w) =>
          w.data.every((v) => v === 0) ? { ...w, data: w.data.map(() => jitter.normal(0, 0.05)) } : w,
        ),
    );
    const obs: PolicyObservation[] = [
      makeFixture(1, 40, 32, false).observation,
      makeFixture(2, 40, 32, true).observation,
    ];
    // A mixed batch touches every head: box tokens, and a refine action with both points.
    const tokens: ActionTokens[] = [
      { kind: 'box', ids: [2, 1, 3, 4] },
      { kind: 'refine', ids: [3, 1, 2, 3, 0] },
    ];
    const prep = policy.prepare(obs);
    // Weight the tokens unevenly so that the check covers the scatter into positions.
    const weights = tf.tensor2d([
      [1, 0.5, 2, 1, 0],
      [0.7, 1.3, 1, 0.4, 1.1],
    ]);
    const lossOf = (): tf.Scalar =>
      tf.sum(tf.mul(policy.logProbs(prep, tokens).logprobs, weights)) as tf.Scalar;

    const vars = (policy as unknown as { vars: Map<string, tf.Variable> }).vars;
    const { grads } = tf.variableGrads(lossOf, [...vars.values()]);
    const rng = new Rng(17);
    const eps = 1e-2;
    let checked = 0;
    const failures: string[] = [];
    const names = [...vars.keys()];
    const gradByName = new Map(names.map((n) => [n, grads[(vars.get(n) as tf.Variable).name] as tf.Tensor]));
    for (const name of names) {
      const v = vars.get(name) as tf.Variable;
      const g = gradByName.get(name)?.dataSync() as Float32Array;
      const base = (v.dataSync() as Float32Array).slice();
      for (let k = 0; k < 2; k++) {
        const i = rng.int(base.length);
        const probe = (delta: number): number => {
          const w = base.slice();
          w[i] = (w[i] as number) + delta;
          v.assign(tf.tensor(w, v.shape));
          return tf.tidy(() => lossOf().dataSync()[0] as number);
        };
        const ad = g[i] as number;
        const agrees = (fd: number, slack: number): boolean =>
          Math.abs(ad - fd) <= 2e-2 * Math.max(Math.abs(ad), Math.abs(fd)) + slack;
        const fd = (probe(eps) - probe(-eps)) / (2 * eps);
        // A ReLU kink inside [w−ε, w+ε] biases the difference; smaller steps (noisier in float32)
        // settle it. A shared bias such as patch.b moves every token at once, so it crosses the most kinks.
        const fdSmall = agrees(fd, 2e-3) ? fd : (probe(eps / 4) - probe(-eps / 4)) / (eps / 2);
        const fdTiny =
          agrees(fd, 2e-3) || agrees(fdSmall, 5e-3)
            ? fdSmall
            : (probe(eps / 16) - probe(-eps / 16)) / (eps / 8);
        v.assign(tf.tensor(base, v.shape));
        checked++;
        if (!agrees(fd, 2e-3) && !agrees(fdSmall, 5e-3) && !agrees(fdTiny, 5e-3)) {
          failures.push(
            `${name}[${i}] autodiff ${ad} vs finite differences ${fd} (ε), ${fdSmall} (ε/4), ${fdTiny} (ε/16)`,
          );
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(failures).toEqual([]);
    // Every parameter receives a gradient from this batch (no dead heads).
    for (const name of names) expect(gradByName.get(name), name).toBeDefined();
    policy.dispose();
  });
});
