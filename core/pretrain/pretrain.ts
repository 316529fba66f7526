/**
 * Supervised warm start of the embedded policy (issue 4, "Warm start") — the stand-in for the MLLM's
 * pre-training that gives the GRPO stage its reference policy:
 *  - boxes: observation (image, query) → the GT box;
 *  - refinement: the environment's mask of a jittered GT box (and of the oracle's next step) → the
 *    oracle's action (positive point at the centre of the largest missed region, negative at the
 *    centre of the largest extra region, stop when the modified IoU ≥ 0.9);
 *  - auxiliary: a corrupted GT mask (some left clean) → the oracle's action on it.
 * Examples are prepared once into network inputs (pools), then sampled into mixed batches, so the
 * training loop runs only the network.
 */
import type { EnvPort, TransitionOutput } from '../env/index.ts';
import {
  episodeInputOf,
  greedyPolicy,
  jitterBox,
  observationOf,
  runEpisodes,
  toEnvImage,
} from '../agent/index.ts';
import type { BoxAction, PointAction } from '../actions/index.ts';
import { generateSynthetic, objectMaskData, type Sample } from '../data/index.ts';
import type { Box } from '../geometry/index.ts';
import { BinaryMask, corruptMask, maskBbox, maskIou } from '../mask/index.ts';
import {
  WeightAverage,
  tf,
  type ActionTokens,
  type DensePatchTargets,
  type NamedWeight,
  type PointerPolicy,
  type PolicyConfig,
  type PreparedBatch,
  type SupervisedLossOptions,
} from '../policy/index.ts';
import { ValidationError } from '../errors/index.ts';
import { Rng } from '../rng/index.ts';
import { rgbDigest } from '../wire/index.ts';
import { DataParallelTrainer, type BatchPart } from './data-parallel.ts';
import { denseTargetsOf } from './dense-targets.ts';
import { FreshExampleStream, oracleExample, withDense, type FreshAuxShare } from './fresh-examples.ts';
import { concatPrepared } from './prepared.ts';
import { resampleClickPatches, type ClickLabels, type PointTargetMode } from './point-targets.ts';

export { concatPrepared };

