/**
 * The pointer network's forward pass, as pure functions of (parameters, inputs) that callers run
 * inside tf.tidy / tf.variableGrads. Shapes: B batch, P patches, F patch features, T query tokens,
 * V vocabulary, d model width.
 *
 *   x  = LN(patches·Wp + bp + pos [+ CNN(view)])                      patch tokens      [B,P,d]
 *   q  = relu(mean_t(onehot·E + qpos)·Wq + bq)                        pooled query      [B,d]
 *   x  = x ⊙ (1 + γ(q)) + β(q)                                        FiLM (Perez et al. 2018)
 *        (config.wordFilm: [γ; β] also adds each query word's own row of a table)
 *   x  = x + MLP(LN(x))
 *   per cross block: x += Attn(LN(x) → query tokens)                      word-level grounding
 *   per local block: x += Conv3×3(relu(LN(x)·Win))                       neighbourhood, shared weights
 *   direction block: x += log(1 + σ(LN(x)·Wz)ᵀ·M)·Wout                    what lies beyond, per side
 *   per mixer block: x = FiLM(x); x += TokenMix(LN(x)); x += MLP(LN(x))   spatial context
 *   per attention block: x += Attn(LN(x) → LN([x; query tokens])); x += MLP(LN(x))
 *   h  = LN(x[:, :P]);    g = relu([mean_p h; q]·Wg [+ max_p h·Wm] + bg)  patch / global  [B,P,d] [B,d]
 *
 * Pointer logits over patches for head k: (u·w_k) + h·(g_k·Wq_k + bq_k)/√d with u = relu(h·Wu + bu);
 * g_k is g for the box head and g + E_type[type] for the point heads (conditioning on the type
 * token). Offsets and sizes read [g_k; h_selected] through a small MLP; the width head also sees
 * the offset token and the height head the width token (autoregression by added embeddings).
 * With config.boxPositionBias the box centre's logits add (g·Wxy [+ 4·Σ_words Wxyw[w]])·(x_p, y_p).
 * With config.boxDetail (pointDetail) the box's (points') offset and size context also adds the
 * raw input features of the chosen patch's 3×3 neighbourhood through their own weights.
 */
import type { PolicyConfig } from './config.ts';
import { DETAIL_CHANNELS, DIRECTION_BANDS } from './params.ts';
import { tf } from './tf-runtime.ts';

export type Params = ReadonlyMap<string, tf.Tensor>;

function param(params: Params, name: string): tf.Tensor {
  const t = params.get(name);
  if (!t) throw new Error(`policy parameter ${name} is missing`);
  return t;
}

/** [N, in] · W[in, out] + b, for inputs of any leading shape. */
function dense(params: Params, x: tf.Tensor, w: string, b?: string): tf.Tensor {
  const W = param(params, w);
  const inDim = x.shape[x.shape.length - 1] as number;
  const lead = x.shape.slice(0, -1);
  let y = tf.matMul(tf.reshape(x, [-1, inDim]) as tf.Tensor2D, W as tf.Tensor2D) as tf.Tensor;
  if (b) y = tf.add(y, param(params, b));
  return tf.reshape(y, [...lead, W.shape[1] as number]);
}

function layerNorm(params: Params, x: tf.Tensor, prefix: string): tf.Tensor {
  const axis = x.shape.length - 1;
  const mean = tf.mean(x, axis, true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), axis, true);
  const normed = tf.mul(centred, tf.rsqrt(tf.add(variance, 1e-5)));
  return tf.add(tf.mul(normed, param(params, `${prefix}.ln.g`)), param(params, `${prefix}.ln.b`));
}

function mlpBlock(params: Params, x: tf.Tensor, prefix: string): tf.Tensor {
  const hidden = tf.relu(dense(params, layerNorm(params, x, prefix), `${prefix}.w1`, `${prefix}.b1`));
  return tf.add(x, dense(params, hidden, `${prefix}.w2`, `${prefix}.b2`));
}

/**
 * Single-head attention block: the P patch rows of `seq` [B, N, d] attend to all N rows (patches and
 * query tokens) with an additive key bias [B, 1, N]; query-token rows are only keys and values,
 * which saves a fifth of the (slow, batched) attention products. Returns the updated patch rows.
 */
