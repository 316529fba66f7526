/**
 * The direction block: each patch's sums of the presences beyond it, per side and distance band,
 * against a direct loop over the grid; and the band geometry on a picture of one present patch.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  PointerPolicy,
  initTf,
  loadPolicyBytes,
  policyToBytes,
  resolvePolicyConfig,
  tf,
} from '../../core/policy/index.ts';
import { directionBlock, directionMasks } from '../../core/policy/network.ts';
import { DIRECTION_BANDS } from '../../core/policy/params.ts';
import { Rng } from '../../core/rng/index.ts';
import { referenceNormDense } from './fixtures.ts';

beforeAll(async () => {
  await initTf('wasm');
});

/** Band of a distance in grid steps: 1 → 0, 2–3 → 1, 4+ → 2; 0 or negative → −1 (not beyond). */
function bandOf(k: number): number {
  if (k < 1) return -1;
  return k === 1 ? 0 : k <= 3 ? 1 : 2;
}

describe('direction block (what lies beyond each patch, per side)', () => {
  it('selects, for a patch, the patches beyond it at each side and distance band', () => {
    const G = 8;
    const P = G * G;
    const m = directionMasks(G);
    const column = (q: number, j: number, p: number): number => m[q * DIRECTION_BANDS * P + j * P + p]!;
    // Patch p at row 2, column 5; one present patch q at row 6, column 0.
    const p = 2 * G + 5;
    const q = 6 * G + 0;
    const on = Array.from({ length: DIRECTION_BANDS }, (_, j) => column(q, j, p));
    // q is 5 columns to the left (band 2, "4+") and 4 rows below (band 2): left·3+2 and below·3+2.
    expect(on.flatMap((v, j) => (v ? [j] : []))).toEqual([0 * 3 + 2, 3 * 3 + 2]);
    // Nothing is beyond itself, and a patch in the same column is neither left nor right of p.
    expect(Array.from({ length: DIRECTION_BANDS }, (_, j) => column(p, j, p)).every((v) => v === 0)).toBe(
      true,
    );
    const sameColumn = 7 * G + 5;
    expect([0, 1, 2, 3, 4, 5].map((j) => column(sameColumn, j, p))).toEqual([0, 0, 0, 0, 0, 0]);
    // Each (side, band) of each patch selects exactly the patches at that distance: counts per band.
    const count = (j: number, pp: number): number => {
      let n = 0;
      for (let qq = 0; qq < P; qq++) n += column(qq, j, pp);
      return n;
    };
    // Column 5: left has 1 column at distance 1, 2 at 2–3, 2 at 4+ (columns 0, 1); 8 rows each.
    expect([0, 1, 2].map((b) => count(b, p))).toEqual([8, 16, 16]);
    // Right of column 5: columns 6 and 7 → distance 1 and 2.
    expect([3, 4, 5].map((b) => count(b, p))).toEqual([8, 8, 0]);
  });

  it('equals x + log(1 + Σ_beyond σ(LN(x)·Wz + bz))·Wout + bout', () => {
    const [B, G, d, C] = [2, 8, 6, 3];
    const P = G * G;
    const c = resolvePolicyConfig({ viewSize: 64, patchSize: 8, dModel: d, directionChannels: C });
    const rng = new Rng(11);
    const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal(0, 1));
    const raw = {
      x: rand(B * P * d),
      g: rand(d),
      b: rand(d),
      wz: rand(d * C),
      bz: rand(C),
      wout: rand(DIRECTION_BANDS * C * d),
      bout: rand(d),
    };
    const params = new Map<string, tf.Tensor>([
      ['dir.ln.g', tf.tensor1d(raw.g)],
      ['dir.ln.b', tf.tensor1d(raw.b)],
      ['dir.wz', tf.tensor2d(raw.wz, [d, C])],
      ['dir.bz', tf.tensor1d(raw.bz)],
      ['dir.wout', tf.tensor2d(raw.wout, [DIRECTION_BANDS * C, d])],
      ['dir.bout', tf.tensor1d(raw.bout)],
    ]);
    const got = directionBlock(params, tf.tensor3d(raw.x, [B, P, d]), c).dataSync() as Float32Array;

    const z = referenceNormDense(raw.x, d, raw, raw.wz, raw.bz, (s) => 1 / (1 + Math.exp(-s)));
    let maxErr = 0;
    for (let bi = 0; bi < B; bi++) {
      for (let p = 0; p < P; p++) {
        const [py, px] = [Math.floor(p / G), p % G];
        const sums = new Float64Array(DIRECTION_BANDS * C);
        for (let q = 0; q < P; q++) {
          const [qy, qx] = [Math.floor(q / G), q % G];
          [px - qx, qx - px, py - qy, qy - py].forEach((k, side) => {
            const band = bandOf(k);
            if (band < 0) return;
            for (let ch = 0; ch < C; ch++) sums[(side * 3 + band) * C + ch]! += z[(bi * P + q) * C + ch]!;
          });
        }
        for (let o = 0; o < d; o++) {
          let s = raw.x[(bi * P + p) * d + o]! + raw.bout[o]!;
          for (let f = 0; f < DIRECTION_BANDS * C; f++) s += Math.log(1 + sums[f]!) * raw.wout[f * d + o]!;
          maxErr = Math.max(maxErr, Math.abs(s - got[(bi * P + p) * d + o]!));
        }
      }
    }
    expect(maxErr).toBeLessThan(1e-4);
    for (const t of params.values()) t.dispose();
  });

  it('is off by default, starts every other parameter as without it, and saves and loads back to the bit', async () => {
    expect(resolvePolicyConfig({}).directionChannels).toBe(0);
    expect(() => resolvePolicyConfig({ directionChannels: -1 })).toThrow(
      'config.directionChannels -1 must be an integer >= 0',
    );
    const small = {
      viewSize: 32,
      patchSize: 8,
      dModel: 8,
      mlpHidden: 8,
      mixerLayers: 1,
      directionChannels: 2,
    };
    const a = await PointerPolicy.create(small, { seed: 3 });
    const plain = await PointerPolicy.create({ ...small, directionChannels: 0 }, { seed: 3 });
    // Its parameters come last: every other parameter starts as without it.
    const byName = new Map(plain.getWeights().map((w) => [w.name, w.data]));
    for (const w of a.getWeights()) {
      if (w.name.startsWith('dir.')) continue;
      expect(w.data).toEqual(byName.get(w.name));
    }
    expect(
      a
        .getWeights()
        .filter((w) => w.name.startsWith('dir.'))
        .map((w) => w.name),
    ).toEqual(['dir.ln.g', 'dir.ln.b', 'dir.wz', 'dir.bz', 'dir.wout', 'dir.bout']);
    const bytes = policyToBytes(a);
    const b = loadPolicyBytes(bytes, 'direction.samv');
    expect(b.config.directionChannels).toBe(2);
    expect(policyToBytes(b)).toEqual(bytes);
    a.dispose();
    b.dispose();
    plain.dispose();
  });
});

