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
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private t = 0;

  constructor(
    private readonly specs: readonly ParamSpec[],
    private readonly params: ReadonlyMap<string, tf.Variable>,
  ) {
    for (const s of specs) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      this.m.set(s.name, new Float32Array(n));
      this.v.set(s.name, new Float32Array(n));
    }
  }

  get iterations(): number {
    return this.t;
  }

  /**
   * One update from gradients keyed by parameter name (missing names are left untouched), each
   * multiplied by `scale` first (global-norm clipping).
   *
   * The arithmetic runs here, in float32 (every intermediate rounded with Math.fround, the constants
   * rounded as TensorFlow.js rounds a scalar operand), rather than as ~14 tensor kernels per weight:
   * the policy's 95 weights are small, so the kernels' dispatch was the cost (~25 ms a step on WASM
   * against ~3 here). Each operation is one correctly rounded float32 +, −, ×, ÷ or √, exactly what
   * the backends compute, so the weights are the same to the bit as the tensor version's.
   */
  step(grads: ReadonlyMap<string, Float32Array>, s: AdamWSettings, scale = 1): void {
    this.t++;
    const f = Math.fround;
    const c1 = 1 - Math.pow(s.beta1, this.t);
    const c2 = 1 - Math.pow(s.beta2, this.t);
    const b1 = f(s.beta1);
    const ob1 = f(1 - s.beta1);
    const b2 = f(s.beta2);
    const ob2 = f(1 - s.beta2);
    const lr1 = f(s.learningRate / c1);
    const ic2 = f(1 / c2);
    const eps = f(s.epsilon);
    const k = f(scale);
    const keep = f(1 - s.learningRate * s.weightDecay);
    const updated: [tf.Variable, Float32Array][] = [];
    for (const spec of this.specs) {
      const g = grads.get(spec.name);
      if (!g) continue;
      const variable = this.params.get(spec.name) as tf.Variable;
      const m = this.m.get(spec.name) as Float32Array;
      const v = this.v.get(spec.name) as Float32Array;
      const w = variable.dataSync() as Float32Array;
      const out = new Float32Array(w.length);
      const decay = spec.decay && s.weightDecay !== 0;
      for (let i = 0; i < out.length; i++) {
        const gi = scale === 1 ? (g[i] as number) : f((g[i] as number) * k);
        const mi = f(f((m[i] as number) * b1) + f(gi * ob1));
        const vi = f(f((v[i] as number) * b2) + f(f(gi * gi) * ob2));
        m[i] = mi;
        v[i] = vi;
        const update = f(f(mi * lr1) / f(f(Math.sqrt(f(vi * ic2))) + eps));
        const wi = decay ? f((w[i] as number) * keep) : (w[i] as number);
        out[i] = wi - update;
      }
      updated.push([variable, out]);
    }
    tf.tidy(() => {
      for (const [variable, out] of updated) variable.assign(tf.tensor(out, variable.shape));
    });
  }

  getState(): OptimizerState {
    const moments: NamedTensorData[] = [];
    for (const [suffix, table] of [
      ['m', this.m],
      ['v', this.v],
    ] as const) {
      for (const spec of this.specs) {
        moments.push({
          name: `${spec.name}/${suffix}`,
          shape: [...spec.shape],
          data: (table.get(spec.name) as Float32Array).slice(),
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
      (table.get(spec.name) as Float32Array).set(mo.data);
    });
    this.t = state.iterations;
  }

  dispose(): void {
    this.m.clear();
    this.v.clear();
  }
}