function attentionBlock(
  params: Params,
  seq: tf.Tensor3D,
  P: number,
  keyBias: tf.Tensor,
  prefix: string,
): tf.Tensor3D {
  const [B, N, d] = seq.shape;
  const qkv = dense(params, layerNorm(params, seq, prefix), `${prefix}.wqkv`, `${prefix}.bqkv`);
  const [q, k, v] = tf.split(qkv, 3, 2) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
  const qPatches = N === P ? q : tf.slice(q, [0, 0, 0], [B, P, d]);
  const scores = tf.add(tf.mul(tf.matMul(qPatches, k, false, true), 1 / Math.sqrt(d)), keyBias);
  const attn = tf.softmax(scores, -1) as tf.Tensor3D;
  const out = dense(params, tf.matMul(attn, v), `${prefix}.wo`, `${prefix}.bo`);
  const x = N === P ? seq : tf.slice(seq, [0, 0, 0], [B, P, d]);
  return mlpBlock(params, tf.add(x, out), `${prefix}.mlp`) as tf.Tensor3D;
}

/** FiLM: x ⊙ (1 + γ(q)) + β(q), with [γ; β] = q·W + b, broadcast over patches. */
function film(params: Params, x: tf.Tensor, q: tf.Tensor, prefix: string, extra?: tf.Tensor): tf.Tensor {
  const [B, , d] = x.shape as [number, number, number];
  let gb = dense(params, q, `${prefix}.w`, `${prefix}.b`);
  if (extra) gb = tf.add(gb, extra);
  const [gamma, beta] = tf.split(gb, 2, 1) as [tf.Tensor, tf.Tensor];
  return tf.add(tf.mul(x, tf.reshape(tf.add(gamma, 1), [B, 1, d])), tf.reshape(beta, [B, 1, d]));
}

/**
 * Token-mixing block: per channel, an MLP across the P patches (P → mixHidden → P), as plain 2-D
 * products on [B·d, P] (the layout change is two transposes), then a per-patch channel MLP.
 */
function mixerBlock(params: Params, x: tf.Tensor3D, q: tf.Tensor, prefix: string): tf.Tensor3D {
  const [B, P, d] = x.shape;
  const conditioned = film(params, x, q, `${prefix}.film`);
  const cols = tf.reshape(tf.transpose(layerNorm(params, conditioned, prefix), [0, 2, 1]), [B * d, P]);
  const hidden = tf.relu(dense(params, cols, `${prefix}.w1`, `${prefix}.b1`));
  const mixed = tf.transpose(
    tf.reshape(dense(params, hidden, `${prefix}.w2`, `${prefix}.b2`), [B, d, P]),
    [0, 2, 1],
  );
  return mlpBlock(params, tf.add(conditioned, mixed), `${prefix}.mlp`) as tf.Tensor3D;
}

/**
 * Cross-attention of patches [B, P, d] to the query's word tokens [B, T, d] (padding masked by
 * `keyBias` [B, 1, T]): the batched products are only P×T, a fraction of full self-attention.
 */
function crossAttentionBlock(
  params: Params,
  x: tf.Tensor3D,
  tokens: tf.Tensor3D,
  keyBias: tf.Tensor,
  prefix: string,
): tf.Tensor3D {
  const d = x.shape[2];
  const q = dense(params, layerNorm(params, x, prefix), `${prefix}.wq`) as tf.Tensor3D;
  const k = dense(params, tokens, `${prefix}.wk`) as tf.Tensor3D;
  const v = dense(params, tokens, `${prefix}.wv`) as tf.Tensor3D;
  const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d)), keyBias);
  const attn = tf.softmax(scores, -1) as tf.Tensor3D;
  return tf.add(x, dense(params, tf.matMul(attn, v), `${prefix}.wo`, `${prefix}.bo`)) as tf.Tensor3D;
}

/**
 * The convolutional stem (config.convStem = c): three 2×2 stride-2 convolutions (pixels → c → 2c
 * → dModel, ReLU between), i.e. one nonlinear descriptor of each 8×8 patch built from its 2×2 and
 * 4×4 cells with weights shared across all cells. The input's quadtree order within a patch
 * (observation.ts) makes each level a reshape and one plain 2-D product: the WASM backend's slices,
 * inner-axis concats and large transposes cost more than the products themselves.
 */
function convStem(params: Params, patches: tf.Tensor3D, c: PolicyConfig): tf.Tensor3D {
  const [B, P, F] = patches.shape;
  const C = F / 64;
  let a = tf.reshape(patches, [B * P * 16, 4 * C]);
  a = tf.relu(dense(params, a, 'stem.w0', 'stem.b0'));
  a = tf.relu(dense(params, tf.reshape(a, [B * P * 4, 4 * c.convStem]), 'stem.w1', 'stem.b1'));
  return tf.reshape(dense(params, tf.reshape(a, [B * P, 8 * c.convStem]), 'stem.w2'), [
    B,
    P,
    c.dModel,
  ]) as tf.Tensor3D;
}

