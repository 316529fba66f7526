/**
 * The embedded policy: the pointer network (network.ts) with batched autoregressive sampling,
 * teacher-forced per-token log-probs for the learner, and an AdamW train step.
 *
 * Sampling draws each token from softmax(logits / temperature) with the caller's Rng (so it is
 * deterministic), and reports the token's log-prob under the policy itself (temperature 1), which
 * is what `logProbs` recomputes for the importance ratio; temperature 0 is greedy.
 *
 * Training: AdamW (adamw.ts) on the loss gradient, clipped to a global norm first.
 */
import { SamVeteranError, ValidationError } from '../errors/index.ts';
import { Rng } from '../rng/index.ts';
import type { BoxAction, PointAction } from '../actions/index.ts';
import type { Point } from '../geometry/index.ts';
import type { ActionTokens } from './action-codec.ts';
import type { OptimizerState } from './adamw.ts';
import { AdamW } from './adamw.ts';
import { ActionCodec, MAX_ACTION_TOKENS, typeHasNegative, typeHasPositive } from './action-codec.ts';
import type { PolicyConfig, PolicyDims } from './config.ts';
import { policyDims, resolvePolicyConfig } from './config.ts';
import type { Encoded, Params } from './network.ts';
import {
  boxPositionBias,
  denseLogits,
  encode,
  headContext,
  heightLogits,
  offsetLogits,
  pointerLogits,
  typedContext,
  typeLogits,
  widthLogits,
} from './network.ts';
import type { PolicyObservation, PreparedBatch } from './observation.ts';
import { observationCount, prepareBatch } from './observation.ts';
import type { ParamSpec } from './params.ts';
import { initParam, paramSpecs } from './params.ts';
import { drawToken, meanCell, meanIndex, oneHot, range, resolveKinds } from './sampling.ts';
import type { TokenTargets } from './token-targets.ts';
import { SLOT_COUNT, Slot, buildTargets, scoreTargets } from './token-targets.ts';
import { assertTfReady, ensureTf, tf } from './tf-runtime.ts';
import type { Vocabulary } from './vocabulary.ts';
import { buildVocabulary } from './vocabulary.ts';

import type {
  EncodedObservations,
  NamedWeight,
  PolicyCreateOptions,
  PolicyTrainOptions,
  PositionDecode,
  SampleOptions,
  SampledAction,
  TokenLogProbs,
} from './policy-types.ts';
import { DEFAULT_TRAIN_OPTIONS } from './policy-types.ts';

export class PointerPolicy {
  readonly config: PolicyConfig;
  readonly dims: PolicyDims;
  readonly codec: ActionCodec;
  readonly vocabulary: Vocabulary;
  readonly specs: readonly ParamSpec[];
  readonly frozen: boolean;
  private readonly vars = new Map<string, tf.Variable>();
  private trainOptions: PolicyTrainOptions;
  private optimizer: AdamW | undefined;
  private disposed = false;
  private steps = 0;
  /** Bumped whenever the weights change (train step, setWeights): encodings older than it are stale. */
  private weightsGeneration = 0;

  /** Builds a policy; TensorFlow.js must be initialised (see `PointerPolicy.create`). */
  constructor(config: Partial<PolicyConfig> = {}, options: PolicyCreateOptions = {}) {
    assertTfReady();
    this.config = resolvePolicyConfig(config);
    this.dims = policyDims(this.config);
    this.codec = new ActionCodec(this.config);
    this.vocabulary = buildVocabulary(this.config.words, this.config.hashBuckets);
    this.specs = paramSpecs(this.config, this.dims, this.vocabulary.size);
    this.frozen = options.frozen ?? false;
    this.trainOptions = { ...DEFAULT_TRAIN_OPTIONS, ...options.train };
    if (options.weights) {
      this.checkWeights(options.weights);
      for (const w of options.weights) this.addVariable(w.name, w.shape, w.data);
    } else {
      const seed = options.seed ?? 0;
      const rng = typeof seed === 'object' ? seed : new Rng(seed);
      for (const spec of this.specs)
        this.addVariable(spec.name, spec.shape, initParam(spec, rng.fork(spec.name)));
    }
  }

  /** Initialises TensorFlow.js (WASM unless a backend is already active) and builds a policy. */
  static async create(
    config: Partial<PolicyConfig> = {},
    options: PolicyCreateOptions = {},
  ): Promise<PointerPolicy> {
    await ensureTf();
    return new PointerPolicy(config, options);
  }