export interface PretrainOptions {
  readonly seed: number;
  /** Training samples of the synthetic world (each yields one box example). Default 4000. */
  readonly samples: number;
  /** Refinement states from environment masks. Default 8000. */
  readonly refineExamples: number;
  /**
   * Fraction of refinement episodes that start from the box of another object of the scene (the
   * mistake the policy's box makes most): the oracle then clicks the target (positive) and the wrong
   * object (negative), which GrabCut follows to the target. Default 0: measured with 0.3 (the
   * shipped recipe otherwise), the greedy agent's clicks then lowered gIoU (id-val 0.485 after the
   * box → 0.459 after its clicks, 300 samples): it learnt to click positive on a wrong mask without
   * learning where the target is, which is the box's grounding problem again.
   */
  readonly wrongBoxFraction: number;
  /**
   * Fraction of the refinement states visited by the policy itself (DAgger, Ross et al. 2011): its
   * greedy box and clicks on training samples, each state it decided on labelled by the oracle, so
   * the pool holds the masks the policy's own mistakes lead to (a wrong object, a click that cut the
   * target) and not only those of jittered GT boxes. The policy acts as it is when the pools are
   * built, so this is for a run that starts from a checkpoint (`pretrain --init`). Default 0.
   */
  readonly daggerFraction: number;
  /**
   * How far the GT boxes of the refinement states are jittered (jitterBox: each side moved by a
   * normal offset of j × the box side), j drawn per state from [lo, hi]: uniformly, or (log) uniformly
   * in log j, which gives the near-exact boxes a policy's own boxes resemble as many states as the
   * loose ones. Default [0.02, 0.3] in log j (the recipe since 2026-12-05, late; [0.03, 0.3] uniform
   * before).
   */
  readonly refineJitter: RefineJitter;
  /** Auxiliary states from corrupted GT masks. Default 2000. */
  readonly auxExamples: number;
  /**
   * Weight of the dense heads' per-patch loss (target coverage and shape class of every patch,
   * dense-targets.ts) against the token loss; needs a policy with config.denseClasses > 0
   * (DENSE_CLASSES). Default 0 (off).
   */
  readonly denseWeight: number;
  /** Optimiser steps. */
  readonly steps: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Fractions of each batch: box, refine; the rest auxiliary. */
  readonly mix: readonly [box: number, refine: number];
  /**
   * The last `steps` steps draw their batches with `mix` instead (e.g. more refinement at the end,
   * when the box has mostly been learnt). Default none.
   */
  readonly tail?: { readonly steps: number; readonly mix: readonly [box: number, refine: number] };
  /** Label smoothing over neighbouring bins (policy.supervisedLoss). Default 0.1. */
  readonly smoothing: number;
  /**
   * Weight of the refinement type token (stop / positive / negative / both) in the loss; the
   * other tokens keep weight 1. Default 1.
   */
  readonly typeWeight: number;
  /**
   * Fresh synthetic samples generated per step, each replacing a random box and auxiliary example:
   * a fixed pool is memorised (validation box IoU stalls near 0.4), a refreshed one is not.
   */
  readonly refreshPerStep: number;
  /**
   * Of the `refreshPerStep` fresh samples of a step, how many also replace an auxiliary example
   * (FreshAuxShare; the others make their box example only). Default: all of them.
   */
  readonly auxRefreshPerStep?: number;
  /**
   * Fresh samples per step whose refinement states (GrabCut's mask of a jittered GT box, and the
   * mask after the oracle's click) replace random states of the refinement pool, so the refinement
   * examples are not the same few thousand states for the whole run. Made while the steps compute
   * (GrabCut in the environment's threads) and put in the pool 4 steps later (REFINE_REFRESH_LAG).
   * Default 0: measured, it slows every step far more than its states are worth.
   */
  readonly refineRefreshPerStep: number;
  /**
   * Worker threads that share each step's gradient computation (data-parallel, weights kept
   * identical; data-parallel.ts). 1 trains in this thread. Results depend on the count (the mean
   * of per-worker gradients rounds differently from one full-batch gradient).
   */
  readonly trainWorkers: number;
  /**
   * Make the fresh examples (`refreshPerStep`) in a worker thread, ahead of the training steps
   * (fresh-examples.ts). The examples, and so the weights, are the same either way. Default true.
   */
  readonly freshWorker: boolean;
  /**
   * Targets of the clicks' patch tokens (point-targets.ts): `centre` the oracle's click alone;
   * `depth` spread over the patches the clicked region covers by depth; `depth-sampled` also
   * conditions the offset on a patch drawn from that spread each time; `far` the oracle's click with
   * a negative click moved to the extra region's pixel farthest from the object. Default `far` (the
   * recipe since 2026-12-05, late; `centre` before).
   */
  readonly pointTargets: PointTargetMode;
  /**
   * The oracle's clearance rule (OracleOptions.negativeClearance): an extra region whose safest
   * negative click is closer to the object than this fraction of the image's long side is not
   * clicked; the oracle clicks the next clickable one, or only the positive, or stops. 0 = off.
   */
  readonly negativeClearance: number;
  /**
   * Polyak averaging: a moving average of the weights with this decay (WeightAverage), folded in
   * after every step, is the run's result; the last iterate is returned beside it. 0 = off.
   */
  readonly averageDecay: number;
  readonly onProgress?: (phase: string, done: number, total: number, info?: Record<string, number>) => void;
}

/**
 * The shipped recipe. The refinement share, pool size and type-token weight come from a diagnosis
 * of the earlier recipe (60% box / 20% refine, 3000 refinement states, weight 1): on states from
 * jittered GT boxes its greedy action never was a positive click, even on training states, and it
 * stopped on half of those that needed a click; its negative clicks did land on extra regions
 * (82%). The click head was under-trained, not mislocated. With 40% refinement, 8000 states and
 * the type token weighted 4× (plus the max pool): id-val gIoU 0.472 → 0.602, box IoU 0.625 → 0.599.
 */
