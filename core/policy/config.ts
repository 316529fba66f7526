/**
 * Architecture configuration of the pointer policy. It is stored verbatim in every checkpoint's
 * manifest, so a checkpoint always rebuilds the network (and the vocabulary) it was trained with.
 */
import { ValidationError } from '../errors/index.ts';
import { DEFAULT_WORDS } from './vocabulary.ts';

export interface PolicyConfig {
  /** Side of the square view the image is resized to, in pixels. Default 64. */
  readonly viewSize: number;
  /** Side of a square patch, in view pixels; must divide viewSize. Default 8 (an 8×8 grid). */
  readonly patchSize: number;
  /**
   * Context margin of each patch token, in view pixels: a token embeds the (patchSize + 2·margin)²
   * window centred on its patch (overlapping windows, zero outside the view), so an object that
   * straddles patch borders is still seen whole by the patch it is centred in. Default 0 (plain
   * non-overlapping patches; checkpoints without this key load with 0).
   */
  readonly patchMargin: number;
  /**
   * Convolutional stem: base channel count c of three 2×2 stride-2 convolutions (pixels → c → 2c →
   * dModel, ReLU between) whose output is added to each patch token's linear embedding: a nonlinear
   * descriptor of the patch with weights shared across its cells, so local shape (edges, corners,
   * curvature) is read the same way wherever it lies. 0 = off (the default; checkpoints without
   * this key load with 0). Needs patchMargin 0 and patchSize 8.
   */
  readonly convStem: number;
  /**
   * Oriented edge energy (edge-features.ts): `edgeBins` orientation bins over [0, π) per cell of
   * each patch, measured at twice the view's resolution, appended to the patch's pixels before the
   * embedding. 0 = off (the default; checkpoints without this key load with 0).
   */
  readonly edgeBins: number;
  /** Cells per patch side for the edge histograms (edgeCells² per patch). Default 2. */
  readonly edgeCells: number;
  /**
   * The edges are measured on a view `edgeScale` times the view's side (2: 128 px for a 64-px view;
   * 4: 256 px). Default 2 (checkpoints without this key load with 2).
   */
  readonly edgeScale: number;
  /** Model width. Default 64. */
  readonly dModel: number;
  /** Hidden width of the MLP blocks. Default 128. */
  readonly mlpHidden: number;
  /**
   * Token-mixing blocks (MLP-Mixer, Tolstikhin et al. 2021): a per-channel MLP across the patch
   * grid (spatial context: object extent, "below", "leftmost"), then a per-patch MLP, each block
   * FiLM-conditioned on the query. Default 2.
   */
  readonly mixerLayers: number;
  /**
   * Cross-attention blocks where every patch attends to the query's word tokens (word-level
   * grounding on top of FiLM's pooled query), placed before the mixers. Default 0.
   */
  readonly crossAttnLayers: number;
  /**
   * Local blocks: a 3×3 convolution over the patch grid (bottleneck of `localChannels`), so a
   * patch reads its neighbours with the same weights everywhere: the centre of a star knows its
   * points. Placed before the mixers. Default 0.
   */
  readonly localLayers: number;
  /** Bottleneck channels of a local block. Default 16. */
  readonly localChannels: number;
  /**
   * Directional context (network.ts, `directionBlock`): C per-patch presence channels, each summed
   * over the patches to the left, right, above and below of every patch in three distance bands
   * (1, 2–3 and 4+ grid steps), so a patch knows whether a matching object lies beyond it on each
   * side ("the leftmost circle": a circle with no circle further left). The directional pooling of
   * CornerNet (Law & Deng 2018), as sums through one constant matrix. Placed after the local
   * blocks. 0 = off (the default; checkpoints without this key load with 0).
   */
  readonly directionChannels: number;
  /** Hidden width of the token-mixing MLP. Default 64. */
  readonly mixHidden: number;
  /**
   * Attention blocks where patches attend to [patches; query tokens]. Default 0: on the WASM
   * backend batched attention products are ~10× slower per FLOP than plain matmuls (one layer
   * tripled the train step), so spatial context comes from token mixing instead.
   */
  readonly attnLayers: number;
  /** Maximum query tokens kept (longer queries are truncated). Default 16. */
  readonly maxQueryTokens: number;
  /** Offset bins per axis inside a patch (the offset token has offsetBins² classes). Default 8. */
  readonly offsetBins: number;
  /** Log-spaced bins for box width and height (fraction of the image side). Default 48. */
  readonly sizeBins: number;
  /** Smallest representable box side as a fraction of the image side. Default 1/64. */
  readonly minSizeFrac: number;
  /**
   * Max pooling into the global context: g also reads max_p h through its own weights (zero at
   * initialisation), so "some patch shows a missed part" is not averaged away over the grid; the
   * refinement type token (stop / positive / negative / both) is read from g. Default false
   * (checkpoints without this key load with false).
   */
  readonly globalMaxPool: boolean;
  /**
   * Dense per-patch heads for the warm start, read from the patch features h: a target-coverage
   * head (sigmoid: the share of each patch the referred object covers) and a `denseClasses`-way
   * head (softmax: what each patch shows, e.g. background or one of the synthetic world's shapes).
   * They give the supervised warm start one label per patch instead of one box per sample; the
   * action heads never read them. 0 = no dense heads (the default; checkpoints without this key
   * load with 0).
   */
  readonly denseClasses: number;
  /**
   * The box's centre-patch logits also add the coverage head's logit of each patch (needs
   * denseClasses > 0), so the dense grounding reaches the action. Default false.
   */
  readonly denseBox: boolean;
  /**
   * The box's centre-patch logits add a linear function of the patch's position whose slope the
   * global context sets, (g·Wxy)·(x_p, y_p) with x, y in [−1, 1] (Wxy starts at zero): "the leftmost
   * circle" can then become "a circle, and among circles further left is better" instead of a
   * comparison the token mixers must learn at every position. Default false (checkpoints without
   * this key load with false).
   */
  readonly boxPositionBias: boolean;
  /**
   * The box position slope also reads the query's words directly: each vocabulary word has its own
   * slope (zero at start), summed over the query's words (times a fixed scale, network.ts) and added
   * to the one the global context sets (needs boxPositionBias). "leftmost" then carries its direction by itself instead of through
   * the pooled query and the global context, where left and right queries came out alike. Default
   * false (checkpoints without this key load with false).
   */
  readonly boxPositionWords: boolean;
  /**
   * The first FiLM's [γ; β] also add each query word's own row of a table (zero at start), summed
   * over the query's words: a word modulates the patch features directly, not only through the
   * pooled query's MLP. Default false (checkpoints without this key load with false).
   */
  readonly wordFilm: boolean;
  /**
   * The box's offset and size heads also read the raw input features (pixels, mask and edges) of
   * the chosen centre patch and its 8 neighbours through their own weights (small at start),
   * besides the patch's encoded feature: where the box's edges lie within a patch is a detail the
   * encoder's d-wide features may have averaged away. Default false (checkpoints without this key
   * load with false).
   */
  readonly boxDetail: boolean;
  /**
   * The same for the refinement points' offset heads: each reads the raw input features (the mask
   * channel among them) around its chosen patch, so a click can land inside a thin missed or extra
   * region that the patch's encoded feature only summarises. Default false (checkpoints without this
   * key load with false).
   */
  readonly pointDetail: boolean;
  /** Feed the current mask as a 4th input channel (besides the green overlay). Default true. */
  readonly maskChannel: boolean;
  /**
   * What the input front end reads under the mask: 'none' the overlay as drawn; 'edges' the edge
   * features read the image recovered from the overlay and the mask (the tint inverted, the outline
   * replaced by its outside neighbour), so an object's edges inside the mask keep their full
   * contrast and the outline adds none; 'all' the pixel view does too (the mask then reaches the
   * network through the mask channel alone). Default 'none' (checkpoints without this key load with it).
   */
  readonly detint: 'none' | 'edges' | 'all';
  /** Known words of the query vocabulary (lowercase). Default DEFAULT_WORDS. */
  readonly words: readonly string[];
  /** Hash buckets for out-of-vocabulary words. Default 64. */
  readonly hashBuckets: number;
}

