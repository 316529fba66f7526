/**
 * Advantages for one-step GRPO groups. Rewards are laid out group after group: rewards[g·G + i] is
 * rollout i of group g.
 *
 * - Group-normalized (GRPO, Shao et al. 2024, eq. for outcome supervision):
 *     A_{g,i} = (r_{g,i} − mean_g) / (std_g + ε)
 * - REINFORCE++ global batch normalization (Hu 2025; the paper's choice):
 *     x_{g,i} = r_{g,i} − mean_g,  A = (x − mean(x)) / (std(x) + ε)  over the whole batch.
 *   The group mean is the baseline; the batch statistics set the scale, so a group with a tiny
 *   spread is not blown up to unit variance as per-group normalization would.
 *
 * With per-rollout weights w (dynamic sampling's draw weights, mean 1 per group), the group's
 * baseline is the weighted mean b = Σ w·r / Σ w, each centred reward is w·(r − b), and per-group
 * normalization divides by the weighted std √(Σ w·(r − b)² / Σ w): the group then estimates the
 * gradient of the distribution it was drawn from, not of its type-balanced selection. Weights all 1
 * give exactly the unweighted formulas.
 *
 * Standard deviations are population (divide by n): a one-step group is the whole population
 * being compared, and it is what REINFORCE++'s batch whitening uses. A group whose rewards are all
 * equal carries no signal: its advantages are exactly 0 in both modes (never NaN, never rounding
 * noise divided by ε).
 */
import { ValidationError } from '../errors/index.ts';

export type AdvantageMode = 'reinforce++' | 'group';

function checkLayout(rewards: ArrayLike<number>, groupSize: number): number {
  if (!Number.isInteger(groupSize) || groupSize < 1)
    throw new ValidationError('groupSize', groupSize, 'must be an integer >= 1');
  if (rewards.length % groupSize !== 0) {
    throw new ValidationError(
      'rewards.length',
      rewards.length,
      `must be a multiple of groupSize ${groupSize}`,
    );
  }
  for (let i = 0; i < rewards.length; i++) {
    if (!Number.isFinite(rewards[i]))
      throw new ValidationError(`rewards[${i}]`, rewards[i], 'must be finite');
  }
  return rewards.length / groupSize;
}

function isDegenerate(rewards: ArrayLike<number>, start: number, groupSize: number): boolean {
  const first = rewards[start] as number;
  for (let i = 1; i < groupSize; i++) if (rewards[start + i] !== first) return false;
  return true;
}

function meanStd(values: ArrayLike<number>, start: number, n: number): { mean: number; std: number } {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[start + i] as number;
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = (values[start + i] as number) - mean;
    ss += d * d;
  }
  return { mean, std: Math.sqrt(ss / n) };
}

/** Weighted mean and std of values[start..start+n) (weights undefined = all 1). */
function weightedMeanStd(
  values: ArrayLike<number>,
  weights: ArrayLike<number> | undefined,
  start: number,
  n: number,
): { mean: number; std: number } {
  if (!weights) return meanStd(values, start, n);
  let sw = 0;
  let sum = 0;
  for (let i = start; i < start + n; i++) {
    sw += weights[i] as number;
    sum += (weights[i] as number) * (values[i] as number);
  }
  const mean = sum / sw;
  let ss = 0;
  for (let i = start; i < start + n; i++) ss += (weights[i] as number) * ((values[i] as number) - mean) ** 2;
  return { mean, std: Math.sqrt(ss / sw) };
}

function checkWeights(weights: ArrayLike<number> | undefined, n: number): void {
  if (!weights) return;
  if (weights.length !== n) throw new ValidationError('weights.length', weights.length, `must equal ${n}`);
  for (let i = 0; i < n; i++) {
    const w = weights[i] as number;
    if (!(Number.isFinite(w) && w > 0))
      throw new ValidationError(`weights[${i}]`, w, 'must be finite and > 0');
  }
}