  get parameterCount(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  /** Train steps taken by this instance. */
  get stepCount(): number {
    return this.steps;
  }

  /** Observations → network inputs (plain arrays; reusable across calls). */
  prepare(batch: readonly PolicyObservation[]): PreparedBatch {
    return prepareBatch(batch, this.config, this.dims, this.vocabulary);
  }

  /** Samples one action per observation. */
  sample(batch: readonly PolicyObservation[] | PreparedBatch, options: SampleOptions): SampledAction[] {
    this.assertLive();
    const prep = isPrepared(batch) ? batch : this.prepare(batch);
    const B = prep.size;
    if (B === 0) return [];
    const kinds = resolveKinds(options.kind, B);
    const temperature = options.temperature ?? 1;
    if (!(temperature >= 0) || !Number.isFinite(temperature)) {
      throw new ValidationError('temperature', temperature, 'must be a finite number >= 0');
    }
    const draw = (logits: Float32Array, n: number, b: number): [number, number] =>
      drawToken(logits.subarray(b * n, (b + 1) * n), temperature, options.rng);
    const ids: number[][] = kinds.map(() => []);
    const lps: number[][] = kinds.map(() => []);
    const push = (b: number, pick: [number, number]): void => {
      (ids[b] as number[]).push(pick[0]);
      (lps[b] as number[]).push(pick[1]);
    };
    const pushPick = (b: number, pick: [number, number]): number => {
      push(b, pick);
      return pick[0];
    };
    const params = this.params();
    const { patches: P, offsetClasses: O } = this.dims;
    const S = this.config.sizeBins;
    const K = this.config.offsetBins;
    const decode = options.decode ?? 'tokens';
    if (decode !== 'tokens' && decode !== 'mean') {
      throw new ValidationError('decode', decode, "must be 'tokens' or 'mean'");
    }
    // decode 'mean': each item's positions as fractional [ox, oy] offset cells (and size bins).
    const means: number[][] = kinds.map(() => []);
    const row = (logits: Float32Array, n: number, b: number): Float32Array =>
      logits.subarray(b * n, (b + 1) * n);
    const pushMeanCell = (b: number, logits: Float32Array): void => {
      if (decode === 'mean') (means[b] as number[]).push(...meanCell(row(logits, O, b), K));
    };
    tf.tidy(() => {
      const enc = options.encoded
        ? this.spreadRows(this.encodedFor(options.encoded, prep), prep)
        : this.encodePrepared(params, prep);
      const boxItems = range(B).filter((b) => kinds[b] === 'box');
      const refineItems = range(B).filter((b) => kinds[b] === 'refine');
      if (boxItems.length > 0) {
        const centreL = this.boxCentreLogits(params, enc).dataSync() as Float32Array;
        const centre = new Int32Array(B);
        for (const b of boxItems) centre[b] = pushPick(b, draw(centreL, P, b));
        const ctx = headContext(params, this.config, 'box', enc.g, enc, oneHot(centre, P));
        const offL = offsetLogits(params, 'box', ctx).dataSync() as Float32Array;
        const off = new Int32Array(B);
        for (const b of boxItems) {
          off[b] = pushPick(b, draw(offL, O, b));
          pushMeanCell(b, offL);
        }
        const [wL, c2] = widthLogits(params, ctx, oneHot(off, O));
        const wData = wL.dataSync() as Float32Array;
        const wBin = new Int32Array(B);
        for (const b of boxItems) wBin[b] = pushPick(b, draw(wData, S, b));
        const hData = heightLogits(params, c2, oneHot(wBin, S)).dataSync() as Float32Array;
        for (const b of boxItems) {
          push(b, draw(hData, S, b));
          if (decode === 'mean')
            (means[b] as number[]).push(meanIndex(row(wData, S, b)), meanIndex(row(hData, S, b)));
        }
      }
      if (refineItems.length > 0) {
        const typeL = typeLogits(params, enc).dataSync() as Float32Array;
        const type = new Int32Array(B);
        for (const b of refineItems) type[b] = pushPick(b, draw(typeL, 4, b));
        const gp = typedContext(params, enc, oneHot(type, 4));
        const posL = pointerLogits(params, enc, 'pos', gp).dataSync() as Float32Array;
        const negL = pointerLogits(params, enc, 'neg', gp).dataSync() as Float32Array;
        const posPatch = new Int32Array(B).fill(-1);
        const negPatch = new Int32Array(B).fill(-1);
        const posPick = new Map<number, [number, number]>();
        const negPick = new Map<number, [number, number]>();
        for (const b of refineItems) {
          const t = type[b] as number;
          if (typeHasPositive(t)) posPick.set(b, draw(posL, P, b));
          if (typeHasNegative(t)) negPick.set(b, draw(negL, P, b));
          posPatch[b] = posPick.get(b)?.[0] ?? -1;
          negPatch[b] = negPick.get(b)?.[0] ?? -1;
        }
        const posOffL = offsetLogits(
          params,
          'pos',
          headContext(params, this.config, 'pos', gp, enc, oneHot(posPatch, P)),
        );
        const negOffL = offsetLogits(
          params,
          'neg',
          headContext(params, this.config, 'neg', gp, enc, oneHot(negPatch, P)),
        );
        const posOff = posOffL.dataSync() as Float32Array;
        const negOff = negOffL.dataSync() as Float32Array;
        for (const b of refineItems) {
          const pp = posPick.get(b);
          if (pp) {
            push(b, pp);
            push(b, draw(posOff, O, b));
            pushMeanCell(b, posOff);
          }
          const np = negPick.get(b);
          if (np) {
            push(b, np);
            push(b, draw(negOff, O, b));
            pushMeanCell(b, negOff);
          }
        }
      }
    });
    return kinds.map((kind, b) => {
      const tokens: ActionTokens = { kind, ids: ids[b] as number[] };
      const size = prep.imageSizes[b] as { width: number; height: number };
      const action = this.codec.decodeTokens(tokens, size);
      return {
        tokens,
        logprobs: Float32Array.from(lps[b] as number[]),
        action: decode === 'mean' ? this.meanAction(tokens, means[b] as number[], action, size) : action,
      };
    });
  }

  /**
   * The most likely token at every step (evaluation); `decode` as in SampleOptions (README, "Reading
   * the box between the bins").
   */
  greedy(
    batch: readonly PolicyObservation[] | PreparedBatch,
    kind: SampleOptions['kind'],
    decode: PositionDecode = 'tokens',
  ): SampledAction[] {
    return this.sample(batch, { temperature: 0, rng: GREEDY_RNG, kind, decode });
  }

  /** `action` (decoded from `tokens`) with its positions at the heads' means (decode 'mean'). */
  private meanAction(
    tokens: ActionTokens,
    m: readonly number[],
    action: BoxAction | PointAction,
    size: { width: number; height: number },
  ): BoxAction | PointAction {
    const ids = tokens.ids;
    if (tokens.kind === 'box') {
      const [ox, oy, wBin, hBin] = m as [number, number, number, number];
      return this.codec.decodeBoxAt(ids[0] as number, ox, oy, wBin, hBin, size);
    }
    if (action.kind !== 'points') return action;
    // Refinement: [type, (patch, offset) of the positive, (patch, offset) of the negative], one
    // mean cell per point in the same order.
    let i = 1;
    let k = 0;
    const next = (): Point => {
      const p = this.codec.decodePointAt(ids[i] as number, m[k] as number, m[k + 1] as number, size);
      i += 2;
      k += 2;
      return p;
    };
    const positive = action.positive ? next() : null;
    const negative = action.negative ? next() : null;
    return { kind: 'points', positive, negative };
  }

  /**
   * Teacher-forced per-token log-probs, differentiable: call inside tf.tidy / variableGrads /
   * `trainStep`'s loss function. Row b, column j is log π(ids_b[j] | observation_b, ids_b[<j]).
   */
  logProbs(
    batch: readonly PolicyObservation[] | PreparedBatch,
    tokens: readonly ActionTokens[] | TokenTargets,
    scoreRows?: readonly Float32Array[],
  ): TokenLogProbs {
    const { enc: _enc, ...out } = this.teacherForced(batch, tokens, scoreRows);
    return out;
  }

  /**
   * Logits of the box's centre patch [B, P]: the box pointer, plus (config.boxPositionBias) a
   * position slope set by the global context, plus (config.denseBox) the coverage
   * head's logit of each patch, so what the dense supervision grounds is what the box points at.
   */
  private boxCentreLogits(params: Params, enc: Encoded): tf.Tensor2D {
    let ptr = pointerLogits(params, enc, 'box', enc.g);
    if (this.config.boxPositionBias) ptr = tf.add(ptr, boxPositionBias(params, enc));
    if (!this.config.denseBox) return ptr;
    return tf.add(ptr, tf.reshape(denseLogits(params, enc).coverage, ptr.shape)) as tf.Tensor2D;
  }

  /** `logProbs` plus the encoding it ran (the dense heads of `supervisedLoss` read it). */
  private teacherForced(
    batch: readonly PolicyObservation[] | PreparedBatch,
    tokens: readonly ActionTokens[] | TokenTargets,
    scoreRows?: readonly Float32Array[],
  ): TokenLogProbs & { enc: Encoded } {
    this.assertLive();
    const prep = isPrepared(batch) ? batch : this.prepare(batch);
    const targets = isTargets(tokens) ? tokens : buildTargets(tokens, this.codec);
    if (targets.size !== prep.size) {
      throw new ValidationError(
        'tokens',
        `${targets.size} actions`,
        `must match the ${prep.size} observations`,
      );
    }
    const B = prep.size;
    const L = MAX_ACTION_TOKENS;
    const params = this.params();
    const enc = this.encodePrepared(params, prep);
    const oh = targets.oneHots.map((a, s) => tf.tensor2d(a, [B, targets.classes[s] as number]));
    const slot = (s: number): tf.Tensor2D => oh[s] as tf.Tensor2D;
    // Σ_k row_k · log π_k per slot: the target's log-prob for one-hot rows (or, with `scoreRows`,
    // the negative cross-entropy against soft targets).
    const rows = scoreRows ? scoreRows.map((a, s) => tf.tensor2d(a, [B, targets.classes[s] as number])) : oh;
    const tokenLp = (logits: tf.Tensor2D, s: number): tf.Tensor =>
      tf.sum(tf.mul(tf.logSoftmax(logits), rows[s] as tf.Tensor2D), 1, true);
    const zeros = tf.zeros([B, 1]);
    const lp: tf.Tensor[] = new Array<tf.Tensor>(SLOT_COUNT).fill(zeros);
    if (targets.hasBox) {
      lp[Slot.boxCentre] = tokenLp(this.boxCentreLogits(params, enc), Slot.boxCentre);
      const ctx = headContext(params, this.config, 'box', enc.g, enc, slot(Slot.boxCentre));
      lp[Slot.boxOffset] = tokenLp(offsetLogits(params, 'box', ctx), Slot.boxOffset);
      const [wL, c2] = widthLogits(params, ctx, slot(Slot.boxOffset));
      lp[Slot.boxWidth] = tokenLp(wL, Slot.boxWidth);
      lp[Slot.boxHeight] = tokenLp(heightLogits(params, c2, slot(Slot.boxWidth)), Slot.boxHeight);
    }
    if (targets.hasRefine) {
      lp[Slot.type] = tokenLp(typeLogits(params, enc), Slot.type);
      const gp = typedContext(params, enc, slot(Slot.type));
      lp[Slot.posPatch] = tokenLp(pointerLogits(params, enc, 'pos', gp), Slot.posPatch);
      lp[Slot.negPatch] = tokenLp(pointerLogits(params, enc, 'neg', gp), Slot.negPatch);
      const posCtx = headContext(params, this.config, 'pos', gp, enc, slot(Slot.posPatch));
      const negCtx = headContext(params, this.config, 'neg', gp, enc, slot(Slot.negPatch));
      lp[Slot.posOffset] = tokenLp(offsetLogits(params, 'pos', posCtx), Slot.posOffset);
      lp[Slot.negOffset] = tokenLp(offsetLogits(params, 'neg', negCtx), Slot.negOffset);
    }
    const slots = tf.reshape(tf.concat(lp, 1), [B, 1, SLOT_COUNT]) as tf.Tensor3D;
    const scatter = tf.tensor3d(targets.scatter, [B, SLOT_COUNT, L]);
    return {
      logprobs: tf.reshape(tf.matMul(slots, scatter), [B, L]) as tf.Tensor2D,
      mask: tf.tensor2d(targets.mask, [B, L]),
      enc,
    };
  }

  /** Plain-array log-probs (no gradient), one Float32Array per action, in sequence order. */
  logProbsSync(
    batch: readonly PolicyObservation[] | PreparedBatch,
    tokens: readonly ActionTokens[],
  ): Float32Array[] {
    const lp = tf.tidy(() => this.logProbs(batch, tokens).logprobs);
    const data = lp.dataSync() as Float32Array;
    lp.dispose();
    return tokens.map((t, b) => data.slice(b * MAX_ACTION_TOKENS, b * MAX_ACTION_TOKENS + t.ids.length));
  }

  /**
   * The dense heads' predictions (no gradient) for each row: the probability that the referred
   * object covers each patch [B·P] and each patch's class distribution [B·P·denseClasses].
   */
  densePredictions(batch: readonly PolicyObservation[] | PreparedBatch): {
    coverage: Float32Array;
    classes: Float32Array;
  } {
    this.assertLive();
    if (this.config.denseClasses === 0) {
      throw new ValidationError('config.denseClasses', 0, 'this policy has no dense heads');
    }
    const prep = isPrepared(batch) ? batch : this.prepare(batch);
    return tf.tidy(() => {
      const { coverage, classes } = denseLogits(this.params(), this.encodePrepared(this.params(), prep));
      return {
        coverage: tf.sigmoid(coverage).dataSync() as Float32Array,
        classes: tf.softmax(classes).dataSync() as Float32Array,
      };
    });
  }

  /**
   * Token cross-entropy: mean over the real tokens of −log π(target), or with `smoothing` ε > 0
   * the cross-entropy against neighbourhood-smoothed targets (see `smoothTargets`).
   */
  supervisedLoss(
    batch: readonly PolicyObservation[] | PreparedBatch,
    targets: readonly ActionTokens[] | TokenTargets,
    options: SupervisedLossOptions = {},
  ): tf.Scalar {
    const eps = options.smoothing ?? 0;
    if (!(eps >= 0 && eps < 1)) throw new ValidationError('smoothing', eps, 'must be in [0, 1)');
    const typeWeight = options.typeWeight ?? 1;
    if (!(typeWeight > 0 && Number.isFinite(typeWeight))) {
      throw new ValidationError('typeWeight', typeWeight, 'must be a positive number');
    }
    const denseWeight = options.denseWeight ?? 0;
    if (!(denseWeight >= 0 && Number.isFinite(denseWeight))) {
      throw new ValidationError('denseWeight', denseWeight, 'must be a non-negative number');
    }
    const t = isTargets(targets) ? targets : buildTargets(targets, this.codec);
    const { logprobs, mask, enc } = this.teacherForced(batch, t, scoreTargets(t, this.codec, eps));
    // The mean over real tokens; the refinement type token may count `typeWeight` times (the
    // normaliser stays the token count, so the other tokens keep their scale).
    const weights =
      typeWeight === 1 ? mask : tf.tensor2d(typeTokenWeights(t, typeWeight), mask.shape as [number, number]);
    const tokenLoss = tf.neg(tf.div(tf.sum(tf.mul(logprobs, weights)), tf.maximum(tf.sum(mask), 1)));
    if (denseWeight === 0 || !t.dense) return tokenLoss as tf.Scalar;
    return tf.add(tokenLoss, tf.mul(this.denseLoss(enc, t.dense), denseWeight)) as tf.Scalar;
  }

  /**
   * The dense heads' loss over the rows that carry dense targets: per patch, the binary
   * cross-entropy of the coverage head against the target's coverage plus the cross-entropy of the
   * class head against the patch's class shares, each averaged over patches and rows.
   */
  private denseLoss(enc: Encoded, dense: NonNullable<TokenTargets['dense']>): tf.Scalar {
    const C = this.config.denseClasses;
    if (C === 0) {
      throw new ValidationError('denseWeight', 'dense targets', 'need a policy with config.denseClasses > 0');
    }
    if (dense.classCount !== C) {
      throw new ValidationError(
        'tokens.dense.classes',
        `${dense.classCount} classes`,
        `must match config.denseClasses ${C}`,
      );
    }
    const [B, P] = enc.h.shape;
    const { coverage: seg, classes: cls } = denseLogits(this.params(), enc);
    // Binary cross-entropy as a two-way softmax over [0, z] against [1 − t, t] (the WASM backend has
    // no Softplus gradient; logSoftmax's is there and stable).
    const cov = dense.coverage;
    const twoWay = new Float32Array(B * P * 2);
    for (let i = 0; i < B * P; i++) {
      twoWay[2 * i] = 1 - (cov[i] as number);
      twoWay[2 * i + 1] = cov[i] as number;
    }
    const segLp = tf.logSoftmax(tf.concat([tf.zeros([B * P, 1]), seg], 1));
    const bce = tf.neg(tf.sum(tf.reshape(tf.mul(segLp, tf.tensor2d(twoWay, [B * P, 2])), [B, P * 2]), 1));
    const ce = tf.neg(
      tf.sum(tf.reshape(tf.mul(tf.logSoftmax(cls), tf.tensor2d(dense.classes, [B * P, C])), [B, P * C]), 1),
    );
    const rows = tf.tensor1d(dense.rows);
    const perRow = tf.mul(tf.add(bce, ce), rows);
    return tf.div(tf.sum(perRow), tf.mul(tf.maximum(tf.sum(rows), 1), P)) as tf.Scalar;
  }

  /**
   * One AdamW step on `lossFn` (which builds the loss from this policy's tensors).
   * Returns the loss before the step and the gradient's global norm before clipping.
   */
  trainStep(lossFn: () => tf.Scalar): { loss: number; gradNorm: number } {
    const optimizer = this.trainable();
    const { value, grads } = tf.variableGrads(lossFn, [...this.vars.values()]);
    try {
      const loss = (value.dataSync() as Float32Array)[0] as number;
      // variableGrads keys gradients by tfjs variable name; map them back to parameter names.
      const byParam = new Map<string, tf.Tensor>();
      for (const [name, v] of this.vars) {
        const g = grads[v.name];
        if (g) byParam.set(name, g);
      }
      return this.applyStep(optimizer, byParam, tensorData(byParam), loss);
    } finally {
      value.dispose();
      for (const g of Object.values(grads)) g.dispose();
    }
  }

  /**
   * The loss and its gradients by parameter name, without updating anything: the half of a
   * data-parallel step that runs on each worker (see `applyGradients`).
   */
  computeGradients(lossFn: () => tf.Scalar): { loss: number; grads: Map<string, Float32Array> } {
    this.trainable();
    const { value, grads } = tf.variableGrads(lossFn, [...this.vars.values()]);
    try {
      const out = new Map<string, Float32Array>();
      for (const [name, v] of this.vars) {
        const g = grads[v.name];
        if (g) out.set(name, g.dataSync() as Float32Array);
      }
      return { loss: (value.dataSync() as Float32Array)[0] as number, grads: out };
    } finally {
      value.dispose();
      for (const g of Object.values(grads)) g.dispose();
    }
  }

  /**
   * One AdamW step with gradients computed elsewhere (the mean of the workers' `computeGradients`),
   * clipped and applied exactly as `trainStep` does; `loss` is only reported back. Workers that
   * start from the same weights and apply the same gradients stay bit-identical.
   */
  applyGradients(grads: ReadonlyMap<string, Float32Array>, loss = 0): { loss: number; gradNorm: number } {
    const optimizer = this.trainable();
    const byParam = new Map<string, tf.Tensor>();
    try {
      for (const [name, data] of grads) {
        const v = this.vars.get(name);
        if (!v) throw new ValidationError('grads', name, 'is not a parameter of this policy');
        if (data.length !== v.size) {
          throw new ValidationError(`grads.${name}`, data.length, `must have ${v.size} values`);
        }
        byParam.set(name, tf.tensor(data, v.shape));
      }
      return this.applyStep(optimizer, byParam, grads, loss);
    } finally {
      for (const g of byParam.values()) g.dispose();
    }
  }

  private trainable(): AdamW {
    this.assertLive();
    if (this.frozen)
      throw new SamVeteranError(
        'FAILED_PRECONDITION',
        'this policy is frozen (a reference copy); clone() a trainable one',
      );
    this.optimizer ??= new AdamW(this.specs, this.vars);
    return this.optimizer;
  }

  /**
   * Global-norm clipping and the AdamW update; throws (without updating) on a non-finite loss or norm.
   * `byParam` and `values` are the same gradients as tensors (the norm is summed by the backend, as
   * it always was) and as arrays (what AdamW reads).
   */
  private applyStep(
    optimizer: AdamW,
    byParam: Map<string, tf.Tensor>,
    values: ReadonlyMap<string, Float32Array>,
    loss: number,
  ): { loss: number; gradNorm: number } {
    const opts = this.trainOptions;
    const result = tf.tidy(() => {
      const sq = [...byParam.values()].map((g) => tf.sum(tf.square(g)));
      const gradNorm = sq.length > 0 ? Math.sqrt((tf.addN(sq).dataSync() as Float32Array)[0] as number) : 0;
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) return { loss, gradNorm, skipped: true };
      const scale = opts.maxGradNorm > 0 && gradNorm > opts.maxGradNorm ? opts.maxGradNorm / gradNorm : 1;
      optimizer.step(values, opts, scale);
      return { loss, gradNorm, skipped: false };
    });
    if (result.skipped) {
      throw new SamVeteranError(
        'INTERNAL',
        `non-finite loss ${result.loss} or gradient norm ${result.gradNorm}; step skipped`,
      );
    }
    this.steps++;
    this.weightsGeneration++;
    return { loss: result.loss, gradNorm: result.gradNorm };
  }

