/**
 * The parameter list of the pointer network: names, shapes and seeded initial values. The order of
 * `paramSpecs` is the canonical order of checkpoints. Matrices get N(0, 1/fan_in) (LeCun normal,
 * which keeps ReLU-MLP activations at unit scale); biases and FiLM deltas start at zero and layer
 * norm gains at one; embedding rows get N(0, 1/d), so at initialisation FiLM is the identity and residual blocks are near it.
 */
import type { Rng } from '../rng/index.ts';
import type { PolicyConfig, PolicyDims } from './config.ts';

/** Directional context features per channel: 4 sides × 3 distance bands (network.ts). */
export const DIRECTION_BANDS = 12;

/**
 * Channels per neighbour of the detail path (config.boxDetail, pointDetail): each of the 9 patches
 * around the chosen one is read through the same [F, 16] projection, so no weight sees more than
 * F or 9·16 inputs. A single [9F, d] matrix (3456 inputs at the pretrain defaults) moved its output
 * by ~9× more per Adam step than the patch embedding, and at 1400 steps its box came out worse.
 */
export const DETAIL_CHANNELS = 16;

export type ParamInit = 'lecun' | 'embed' | 'zeros' | 'ones' | 'small';

export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: ParamInit;
  /** Decoupled weight decay applies to matrices, not to biases, gains or positional tables. */
  readonly decay: boolean;
}

