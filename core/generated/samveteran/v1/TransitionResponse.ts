// Original file: proto/samveteran/v1/sam_env.proto

import type { TransitionResult as _samveteran_v1_TransitionResult, TransitionResult__Output as _samveteran_v1_TransitionResult__Output } from '../../samveteran/v1/TransitionResult.ts';

export interface TransitionResponse {
  'result'?: (_samveteran_v1_TransitionResult | null);
  /**
   * Whether the image embedding came from the cache.
   */
  'embeddingCached'?: (boolean);
  'modelId'?: (string);
  /**
   * Server-side time for this call in milliseconds (embedding + decode).
   */
  'serverMs'?: (number | string);
}

export interface TransitionResponse__Output {
  'result': (_samveteran_v1_TransitionResult__Output | null);
  /**
   * Whether the image embedding came from the cache.
   */
  'embeddingCached': (boolean);
  'modelId': (string);
  /**
   * Server-side time for this call in milliseconds (embedding + decode).
   */
  'serverMs': (number);
}