export const DEFAULT_POLICY_CONFIG: PolicyConfig = {
  viewSize: 64,
  patchSize: 8,
  patchMargin: 0,
  convStem: 0,
  edgeBins: 0,
  edgeCells: 2,
  edgeScale: 2,
  dModel: 64,
  mlpHidden: 128,
  mixerLayers: 2,
  crossAttnLayers: 0,
  localLayers: 0,
  localChannels: 16,
  directionChannels: 0,
  mixHidden: 64,
  attnLayers: 0,
  maxQueryTokens: 16,
  offsetBins: 8,
  sizeBins: 48,
  minSizeFrac: 1 / 64,
  globalMaxPool: false,
  denseClasses: 0,
  denseBox: false,
  boxPositionBias: false,
  boxPositionWords: false,
  wordFilm: false,
  boxDetail: false,
  pointDetail: false,
  maskChannel: true,
  detint: 'none',
  words: DEFAULT_WORDS,
  hashBuckets: 64,
};

/** Fills defaults and validates; throws ValidationError naming the `config.<key>` at fault. */
export function resolvePolicyConfig(partial: Partial<PolicyConfig> = {}): PolicyConfig {
  const c: PolicyConfig = { ...DEFAULT_POLICY_CONFIG, ...partial };
  const posInt = (key: keyof PolicyConfig, min = 1): void => {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new ValidationError(`config.${key}`, v, `must be an integer >= ${min}`);
    }
  };
  posInt('viewSize', 4);
  posInt('patchSize', 1);
  posInt('patchMargin', 0);
  posInt('convStem', 0);
  posInt('edgeBins', 0);
  posInt('edgeCells', 1);
  posInt('edgeScale', 1);
  posInt('dModel', 2);
  posInt('mlpHidden', 1);
  posInt('mixerLayers', 0);
  posInt('crossAttnLayers', 0);
  posInt('localLayers', 0);
  posInt('localChannels', 1);
  posInt('directionChannels', 0);
  posInt('mixHidden', 1);
  posInt('attnLayers', 0);
  posInt('maxQueryTokens', 1);
  posInt('offsetBins', 1);
  posInt('sizeBins', 2);
  posInt('hashBuckets', 0);
  posInt('denseClasses', 0);
  if (typeof c.globalMaxPool !== 'boolean') {
    throw new ValidationError('config.globalMaxPool', c.globalMaxPool, 'must be true or false');
  }
  if (typeof c.denseBox !== 'boolean') {
    throw new ValidationError('config.denseBox', c.denseBox, 'must be true or false');
  }
  if (!['none', 'edges', 'all'].includes(c.detint)) {
    throw new ValidationError('config.detint', c.detint, "must be 'none', 'edges' or 'all'");
  }
  if (c.detint === 'all' && !c.maskChannel) {
    throw new ValidationError(
      'config.detint',
      c.detint,
      'needs config.maskChannel (the mask would be invisible)',
    );
  }
  if (c.detint === 'edges' && c.edgeBins === 0) {
    throw new ValidationError('config.detint', c.detint, 'needs config.edgeBins > 0');
  }
  if (typeof c.boxPositionBias !== 'boolean') {
    throw new ValidationError('config.boxPositionBias', c.boxPositionBias, 'must be true or false');
  }
  if (typeof c.boxPositionWords !== 'boolean') {
    throw new ValidationError('config.boxPositionWords', c.boxPositionWords, 'must be true or false');
  }
  if (typeof c.wordFilm !== 'boolean') {
    throw new ValidationError('config.wordFilm', c.wordFilm, 'must be true or false');
  }
  for (const key of ['boxDetail', 'pointDetail'] as const) {
    if (typeof c[key] !== 'boolean')
      throw new ValidationError(`config.${key}`, c[key], 'must be true or false');
  }
  if (c.boxPositionWords && !c.boxPositionBias) {
    throw new ValidationError('config.boxPositionWords', c.boxPositionWords, 'needs config.boxPositionBias');
  }
  if (c.denseBox && c.denseClasses === 0) {
    throw new ValidationError('config.denseBox', c.denseBox, 'needs config.denseClasses > 0');
  }
  if (c.viewSize % c.patchSize !== 0) {
    throw new ValidationError('config.patchSize', c.patchSize, `must divide viewSize ${c.viewSize}`);
  }
  if (c.convStem > 0 && (c.patchMargin !== 0 || c.patchSize !== 8)) {
    throw new ValidationError(
      'config.convStem',
      c.convStem,
      `needs patchMargin 0 and patchSize 8 (got ${c.patchMargin} and ${c.patchSize})`,
    );
  }
  if (c.edgeBins > 0 && (c.edgeScale * c.patchSize) % c.edgeCells !== 0) {
    throw new ValidationError(
      'config.edgeCells',
      c.edgeCells,
      `must divide edgeScale·patchSize = ${c.edgeScale * c.patchSize} (edges are measured at ${c.edgeScale}× the view's resolution)`,
    );
  }
  if (c.edgeBins > 0 && c.convStem > 0) {
    throw new ValidationError('config.edgeBins', c.edgeBins, 'cannot be combined with config.convStem');
  }
  if (!(c.minSizeFrac > 0 && c.minSizeFrac < 1)) {
    throw new ValidationError('config.minSizeFrac', c.minSizeFrac, 'must be in (0, 1)');
  }
  if (!Array.isArray(c.words) || c.words.some((w) => typeof w !== 'string' || w !== w.toLowerCase())) {
    throw new ValidationError('config.words', c.words, 'must be lowercase strings');
  }
  return c;
}

/** Derived sizes used throughout the network and the action codec. */
export interface PolicyDims {
  /** Patches per side. */
  readonly grid: number;
  /** Number of patches (grid²). */
  readonly patches: number;
  /** Input channels (RGB, plus the mask channel when enabled). */
  readonly channels: number;
  /** Pixel features per patch token ((patchSize + 2·patchMargin)² · channels). */
  readonly pixelFeatures: number;
  /** Features per patch token: its pixels, then its edge histograms (edgeCells² · edgeBins). */
  readonly patchFeatures: number;
  /** Offset-token classes (offsetBins²). */
  readonly offsetClasses: number;
}

export function policyDims(c: PolicyConfig): PolicyDims {
  const grid = c.viewSize / c.patchSize;
  const channels = c.maskChannel ? 4 : 3;
  const pixelFeatures = (c.patchSize + 2 * c.patchMargin) ** 2 * channels;
  return {
    grid,
    patches: grid * grid,
    channels,
    pixelFeatures,
    patchFeatures: pixelFeatures + (c.edgeBins > 0 ? c.edgeCells * c.edgeCells * c.edgeBins : 0),
    offsetClasses: c.offsetBins * c.offsetBins,
  };
}