export const DEFAULT_PRETRAIN: Omit<PretrainOptions, 'onProgress'> = {
  seed: 7,
  samples: 4000,
  refineExamples: 8000,
  refineJitter: { lo: 0.02, hi: 0.3, log: true },
  wrongBoxFraction: 0,
  daggerFraction: 0,
  auxExamples: 2000,
  denseWeight: 0,
  steps: 3800,
  batchSize: 64,
  learningRate: 4e-3,
  mix: [0.5, 0.4],
  smoothing: 0.1,
  typeWeight: 4,
  refreshPerStep: 12,
  refineRefreshPerStep: 0,
  trainWorkers: 2,
  freshWorker: true,
  pointTargets: 'far',
  negativeClearance: 0,
  averageDecay: 0,
};

/**
 * Architecture of a freshly pretrained policy, over DEFAULT_POLICY_CONFIG (stored in the checkpoint's
 * manifest, so older checkpoints keep loading with their own). Measured at equal time (~9.6 min
 * each, two runs side by side, id-val box IoU over 1000 samples): plain patches 0.414 (1500 steps);
 * two local blocks (3×3 convolutions over the patch grid) 0.529 (1400 steps); the convolutional
 * stem 0.443 (1310 steps); both 0.526 (1100 steps); two blocks of 32 channels 0.522 and four blocks
 * 0.531 (1330 steps each). `patchMargin` 4 tied with plain patches at equal time (0.410 vs 0.414).
 * So: two local blocks of 16 channels, no stem, plain patches. Max pooling into the global context
 * (the refinement type is read from it), see DEFAULT_PRETRAIN.
 * Oriented edge energy per patch cell (2026-12-04; edge-features.ts; 1400 steps, two runs side by
 * side, 1000 id-val samples, box IoU): none 0.511; 8 bins × 2×2 cells 0.550; 8 × 4×4 0.594; 8 × 8×8
 * 0.592; 12 × 4×4 0.594 (these three with the box position bias, which alone moved 0.550 → 0.552,
 * the extremes +0.04 within noise). So 8 bins over 4×4 cells and the position bias; the shape-only
 * queries went from 33% to 57% of boxes on the right object. Since the steps then learn more, the
 * recipe takes 3200 of them (28 min with the pools and the evaluation; 6000 before, 41–59 min);
 * 3800 since the step got cheaper (2026-12-05: 18.9 min in a fast spell; id-val gIoU 0.609 → 0.624,
 * box IoU unchanged at 0.668, 1000 samples). Then per-word box position slopes (boxPositionWords):
 * "the leftmost circle" had 43% of its boxes on the right object, the direction word not getting
 * through the pooled query; with them 79%, id-val box IoU 0.668 → 0.708 (README, "Words that say where").
 */
export const DEFAULT_PRETRAIN_POLICY: Pick<
  PolicyConfig,
  | 'patchMargin'
  | 'convStem'
  | 'localLayers'
  | 'localChannels'
  | 'directionChannels'
  | 'globalMaxPool'
  | 'edgeBins'
  | 'edgeCells'
  | 'edgeScale'
  | 'boxPositionBias'
  | 'boxPositionWords'
  | 'wordFilm'
  | 'boxDetail'
  | 'pointDetail'
  | 'offsetBins'
  | 'sizeBins'
> = {
  patchMargin: 0,
  edgeBins: 8,
  edgeCells: 4,
  edgeScale: 2,
  boxPositionBias: true,
  boxPositionWords: true,
  wordFilm: false,
  boxDetail: false,
  pointDetail: false,
  offsetBins: 8,
  sizeBins: 48,
  convStem: 0,
  localLayers: 2,
  localChannels: 16,
  directionChannels: 0,
  globalMaxPool: true,
};

