/**
 * The agent loop of SAM-Veteran's MDP (ARCHITECTURE.md, "The method"): the policy draws a box, the
 * environment (SAM) turns it into a mask, then the policy looks at the image with the mask overlaid
 * and answers a point pair (p⁺, p⁻) — (null, null) stops — until it stops or the refinement limit is
 * reached. Clicks accumulate across steps and the previous low-res logits are fed back, as in SAM's
 * interactive notebooks.
 *
 * Episodes are run in lockstep so every policy call is one batch over all live episodes; the
 * environment calls of one step run concurrently.
 */
import type { BoxAction, PointAction } from '../actions/index.ts';
import { pointActionType, type PointActionType } from '../actions/index.ts';
import type { EnvImage, EnvPort, LowResLogits, PromptPoint, TransitionOutput } from '../env/index.ts';
import type { Box } from '../geometry/index.ts';
import { boxIou } from '../geometry/index.ts';
import type { BinaryMask, RgbImage } from '../mask/index.ts';
import { iouFromCounts, maskIntersectionUnion, overlayRgb } from '../mask/index.ts';
import type { PolicyObservation } from '../policy/index.ts';

/** What the loop needs from a policy: a batched act call. Greedy for evaluation, sampled for rollouts. */
export interface ActingPolicy {
  act(
    batch: readonly PolicyObservation[],
    kind: 'box' | 'refine',
  ):
    | Promise<readonly { readonly action: BoxAction | PointAction }[]>
    | readonly { readonly action: BoxAction | PointAction }[];
}

/** What one episode needs from a sample. */
export interface EpisodeInput {
  readonly id: string;
  readonly image: RgbImage;
  /** sha256 hex of the image; the env caches its embedding under this key. */
  readonly digest: string;
  readonly query: string;
  readonly gtMask: BinaryMask;
  readonly gtBox: Box;
  readonly ignore?: BinaryMask;
}

export interface EpisodeStep {
  /** 0 = the box step, k ≥ 1 = the k-th refinement. */
  readonly index: number;
  readonly action: BoxAction | PointAction;
  readonly type: 'box' | PointActionType;
  /** The mask after this step (the previous mask for a stop). */
  readonly mask: BinaryMask;
  /** IoU of `mask` against the ground truth (ignore pixels excluded). */
  readonly iou: number;
  /** Intersection and union pixel counts behind `iou` (for cIoU). */
  readonly intersection: number;
  readonly union: number;
  readonly predictedIou: number;
}

export interface Episode {
  readonly sampleId: string;
  readonly query: string;
  readonly box: Box;
  readonly boxIou: number;
  readonly steps: readonly EpisodeStep[];
  /** 'policy' when the policy answered (null, null); 'limit' when the refinement limit ended it. */
  readonly stoppedBy: 'policy' | 'limit';
  /** Refinement step at which the policy stopped (1-based; the stop itself), or null at the limit. */
  readonly stopStep: number | null;
  readonly finalMask: BinaryMask;
  readonly finalIou: number;
}

export interface AgentLoopOptions {
  /** Refinement steps after the box (the paper evaluates with 3). Default 3. */
  readonly maxRefinements?: number;
}

interface LiveEpisode {
  readonly input: EpisodeInput;
  readonly envImage: EnvImage;
  box: Box;
  points: PromptPoint[];
  logits: LowResLogits | undefined;
  mask: BinaryMask;
  steps: EpisodeStep[];
  stopStep: number | null;
  done: boolean;
}

export function toEnvImage(image: RgbImage, digest: string): EnvImage {
  return { digest, width: image.width, height: image.height, rgb: image.rgb };
}

/** The observation the policy sees: image with the current mask as the green overlay. */
export function observationOf(image: RgbImage, query: string, mask: BinaryMask | null): PolicyObservation {
  return {
    width: image.width,
    height: image.height,
    rgb: mask ? overlayRgb(image, mask) : image.rgb,
    query,
    mask,
  };
}