export function paramSpecs(c: PolicyConfig, dims: PolicyDims, vocabSize: number): ParamSpec[] {
  const d = c.dModel;
  const H = c.mlpHidden;
  const specs: ParamSpec[] = [];
  const mat = (name: string, rows: number, cols: number, init: ParamInit = 'lecun'): void => {
    specs.push({ name, shape: [rows, cols], init, decay: true });
  };
  const vec = (name: string, n: number, init: ParamInit = 'zeros'): void => {
    specs.push({ name, shape: [n], init, decay: false });
  };
  const table = (name: string, rows: number, cols: number): void => {
    specs.push({ name, shape: [rows, cols], init: 'small', decay: false });
  };
  const layerNorm = (prefix: string): void => {
    vec(`${prefix}.ln.g`, d, 'ones');
    vec(`${prefix}.ln.b`, d);
  };
  const mlp = (prefix: string): void => {
    layerNorm(prefix);
    mat(`${prefix}.w1`, d, H);
    vec(`${prefix}.b1`, H);
    mat(`${prefix}.w2`, H, d, 'small');
    vec(`${prefix}.b2`, d);
  };

  mat('patch.w', dims.patchFeatures, d);
  vec('patch.b', d);
  table('patch.pos', dims.patches, d);
  if (c.convStem > 0) {
    mat('stem.w0', 4 * dims.channels, c.convStem);
    vec('stem.b0', c.convStem);
    mat('stem.w1', 4 * c.convStem, 2 * c.convStem);
    vec('stem.b1', 2 * c.convStem);
    mat('stem.w2', 8 * c.convStem, d);
  }
  layerNorm('patch');

  mat('query.emb', vocabSize, d, 'embed');
  table('query.pos', c.maxQueryTokens, d);
  mat('query.w', d, d);
  vec('query.b', d);

  mat('film.w', d, 2 * d, 'small');
  vec('film.b', 2 * d);

  mlp('mlp0');
  for (let i = 0; i < c.crossAttnLayers; i++) {
    layerNorm(`cross${i}`);
    mat(`cross${i}.wq`, d, d);
    mat(`cross${i}.wk`, d, d);
    mat(`cross${i}.wv`, d, d);
    mat(`cross${i}.wo`, d, d, 'small');
    vec(`cross${i}.bo`, d);
  }
  for (let i = 0; i < c.localLayers; i++) {
    layerNorm(`local${i}`);
    mat(`local${i}.win`, d, c.localChannels);
    vec(`local${i}.bin`, c.localChannels);
    mat(`local${i}.wout`, 9 * c.localChannels, d, 'small');
    vec(`local${i}.bout`, d);
  }
  for (let i = 0; i < c.mixerLayers; i++) {
    mat(`mix${i}.film.w`, d, 2 * d, 'small');
    vec(`mix${i}.film.b`, 2 * d);
    layerNorm(`mix${i}`);
    mat(`mix${i}.w1`, dims.patches, c.mixHidden);
    vec(`mix${i}.b1`, c.mixHidden);
    mat(`mix${i}.w2`, c.mixHidden, dims.patches, 'small');
    vec(`mix${i}.b2`, dims.patches);
    mlp(`mix${i}.mlp`);
  }
  for (let i = 0; i < c.attnLayers; i++) {
    layerNorm(`attn${i}`);
    mat(`attn${i}.wqkv`, d, 3 * d);
    vec(`attn${i}.bqkv`, 3 * d);
    mat(`attn${i}.wo`, d, d, 'small');
    vec(`attn${i}.bo`, d);
    mlp(`attn${i}.mlp`);
  }
  layerNorm('out');

  mat('glob.w', 2 * d, d);
  if (c.globalMaxPool) mat('glob.wmax', d, d, 'zeros');
  vec('glob.b', d);

  // Pointer heads: a shared per-patch MLP gives local evidence, a query vector per head scores
  // patches by dot product (the pointer), so "where" is a softmax over the patch grid.
  mat('ptr.wu', d, d);
  vec('ptr.bu', d);
  for (const head of ['box', 'pos', 'neg']) {
    mat(`ptr.${head}.wl`, d, 1, 'small');
    mat(`ptr.${head}.wq`, d, d);
    vec(`ptr.${head}.bq`, d);
  }

  mat('type.w', d, 4, 'small');
  vec('type.b', 4);
  table('type.emb', 4, d);

  mat('box.ctx.w', 2 * d, d);
  vec('box.ctx.b', d);
  mat('box.off.w', d, dims.offsetClasses, 'small');
  vec('box.off.b', dims.offsetClasses);
  table('box.off.emb', dims.offsetClasses, d);
  mat('box.w.w', d, c.sizeBins, 'small');
  vec('box.w.b', c.sizeBins);
  table('box.w.emb', c.sizeBins, d);
  mat('box.h.w', d, c.sizeBins, 'small');
  vec('box.h.b', c.sizeBins);

  for (const head of ['pos', 'neg']) {
    mat(`${head}.ctx.w`, 2 * d, d);
    vec(`${head}.ctx.b`, d);
    mat(`${head}.off.w`, d, dims.offsetClasses, 'small');
    vec(`${head}.off.b`, dims.offsetClasses);
  }
  // Last, so a configuration without them initialises every other parameter identically.
  if (c.denseClasses > 0) {
    mat('dense.seg.w', d, 1, 'small');
    vec('dense.seg.b', 1);
    mat('dense.cls.w', d, c.denseClasses, 'small');
    vec('dense.cls.b', c.denseClasses);
  }
  if (c.boxPositionBias) mat('ptr.box.wxy', d, 2, 'zeros');
  if (c.directionChannels > 0) {
    layerNorm('dir');
    mat('dir.wz', d, c.directionChannels);
    vec('dir.bz', c.directionChannels);
    mat('dir.wout', DIRECTION_BANDS * c.directionChannels, d, 'small');
    vec('dir.bout', d);
  }
  if (c.boxPositionWords) mat('ptr.box.wxyw', vocabSize, 2, 'zeros');
  if (c.wordFilm) mat('film.words', vocabSize, 2 * d, 'zeros');
  const detail = (head: string): void => {
    mat(`${head}.detail.wr`, dims.patchFeatures, DETAIL_CHANNELS);
    vec(`${head}.detail.br`, DETAIL_CHANNELS);
    mat(`${head}.detail.wo`, 9 * DETAIL_CHANNELS, d, 'small');
  };
  if (c.boxDetail) detail('box');
  if (c.pointDetail) {
    detail('pos');
    detail('neg');
  }
  return specs;
}

/** Seeded initial values for one parameter. */
export function initParam(spec: ParamSpec, rng: Rng): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (spec.init === 'ones') return out.fill(1);
  if (spec.init === 'zeros') return out;
  const fanIn = spec.shape.length >= 2 ? (spec.shape[0] as number) : n;
  // 'small' keeps residual branches, output logits and positional tables near zero at start.
  const std =
    spec.init === 'lecun'
      ? Math.sqrt(1 / fanIn)
      : spec.init === 'embed'
        ? Math.sqrt(1 / (spec.shape[1] ?? 1))
        : 0.02;
  for (let i = 0; i < n; i++) out[i] = rng.normal(0, std);
  return out;
}