describe('direction block gradients', () => {
  it('match central finite differences for its weights and its input (a smooth block: no kinks)', async () => {
    const [B, G, d, C] = [2, 4, 5, 2];
    const P = G * G;
    const c = resolvePolicyConfig({ viewSize: 32, patchSize: 8, dModel: d, directionChannels: C });
    const rng = new Rng(21);
    const rand = (n: number, s = 1): Float32Array => Float32Array.from({ length: n }, () => rng.normal(0, s));
    const shapes: Record<string, number[]> = {
      'dir.ln.g': [d],
      'dir.ln.b': [d],
      'dir.wz': [d, C],
      'dir.bz': [C],
      'dir.wout': [DIRECTION_BANDS * C, d],
      'dir.bout': [d],
    };
    const vars = new Map<string, tf.Variable>(
      Object.entries(shapes).map(([k, s]) => [
        k,
        tf.variable(tf.tensor(rand(s.reduce((a, b) => a * b, 1)), s)),
      ]),
    );
    const x = tf.variable(tf.tensor3d(rand(B * P * d), [B, P, d]));
    const r = tf.tensor3d(rand(B * P * d), [B, P, d]);
    const lossOf = (): tf.Scalar =>
      tf.sum(tf.mul(directionBlock(vars as Map<string, tf.Tensor>, x, c), r)) as tf.Scalar;
    const all = [...vars.values(), x];
    const { grads } = tf.variableGrads(lossOf, all);
    const failures: string[] = [];
    const eps = 1e-2;
    for (const v of all) {
      const g = grads[v.name]!.dataSync() as Float32Array;
      const base = (v.dataSync() as Float32Array).slice();
      for (let k = 0; k < 4; k++) {
        const i = rng.int(base.length);
        const probe = (delta: number): number => {
          const w = base.slice();
          w[i] = w[i]! + delta;
          v.assign(tf.tensor(w, v.shape));
          return tf.tidy(() => lossOf().dataSync()[0]!);
        };
        const fd = (probe(eps) - probe(-eps)) / (2 * eps);
        v.assign(tf.tensor(base, v.shape));
        if (Math.abs(fd - g[i]!) > 2e-2 * Math.max(Math.abs(fd), Math.abs(g[i]!)) + 2e-3) {
          failures.push(`${v.name}[${i}] autodiff ${g[i]} vs finite differences ${fd}`);
        }
      }
    }
    expect(failures).toEqual([]);
    tf.dispose([...all, r]);
  });
});
