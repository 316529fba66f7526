/**
 * Token-drawing helpers of the sampler: categorical draws from logits at a temperature (with the
 * token's log-prob at temperature 1, which is what the learner recomputes), one-hot rows for
 * conditioning later heads on drawn tokens, and per-observation action kinds.
 */
import { ValidationError } from '../errors/index.ts';
import type { Rng } from '../rng/index.ts';
import type { ActionKind } from './action-codec.ts';
import { tf } from './tf-runtime.ts';

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** One-hot rows [B, n]; a negative index gives an all-zero row. */
export function oneHot(indices: Int32Array, n: number): tf.Tensor2D {
  const data = new Float32Array(indices.length * n);
  indices.forEach((v, b) => {
    if (v >= 0) data[b * n + v] = 1;
  });
  return tf.tensor2d(data, [indices.length, n]);
}

/**
 * Draws a token from one row of logits: returns [id, log-prob at temperature 1]. Temperature 0
 * (or below 1e-6) takes the argmax (first on ties).
 */
export function drawToken(logits: Float32Array, temperature: number, rng: Rng): [number, number] {
  const n = logits.length;
  let max = -Infinity;
  let arg = 0;
  for (let i = 0; i < n; i++) {
    const v = logits[i] as number;
    if (v > max) {
      max = v;
      arg = i;
    }
  }
  let z = 0;
  for (let i = 0; i < n; i++) z += Math.exp((logits[i] as number) - max);
  const logZ = max + Math.log(z);
  let id = arg;
  if (temperature >= 1e-6) {
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) w[i] = Math.exp(((logits[i] as number) - max) / temperature);
    id = rng.categorical(w);
  }
  return [id, (logits[id] as number) - logZ];
}

export function resolveKinds(kind: ActionKind | readonly ActionKind[], n: number): ActionKind[] {
  const kinds = typeof kind === 'string' ? new Array<ActionKind>(n).fill(kind) : [...kind];
  if (kinds.length !== n)
    throw new ValidationError('kind', kind, `must be one kind or ${n} kinds (one per observation)`);
  kinds.forEach((k, i) => {
    if (k !== 'box' && k !== 'refine')
      throw new ValidationError(`kind[${i}]`, k, "must be 'box' or 'refine'");
  });
  return kinds;
}

/** Softmax (temperature 1) of one row of logits, in float64. */
function softmaxRow(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const p = new Float64Array(logits.length);
  let z = 0;
  for (let i = 0; i < logits.length; i++) z += p[i] = Math.exp((logits[i] as number) - max);
  for (let i = 0; i < p.length; i++) (p[i] as number) /= z;
  return p;
}

/** The mean class index of one row of logits under its softmax (a fractional bin). */
export function meanIndex(logits: Float32Array): number {
  const p = softmaxRow(logits);
  let m = 0;
  for (let i = 0; i < p.length; i++) m += i * (p[i] as number);
  return m;
}

/**
 * The mean cell of one row of logits over a side × side grid of classes (class = row · side +
 * column) under its softmax: [mean column, mean row], fractional.
 */
export function meanCell(logits: Float32Array, side: number): [number, number] {
  const p = softmaxRow(logits);
  let x = 0;
  let y = 0;
  for (let i = 0; i < p.length; i++) {
    x += (i % side) * (p[i] as number);
    y += Math.floor(i / side) * (p[i] as number);
  }
  return [x, y];
}
