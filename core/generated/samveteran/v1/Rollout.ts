// Original file: proto/samveteran/v1/training.proto

import type { Action as _samveteran_v1_Action, Action__Output as _samveteran_v1_Action__Output } from '../../samveteran/v1/Action.ts';
import type { RleMask as _samveteran_v1_RleMask, RleMask__Output as _samveteran_v1_RleMask__Output } from '../../samveteran/v1/RleMask.ts';
import type { SamplingStats as _samveteran_v1_SamplingStats, SamplingStats__Output as _samveteran_v1_SamplingStats__Output } from '../../samveteran/v1/SamplingStats.ts';

export interface Rollout {
  /**
   * Generated action tokens (policy vocabulary ids), in order.
   */
  'tokenIds'?: (number)[];
  /**
   * log pi_behaviour(token_t | prefix) per generated token, natural log; same length as token_ids.
   */
  'behaviourLogprobs'?: (number | string)[];
  /**
   * The decoded action text exactly as generated.
   */
  'actionText'?: (string);
  /**
   * Parsed action; absent when the text did not parse (see format_error).
   */
  'action'?: (_samveteran_v1_Action | null);
  /**
   * Parser message when the action text was malformed; empty when it parsed.
   */
  'formatError'?: (string);
  /**
   * Total scalar reward.
   */
  'reward'?: (number | string);
  /**
   * Named reward terms, e.g. {"format":1,"box_iou":1,"box_l1":0,"sam_iou":0.83} or
   * {"dcs":1,"delta":2}; reward == sum of the terms unless the task says otherwise.
   */
  'rewardBreakdown'?: ({[key: string]: number | string});
  /**
   * Mask after the action's transition (absent for stop / format errors).
   */
  'resultMask'?: (_samveteran_v1_RleMask | null);
  /**
   * IoU of result_mask (or the current mask on stop) with the GT mask.
   */
  'iou'?: (number | string);
  'stats'?: (_samveteran_v1_SamplingStats | null);
  /**
   * How much of dynamic sampling's draws this rollout stands for: its action type's share of all
   * draws over its share of the group (mean 1 over a group). 0 = not recorded, read as 1.
   */
  'drawWeight'?: (number | string);
}

export interface Rollout__Output {
  /**
   * Generated action tokens (policy vocabulary ids), in order.
   */
  'tokenIds': (number)[];
  /**
   * log pi_behaviour(token_t | prefix) per generated token, natural log; same length as token_ids.
   */
  'behaviourLogprobs': (number)[];
  /**
   * The decoded action text exactly as generated.
   */
  'actionText': (string);
  /**
   * Parsed action; absent when the text did not parse (see format_error).
   */
  'action': (_samveteran_v1_Action__Output | null);
  /**
   * Parser message when the action text was malformed; empty when it parsed.
   */
  'formatError': (string);
  /**
   * Total scalar reward.
   */
  'reward': (number);
  /**
   * Named reward terms, e.g. {"format":1,"box_iou":1,"box_l1":0,"sam_iou":0.83} or
   * {"dcs":1,"delta":2}; reward == sum of the terms unless the task says otherwise.
   */
  'rewardBreakdown': ({[key: string]: number});
  /**
   * Mask after the action's transition (absent for stop / format errors).
   */
  'resultMask': (_samveteran_v1_RleMask__Output | null);
  /**
   * IoU of result_mask (or the current mask on stop) with the GT mask.
   */
  'iou': (number);
  'stats': (_samveteran_v1_SamplingStats__Output | null);
  /**
   * How much of dynamic sampling's draws this rollout stands for: its action type's share of all
   * draws over its share of the group (mean 1 over a group). 0 = not recorded, read as 1.
   */
  'drawWeight': (number);
}
