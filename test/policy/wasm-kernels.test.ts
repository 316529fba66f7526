/**
 * Where the policy changes how TensorFlow.js computes on its WebAssembly backend: the Identity kernel
 * shares its input's buffer (tf-runtime.ts), products whose right operands are different reshapes of
 * one buffer get the right numbers (the backend's operator cache is keyed by buffer alone), and the
 * gradient of a batched product over a length-1 axis is a broadcast multiply (tf-gradients.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { PointerPolicy, initTf, tf, type ActionTokens } from '../../core/policy/index.ts';
import { Rng } from '../../core/rng/index.ts';
import { TINY, makeFixture } from './fixtures.ts';

beforeAll(async () => {
  await initTf('wasm');
});

function random(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.normal(0, 1)),
    shape,
  );
}

describe('Identity on the WASM backend', () => {
  it('shares the buffer: a clone makes no new data buffer and outlives its source', () => {
    const x = random([64, 33], 1);
    const before = Array.from(x.dataSync());
    const buffers = tf.memory().numDataBuffers;
    const ids = tf.backend().numDataIds();
    const c = tf.clone(x);
    expect(c.dataId).toBe(x.dataId);
    expect(tf.memory().numDataBuffers).toBe(buffers);
    expect(tf.backend().numDataIds()).toBe(ids);
    x.dispose();
    expect(c.isDisposed).toBe(false);
    expect(Array.from(c.dataSync())).toEqual(before);
    c.dispose();
    expect(tf.backend().numDataIds()).toBe(ids - 1);
  });

  it('keeps a clone of a variable when the variable is assigned (what a gradient saves)', () => {
    const w = tf.variable(random([8, 4], 2));
    const first = Array.from(w.dataSync());
    const saved = tf.clone(w);
    w.assign(tf.fill([8, 4], 3));
    expect(Array.from(saved.dataSync())).toEqual(first);
    expect(Array.from(w.dataSync())).toEqual(new Array(32).fill(3));
    saved.dispose();
    expect(Array.from(w.dataSync())).toEqual(new Array(32).fill(3));
    w.dispose();
  });

  it('leaves no tensor behind after a gradient computation', () => {
    const w = tf.variable(random([16, 16], 4));
    const x = random([32, 16], 5);
    const tensors = tf.memory().numTensors;
    const ids = tf.backend().numDataIds();
    for (let i = 0; i < 3; i++) {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.relu(tf.matMul(x, w))), [w]);
      tf.dispose([value, ...Object.values(grads)]);
    }
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.backend().numDataIds()).toBe(ids);
    tf.dispose([w, x]);
  });
});

describe('products whose right operands view one buffer in different shapes', () => {
  const values = (n: number, k: number): Float32Array =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(k * i));

  it('multiply by each view, not by the first view packed', () => {
    const p = tf.tensor(values(64 * 32, 1), [64, 32]);
    const a = tf.tensor(values(5 * 256, 2), [5, 256]);
    const c = tf.tensor(values(5 * 64, 3), [5, 64]);
    const first = tf.matMul(a, tf.reshape(p, [256, 8]));
    const second = tf.matMul(c, tf.reshape(p, [64, 32]));
    // The same products with operands of their own (fresh buffers): the same numbers, to the bit.
    const own1 = tf.matMul(a, tf.tensor(values(64 * 32, 1), [256, 8]));
    const own2 = tf.matMul(c, tf.tensor(values(64 * 32, 1), [64, 32]));
    expect(Array.from(first.dataSync())).toEqual(Array.from(own1.dataSync()));
    expect(Array.from(second.dataSync())).toEqual(Array.from(own2.dataSync()));
    // And the view first seen still uses its cached operator afterwards.
    expect(Array.from(tf.matMul(a, tf.reshape(p, [256, 8])).dataSync())).toEqual(Array.from(own1.dataSync()));
  });

  it('give the right gradient when one input feeds two products in two shapes', async () => {
    const grads = (): Float32Array[] => {
      const p = tf.tensor(values(64 * 32, 1), [64, 32]);
      const w = tf.variable(tf.tensor(values(32 * 4, 4), [32, 4]));
      const w2 = tf.variable(tf.tensor(values(8 * 4, 5), [8, 4]));
      const { value, grads: g } = tf.variableGrads(
        () =>
          tf.add(
            tf.sum(tf.square(tf.matMul(tf.reshape(p, [64, 32]), w))),
            tf.sum(tf.square(tf.matMul(tf.reshape(p, [256, 8]), w2))),
          ),
        [w, w2],
      );
      const out = [w, w2].map((v) => (g[v.name] as tf.Tensor).dataSync() as Float32Array);
      tf.dispose([p, w, w2, value, ...Object.values(g)]);
      return out;
    };
    const onWasm = grads();
    await initTf('cpu');
    const onCpu = grads();
    await initTf('wasm');
    onCpu.forEach((ref, i) => {
      const got = onWasm[i] as Float32Array;
      const scale = Math.max(...ref.map(Math.abs));
      const worst = Math.max(...ref.map((v, j) => Math.abs(v - (got[j] as number))));
      expect(worst / scale).toBeLessThan(1e-5);
    });
  });
});

describe('gradient of a batched product over a length-1 axis', () => {
  it('equals the product itself, to the bit', () => {
    // c = a·h with a one row per batch [B,1,P]: dh = aᵀ·dc is an outer product per batch.
    const a = random([6, 1, 10], 6);
    const h = random([6, 10, 7], 7);
    const dc = random([6, 1, 7], 8);
    const dh = tf.grad((hi: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a as tf.Tensor3D, hi as tf.Tensor3D), dc)))(
      h,
    );
    const direct = tf.matMul(a as tf.Tensor3D, dc as tf.Tensor3D, true, false);
    expect(dh.shape).toEqual([6, 10, 7]);
    expect(Array.from(dh.dataSync())).toEqual(Array.from(direct.dataSync()));
    // Transposed operands take the same path: c = a·hᵀ with h [B,7,10].
    const ht = tf.transpose(h, [0, 2, 1]);
    const dht = tf.grad((hi: tf.Tensor) =>
      tf.sum(tf.mul(tf.matMul(a as tf.Tensor3D, hi as tf.Tensor3D, false, true), dc)),
    )(ht);
    expect(dht.shape).toEqual([6, 7, 10]);
    expect(Array.from(dht.dataSync())).toEqual(Array.from(tf.transpose(direct, [0, 2, 1]).dataSync()));
    tf.dispose([a, h, dc, dh, direct, ht, dht]);
  });
});

describe('the policy on WASM', () => {
  // Every optional block on across two architectures (the stem and the edge features exclude each
  // other): the stem feeds the patches to two products in two shapes, the case the operator-cache
  // guard exists for. A batch with boxes and both kinds of click.
  const architectures = {
    'stem, local, mixer, max pool': {
      ...TINY,
      convStem: 4,
      localLayers: 1,
      mixerLayers: 1,
      globalMaxPool: true,
    },
    'edges, local, position bias (the warm start’s kind)': {
      ...TINY,
      edgeBins: 4,
      edgeCells: 2,
      localLayers: 2,
      globalMaxPool: true,
      boxPositionBias: true,
    },
  };
  for (const [label, config] of Object.entries(architectures)) {
    it(`computes the gradients the plain-JS backend computes: ${label}`, async () => {
      const grads = async (): Promise<Map<string, Float32Array>> => {
        const policy = await PointerPolicy.create(config, { seed: 11 });
        const fixtures = Array.from({ length: 6 }, (_, i) => makeFixture(40 + i, 96, 80, i % 2 === 1));
        const targets: ActionTokens[] = fixtures.map((f, i) =>
          i % 2 === 0
            ? policy.codec.encodeAction({ kind: 'box', box: f.box }, f.observation)
            : policy.codec.encodeAction(
                i % 4 === 1
                  ? { kind: 'points', positive: [f.box[0] + 4, f.box[1] + 4], negative: null }
                  : { kind: 'points', positive: [f.box[0] + 2, f.box[1] + 3], negative: [2, 2] },
                f.observation,
              ),
        );
        const prep = policy.prepare(fixtures.map((f) => f.observation));
        const { grads: g } = policy.computeGradients(() =>
          policy.supervisedLoss(prep, targets, { smoothing: 0.1, typeWeight: 4 }),
        );
        policy.dispose();
        return g;
      };
      await initTf('cpu');
      const reference = await grads();
      await initTf('wasm');
      const got = await grads();
      expect([...got.keys()]).toEqual([...reference.keys()]);
      let total = 0;
      for (const g of reference.values()) for (const v of g) total += v * v;
      const checked: string[] = [];
      for (const [name, ref] of reference) {
        const mine = got.get(name) as Float32Array;
        let num = 0;
        let den = 0;
        for (let i = 0; i < ref.length; i++) {
          num += ((ref[i] as number) - (mine[i] as number)) ** 2;
          den += (ref[i] as number) ** 2;
        }
        // Gradients that are zero up to rounding (e.g. a bias before a normalisation) are not compared.
        if (den < 1e-12 * total) continue;
        checked.push(name);
        expect(Math.sqrt(num / den), name).toBeLessThan(1e-4);
      }
      expect(checked.length).toBeGreaterThan(0.8 * reference.size);
    });
  }
});
