/**
 * AdamW computes in float32 in JavaScript (adamw.ts); these tests hold it to the bit against the same
 * update written as TensorFlow.js tensor operations, on both backends, including clipping scales,
 * undecayed weights, moments carried over steps and gradients small enough to underflow.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { AdamW, initTf, tf, type AdamWSettings } from '../../core/policy/index.ts';
import type { ParamSpec } from '../../core/policy/params.ts';
import { Rng } from '../../core/rng/index.ts';

const SPECS: ParamSpec[] = [
  { name: 'w', shape: [64, 50], init: 'zeros', decay: true },
  { name: 'b', shape: [50], init: 'zeros', decay: false },
];
const SETTINGS: AdamWSettings = {
  learningRate: 3e-3,
  weightDecay: 0.01,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
};

function gradients(step: number): Map<string, Float32Array> {
  const rng = new Rng(`adamw-test:${step}`);
  const out = new Map<string, Float32Array>();
  for (const s of SPECS) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    // Magnitudes from 1e-30 to 10: squares of the smallest underflow float32.
    out.set(
      s.name,
      Float32Array.from({ length: n }, () => rng.normal(0, 1) * 10 ** rng.uniform(-30, 1)),
    );
  }
  return out;
}

/** The update as tensor operations (what AdamW computed before it moved to JavaScript). */
class TensorAdamW {
  private readonly m = new Map<string, tf.Tensor>();
  private readonly v = new Map<string, tf.Tensor>();
  private t = 0;
  constructor(private readonly params: Map<string, tf.Variable>) {
    for (const s of SPECS) {
      this.m.set(s.name, tf.keep(tf.zeros([...s.shape])));
      this.v.set(s.name, tf.keep(tf.zeros([...s.shape])));
    }
  }
  step(grads: Map<string, Float32Array>, s: AdamWSettings, scale: number): void {
    this.t++;
    const c1 = 1 - Math.pow(s.beta1, this.t);
    const c2 = 1 - Math.pow(s.beta2, this.t);
    tf.tidy(() => {
      for (const spec of SPECS) {
        let g = tf.tensor(grads.get(spec.name) as Float32Array, [...spec.shape]);
        if (scale !== 1) g = tf.mul(g, scale);
        const w = this.params.get(spec.name) as tf.Variable;
        const m2 = tf.add(tf.mul(this.m.get(spec.name) as tf.Tensor, s.beta1), tf.mul(g, 1 - s.beta1));
        const v2 = tf.add(
          tf.mul(this.v.get(spec.name) as tf.Tensor, s.beta2),
          tf.mul(tf.square(g), 1 - s.beta2),
        );
        tf.dispose([this.m.get(spec.name) as tf.Tensor, this.v.get(spec.name) as tf.Tensor]);
        this.m.set(spec.name, tf.keep(m2));
        this.v.set(spec.name, tf.keep(v2));
        const update = tf.div(
          tf.mul(m2, s.learningRate / c1),
          tf.add(tf.sqrt(tf.mul(v2, 1 / c2)), s.epsilon),
        );
        const decayed = spec.decay ? tf.mul(w, 1 - s.learningRate * s.weightDecay) : w;
        w.assign(tf.sub(decayed, update));
      }
    });
  }
  dispose(): void {
    tf.dispose([...this.m.values(), ...this.v.values()]);
  }
}

function variables(): Map<string, tf.Variable> {
  const rng = new Rng('adamw-test:init');
  return new Map(
    SPECS.map((s) => {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const data = Float32Array.from({ length: n }, () => rng.normal(0, 0.5));
      return [s.name, tf.variable(tf.tensor(data, [...s.shape]))] as const;
    }),
  );
}

afterAll(async () => {
  await initTf('wasm');
});

describe('AdamW', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`matches the tensor-operation update to the bit on ${backend}`, async () => {
      await initTf(backend);
      const mine = variables();
      const theirs = variables();
      const opt = new AdamW(SPECS, mine);
      const ref = new TensorAdamW(theirs);
      const scales = [1, 0.37, 1, 2.5e-3];
      scales.forEach((scale, i) => {
        const g = gradients(i);
        opt.step(g, SETTINGS, scale);
        ref.step(g, SETTINGS, scale);
      });
      let moved = 0;
      for (const s of SPECS) {
        const a = (mine.get(s.name) as tf.Variable).dataSync();
        const b = (theirs.get(s.name) as tf.Variable).dataSync();
        expect(Array.from(a)).toEqual(Array.from(b));
        moved += a.length;
      }
      expect(moved).toBe(64 * 50 + 50);
      expect(opt.iterations).toBe(4);
      // The exported moments are the reference's too.
      const state = opt.getState();
      expect(state.moments.map((m) => m.name)).toEqual(['w/m', 'b/m', 'w/v', 'b/v']);
      ref.dispose();
      opt.dispose();
      for (const v of [...mine.values(), ...theirs.values()]) v.dispose();
    });
  }

  it('skips weights without a gradient and leaves them untouched', async () => {
    await initTf('wasm');
    const vars = variables();
    const opt = new AdamW(SPECS, vars);
    const before = Array.from((vars.get('b') as tf.Variable).dataSync());
    opt.step(new Map([['w', gradients(0).get('w') as Float32Array]]), SETTINGS);
    expect(Array.from((vars.get('b') as tf.Variable).dataSync())).toEqual(before);
    expect(
      opt
        .getState()
        .moments.find((m) => m.name === 'b/v')
        ?.data.every((x) => x === 0),
    ).toBe(true);
    opt.dispose();
    for (const v of vars.values()) v.dispose();
  });
});
