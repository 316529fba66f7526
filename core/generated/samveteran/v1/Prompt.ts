// Original file: proto/samveteran/v1/sam_env.proto

import type { Box as _samveteran_v1_Box, Box__Output as _samveteran_v1_Box__Output } from '../../samveteran/v1/Box.ts';
import type { PromptPoint as _samveteran_v1_PromptPoint, PromptPoint__Output as _samveteran_v1_PromptPoint__Output } from '../../samveteran/v1/PromptPoint.ts';
import type { LowResLogits as _samveteran_v1_LowResLogits, LowResLogits__Output as _samveteran_v1_LowResLogits__Output } from '../../samveteran/v1/LowResLogits.ts';
import type { RleMask as _samveteran_v1_RleMask, RleMask__Output as _samveteran_v1_RleMask__Output } from '../../samveteran/v1/RleMask.ts';

/**
 * One prompt. Coordinates: absolute pixels of the original image.
 */
export interface Prompt {
  /**
   * Required.
   */
  'box'?: (_samveteran_v1_Box | null);
  /**
   * Accumulated refinement clicks of the episode, oldest first.
   */
  'points'?: (_samveteran_v1_PromptPoint)[];
  /**
   * Logits returned by the previous transition of the episode (models with mask input).
   */
  'prevLogits'?: (_samveteran_v1_LowResLogits | null);
  /**
   * Previous binary mask of the episode, image-sized (models without logit feedback, e.g. GrabCut).
   */
  'prevMask'?: (_samveteran_v1_RleMask | null);
}

/**
 * One prompt. Coordinates: absolute pixels of the original image.
 */
export interface Prompt__Output {
  /**
   * Required.
   */
  'box': (_samveteran_v1_Box__Output | null);
  /**
   * Accumulated refinement clicks of the episode, oldest first.
   */
  'points': (_samveteran_v1_PromptPoint__Output)[];
  /**
   * Logits returned by the previous transition of the episode (models with mask input).
   */
  'prevLogits': (_samveteran_v1_LowResLogits__Output | null);
  /**
   * Previous binary mask of the episode, image-sized (models without logit feedback, e.g. GrabCut).
   */
  'prevMask': (_samveteran_v1_RleMask__Output | null);
}