/** Per-group w·(r − mean) / (std + ε), weighted when `weights` is given. */
export function groupNormalizedAdvantages(
  rewards: ArrayLike<number>,
  groupSize: number,
  eps = 1e-6,
  weights?: ArrayLike<number>,
): Float64Array {
  const groups = checkLayout(rewards, groupSize);
  checkWeights(weights, rewards.length);
  const out = new Float64Array(rewards.length);
  for (let g = 0; g < groups; g++) {
    const start = g * groupSize;
    if (isDegenerate(rewards, start, groupSize)) continue;
    const { mean, std } = weightedMeanStd(rewards, weights, start, groupSize);
    for (let i = start; i < start + groupSize; i++)
      out[i] = ((weights?.[i] ?? 1) * ((rewards[i] as number) - mean)) / (std + eps);
  }
  return out;
}

/** REINFORCE++ with a group-mean baseline (weighted when `weights` is given), then batch whitening. */
export function reinforcePlusPlusAdvantages(
  rewards: ArrayLike<number>,
  groupSize: number,
  eps = 1e-6,
  weights?: ArrayLike<number>,
): Float64Array {
  const groups = checkLayout(rewards, groupSize);
  checkWeights(weights, rewards.length);
  const centred = new Float64Array(rewards.length);
  const degenerate = new Uint8Array(groups);
  for (let g = 0; g < groups; g++) {
    const start = g * groupSize;
    if (isDegenerate(rewards, start, groupSize)) {
      degenerate[g] = 1;
      continue;
    }
    const { mean } = weightedMeanStd(rewards, weights, start, groupSize);
    for (let i = start; i < start + groupSize; i++)
      centred[i] = (weights?.[i] ?? 1) * ((rewards[i] as number) - mean);
  }
  const out = new Float64Array(rewards.length);
  if (degenerate.every((d) => d === 1)) return out;
  const { mean, std } = meanStd(centred, 0, centred.length);
  for (let g = 0; g < groups; g++) {
    if (degenerate[g]) continue;
    for (let i = g * groupSize; i < (g + 1) * groupSize; i++)
      out[i] = ((centred[i] as number) - mean) / (std + eps);
  }
  return out;
}

/** Dispatches on the configured mode. */
export function computeAdvantages(
  mode: AdvantageMode,
  rewards: ArrayLike<number>,
  groupSize: number,
  eps = 1e-6,
  weights?: ArrayLike<number>,
): Float64Array {
  return mode === 'group'
    ? groupNormalizedAdvantages(rewards, groupSize, eps, weights)
    : reinforcePlusPlusAdvantages(rewards, groupSize, eps, weights);
}

/** How many groups have all rewards equal (and so carry no gradient). */
export function zeroVarianceGroups(rewards: ArrayLike<number>, groupSize: number): number {
  const groups = checkLayout(rewards, groupSize);
  let n = 0;
  for (let g = 0; g < groups; g++) if (isDegenerate(rewards, g * groupSize, groupSize)) n++;
  return n;
}

/**
 * Repeats each sequence's advantage over its tokens: the outcome reward of a one-step rollout
 * applies to every token of its action text. Returns one value per token, sequences concatenated.
 */
export function broadcastToTokens(
  sequenceAdvantages: ArrayLike<number>,
  tokenCounts: ArrayLike<number>,
): Float64Array {
  if (sequenceAdvantages.length !== tokenCounts.length) {
    throw new ValidationError(
      'tokenCounts.length',
      tokenCounts.length,
      `must equal the number of sequences ${sequenceAdvantages.length}`,
    );
  }
  let total = 0;
  for (let i = 0; i < tokenCounts.length; i++) {
    const c = tokenCounts[i] as number;
    if (!Number.isInteger(c) || c < 0)
      throw new ValidationError(`tokenCounts[${i}]`, c, 'must be an integer >= 0');
    total += c;
  }
  const out = new Float64Array(total);
  let k = 0;
  for (let i = 0; i < tokenCounts.length; i++) {
    out.fill(sequenceAdvantages[i] as number, k, k + (tokenCounts[i] as number));
    k += tokenCounts[i] as number;
  }
  return out;
}