  get trainSettings(): PolicyTrainOptions {
    return this.trainOptions;
  }

  /** Changes optimiser settings (e.g. a learning-rate schedule) without resetting Adam's moments. */
  setTrainOptions(options: Partial<PolicyTrainOptions>): void {
    this.trainOptions = { ...this.trainOptions, ...options };
  }

  /**
   * Adam's state (for exact resume): the step count and the first/second moments by weight name
   * (`<name>/m` for every weight, then `<name>/v`). Null before the first train step.
   */
  async getOptimizerState(): Promise<OptimizerState | null> {
    this.assertLive();
    return Promise.resolve(this.optimizer ? this.optimizer.getState() : null);
  }

  /** Restores `getOptimizerState()` output (same architecture); the next step continues Adam exactly. */
  async setOptimizerState(state: OptimizerState): Promise<void> {
    this.assertLive();
    this.optimizer ??= new AdamW(this.specs, this.vars);
    this.optimizer.setState(state);
    return Promise.resolve();
  }

  /** A copy of the weights, in canonical order. */
  getWeights(): NamedWeight[] {
    this.assertLive();
    return this.specs.map((spec) => {
      const v = this.vars.get(spec.name) as tf.Variable;
      return { name: spec.name, shape: [...spec.shape], data: (v.dataSync() as Float32Array).slice() };
    });
  }