/** Runs episodes for a batch of samples; results in input order. */
export async function runEpisodes(
  inputs: readonly EpisodeInput[],
  policy: ActingPolicy,
  env: EnvPort,
  opts: AgentLoopOptions = {},
): Promise<Episode[]> {
  const maxRefinements = opts.maxRefinements ?? 3;
  if (inputs.length === 0) return [];

  const boxActs = await policy.act(
    inputs.map((s) => observationOf(s.image, s.query, null)),
    'box',
  );
  const live: LiveEpisode[] = inputs.map((input, i) => {
    const act = boxActs[i]?.action;
    if (!act || act.kind !== 'box') throw new Error(`policy returned no box for sample ${input.id}`);
    return {
      input,
      envImage: toEnvImage(input.image, input.digest),
      box: act.box,
      points: [],
      logits: undefined,
      mask: input.gtMask, // replaced below
      steps: [],
      stopStep: null,
      done: false,
    };
  });

  const boxOutputs = await Promise.all(live.map((e) => transition(env, e)));
  live.forEach((e, i) => {
    const out = boxOutputs[i] as TransitionOutput;
    accept(e, out);
    e.steps.push(stepOf(e, 0, { kind: 'box', box: e.box }, 'box', out));
  });

  for (let k = 1; k <= maxRefinements; k++) {
    const active = live.filter((e) => !e.done);
    if (active.length === 0) break;
    const acts = await policy.act(
      active.map((e) => observationOf(e.input.image, e.input.query, e.mask)),
      'refine',
    );
    const stepping: LiveEpisode[] = [];
    const stepActions: PointAction[] = [];
    active.forEach((e, i) => {
      const act = acts[i]?.action;
      if (!act || act.kind !== 'points')
        throw new Error(`policy returned no point action for sample ${e.input.id}`);
      const type = pointActionType(act);
      if (type === 'stop') {
        e.done = true;
        e.stopStep = k;
        e.steps.push({
          index: k,
          action: act,
          type,
          mask: e.mask,
          iou: lastIou(e),
          intersection: e.steps[e.steps.length - 1]?.intersection ?? 0,
          union: e.steps[e.steps.length - 1]?.union ?? 0,
          predictedIou: e.steps[e.steps.length - 1]?.predictedIou ?? 0,
        });
        return;
      }
      if (act.positive) e.points.push({ point: act.positive, label: 1 });
      if (act.negative) e.points.push({ point: act.negative, label: 0 });
      stepping.push(e);
      stepActions.push(act);
    });
    const outs = await Promise.all(stepping.map((e) => transition(env, e)));
    stepping.forEach((e, i) => {
      const out = outs[i] as TransitionOutput;
      const act = stepActions[i] as PointAction;
      accept(e, out);
      e.steps.push(stepOf(e, k, act, pointActionType(act), out));
    });
  }

  return live.map((e) => ({
    sampleId: e.input.id,
    query: e.input.query,
    box: e.box,
    boxIou: boxIou(e.box, e.input.gtBox),
    steps: e.steps,
    stoppedBy: e.stopStep === null ? 'limit' : 'policy',
    stopStep: e.stopStep,
    finalMask: e.mask,
    finalIou: lastIou(e),
  }));
}

function transition(env: EnvPort, e: LiveEpisode): Promise<TransitionOutput> {
  const prompt = {
    box: e.box,
    points: e.points.slice(),
    ...(e.logits ? { prevLogits: e.logits } : {}),
    ...(e.steps.length > 0 ? { prevMask: e.mask } : {}),
  };
  return env.transitionGroup(e.envImage, [prompt]).then((outs) => {
    const out = outs[0];
    if (!out) throw new Error(`environment returned no output for sample ${e.input.id}`);
    return out;
  });
}

function accept(e: LiveEpisode, out: TransitionOutput): void {
  e.mask = out.mask;
  e.logits = out.lowResLogits;
}

function stepOf(
  e: LiveEpisode,
  index: number,
  action: BoxAction | PointAction,
  type: 'box' | PointActionType,
  out: TransitionOutput,
): EpisodeStep {
  const { intersection, union } = maskIntersectionUnion(out.mask, e.input.gtMask, e.input.ignore);
  return {
    index,
    action,
    type,
    mask: out.mask,
    iou: iouFromCounts(intersection, union),
    intersection,
    union,
    predictedIou: out.predictedIou,
  };
}

function lastIou(e: LiveEpisode): number {
  return e.steps[e.steps.length - 1]?.iou ?? 0;
}
