// Original file: proto/samveteran/v1/sam_env.proto

import type { TransitionResult as _samveteran_v1_TransitionResult, TransitionResult__Output as _samveteran_v1_TransitionResult__Output } from '../../samveteran/v1/TransitionResult.ts';

export interface TransitionGroupResponse {
  /**
   * In prompt order.
   */
  'results'?: (_samveteran_v1_TransitionResult)[];
  'embeddingCached'?: (boolean);
  'modelId'?: (string);
  'serverMs'?: (number | string);
}

export interface TransitionGroupResponse__Output {
  /**
   * In prompt order.
   */
  'results': (_samveteran_v1_TransitionResult__Output)[];
  'embeddingCached': (boolean);
  'modelId': (string);
  'serverMs': (number);
}
