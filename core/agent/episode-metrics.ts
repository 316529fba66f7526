/**
 * Evaluation metrics over episodes (ARCHITECTURE.md, "Metrics"): gIoU = mean per-sample IoU,
 * cIoU = Σ intersection / Σ union, mean box IoU, and per refinement step k the IoU after k steps
 * (episodes that stopped earlier keep their mask) and the termination rate — the fraction of
 * episodes that have stopped by themselves by step k. Confidence intervals are percentile
 * bootstraps over samples with a seeded resampler.
 */
import { ValidationError } from '../errors/index.ts';
import { Rng } from '../rng/index.ts';
import { iouFromCounts } from '../mask/index.ts';
import type { Episode, EpisodeStep } from './agent-loop.ts';

export interface Interval {
  readonly lo: number;
  readonly hi: number;
}

export interface StepMetrics {
  /** Refinement step (0 = after the box). */
  readonly step: number;
  readonly gIoU: number;
  readonly cIoU: number;
  /** Fraction of episodes that stopped by themselves at or before this step (0 at step 0). */
  readonly terminationRate: number;
}

export interface EpisodeSummary {
  readonly n: number;
  readonly gIoU: number;
  readonly cIoU: number;
  readonly boxIou: number;
  readonly gIoUCi95: Interval;
  readonly boxIouCi95: Interval;
  /** Fraction of episodes ended by the policy's own stop. */
  readonly terminationRate: number;
  readonly meanRefinements: number;
  readonly perStep: readonly StepMetrics[];
}

/** The step in force after k refinements (an episode that stopped keeps its last mask). */
/** What the metrics read of an episode: everything but its masks (an Episode is one). */
export type EpisodeScore = Pick<Episode, 'boxIou' | 'finalIou' | 'stopStep' | 'stoppedBy'> & {
  readonly steps: readonly Pick<EpisodeStep, 'index' | 'type' | 'iou' | 'intersection' | 'union'>[];
};

/** An episode's score without its masks, so that many can be kept cheaply. */
export function scoreOf(e: Episode): EpisodeScore {
  return {
    boxIou: e.boxIou,
    finalIou: e.finalIou,
    stopStep: e.stopStep,
    stoppedBy: e.stoppedBy,
    steps: e.steps.map((s) => ({
      index: s.index,
      type: s.type,
      iou: s.iou,
      intersection: s.intersection,
      union: s.union,
    })),
  };
}

function stepAt(e: EpisodeScore, k: number): EpisodeScore['steps'][number] | undefined {
  let best: EpisodeScore['steps'][number] | undefined;
  for (const s of e.steps) if (s.index <= k) best = s;
  return best;
}

export function mean(xs: ArrayLike<number>): number {
  if (xs.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i] as number;
  return s / xs.length;
}

/** Percentile-bootstrap 95% interval of the mean. */
export function bootstrapMeanCi(values: ArrayLike<number>, resamples = 1000, seed = 0): Interval {
  const n = values.length;
  if (n === 0) return { lo: 0, hi: 0 };
  const rng = new Rng(`bootstrap:${seed}`);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[rng.int(n)] as number;
    means[r] = s / n;
  }
  means.sort();
  return {
    lo: means[Math.floor(0.025 * (resamples - 1))] as number,
    hi: means[Math.ceil(0.975 * (resamples - 1))] as number,
  };
}

/** Mean paired difference after − before, with its percentile-bootstrap 95% interval. */
export interface PairedDifference {
  readonly n: number;
  readonly mean: number;
  readonly ci95: Interval;
}

/**
 * The change of a per-sample metric between two evaluations of the same samples (e.g. IoU before
 * and after training): resampling the per-sample differences keeps the pairing, so the interval is
 * much tighter than comparing two independent intervals.
 */
export function pairedDifference(
  before: ArrayLike<number>,
  after: ArrayLike<number>,
  resamples = 1000,
  seed = 0,
): PairedDifference {
  if (before.length !== after.length)
    throw new ValidationError('after.length', after.length, `must equal before.length ${before.length}`);
  const d = Float64Array.from(
    { length: before.length },
    (_, i) => (after[i] as number) - (before[i] as number),
  );
  return { n: d.length, mean: mean(d), ci95: bootstrapMeanCi(d, resamples, seed) };
}

export function summarizeEpisodes(
  episodes: readonly EpisodeScore[],
  maxRefinements: number,
  seed = 0,
): EpisodeSummary {
  const finals = episodes.map((e) => e.finalIou);
  const boxes = episodes.map((e) => e.boxIou);
  let sumI = 0;
  let sumU = 0;
  for (const e of episodes) {
    const last = e.steps[e.steps.length - 1];
    sumI += last?.intersection ?? 0;
    sumU += last?.union ?? 0;
  }
  const perStep: StepMetrics[] = [];
  for (let k = 0; k <= maxRefinements; k++) {
    let g = 0;
    let i = 0;
    let u = 0;
    let stopped = 0;
    for (const e of episodes) {
      const s = stepAt(e, k);
      g += s?.iou ?? 0;
      i += s?.intersection ?? 0;
      u += s?.union ?? 0;
      if (e.stopStep !== null && e.stopStep <= k) stopped++;
    }
    const n = Math.max(1, episodes.length);
    perStep.push({ step: k, gIoU: g / n, cIoU: iouFromCounts(i, u), terminationRate: stopped / n });
  }
  const refinements = episodes.map((e) => e.steps.filter((s) => s.index > 0 && s.type !== 'stop').length);
  return {
    n: episodes.length,
    gIoU: mean(finals),
    cIoU: episodes.length ? iouFromCounts(sumI, sumU) : 0,
    boxIou: mean(boxes),
    gIoUCi95: bootstrapMeanCi(finals, 1000, seed),
    boxIouCi95: bootstrapMeanCi(boxes, 1000, seed + 1),
    terminationRate: episodes.length
      ? episodes.filter((e) => e.stoppedBy === 'policy').length / episodes.length
      : 0,
    meanRefinements: mean(refinements),
    perStep,
  };
}

/** A fixed-width text table of a summary, for the CLI. */
export function formatSummary(name: string, s: EpisodeSummary): string {
  const f = (x: number): string => x.toFixed(3);
  const lines = [
    `${name}: n=${s.n}  gIoU ${f(s.gIoU)} [${f(s.gIoUCi95.lo)}, ${f(s.gIoUCi95.hi)}]  cIoU ${f(s.cIoU)}  ` +
      `box IoU ${f(s.boxIou)} [${f(s.boxIouCi95.lo)}, ${f(s.boxIouCi95.hi)}]  stops ${f(s.terminationRate)}  ` +
      `refinements/episode ${s.meanRefinements.toFixed(2)}`,
    '  step  gIoU   cIoU   terminated',
    ...s.perStep.map(
      (p) => `  ${String(p.step).padStart(4)}  ${f(p.gIoU)}  ${f(p.cIoU)}  ${f(p.terminationRate)}`,
    ),
  ];
  return lines.join('\n');
}
