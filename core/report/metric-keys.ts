/**
 * The per-step training metrics the report knows how to plot. The learner writes one record per
 * step to metrics.jsonl with these keys (flat dotted names; nested objects such as
 * `{ reward: { localization: 0.4 } }` are read the same way). Any subset may be present: a panel is
 * drawn when at least one of its keys has a finite value. Units are in the key names' docs.
 */
import type { MetricsRecord } from './run-folder.ts';

export const METRIC_KEYS = {
  /** Learner step (optimizer updates committed); the x axis of every training plot. */
  step: 'step',
  /** Mean reward over all of the step's rollouts. */
  rewardMean: 'reward.mean',
  /** Mean reward of the step's localization rollouts (paper Eq. for the box reward). */
  rewardLocalization: 'reward.localization',
  /** Mean reward of the mask-understanding (refinement) rollouts. */
  rewardMaskUnderstanding: 'reward.mask_understanding',
  /** Mean reward of the auxiliary-task rollouts. */
  rewardAuxiliary: 'reward.auxiliary',
  /** Mean of the advantages in the batch (≈ 0 after global normalization). */
  advMean: 'adv.mean',
  /** Standard deviation of the advantages (≈ 1 after global normalization). */
  advStd: 'adv.std',
  /** Token-level KL estimate to the frozen reference policy. */
  kl: 'kl',
  /** Fraction of tokens whose ratio was clipped by the PPO/GRPO clip. */
  clipFraction: 'clipFraction',
  /** Mean staleness of consumed groups (learner version − behaviour policy version). */
  stalenessMean: 'staleness.mean',
  /** Fraction of groups whose rewards all equal (zero advantage, no gradient). */
  zeroVarianceFraction: 'zeroVarianceFraction',
  /** Fraction of refinement rollouts that ended by the policy's own stop action. */
  stopRate: 'stopRate',
  /** Learner compute time of the step (forward/backward/optimizer), milliseconds. */
  timeComputeMs: 'time.computeMs',
  /** Learner non-compute time of the step (waiting for groups, decoding, publishing), milliseconds. */
  timeOverheadMs: 'time.overheadMs',
  /** Environment transitions per second achieved by the cluster during the step. */
  transitionsPerSec: 'transitionsPerSec',
  /** Policy version after the step. */
  policyVersion: 'policyVersion',
  /** Total GRPO loss of the step (optional). */
  loss: 'loss',
} as const;

export type MetricKey = (typeof METRIC_KEYS)[keyof typeof METRIC_KEYS];

/** One training plot of the report. */
export interface MetricPanel {
  /** PNG file name under plots/. */
  readonly file: string;
  readonly title: string;
  readonly yLabel: string;
  /** Keys drawn as series, if present. */
  readonly keys: readonly string[];
  /** Also draw every other key starting with this prefix (e.g. `reward.` for new task kinds). */
  readonly prefix?: string;
  readonly yRange?: readonly [number, number];
}

const K = METRIC_KEYS;

/** The training panels, in report order. */
export const TRAINING_PANELS: readonly MetricPanel[] = [
  {
    file: 'reward.png',
    title: 'Reward per task kind',
    yLabel: 'mean reward',
    keys: [K.rewardMean, K.rewardLocalization, K.rewardMaskUnderstanding, K.rewardAuxiliary],
    prefix: 'reward.',
  },
  {
    file: 'advantage.png',
    title: 'Advantage statistics',
    yLabel: 'advantage',
    keys: [K.advMean, K.advStd],
    prefix: 'adv.',
  },
  { file: 'kl.png', title: 'KL to reference policy', yLabel: 'KL (nats/token)', keys: [K.kl] },
  {
    file: 'clip-fraction.png',
    title: 'Clip fraction',
    yLabel: 'fraction of tokens',
    keys: [K.clipFraction],
    yRange: [0, 1],
  },
  {
    file: 'staleness.png',
    title: 'Staleness of consumed groups',
    yLabel: 'policy versions',
    keys: [K.stalenessMean],
    prefix: 'staleness.',
  },
  {
    file: 'zero-variance.png',
    title: 'Zero-variance groups',
    yLabel: 'fraction of groups',
    keys: [K.zeroVarianceFraction],
    yRange: [0, 1],
  },
  {
    file: 'stop-rate.png',
    title: 'Termination (stop) rate',
    yLabel: 'fraction of rollouts',
    keys: [K.stopRate],
    yRange: [0, 1],
  },
  {
    file: 'step-time.png',
    title: 'Learner step time',
    yLabel: 'ms',
    keys: [K.timeComputeMs, K.timeOverheadMs],
    prefix: 'time.',
  },
  {
    file: 'throughput.png',
    title: 'Environment throughput',
    yLabel: 'transitions / s',
    keys: [K.transitionsPerSec],
  },
  { file: 'loss.png', title: 'GRPO loss', yLabel: 'loss', keys: [K.loss] },
  { file: 'policy-version.png', title: 'Policy version', yLabel: 'version', keys: [K.policyVersion] },
];

/** Flattens nested objects to dotted keys; non-numeric leaves are dropped, null becomes NaN. */
export function flattenNumeric(
  record: MetricsRecord,
  prefix = '',
  out: Record<string, number> = {},
): Record<string, number> {
  for (const [k, v] of Object.entries(record)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'number') out[key] = v;
    else if (v === null) out[key] = Number.NaN;
    else if (typeof v === 'object' && !Array.isArray(v)) flattenNumeric(v as MetricsRecord, key, out);
  }
  return out;
}

/**
 * [step, value] series per key from records: x is the `step` key when present, else the record
 * index. Missing or null values become NaN (gaps).
 */
export function metricSeries(
  records: readonly MetricsRecord[],
  keys: readonly string[],
): Map<string, [number, number][]> {
  const flat = records.map((r) => flattenNumeric(r));
  const out = new Map<string, [number, number][]>();
  for (const key of keys) {
    out.set(
      key,
      flat.map((f, i) => {
        const step = f[METRIC_KEYS.step];
        const x = step !== undefined && Number.isFinite(step) ? step : i;
        return [x, f[key] ?? Number.NaN];
      }),
    );
  }
  return out;
}

/** All numeric keys present in any record (flattened), in first-seen order. */
export function presentKeys(records: readonly MetricsRecord[]): string[] {
  const seen = new Set<string>();
  for (const r of records)
    for (const [k, v] of Object.entries(flattenNumeric(r))) if (Number.isFinite(v)) seen.add(k);
  return [...seen];
}