/** Prepared inputs of single examples with their targets. */
interface Pool {
  readonly inputs: PreparedBatch[];
  readonly targets: ActionTokens[];
}

export type PretrainRecord = {
  readonly step: number;
  readonly loss: number;
  readonly 'loss.box': number;
  readonly 'loss.refine': number;
  readonly 'loss.aux': number;
  readonly gradNorm: number;
  readonly ms: number;
};

function emptyPool(): { inputs: PreparedBatch[]; targets: ActionTokens[] } {
  return { inputs: [], targets: [] };
}

function digestOf(s: Sample): string {
  return rgbDigest(s.image.rgb);
}

const DAGGER_BATCH = 64;

/** The environment's answer to a box alone (the first state of a refinement episode). */
async function boxTransition(env: EnvPort, s: Sample, box: Box): Promise<TransitionOutput | undefined> {
  const [out] = await env.transitionGroup(toEnvImage(s.image, digestOf(s)), [{ box, points: [] }]);
  return out;
}

/** The environment's answer to the oracle's click `act` on `out` (nothing when the oracle stops). */
async function clickTransition(
  env: EnvPort,
  s: Sample,
  box: Box,
  out: TransitionOutput,
  act: PointAction,
): Promise<TransitionOutput | undefined> {
  if (act.positive === null && act.negative === null) return undefined;
  const points = [
    ...(act.positive ? [{ point: act.positive, label: 1 as const }] : []),
    ...(act.negative ? [{ point: act.negative, label: 0 as const }] : []),
  ];
  const [next] = await env.transitionGroup(toEnvImage(s.image, digestOf(s)), [
    { box, points, prevMask: out.mask, ...(out.lowResLogits ? { prevLogits: out.lowResLogits } : {}) },
  ]);
  return next;
}

/** The jitter range of the refinement states' boxes (PretrainOptions.refineJitter). */
export interface RefineJitter {
  readonly lo: number;
  readonly hi: number;
  /** Draw j uniformly in log j instead of in j. */
  readonly log: boolean;
}

/** Checks a jitter range; throws ValidationError naming `refineJitter`. */
export function checkRefineJitter(j: RefineJitter): void {
  if (!(Number.isFinite(j.lo) && Number.isFinite(j.hi) && j.lo >= 0 && j.hi >= j.lo && j.hi <= 1)) {
    throw new ValidationError('refineJitter', `${j.lo},${j.hi}`, 'must be lo,hi with 0 <= lo <= hi <= 1');
  }
  if (j.log && !(j.lo > 0)) {
    throw new ValidationError('refineJitter', `${j.lo},${j.hi}`, 'must have lo > 0 when drawn in log scale');
  }
}

/** How the options label the oracle's refinements. */
export function clickLabels(opts: Pick<PretrainOptions, 'pointTargets' | 'negativeClearance'>): ClickLabels {
  return { pointTargets: opts.pointTargets, negativeClearance: opts.negativeClearance };
}

/** One jitter draw (one uniform of `rng` either way, so the rest of the stream is unchanged). */
export function drawJitter(rng: Rng, j: RefineJitter): number {
  return j.log ? Math.exp(rng.uniform(Math.log(j.lo), Math.log(j.hi))) : rng.uniform(j.lo, j.hi);
}

/** Steps between starting a refinement refresh and putting its states in the pool. */
const REFINE_REFRESH_LAG = 4;

/** Sample indices of the refinement refresh start here (apart from the pools' and the fresh stream's). */
export const REFINE_REFRESH_START = 10_000_000;

/**
 * The refinement states of fresh training sample `index` (refinement refresh): GrabCut's mask of its
 * jittered GT box and, unless the oracle stops there, the mask after the oracle's click, each with
 * the oracle's action. Depends only on (seed, index).
 */