  /** Overwrites the weights (names and shapes must match this architecture exactly). */
  setWeights(weights: readonly NamedWeight[]): void {
    this.assertLive();
    this.checkWeights(weights);
    this.weightsGeneration++;
    for (const w of weights) {
      const v = this.vars.get(w.name) as tf.Variable;
      tf.tidy(() => v.assign(tf.tensor(w.data, [...w.shape])));
    }
  }

  /** A frozen copy (the reference policy for the KL term), or a trainable one with `{frozen: false}`. */
  clone(options: { frozen?: boolean } = {}): PointerPolicy {
    return new PointerPolicy(this.config, {
      weights: this.getWeights(),
      frozen: options.frozen ?? true,
      train: this.trainOptions,
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.optimizer?.dispose();
  }

  private params(): Params {
    return this.vars;
  }

  /**
   * Encodes a batch's observations once and keeps the result for several `sample` calls over rows
   * of those observations (`options.encoded`): dynamic sampling draws one state's actions in
   * batches until every action type has appeared. Valid until the weights change; dispose() after.
   */
  encodeObservations(batch: readonly PolicyObservation[] | PreparedBatch): EncodedObservations {
    this.assertLive();
    const prep = isPrepared(batch) ? batch : this.prepare(batch);
    const enc: Encoded = tf.tidy(() => {
      const e = this.encodeObservationsOf(this.params(), prep);
      return {
        h: tf.keep(e.h),
        u: tf.keep(e.u),
        g: tf.keep(e.g),
        ...(e.wordSlopes ? { wordSlopes: tf.keep(e.wordSlopes) } : {}),
        ...(e.patches ? { patches: tf.keep(e.patches) } : {}),
      };
    });
    const handle: KeptEncoding = {
      count: observationCount(prep),
      owner: this,
      generation: this.weightsGeneration,
      enc,
      disposed: false,
      dispose: () => {
        if (handle.disposed) return;
        handle.disposed = true;
        tf.dispose([
          enc.h,
          enc.u,
          enc.g,
          ...(enc.wordSlopes ? [enc.wordSlopes] : []),
          ...(enc.patches ? [enc.patches] : []),
        ]);
      },
    };
    return handle;
  }

  private encodedFor(e: EncodedObservations, prep: PreparedBatch): Encoded {
    const k = e as KeptEncoding;
    if (k.owner !== this)
      throw new ValidationError('encoded', 'another policy', 'must come from this policy');
    if (k.disposed) throw new ValidationError('encoded', 'disposed', 'must not be disposed');
    if (k.generation !== this.weightsGeneration) {
      throw new ValidationError('encoded', 'stale', 'was made before the weights last changed; encode again');
    }
    const u = observationCount(prep);
    if (u !== k.count) {
      throw new ValidationError('encoded.count', k.count, `must equal the batch's ${u} observations`);
    }
    return k.enc;
  }

  /** Encodes the batch's observations and spreads them to its rows (see spreadRows). */
  private encodePrepared(params: Params, prep: PreparedBatch): Encoded {
    return this.spreadRows(this.encodeObservationsOf(params, prep), prep);
  }

  /** Encodes each of the batch's U observations once: [U, …]. */
  private encodeObservationsOf(params: Params, prep: PreparedBatch): Encoded {
    const U = observationCount(prep);
    const { patches: P, patchFeatures: F } = this.dims;
    const T = this.config.maxQueryTokens;
    const V = this.vocabulary.size;
    if (prep.patches.length !== U * P * F || prep.queryOneHot.length !== U * T * V) {
      throw new ValidationError(
        'prepared.patches',
        `${prep.patches.length} values`,
        `must hold ${U} observations of ${P}x${F} features (and their queries)`,
      );
    }
    return encode(params, this.config, {
      patches: tf.tensor3d(prep.patches, [U, P, F]),
      queryOneHot: tf.tensor3d(prep.queryOneHot, [U, T, V]),
      queryMask: tf.tensor2d(prep.queryMask, [U, T]),
    });
  }

  /**
   * With `rowOf`, spreads per-observation encodings to the rows by a one-hot selection matmul
   * (exact: each output is one input times 1; and it has a gradient on the WASM backend, unlike
   * gather). Without `rowOf`, rows are the observations.
   */
  private spreadRows(enc: Encoded, prep: PreparedBatch): Encoded {
    const rowOf = prep.rowOf;
    if (!rowOf) return enc;
    const B = prep.size;
    const U = enc.g.shape[0];
    const P = this.dims.patches;
    const sel = new Float32Array(B * U);
    rowOf.forEach((u, b) => (sel[b * U + u] = 1));
    const S = tf.tensor2d(sel, [B, U]);
    const spread = (x: tf.Tensor3D): tf.Tensor3D => {
      const w = x.shape[2];
      return tf.reshape(tf.matMul(S, tf.reshape(x, [U, P * w])), [B, P, w]);
    };
    return {
      h: spread(enc.h),
      u: spread(enc.u),
      g: tf.matMul(S, enc.g) as tf.Tensor2D,
      ...(enc.wordSlopes ? { wordSlopes: tf.matMul(S, enc.wordSlopes) } : {}),
      ...(enc.patches ? { patches: spread(enc.patches) } : {}),
    };
  }

  private addVariable(name: string, shape: readonly number[], data: Float32Array): void {
    // Unnamed: tfjs variable names are global, and clones must coexist.
    this.vars.set(name, tf.variable(tf.tensor(data, [...shape]), !this.frozen));
  }

  private checkWeights(weights: readonly NamedWeight[]): void {
    if (weights.length !== this.specs.length) {
      throw new ValidationError(
        'weights',
        `${weights.length} tensors`,
        `must have the ${this.specs.length} tensors of this architecture`,
      );
    }
    this.specs.forEach((spec, i) => {
      const w = weights[i] as NamedWeight;
      if (w.name !== spec.name)
        throw new ValidationError(`weights[${i}].name`, w.name, `must be ${JSON.stringify(spec.name)}`);
      if (w.shape.length !== spec.shape.length || w.shape.some((d, k) => d !== spec.shape[k])) {
        throw new ValidationError(
          `weights.${spec.name}.shape`,
          w.shape,
          `must be [${spec.shape.join(', ')}]`,
        );
      }
      const n = spec.shape.reduce((a, b) => a * b, 1);
      if (w.data.length !== n)
        throw new ValidationError(`weights.${spec.name}.data`, w.data, `must have ${n} values`);
    });
  }

  private assertLive(): void {
    if (this.disposed) throw new SamVeteranError('FAILED_PRECONDITION', 'this policy has been disposed');
  }
}

/** Greedy sampling never draws; any stream will do. */
const GREEDY_RNG = new Rng('greedy');

/** Options of `PointerPolicy.supervisedLoss`. */
export interface SupervisedLossOptions {
  /** Label smoothing over neighbouring bins, in [0, 1). Default 0. */
  readonly smoothing?: number;
  /** Weight of each refinement type token (stop / positive / negative / both) in the loss. Default 1. */
  readonly typeWeight?: number;
  /**
   * Weight of the dense heads' per-patch loss (rows whose targets carry `dense`; needs
   * config.denseClasses > 0). Default 0 (off).
   */
  readonly denseWeight?: number;
}

/** [B, L] token weights: 1 per real token, `typeWeight` where the token is a refinement type. */
function typeTokenWeights(t: TokenTargets, typeWeight: number): Float32Array {
  const L = MAX_ACTION_TOKENS;
  const out = t.mask.slice();
  for (let b = 0; b < t.size; b++) {
    for (let j = 0; j < L; j++) {
      if (t.scatter[(b * SLOT_COUNT + Slot.type) * L + j] === 1) out[b * L + j] = typeWeight;
    }
  }
  return out;
}

interface KeptEncoding extends EncodedObservations {
  readonly owner: PointerPolicy;
  readonly generation: number;
  readonly enc: Encoded;
  disposed: boolean;
}

function isPrepared(v: readonly PolicyObservation[] | PreparedBatch): v is PreparedBatch {
  return !Array.isArray(v) && (v as PreparedBatch).patches instanceof Float32Array;
}

function isTargets(v: readonly ActionTokens[] | TokenTargets): v is TokenTargets {
  return !Array.isArray(v) && (v as TokenTargets).scatter instanceof Float32Array;
}

/** The values of each gradient tensor (what AdamW's step reads). */
function tensorData(grads: ReadonlyMap<string, tf.Tensor>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, g] of grads) out.set(name, g.dataSync() as Float32Array);
  return out;
}
