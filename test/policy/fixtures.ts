/** Small synthetic observations for the policy tests: a coloured rectangle on noise, with its box. */
import type { Box } from '../../core/geometry/index.ts';
import { BinaryMask } from '../../core/mask/index.ts';
import type { PolicyObservation } from '../../core/policy/index.ts';
import { Rng } from '../../core/rng/index.ts';

const COLOURS: Record<string, [number, number, number]> = {
  red: [220, 30, 30],
  blue: [30, 60, 220],
  green: [30, 180, 60],
};

export interface Fixture {
  readonly observation: PolicyObservation;
  readonly box: Box;
}

export function makeFixture(seed: number, width = 96, height = 80, withMask = false): Fixture {
  const rng = new Rng(seed);
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = 90 + rng.int(40);
  const colour = rng.pick(Object.keys(COLOURS));
  const [r, g, b] = COLOURS[colour] as [number, number, number];
  const w = rng.intBetween(Math.floor(width / 6), Math.floor(width / 2));
  const h = rng.intBetween(Math.floor(height / 6), Math.floor(height / 2));
  const x1 = rng.intBetween(0, width - w);
  const y1 = rng.intBetween(0, height - h);
  const mask = new BinaryMask(width, height);
  for (let y = y1; y < y1 + h; y++) {
    for (let x = x1; x < x1 + w; x++) {
      const i = 3 * (y * width + x);
      rgb[i] = r;
      rgb[i + 1] = g;
      rgb[i + 2] = b;
      if (withMask && x < x1 + w / 2) mask.set(x, y, 1);
    }
  }
  const observation: PolicyObservation = {
    width,
    height,
    rgb,
    query: `the ${colour} rectangle`,
    ...(withMask ? { mask } : {}),
  };
  return { observation, box: [x1, y1, x1 + w, y1 + h] };
}

/** A tiny architecture for fast tests. */
export const TINY = {
  viewSize: 32,
  patchSize: 8,
  dModel: 16,
  mlpHidden: 24,
  attnLayers: 1,
  crossAttnLayers: 1,
  maxQueryTokens: 6,
  offsetBins: 4,
  sizeBins: 12,
  hashBuckets: 8,
} as const;

/**
 * Reference for the blocks' first stage, in float64: each of the `rows` rows of x (width d) layer
 * normalised with gains g and shifts b, then through W [d, k] + bias; `act` applied per unit.
 */
export function referenceNormDense(
  x: Float32Array,
  d: number,
  ln: { readonly g: Float32Array; readonly b: Float32Array },
  w: Float32Array,
  bias: Float32Array,
  act: (v: number) => number,
): Float64Array {
  const k = bias.length;
  const rows = x.length / d;
  const out = new Float64Array(rows * k);
  for (let i = 0; i < rows; i++) {
    const row = x.subarray(i * d, (i + 1) * d);
    const mean = row.reduce((a, v) => a + v, 0) / d;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / d;
    const normed = Array.from(row, (v, j) => ((v - mean) / Math.sqrt(variance + 1e-5)) * ln.g[j]! + ln.b[j]!);
    for (let u = 0; u < k; u++) {
      let s = bias[u]!;
      for (let j = 0; j < d; j++) s += normed[j]! * w[j * k + u]!;
      out[i * k + u] = act(s);
    }
  }
  return out;
}
