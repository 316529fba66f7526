// Original file: proto/samveteran/v1/sam_env.proto

import type { RleMask as _samveteran_v1_RleMask, RleMask__Output as _samveteran_v1_RleMask__Output } from '../../samveteran/v1/RleMask.ts';
import type { LowResLogits as _samveteran_v1_LowResLogits, LowResLogits__Output as _samveteran_v1_LowResLogits__Output } from '../../samveteran/v1/LowResLogits.ts';
import type { Long } from '@grpc/proto-loader';

export interface TransitionResult {
  /**
   * Image-sized mask.
   */
  'mask'?: (_samveteran_v1_RleMask | null);
  /**
   * Present when requested and the model produces them.
   */
  'lowResLogits'?: (_samveteran_v1_LowResLogits | null);
  /**
   * The model's own quality estimate in [0, 1].
   */
  'predictedIou'?: (number | string);
  /**
   * Agreement of the mask at logit thresholds +-delta, in [0, 1].
   */
  'stability'?: (number | string);
  /**
   * Mask area in pixels.
   */
  'area'?: (number | string | Long);
}

export interface TransitionResult__Output {
  /**
   * Image-sized mask.
   */
  'mask': (_samveteran_v1_RleMask__Output | null);
  /**
   * Present when requested and the model produces them.
   */
  'lowResLogits': (_samveteran_v1_LowResLogits__Output | null);
  /**
   * The model's own quality estimate in [0, 1].
   */
  'predictedIou': (number);
  /**
   * Agreement of the mask at logit thresholds +-delta, in [0, 1].
   */
  'stability': (number);
  /**
   * Mask area in pixels.
   */
  'area': (number);
}