export async function freshRefinementStates(
  policy: PointerPolicy,
  env: EnvPort,
  seed: number,
  index: number,
  labels: ClickLabels,
  jitter: RefineJitter = DEFAULT_PRETRAIN.refineJitter,
): Promise<[PreparedBatch, ActionTokens][]> {
  const { sample: s, scene } = generateSynthetic('train', index, { seed });
  const rng = new Rng(`pretrain-refine:${seed}:${index}`);
  const box = jitterBox(s.gtBox, s.image, rng, drawJitter(rng, jitter));
  const dense =
    policy.config.denseClasses > 0 ? denseTargetsOf(scene, s.gtMask, policy.codec.grid) : undefined;
  const states: [PreparedBatch, ActionTokens][] = [];
  const add = (mask: BinaryMask): PointAction => {
    const e = oracleExample(policy, s, mask, dense, labels);
    states.push([e.input, e.target]);
    return e.action;
  };
  const first = await boxTransition(env, s, box);
  if (!first) return states;
  const next = await clickTransition(env, s, box, first, add(first.mask));
  if (next) add(next.mask);
  return states;
}

/** Builds the three example pools. The refinement pool calls the environment. */
export async function buildPools(
  policy: PointerPolicy,
  env: EnvPort,
  opts: PretrainOptions,
): Promise<{ box: Pool; refine: Pool; aux: Pool; stopFraction: number; startIou: number }> {
  const rng = new Rng(`pretrain:${opts.seed}`);
  const box = emptyPool();
  const refine = emptyPool();
  const aux = emptyPool();
  const samples: Sample[] = [];
  // Dense per-patch targets of each sample (shared by its box, refinement and auxiliary examples).
  const denseOn = policy.config.denseClasses > 0;
  const denses: (DensePatchTargets | undefined)[] = [];
  // Boxes of the other objects of each sample's scene (the wrong-object refinement states).
  const others: Box[][] = [];
  for (let i = 0; i < opts.samples; i++) {
    const { sample: s, scene, target } = generateSynthetic('train', i, { seed: opts.seed });
    samples.push(s);
    denses.push(denseOn ? denseTargetsOf(scene, s.gtMask, policy.codec.grid) : undefined);
    others.push(
      scene.objects
        .filter((o) => o.id !== target.id)
        .map((o) => maskBbox(new BinaryMask(scene.width, scene.height, objectMaskData(scene, o.id))))
        .filter((b): b is Box => b !== null),
    );
    const action: BoxAction = { kind: 'box', box: s.gtBox };
    box.inputs.push(policy.prepare([observationOf(s.image, s.query, null)]));
    box.targets.push(withDense(policy.codec.encodeAction(action, s.image), denses[i]));
    if (i % 100 === 0) opts.onProgress?.('box examples', i, opts.samples);
  }

  let stops = 0;
  const startIous: number[] = [];
  const labels = clickLabels(opts);
  const addRefine = (pool: typeof refine, j: number, mask: BinaryMask): PointAction => {
    const { input, target, action } = oracleExample(policy, samples[j] as Sample, mask, denses[j], labels);
    pool.inputs.push(input);
    pool.targets.push(target);
    if (action.positive === null && action.negative === null) stops++;
    return action;
  };

  // States the policy visits itself (DAgger): the oracle labels every mask it decided on.
  const nDagger = Math.round(opts.refineExamples * opts.daggerFraction);
  for (let i = 0; refine.inputs.length < nDagger; i += DAGGER_BATCH) {
    const group = Array.from({ length: DAGGER_BATCH }, (_, k) => (i + k) % samples.length);
    const episodes = await runEpisodes(
      group.map((j) => episodeInputOf(samples[j] as Sample)),
      greedyPolicy(policy),
      env,
    );
    episodes.forEach((e, k) => {
      // The last step's mask was never decided on (a stop repeats the previous mask).
      for (const step of e.steps.slice(0, -1)) {
        if (refine.inputs.length >= nDagger) return;
        if (step.index === 0) startIous.push(step.iou);
        addRefine(refine, group[k] as number, step.mask);
      }
    });
    opts.onProgress?.('policy-visited refinement examples', refine.inputs.length, nDagger);
  }

  // Refinement states: the env's mask of a jittered GT box, then one oracle step further, so the
  // pool holds first and later refinement states like an episode does.
  const batch = 16;
  for (let i = 0; refine.inputs.length < opts.refineExamples; i += batch) {
    const group = Array.from({ length: batch }, (_, k) => (i + k) % samples.length);
    const firsts = await Promise.all(
      group.map(async (j) => {
        const s = samples[j] as Sample;
        const wrong = others[j] ?? [];
        // The draw is skipped at fraction 0, so the random stream (and the checkpoint) is the same as
        // before the option existed.
        const from =
          opts.wrongBoxFraction > 0 && wrong.length > 0 && rng.bool(opts.wrongBoxFraction)
            ? (rng.pick(wrong) as Box)
            : s.gtBox;
        const b = jitterBox(from, s.image, rng, drawJitter(rng, opts.refineJitter));
        const out = await boxTransition(env, s, b);
        if (out) startIous.push(maskIou(out.mask, s.gtMask));
        return { j, s, box: b, out };
      }),
    );
    const seconds = await Promise.all(
      firsts.map(async ({ j, s, box: b, out }) => {
        if (!out) return undefined;
        const next = await clickTransition(env, s, b, out, addRefine(refine, j, out.mask));
        return next ? { j, s, mask: next.mask } : undefined;
      }),
    );
    for (const n of seconds) if (n) addRefine(refine, n.j, n.mask);
    opts.onProgress?.(
      'refinement examples',
      Math.min(refine.inputs.length, opts.refineExamples),
      opts.refineExamples,
    );
  }

  for (let i = 0; i < opts.auxExamples; i++) {
    const j = (i * 7919) % samples.length;
    const s = samples[j] as Sample;
    const { mask } = corruptMask(s.gtMask, rng, { cleanProbability: 0.2, operations: [1, 3] });
    addRefine(aux, j, mask);
    if (i % 100 === 0) opts.onProgress?.('auxiliary examples', i, opts.auxExamples);
  }
  return {
    box,
    refine,
    aux,
    stopFraction: stops / Math.max(1, refine.inputs.length + aux.inputs.length),
    // Mean IoU with the target of the masks refinement episodes start from (before any click).
    startIou: startIous.reduce((a, v) => a + v, 0) / Math.max(1, startIous.length),
  };
}

