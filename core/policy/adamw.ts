/**
 * AdamW (Loshchilov & Hutter 2019, Algorithm 2) keyed by parameter name:
 *
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   w ← w − lr·( m/(1−β1^t) / (√(v/(1−β2^t)) + ε) ) − lr·wd·w      (decay on matrices only)
 *
 * Written here rather than wrapping tf.train.adam because that optimizer matches its moments to
 * variables by position in each gradient map: a step where some head gets no gradient (a batch
 * of only box actions) would shift every later moment onto the wrong weight. Here a parameter
 * without a gradient is skipped (as in PyTorch), and the state is exported by name.
 */
import { ValidationError } from '../errors/index.ts';
import type { ParamSpec } from './params.ts';
import { tf } from './tf-runtime.ts';

export interface AdamWSettings {
  readonly learningRate: number;
  readonly weightDecay: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

export interface NamedTensorData {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Adam's step count and moments, for checkpoints: `<name>/m` for every weight, then `<name>/v`. */
export interface OptimizerState {
  readonly iterations: number;
  readonly moments: readonly NamedTensorData[];
}

export class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;

  constructor(
    private readonly specs: readonly ParamSpec[],
    private readonly params: ReadonlyMap<string, tf.Variable>,
  ) {
    for (const s of specs) {
      this.m.set(s.name, tf.variable(tf.zeros([...s.shape]), false));
      this.v.set(s.name, tf.variable(tf.zeros([...s.shape]), false));
    }
  }

  get iterations(): number {
    return this.t;
  }

  /** One update from gradients keyed by parameter name (missing names are left untouched). */
  step(grads: ReadonlyMap<string, tf.Tensor>, s: AdamWSettings): void {
    this.t++;
    const c1 = 1 - Math.pow(s.beta1, this.t);
    const c2 = 1 - Math.pow(s.beta2, this.t);
    tf.tidy(() => {
      for (const spec of this.specs) {
        const g = grads.get(spec.name);
        if (!g) continue;
        const w = this.params.get(spec.name) as tf.Variable;
        const m = this.m.get(spec.name) as tf.Variable;
        const v = this.v.get(spec.name) as tf.Variable;
        const m2 = tf.add(tf.mul(m, s.beta1), tf.mul(g, 1 - s.beta1));
        const v2 = tf.add(tf.mul(v, s.beta2), tf.mul(tf.square(g), 1 - s.beta2));
        m.assign(m2);
        v.assign(v2);
        const update = tf.div(
          tf.mul(m2, s.learningRate / c1),
          tf.add(tf.sqrt(tf.mul(v2, 1 / c2)), s.epsilon),
        );
        const decayed = spec.decay && s.weightDecay !== 0 ? tf.mul(w, 1 - s.learningRate * s.weightDecay) : w;
        w.assign(tf.sub(decayed, update));
      }
    });
  }

  getState(): OptimizerState {
    const moments: NamedTensorData[] = [];
    for (const [suffix, table] of [
      ['m', this.m],
      ['v', this.v],
    ] as const) {
      for (const spec of this.specs) {
        const t = table.get(spec.name) as tf.Variable;
        moments.push({
          name: `${spec.name}/${suffix}`,
          shape: [...spec.shape],
          data: (t.dataSync() as Float32Array).slice(),
        });
      }
    }
    return { iterations: this.t, moments };
  }

  setState(state: OptimizerState): void {
    const n = this.specs.length;
    if (!Number.isInteger(state.iterations) || state.iterations < 0) {
      throw new ValidationError(
        'optimizerState.iterations',
        state.iterations,
        'must be a non-negative integer',
      );
    }
    if (state.moments.length !== 2 * n) {
      throw new ValidationError(
        'optimizerState.moments',
        `${state.moments.length} tensors`,
        `must have ${2 * n} (m and v per weight)`,
      );
    }
    state.moments.forEach((mo, i) => {
      const spec = this.specs[i % n] as ParamSpec;
      const want = `${spec.name}/${i < n ? 'm' : 'v'}`;
      if (mo.name !== want)
        throw new ValidationError(
          `optimizerState.moments[${i}].name`,
          mo.name,
          `must be ${JSON.stringify(want)}`,
        );
      if (mo.data.length !== spec.shape.reduce((a, b) => a * b, 1)) {
        throw new ValidationError(
          `optimizerState.${want}.data`,
          mo.data,
          `must match shape [${spec.shape.join(', ')}]`,
        );
      }
    });
    state.moments.forEach((mo, i) => {
      const spec = this.specs[i % n] as ParamSpec;
      const table = i < n ? this.m : this.v;
      tf.tidy(() => (table.get(spec.name) as tf.Variable).assign(tf.tensor(mo.data, [...spec.shape])));
    });
    this.t = state.iterations;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
