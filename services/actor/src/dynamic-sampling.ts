/**
 * Dynamic sampling (ARCHITECTURE.md, "Dynamic sampling"; the paper's §3.4): GRPO learns nothing from
 * a group whose rollouts all earn the same reward, so groups are made diverse before the env runs.
 *
 * - Boxes (localization): over-sample `candidates` boxes in one batched policy call, drop
 *   near-duplicates (box IoU > `duplicateBoxIou` with an already kept box, in draw order), keep the
 *   first G distinct ones; when fewer than G are distinct, fill with the dropped duplicates in draw
 *   order (the group must still have G rollouts).
 * - Point actions (mask understanding, auxiliary): draw batches until all four action types
 *   (stop, positive, negative, both) have appeared or `maxDraws` is reached, then pick G rollouts
 *   covering every type seen — the first draw of each type, the rest in draw order.
 *
 * The sampler is synchronous, so one group is always drawn by one set of weights even when a hot
 * swap lands while the task waits on the env.
 */
import { POINT_ACTION_TYPES, pointActionType, type PointActionType } from '../../../core/actions/index.ts';
import { ValidationError } from '../../../core/errors/index.ts';
import { boxIou } from '../../../core/geometry/index.ts';
import type { SampledAction } from '../../../core/policy/index.ts';

/** Draws `n` actions from the policy (one batched call). */
export type ActionSampler = (n: number) => readonly SampledAction[];

export interface BoxSamplingOptions {
  /** G, rollouts kept. */
  readonly groupSize: number;
  /** Boxes drawn before de-duplication (raised to G if smaller). */
  readonly candidates: number;
  /** Boxes with IoU above this against a kept box are duplicates. */
  readonly duplicateBoxIou: number;
}

export interface RefineSamplingOptions {
  readonly groupSize: number;
  /** Most actions drawn while looking for the missing types (raised to G if smaller). */
  readonly maxDraws: number;
  /** Actions per policy call. Default G. */
  readonly batchSize?: number;
}

export interface DynamicSampleResult {
  /** The G chosen actions, in draw order. */
  readonly chosen: readonly SampledAction[];
  /** Draw indices of `chosen`. */
  readonly indices: readonly number[];
  /** Actions drawn in total. */
  readonly samplesDrawn: number;
  /** Boxes: distinct boxes among the draws; points: distinct action types among the draws. */
  readonly distinct: number;
  /** Point action types seen among the draws (empty for boxes). */
  readonly typesSeen: readonly PointActionType[];
  /**
   * Per chosen action, how much of the draws it stands for: its action type's share of all draws
   * over its share of the group (mean 1 over the group). Selecting one of each type over-represents
   * rare types: on a state where the policy stops 85% of the time, the group still holds three
   * clicks. Weighting each rollout's advantage by this (learner `drawWeights`) makes the group's
   * gradient estimate the on-policy one again, while every type is still tried in the env. All 1
   * for boxes (de-duplication is left as the paper has it).
   */
  readonly drawWeights: readonly number[];
}

function checkGroupSize(g: number): void {
  if (!Number.isInteger(g) || g < 1) throw new ValidationError('groupSize', g, 'must be an integer >= 1');
}

export function sampleBoxGroup(draw: ActionSampler, opts: BoxSamplingOptions): DynamicSampleResult {
  checkGroupSize(opts.groupSize);
  const G = opts.groupSize;
  const n = Math.max(G, Math.floor(opts.candidates));
  const drawn = draw(n);
  if (drawn.length !== n)
    throw new ValidationError('sampler', `${drawn.length} actions`, `must return the ${n} requested`);
  const kept: number[] = [];
  const dupes: number[] = [];
  drawn.forEach((a, i) => {
    if (a.action.kind !== 'box')
      throw new ValidationError(`sampled[${i}].kind`, a.action.kind, "must be 'box'");
    const box = a.action.box;
    const dup = kept.some((k) => {
      const other = (drawn[k] as SampledAction).action;
      return other.kind === 'box' && boxIou(box, other.box) > opts.duplicateBoxIou;
    });
    (dup ? dupes : kept).push(i);
  });
  const indices = [...kept.slice(0, G), ...dupes.slice(0, Math.max(0, G - kept.length))].sort(
    (a, b) => a - b,
  );
  return {
    chosen: indices.map((i) => drawn[i] as SampledAction),
    indices,
    samplesDrawn: n,
    distinct: kept.length,
    typesSeen: [],
    drawWeights: indices.map(() => 1),
  };
}

export function sampleRefineGroup(draw: ActionSampler, opts: RefineSamplingOptions): DynamicSampleResult {
  checkGroupSize(opts.groupSize);
  const G = opts.groupSize;
  const cap = Math.max(G, Math.floor(opts.maxDraws));
  const batch = Math.max(1, Math.floor(opts.batchSize ?? G));
  const drawn: SampledAction[] = [];
  const types: PointActionType[] = [];
  const firstOf = new Map<PointActionType, number>();
  while (drawn.length < G || (firstOf.size < POINT_ACTION_TYPES.length && drawn.length < cap)) {
    const want = Math.min(batch, cap - drawn.length);
    const got = draw(want);
    if (got.length !== want)
      throw new ValidationError('sampler', `${got.length} actions`, `must return the ${want} requested`);
    for (const a of got) {
      if (a.action.kind !== 'points') {
        throw new ValidationError(`sampled[${drawn.length}].kind`, a.action.kind, "must be 'points'");
      }
      const type = pointActionType(a.action);
      if (!firstOf.has(type)) firstOf.set(type, drawn.length);
      drawn.push(a);
      types.push(type);
    }
  }
  // One of each type seen (first draws; if G is smaller than the types seen, the earliest types).
  const firsts = [...firstOf.values()].sort((a, b) => a - b).slice(0, G);
  const picked = new Set(firsts);
  for (let i = 0; i < drawn.length && picked.size < G; i++) picked.add(i);
  const indices = [...picked].sort((a, b) => a - b);
  const chosen = indices.map((i) => drawn[i] as SampledAction);
  return {
    chosen,
    indices,
    samplesDrawn: drawn.length,
    distinct: firstOf.size,
    typesSeen: POINT_ACTION_TYPES.filter((t) => firstOf.has(t)),
    drawWeights: typeDrawWeights(
      types,
      indices.map((i) => types[i] as PointActionType),
    ),
  };
}

/**
 * (share of the type among `drawn`) / (share among `chosen`), per chosen entry. Every chosen type
 * must occur among the draws (chosen ⊆ drawn).
 */
export function typeDrawWeights<T>(drawn: readonly T[], chosen: readonly T[]): number[] {
  const count = (xs: readonly T[]) => {
    const m = new Map<T, number>();
    for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
    return m;
  };
  const inDraws = count(drawn);
  const inGroup = count(chosen);
  return chosen.map((t) => {
    const d = inDraws.get(t) ?? 0;
    if (d === 0) throw new ValidationError('chosen', t, 'must be among the draws');
    return d / drawn.length / ((inGroup.get(t) as number) / chosen.length);
  });
}

export type DynamicSampleOptions =
  ({ readonly kind: 'box' } & BoxSamplingOptions) | ({ readonly kind: 'refine' } & RefineSamplingOptions);

/** Dispatches to sampleBoxGroup / sampleRefineGroup. */
export function dynamicSample(draw: ActionSampler, opts: DynamicSampleOptions): DynamicSampleResult {
  return opts.kind === 'box' ? sampleBoxGroup(draw, opts) : sampleRefineGroup(draw, opts);
}
