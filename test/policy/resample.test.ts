/**
 * The policy's area resize (core/policy/resample.ts): the block path taken when the view divides
 * the image must give the general path's values to the bit, and both must be the area average.
 */
import { describe, expect, it } from 'vitest';
import { resizeInto } from '../../core/policy/resample.ts';
import { Rng } from '../../core/rng/index.ts';

function image(
  w: number,
  h: number,
  seed: number,
): { width: number; height: number; rgb: Uint8Array; mask: { data: Uint8Array } } {
  const rng = new Rng(seed);
  const rgb = new Uint8Array(w * h * 3).map(() => rng.int(256));
  const data = new Uint8Array(w * h).map(() => (rng.bool(0.3) ? 1 : 0));
  return { width: w, height: h, rgb, mask: { data } };
}

/** The area average written the plain way: per output cell, per pixel of its source range. */
function reference(obs: ReturnType<typeof image>, V: number, C: 3 | 4, centre: number): Float32Array {
  const out = new Float32Array(V * V * C);
  const range = (len: number, i: number): [number, number] => {
    let a = Math.floor((i * len) / V);
    let b = Math.floor(((i + 1) * len) / V);
    if (b <= a) {
      a = Math.min(len - 1, Math.floor(((i + 0.5) * len) / V));
      b = a + 1;
    }
    return [a, b];
  };
  for (let vy = 0; vy < V; vy++) {
    const [y0, y1] = range(obs.height, vy);
    for (let vx = 0; vx < V; vx++) {
      const [x0, x1] = range(obs.width, vx);
      const sum = [0, 0, 0, 0];
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const i = y * obs.width + x;
          for (let c = 0; c < 3; c++) sum[c] = (sum[c] as number) + (obs.rgb[3 * i + c] as number);
          sum[3] = (sum[3] as number) + (obs.mask.data[i] as number);
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      const o = (vy * V + vx) * C;
      for (let c = 0; c < 3; c++) out[o + c] = (sum[c] as number) * (1 / (255 * n)) - centre;
      if (C === 4) out[o + 3] = (sum[3] as number) / n - 0.5;
    }
  }
  return out;
}

describe('resizeInto', () => {
  const cases: [w: number, h: number, V: number][] = [
    [256, 256, 64], // the block path, 4×4 blocks
    [256, 256, 128], // 2×2 (the edge view)
    [96, 64, 32], // 3×2 blocks: the factors may differ
    [100, 70, 32], // not divisible: the general path
    [20, 12, 32], // upsampling: nearest source pixel
  ];
  for (const [w, h, V] of cases) {
    it(`${w}×${h} → ${V}: equals the plain area average to the bit (RGB and with the mask channel)`, () => {
      const obs = image(w, h, w * 1000 + h);
      for (const [C, centre] of [
        [3, 0],
        [4, 0.5],
      ] as const) {
        const out = new Float32Array(V * V * C).fill(NaN);
        resizeInto(obs, V, C, out, centre);
        expect(Buffer.from(out.buffer).equals(Buffer.from(reference(obs, V, C, centre).buffer))).toBe(true);
      }
    });
  }

  it('reads the mask only with four channels and reuses its row sums across sizes', () => {
    const obs = image(256, 256, 3);
    const a = new Float32Array(64 * 64 * 3);
    resizeInto({ ...obs, mask: null }, 64, 3, a, 0.5);
    const b = new Float32Array(64 * 64 * 3);
    resizeInto(obs, 64, 3, b, 0.5);
    expect([...a]).toEqual([...b]);
    // A larger view after a smaller one (the scratch grows) and back.
    const big = new Float32Array(128 * 128 * 4);
    resizeInto(obs, 128, 4, big, 0.5);
    expect(Buffer.from(big.buffer).equals(Buffer.from(reference(obs, 128, 4, 0.5).buffer))).toBe(true);
    const again = new Float32Array(64 * 64 * 3);
    resizeInto(obs, 64, 3, again, 0.5);
    expect([...again]).toEqual([...b]);
  });
});