/**
 * The 3×3 neighbourhood of a G×G grid as one constant 0/1 matrix [P, 9P]: column k·P + p picks
 * patch p's k-th neighbour (zero outside the grid). cols [N, P] · S = every shift at once.
 */
const shiftMatrices = new Map<number, Float32Array>();
function neighbourShifts(G: number): Float32Array {
  let s = shiftMatrices.get(G);
  if (s) return s;
  const P = G * G;
  s = new Float32Array(P * 9 * P);
  for (let k = 0; k < 9; k++) {
    const dy = Math.floor(k / 3) - 1;
    const dx = (k % 3) - 1;
    for (let gy = 0; gy < G; gy++) {
      for (let gx = 0; gx < G; gx++) {
        const ny = gy + dy;
        const nx = gx + dx;
        if (ny < 0 || ny >= G || nx < 0 || nx >= G) continue;
        s[(ny * G + nx) * 9 * P + k * P + gy * G + gx] = 1;
      }
    }
  }
  shiftMatrices.set(G, s);
  return s;
}

/**
 * Local block: x += Conv3×3(relu(LN(x)·Win + bin)) over the patch grid, the 3×3 gather done as one
 * plain product with the constant shift matrix (slices and inner-axis concats are slow on WASM).
 */
export function localBlock(params: Params, x: tf.Tensor3D, c: PolicyConfig, prefix: string): tf.Tensor3D {
  const [B, P, d] = x.shape;
  const r = c.localChannels;
  const G = Math.round(Math.sqrt(P));
  const z = tf.relu(dense(params, layerNorm(params, x, prefix), `${prefix}.win`, `${prefix}.bin`));
  const cols = tf.reshape(tf.transpose(z, [0, 2, 1]), [B * r, P]);
  const shifted = tf.matMul(cols as tf.Tensor2D, tf.tensor2d(neighbourShifts(G), [P, 9 * P]));
  const patches = tf.reshape(tf.transpose(tf.reshape(shifted, [B, r, 9, P]), [0, 3, 2, 1]), [B, P, 9 * r]);
  return tf.add(
    x,
    tf.reshape(dense(params, patches, `${prefix}.wout`, `${prefix}.bout`), [B, P, d]),
  ) as tf.Tensor3D;
}

/**
 * config.boxPositionWords: the word slopes are summed over the query's words (a mean would divide
 * "leftmost" by the query's length) and scaled, so that Adam's bounded step per parameter can reach
 * slopes of several logits within a warm start's steps: with the mean and no scale, 1400 steps
 * learned leftmost −1.8, i.e. −0.5 for a three-word query, too little to outweigh which object looks
 * more like a circle.
 */
const WORD_SLOPE_SCALE = 4;

/** Distance bands of the directional context, in grid steps (the last is open-ended). */
const BANDS: readonly (readonly [number, number])[] = [
  [1, 1],
  [2, 3],
  [4, Infinity],
];

/**
 * The directional context's constant 0/1 matrix [P, 12P] of a G×G grid: column (side·3 + band)·P + p
 * selects the patches q lying `band` grid steps beyond p on `side` (left, right, above, below: the
 * whole half-plane's columns or rows at that distance, any row or column).
 */
const directionMatrices = new Map<number, Float32Array>();
export function directionMasks(G: number): Float32Array {
  let m = directionMatrices.get(G);
  if (m) return m;
  const P = G * G;
  m = new Float32Array(P * DIRECTION_BANDS * P);
  for (let p = 0; p < P; p++) {
    const [py, px] = [Math.floor(p / G), p % G];
    for (let q = 0; q < P; q++) {
      const [qy, qx] = [Math.floor(q / G), q % G];
      const beyond = [px - qx, qx - px, py - qy, qy - py]; // left, right, above, below
      beyond.forEach((k, side) => {
        BANDS.forEach(([lo, hi], band) => {
          if (k >= lo && k <= hi)
            (m as Float32Array)[q * DIRECTION_BANDS * P + (side * 3 + band) * P + p] = 1;
        });
      });
    }
  }
  directionMatrices.set(G, m);
  return m;
}

