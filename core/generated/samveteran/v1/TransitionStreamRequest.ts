// Original file: proto/samveteran/v1/sam_env.proto

import type { TransitionRequest as _samveteran_v1_TransitionRequest, TransitionRequest__Output as _samveteran_v1_TransitionRequest__Output } from '../../samveteran/v1/TransitionRequest.ts';
import type { TransitionGroupRequest as _samveteran_v1_TransitionGroupRequest, TransitionGroupRequest__Output as _samveteran_v1_TransitionGroupRequest__Output } from '../../samveteran/v1/TransitionGroupRequest.ts';

export interface TransitionStreamRequest {
  /**
   * Chosen by the client (>= 1), echoed in the answer; unique among the stream's unanswered requests.
   */
  'id'?: (number);
  /**
   * Time the server may spend on this request in milliseconds (the unary calls' deadline); 0 = none.
   */
  'timeoutMs'?: (number);
  'transition'?: (_samveteran_v1_TransitionRequest | null);
  'group'?: (_samveteran_v1_TransitionGroupRequest | null);
  'call'?: "transition"|"group";
}

export interface TransitionStreamRequest__Output {
  /**
   * Chosen by the client (>= 1), echoed in the answer; unique among the stream's unanswered requests.
   */
  'id': (number);
  /**
   * Time the server may spend on this request in milliseconds (the unary calls' deadline); 0 = none.
   */
  'timeoutMs': (number);
  'transition'?: (_samveteran_v1_TransitionRequest__Output | null);
  'group'?: (_samveteran_v1_TransitionGroupRequest__Output | null);
  'call'?: "transition"|"group";
}
