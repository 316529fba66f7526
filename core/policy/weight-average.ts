/**
 * An exponential moving average of the policy's weights (Polyak averaging), kept beside the weights
 * an optimiser updates: GRPO's learner (the actors keep sampling from the current weights, the
 * objective being on-policy) and the supervised warm start (`pretrain --average-decay`). The
 * average is the run's result: each step moves the weights by a noisy estimate of the gradient, and
 * the average keeps the drift while cancelling much of the noise.
 *
 * Measured on the main job (README): from the shipped warm start, evaluating the average (decay
 * 0.99) of 300 steps instead of the last iterate raised the ood-val gain from +0.004 to +0.008 gIoU
 * (1500 samples per split) with the id-val gain unchanged.
 *
 * After step t: avg ← decay · avg + (1 − decay) · w_t, starting from the weights training started
 * from (the warm start, or the average stored in the checkpoint resumed from).
 */
import { ValidationError } from '../errors/index.ts';
import type { NamedWeight } from './policy-types.ts';

export class WeightAverage {
  private readonly avg: NamedWeight[];
  /** Updates folded in since construction. */
  updates = 0;

  /**
   * @param decay in (0, 1): the weight of the old average per update.
   * @param start the weights the average starts from (copied).
   */
  constructor(
    readonly decay: number,
    start: readonly NamedWeight[],
  ) {
    if (!(decay > 0 && decay < 1))
      throw new ValidationError('weightAverageDecay', decay, 'must be in (0, 1)');
    this.avg = start.map((w) => ({ name: w.name, shape: [...w.shape], data: Float32Array.from(w.data) }));
  }

  /** Folds in the current weights; names, order and shapes must be the ones the average started with. */
  update(current: readonly NamedWeight[]): void {
    if (current.length !== this.avg.length) {
      throw new ValidationError(
        'weights',
        current.length,
        `has ${current.length} tensors, the average ${this.avg.length}`,
      );
    }
    const d = this.decay;
    const e = 1 - d;
    for (let i = 0; i < current.length; i++) {
      const a = this.avg[i] as NamedWeight;
      const w = current[i] as NamedWeight;
      if (w.name !== a.name || w.data.length !== a.data.length) {
        throw new ValidationError(
          `weights[${i}]`,
          `${w.name} (${w.data.length})`,
          `does not match the averaged tensor ${a.name} (${a.data.length})`,
        );
      }
      const ad = a.data;
      const wd = w.data;
      for (let j = 0; j < ad.length; j++) ad[j] = d * (ad[j] as number) + e * (wd[j] as number);
    }
    this.updates++;
  }

  /** The averaged weights (copies). */
  weights(): NamedWeight[] {
    return this.avg.map((w) => ({ name: w.name, shape: [...w.shape], data: w.data.slice() }));
  }
}