/**
 * Direction block (config.directionChannels = C): each patch emits C presences z = σ(LN(x)·Wz + bz),
 * every patch sums each presence over the patches beyond it per side and distance band (one product
 * with `directionMasks`), and reads the 12·C saturating sums log(1 + s) back through Wout. Whether a
 * circle lies further left is then one feature, not a comparison the token mixers must learn at
 * every position.
 */
export function directionBlock(params: Params, x: tf.Tensor3D, c: PolicyConfig): tf.Tensor3D {
  const [B, P] = x.shape;
  const C = c.directionChannels;
  const G = Math.round(Math.sqrt(P));
  const z = tf.sigmoid(dense(params, layerNorm(params, x, 'dir'), 'dir.wz', 'dir.bz'));
  const cols = tf.reshape(tf.transpose(z, [0, 2, 1]), [B * C, P]) as tf.Tensor2D;
  const sums = tf.matMul(cols, tf.tensor2d(directionMasks(G), [P, DIRECTION_BANDS * P]));
  const feats = tf.reshape(
    tf.transpose(tf.reshape(tf.log(tf.add(sums, 1)), [B, C, DIRECTION_BANDS, P]), [0, 3, 2, 1]),
    [B, P, DIRECTION_BANDS * C],
  );
  return tf.add(x, dense(params, feats, 'dir.wout', 'dir.bout')) as tf.Tensor3D;
}

export interface EncoderInputs {
  /** [B, P, F] */
  readonly patches: tf.Tensor3D;
  /** [B, T, V] */
  readonly queryOneHot: tf.Tensor3D;
  /** [B, T] */
  readonly queryMask: tf.Tensor2D;
}

export interface Encoded {
  /** Patch features [B, P, d]. */
  readonly h: tf.Tensor3D;
  /** Local pointer features relu(h·Wu + bu) [B, P, d]. */
  readonly u: tf.Tensor3D;
  /** Global context [B, d]. */
  readonly g: tf.Tensor2D;
  /** config.boxPositionWords: the query words' box position slope, 4 · Σ_words Wxyw[w] [B, 2]. */
  readonly wordSlopes?: tf.Tensor2D;
  /** config.boxDetail or pointDetail: the raw patch features [B, P, F] (the encoder's input). */
  readonly patches?: tf.Tensor3D;
}

export function encode(params: Params, c: PolicyConfig, inputs: EncoderInputs): Encoded {
  const [B, P] = inputs.patches.shape;
  const T = inputs.queryOneHot.shape[1];

  let x = tf.add(dense(params, inputs.patches, 'patch.w', 'patch.b'), param(params, 'patch.pos'));
  if (c.convStem > 0) x = tf.add(x, convStem(params, inputs.patches, c));
  x = layerNorm(params, x, 'patch');

  const qTokens = tf.add(dense(params, inputs.queryOneHot, 'query.emb'), param(params, 'query.pos')); // [B,T,d]
  const qMask3 = tf.reshape(inputs.queryMask, [B, T, 1]);
  const count = tf.maximum(tf.sum(inputs.queryMask, 1, true), 1); // no gradient flows into the mask
  const pooled = tf.div(tf.sum(tf.mul(qTokens, qMask3), 1), count); // [B,d]
  const q = tf.relu(dense(params, pooled, 'query.w', 'query.b'));

  // The query's words as counts [B, V], for the per-word tables (config.wordFilm, boxPositionWords).
  const bag = c.wordFilm || c.boxPositionWords ? tf.sum(tf.mul(inputs.queryOneHot, qMask3), 1) : null;
  const wordFilm = c.wordFilm && bag ? dense(params, bag, 'film.words') : undefined;
  x = mlpBlock(params, film(params, x, q, 'film', wordFilm), 'mlp0');
  if (c.crossAttnLayers > 0) {
    // A query with no words keeps one all-masked row; the -1e9 bias then gives uniform weights
    // over zero vectors, i.e. no update, instead of NaN.
    const words = tf.mul(qTokens, qMask3) as tf.Tensor3D;
    const tokenBias = tf.reshape(tf.mul(tf.sub(inputs.queryMask, 1), 1e9), [B, 1, T]);
    for (let i = 0; i < c.crossAttnLayers; i++) {
      x = crossAttentionBlock(params, x as tf.Tensor3D, words, tokenBias, `cross${i}`);
    }
  }
  for (let i = 0; i < c.localLayers; i++) x = localBlock(params, x as tf.Tensor3D, c, `local${i}`);
  if (c.directionChannels > 0) x = directionBlock(params, x as tf.Tensor3D, c);
  for (let i = 0; i < c.mixerLayers; i++) x = mixerBlock(params, x as tf.Tensor3D, q, `mix${i}`);

  if (c.attnLayers > 0) {
    // Padding query tokens are masked out as keys; patch keys are always valid.
    const keyBias = tf.reshape(tf.concat([tf.zeros([B, P]), tf.mul(tf.sub(inputs.queryMask, 1), 1e9)], 1), [
      B,
      1,
      P + T,
    ]);
    const tokens = tf.mul(qTokens, qMask3);
    for (let i = 0; i < c.attnLayers; i++) {
      x = attentionBlock(params, tf.concat([x, tokens], 1) as tf.Tensor3D, P, keyBias, `attn${i}`);
    }
  }
  const h = layerNorm(params, x, 'out') as tf.Tensor3D;
  let gIn = dense(params, tf.concat([tf.mean(h, 1), q], 1), 'glob.w', 'glob.b');
  if (c.globalMaxPool) gIn = tf.add(gIn, dense(params, tf.max(h, 1), 'glob.wmax'));
  const g = tf.relu(gIn) as tf.Tensor2D;
  const u = tf.relu(dense(params, h, 'ptr.wu', 'ptr.bu')) as tf.Tensor3D;
  const enc: Encoded = { h, u, g, ...(c.boxDetail || c.pointDetail ? { patches: inputs.patches } : {}) };
  if (!c.boxPositionWords || !bag) return enc;
  const words = tf.mul(bag, WORD_SLOPE_SCALE);
  return { ...enc, wordSlopes: dense(params, words, 'ptr.box.wxyw') as tf.Tensor2D };
}

