// Original file: proto/samveteran/v1/training.proto

import type { ImageRef as _samveteran_v1_ImageRef, ImageRef__Output as _samveteran_v1_ImageRef__Output } from '../../samveteran/v1/ImageRef.ts';
import type { RleMask as _samveteran_v1_RleMask, RleMask__Output as _samveteran_v1_RleMask__Output } from '../../samveteran/v1/RleMask.ts';
import type { Box as _samveteran_v1_Box, Box__Output as _samveteran_v1_Box__Output } from '../../samveteran/v1/Box.ts';
import type { PromptPoint as _samveteran_v1_PromptPoint, PromptPoint__Output as _samveteran_v1_PromptPoint__Output } from '../../samveteran/v1/PromptPoint.ts';
import type { LowResLogits as _samveteran_v1_LowResLogits, LowResLogits__Output as _samveteran_v1_LowResLogits__Output } from '../../samveteran/v1/LowResLogits.ts';

/**
 * What the policy sees: the image, the referring query, and the current mask with the prompts that
 * produced it (rendered as a green overlay with the box and points drawn). Also exactly what the
 * learner needs to rebuild the policy input and recompute log-probs.
 */
export interface Observation {
  'image'?: (_samveteran_v1_ImageRef | null);
  /**
   * Referring expression / reasoning query.
   */
  'query'?: (string);
  /**
   * Current mask M (absent for localization).
   */
  'currentMask'?: (_samveteran_v1_RleMask | null);
  /**
   * Box that produced the current mask (absent for localization).
   */
  'box'?: (_samveteran_v1_Box | null);
  /**
   * Accumulated refinement points of the episode, oldest first.
   */
  'points'?: (_samveteran_v1_PromptPoint)[];
  /**
   * Refinement step index (0 = the box step).
   */
  'step'?: (number);
  /**
   * Low-res logits behind current_mask, to continue the episode with mask feedback (optional).
   */
  'currentLogits'?: (_samveteran_v1_LowResLogits | null);
}

/**
 * What the policy sees: the image, the referring query, and the current mask with the prompts that
 * produced it (rendered as a green overlay with the box and points drawn). Also exactly what the
 * learner needs to rebuild the policy input and recompute log-probs.
 */
export interface Observation__Output {
  'image': (_samveteran_v1_ImageRef__Output | null);
  /**
   * Referring expression / reasoning query.
   */
  'query': (string);
  /**
   * Current mask M (absent for localization).
   */
  'currentMask': (_samveteran_v1_RleMask__Output | null);
  /**
   * Box that produced the current mask (absent for localization).
   */
  'box': (_samveteran_v1_Box__Output | null);
  /**
   * Accumulated refinement points of the episode, oldest first.
   */
  'points': (_samveteran_v1_PromptPoint__Output)[];
  /**
   * Refinement step index (0 = the box step).
   */
  'step': (number);
  /**
   * Low-res logits behind current_mask, to continue the episode with mask feedback (optional).
   */
  'currentLogits': (_samveteran_v1_LowResLogits__Output | null);
}