export interface PretrainResult {
  readonly records: PretrainRecord[];
  /** With `averageDecay`: the last iterate's weights (the policy holds the average). */
  readonly lastWeights?: NamedWeight[];
}

/**
 * Runs the supervised warm start in place on `policy`: it ends with the trained weights (with
 * `averageDecay`, their moving average). Returns the loss records.
 */
export async function pretrain(
  policy: PointerPolicy,
  env: EnvPort,
  opts: PretrainOptions,
): Promise<PretrainResult> {
  if (opts.tail && opts.tail.steps > opts.steps) {
    throw new ValidationError('tail.steps', opts.tail.steps, `exceeds the run's ${opts.steps} steps`);
  }
  if (!(opts.averageDecay === 0 || (opts.averageDecay > 0 && opts.averageDecay < 1))) {
    throw new ValidationError('averageDecay', opts.averageDecay, 'must be 0 (off) or in (0, 1)');
  }
  checkRefineJitter(opts.refineJitter);
  if (!(opts.negativeClearance >= 0 && opts.negativeClearance < 0.5)) {
    throw new ValidationError('negativeClearance', opts.negativeClearance, 'must be in [0, 0.5)');
  }
  const auxPerStep = opts.auxRefreshPerStep ?? opts.refreshPerStep;
  if (!(Number.isInteger(auxPerStep) && auxPerStep >= 0 && auxPerStep <= opts.refreshPerStep)) {
    throw new ValidationError(
      'auxRefreshPerStep',
      auxPerStep,
      `must be an integer in [0, refreshPerStep = ${opts.refreshPerStep}]`,
    );
  }
  const auxShare: FreshAuxShare | undefined =
    auxPerStep < opts.refreshPerStep ? { every: opts.refreshPerStep, count: auxPerStep } : undefined;
  const pools = await buildPools(policy, env, opts);
  policy.setTrainOptions({ learningRate: opts.learningRate });
  const rng = new Rng(`pretrain-batches:${opts.seed}`);
  const records: PretrainRecord[] = [];
  const counts = (mix: readonly [number, number]): [box: number, refine: number, aux: number] => {
    const nBox = Math.round(opts.batchSize * mix[0]);
    const nRefine = Math.round(opts.batchSize * mix[1]);
    return [nBox, nRefine, Math.max(0, opts.batchSize - nBox - nRefine)];
  };
  const mainCounts = counts(opts.mix);
  const labels = clickLabels(opts);
  const tailCounts = opts.tail ? counts(opts.tail.mix) : mainCounts;
  const tailFrom = opts.steps - (opts.tail?.steps ?? 0) + 1;
  const lossOptions: SupervisedLossOptions = {
    smoothing: opts.smoothing,
    typeWeight: opts.typeWeight,
    ...(opts.denseWeight > 0 ? { denseWeight: opts.denseWeight } : {}),
  };
  const draw = (pool: Pool, n: number): BatchPart => {
    const inputs: PreparedBatch[] = [];
    const targets: ActionTokens[] = [];
    for (let k = 0; k < n; k++) {
      const j = rng.int(pool.inputs.length);
      inputs.push(pool.inputs[j] as PreparedBatch);
      const t = pool.targets[j] as ActionTokens;
      targets.push(opts.pointTargets === 'depth-sampled' ? resampleClickPatches(t, rng) : t);
    }
    return { inputs, targets };
  };
  let ema: [number, number, number] = [NaN, NaN, NaN];
  const refreshRefine = async (step: number): Promise<[PreparedBatch, ActionTokens][] | undefined> => {
    const k = opts.refineRefreshPerStep;
    if (k <= 0 || step + REFINE_REFRESH_LAG > opts.steps) return undefined;
    const first = REFINE_REFRESH_START + (step - 1) * k;
    const made = await Promise.all(
      Array.from({ length: k }, (_, i) =>
        freshRefinementStates(policy, env, opts.seed, first + i, labels, opts.refineJitter),
      ),
    );
    return made.flat();
  };
  const refreshing: Promise<[PreparedBatch, ActionTokens][] | undefined>[] = [];
  // Fresh examples come in index order from a worker thread (or this one), made ahead of use.
  const fresh =
    opts.refreshPerStep > 0
      ? await FreshExampleStream.start({
          config: policy.config,
          seed: opts.seed,
          start: opts.samples,
          chunk: opts.refreshPerStep,
          ahead: 8 * opts.refreshPerStep,
          inThread: !opts.freshWorker,
          labels,
          ...(auxShare ? { aux: auxShare } : {}),
        })
      : undefined;
  const trainer =
    opts.trainWorkers > 1
      ? await DataParallelTrainer.start(policy, opts.trainWorkers, opts.averageDecay)
      : undefined;
  const average =
    !trainer && opts.averageDecay > 0 ? new WeightAverage(opts.averageDecay, policy.getWeights()) : undefined;
  let lastWeights: NamedWeight[] | undefined;
  // The data-parallel path reports step t once step t+1's batch is ready (the workers compute while
  // this thread refreshes the pools and composes the next batch).
  let inflight:
    { step: number; t0: number; probe: boolean; result: ReturnType<DataParallelTrainer['step']> } | undefined;
  const record = (step: number, t0: number, loss: number, gradNorm: number): void => {
    records.push({
      step,
      loss,
      'loss.box': ema[0],
      'loss.refine': ema[1],
      'loss.aux': ema[2],
      gradNorm,
      ms: performance.now() - t0,
    });
    opts.onProgress?.('training', step, opts.steps, { loss, tensors: tf.memory().numTensors });
  };
  const settle = async (): Promise<void> => {
    if (!inflight) return;
    const { step, t0, probe, result } = inflight;
    inflight = undefined;
    const r = await result;
    if (probe) ema = [r.parts[0] ?? NaN, r.parts[1] ?? NaN, r.parts[2] ?? NaN];
    record(step, t0, r.loss, r.gradNorm);
  };
  try {
    for (let step = 1; step <= opts.steps; step++) {
      const t0 = performance.now();
      for (let k = 0; k < opts.refreshPerStep && fresh; k++) {
        const e = await fresh.next();
        const jb = rng.int(pools.box.inputs.length);
        pools.box.inputs[jb] = e.box[0];
        pools.box.targets[jb] = e.box[1];
        if (!e.aux) continue;
        const ja = rng.int(pools.aux.inputs.length);
        pools.aux.inputs[ja] = e.aux[0];
        pools.aux.targets[ja] = e.aux[1];
      }
      // The refinement states started REFINE_REFRESH_LAG steps ago replace random states of the pool
      // (the lag hides GrabCut's latency: two calls in a row per sample, on cores the step shares).
      refreshing.push(refreshRefine(step));
      if (refreshing.length > REFINE_REFRESH_LAG) {
        for (const [input, target] of (await refreshing.shift()) ?? []) {
          const j = rng.int(pools.refine.inputs.length);
          pools.refine.inputs[j] = input;
          pools.refine.targets[j] = target;
        }
      }
      // Cosine decay to 10% of the base rate.
      const lr = opts.learningRate * (0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * (step - 1)) / opts.steps)));
      const [nBox, nRefine, nAux] = step >= tailFrom ? tailCounts : mainCounts;
      const parts: BatchPart[] = [draw(pools.box, nBox), draw(pools.refine, nRefine), draw(pools.aux, nAux)];
      // Per-task losses are tracked on a cheap cadence (forward only).
      const probe = step % 25 === 1 || step === opts.steps;
      if (trainer) {
        await settle();
        inflight = {
          step,
          t0,
          probe,
          result: trainer.step(parts, { learningRate: lr, probe, ...lossOptions }),
        };
        continue;
      }
      policy.setTrainOptions({ learningRate: lr });
      const inputs = concatPrepared(parts.flatMap((p) => p.inputs));
      const targets = parts.flatMap((p) => p.targets);
      const { loss, gradNorm } = policy.trainStep(() => policy.supervisedLoss(inputs, targets, lossOptions));
      average?.update(policy.getWeights());
      if (probe) {
        const part = (k: number): number => {
          const p = parts[k];
          if (!p || p.inputs.length === 0) return NaN;
          // tidy: supervisedLoss's intermediates (log-prob and mask tensors) must not outlive the probe.
          return tf.tidy(() => {
            const l = policy.supervisedLoss(concatPrepared(p.inputs), p.targets);
            return (l.dataSync() as Float32Array)[0] as number;
          });
        };
        ema = [part(0), part(1), part(2)];
      }
      record(step, t0, loss, gradNorm);
      if (step % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    if (trainer) {
      await settle();
      const end = await trainer.finish();
      policy.setWeights(end.average ?? end.weights);
      if (end.average) lastWeights = end.weights;
    } else if (average) {
      lastWeights = policy.getWeights();
      policy.setWeights(average.weights());
    }
  } finally {
    // A step still in flight when something above threw is abandoned with the workers.
    inflight?.result.catch(() => undefined);
    await Promise.all(refreshing.map((r) => r.catch(() => undefined)));
    await trainer?.close();
    await fresh?.close();
  }
  return lastWeights ? { records, lastWeights } : { records };
}