export type PointerHead = 'box' | 'pos' | 'neg';

/** Logits over patches [B, P] for a pointer head, given its context vector gk [B, d]. */
export function pointerLogits(params: Params, enc: Encoded, head: PointerHead, gk: tf.Tensor2D): tf.Tensor2D {
  const [B, P, d] = enc.h.shape;
  const local = tf.reshape(dense(params, enc.u, `ptr.${head}.wl`), [B, P]);
  // h·qv as multiply + innermost sum: a [B,P,d]×[B,d,1] batched product takes WASM's slow path.
  const qv = tf.reshape(dense(params, gk, `ptr.${head}.wq`, `ptr.${head}.bq`), [B, 1, d]);
  const match = tf.sum(tf.mul(enc.h, qv), 2);
  return tf.add(local, tf.mul(match, 1 / Math.sqrt(d))) as tf.Tensor2D;
}

/** Patch-centre coordinates of a G×G grid in [−1, 1]: row 0 x, row 1 y, [2, G²]. */
const gridCoords = new Map<number, Float32Array>();
function patchCoords(G: number): Float32Array {
  let xy = gridCoords.get(G);
  if (xy) return xy;
  xy = new Float32Array(2 * G * G);
  for (let gy = 0; gy < G; gy++) {
    for (let gx = 0; gx < G; gx++) {
      xy[gy * G + gx] = ((gx + 0.5) / G) * 2 - 1;
      xy[G * G + gy * G + gx] = ((gy + 0.5) / G) * 2 - 1;
    }
  }
  gridCoords.set(G, xy);
  return xy;
}

/**
 * config.boxPositionBias: (g·Wxy)·(x_p, y_p) over the patches, [B, P]; with config.boxPositionWords
 * the slope also adds the query words' own (`enc.wordSlopes`).
 */
export function boxPositionBias(params: Params, enc: Encoded): tf.Tensor2D {
  const P = enc.h.shape[1];
  let slopes = dense(params, enc.g, 'ptr.box.wxy') as tf.Tensor2D; // [B, 2]
  if (enc.wordSlopes) slopes = tf.add(slopes, enc.wordSlopes);
  const G = Math.round(Math.sqrt(P));
  return tf.matMul(slopes, tf.tensor2d(patchCoords(G), [2, P]));
}

/** Feature of the chosen patch: onehot [B, P] · h → [B, d] (zeros for an all-zero row). */
export function selectPatch(enc: Encoded, oneHot: tf.Tensor2D): tf.Tensor2D {
  const [B, P, d] = enc.h.shape;
  return tf.reshape(tf.matMul(tf.reshape(oneHot, [B, 1, P]) as tf.Tensor3D, enc.h), [B, d]);
}

