/** The local block's 3×3 convolution over the patch grid, against a direct per-patch loop. */
import { beforeAll, describe, expect, it } from 'vitest';
import { initTf, resolvePolicyConfig, tf } from '../../core/policy/index.ts';
import { localBlock } from '../../core/policy/network.ts';
import { Rng } from '../../core/rng/index.ts';
import { referenceNormDense } from './fixtures.ts';

beforeAll(async () => {
  await initTf('wasm');
});

describe('local block (3×3 convolution over the patch grid)', () => {
  it('equals x + Σ_k neighbour_k(relu(LN(x)·Win + bin)) · Wout_k + bout, zero outside the grid', () => {
    const [B, G, d, r] = [2, 4, 6, 3];
    const P = G * G;
    const c = resolvePolicyConfig({
      viewSize: 32,
      patchSize: 8,
      dModel: d,
      localLayers: 1,
      localChannels: r,
    });
    const rng = new Rng(9);
    const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal(0, 1));
    const raw = {
      x: rand(B * P * d),
      g: rand(d),
      b: rand(d),
      win: rand(d * r),
      bin: rand(r),
      wout: rand(9 * r * d),
      bout: rand(d),
    };
    const params = new Map<string, tf.Tensor>([
      ['l.ln.g', tf.tensor1d(raw.g)],
      ['l.ln.b', tf.tensor1d(raw.b)],
      ['l.win', tf.tensor2d(raw.win, [d, r])],
      ['l.bin', tf.tensor1d(raw.bin)],
      ['l.wout', tf.tensor2d(raw.wout, [9 * r, d])],
      ['l.bout', tf.tensor1d(raw.bout)],
    ]);
    const got = localBlock(params, tf.tensor3d(raw.x, [B, P, d]), c, 'l').dataSync() as Float32Array;

    // Reference: per patch, layer norm, bottleneck, then the 3×3 neighbourhood.
    const z = referenceNormDense(raw.x, d, raw, raw.win, raw.bin, (s) => Math.max(0, s));
    let maxErr = 0;
    for (let b = 0; b < B; b++) {
      for (let gy = 0; gy < G; gy++) {
        for (let gx = 0; gx < G; gx++) {
          const p = gy * G + gx;
          for (let o = 0; o < d; o++) {
            let s = raw.x[(b * P + p) * d + o]! + raw.bout[o]!;
            for (let k = 0; k < 9; k++) {
              const ny = gy + Math.floor(k / 3) - 1;
              const nx = gx + (k % 3) - 1;
              if (ny < 0 || ny >= G || nx < 0 || nx >= G) continue;
              for (let ch = 0; ch < r; ch++)
                s += z[(b * P + ny * G + nx) * r + ch]! * raw.wout[(k * r + ch) * d + o]!;
            }
            maxErr = Math.max(maxErr, Math.abs(s - got[(b * P + p) * d + o]!));
          }
        }
      }
    }
    expect(maxErr).toBeLessThan(1e-4);
    for (const t of params.values()) t.dispose();
  });
});