/**
 * Context of head `prefix`'s offset (and size) tokens given its patch one-hot [B, P]:
 * relu([gk; h_p]·W + b). With the head's detail on (config.boxDetail for the box,
 * config.pointDetail for the points) it also adds the raw input features (pixels, mask, edges) of
 * patch p's 3×3 neighbourhood: relu(raw_k·Wr + br) per neighbour k (one projection shared by the
 * nine, DETAIL_CHANNELS wide), concatenated, ·Wo. Neighbour k is the patch at p − δ_k,
 * δ_k = (k mod 3 − 1, ⌊k/3⌋ − 1). Off the grid, and in a row with no patch (an all-zero one-hot),
 * the raw features are zeros. The gather is one product of the one-hot with the constant shift
 * matrix, then one batched product [B, 9, P]·[B, P, F].
 */
export function headContext(
  params: Params,
  c: PolicyConfig,
  prefix: 'box' | 'pos' | 'neg',
  gk: tf.Tensor2D,
  enc: Encoded,
  oneHot: tf.Tensor2D,
): tf.Tensor2D {
  const pre = dense(
    params,
    tf.concat([gk, selectPatch(enc, oneHot)], 1),
    `${prefix}.ctx.w`,
    `${prefix}.ctx.b`,
  );
  const withDetail = prefix === 'box' ? c.boxDetail : c.pointDetail;
  if (!withDetail || !enc.patches) return tf.relu(pre) as tf.Tensor2D;
  const [B, P, F] = enc.patches.shape;
  const G = Math.round(Math.sqrt(P));
  const around = tf.reshape(tf.matMul(oneHot, tf.tensor2d(neighbourShifts(G), [P, 9 * P])), [B, 9, P]);
  const raw = tf.reshape(tf.matMul(around as tf.Tensor3D, enc.patches), [B * 9, F]);
  const z = tf.relu(dense(params, raw, `${prefix}.detail.wr`, `${prefix}.detail.br`));
  const detail = dense(params, tf.reshape(z, [B, 9 * DETAIL_CHANNELS]), `${prefix}.detail.wo`);
  return tf.relu(tf.add(pre, detail)) as tf.Tensor2D;
}

export function offsetLogits(params: Params, prefix: 'box' | 'pos' | 'neg', ctx: tf.Tensor2D): tf.Tensor2D {
  return dense(params, ctx, `${prefix}.off.w`, `${prefix}.off.b`) as tf.Tensor2D;
}

/** Width logits, conditioned on the offset token; returns the context carried to the height head. */
export function widthLogits(
  params: Params,
  ctx: tf.Tensor2D,
  offOneHot: tf.Tensor2D,
): [tf.Tensor2D, tf.Tensor2D] {
  const c2 = tf.add(ctx, dense(params, offOneHot, 'box.off.emb')) as tf.Tensor2D;
  return [dense(params, tf.relu(c2), 'box.w.w', 'box.w.b') as tf.Tensor2D, c2];
}

export function heightLogits(params: Params, c2: tf.Tensor2D, wOneHot: tf.Tensor2D): tf.Tensor2D {
  const c3 = tf.add(c2, dense(params, wOneHot, 'box.w.emb'));
  return dense(params, tf.relu(c3), 'box.h.w', 'box.h.b') as tf.Tensor2D;
}

export function typeLogits(params: Params, enc: Encoded): tf.Tensor2D {
  return dense(params, enc.g, 'type.w', 'type.b') as tf.Tensor2D;
}

/** Global context of the point heads given the type token one-hot [B, 4]. */
export function typedContext(params: Params, enc: Encoded, typeOneHot: tf.Tensor2D): tf.Tensor2D {
  return tf.add(enc.g, dense(params, typeOneHot, 'type.emb')) as tf.Tensor2D;
}

/**
 * The dense heads (config.denseClasses): per-patch target-coverage logits [B·P, 1] and class logits
 * [B·P, C], both linear in the patch features h.
 */
export function denseLogits(params: Params, enc: Encoded): { coverage: tf.Tensor2D; classes: tf.Tensor2D } {
  const [B, P, d] = enc.h.shape;
  const h2 = tf.reshape(enc.h, [B * P, d]) as tf.Tensor2D;
  return {
    coverage: dense(params, h2, 'dense.seg.w', 'dense.seg.b') as tf.Tensor2D,
    classes: dense(params, h2, 'dense.cls.w', 'dense.cls.b') as tf.Tensor2D,
  };
}
