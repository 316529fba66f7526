// Original file: proto/samveteran/v1/sam_env.proto

import type { TransitionResponse as _samveteran_v1_TransitionResponse, TransitionResponse__Output as _samveteran_v1_TransitionResponse__Output } from '../../samveteran/v1/TransitionResponse.ts';
import type { TransitionGroupResponse as _samveteran_v1_TransitionGroupResponse, TransitionGroupResponse__Output as _samveteran_v1_TransitionGroupResponse__Output } from '../../samveteran/v1/TransitionGroupResponse.ts';
import type { StreamError as _samveteran_v1_StreamError, StreamError__Output as _samveteran_v1_StreamError__Output } from '../../samveteran/v1/StreamError.ts';

export interface TransitionStreamResponse {
  /**
   * The request's id (0 when the request could not be read far enough to know it).
   */
  'id'?: (number);
  'transition'?: (_samveteran_v1_TransitionResponse | null);
  'group'?: (_samveteran_v1_TransitionGroupResponse | null);
  /**
   * What a unary call would have ended with: a gRPC status code (never OK) and its details.
   */
  'error'?: (_samveteran_v1_StreamError | null);
  'outcome'?: "transition"|"group"|"error";
}

export interface TransitionStreamResponse__Output {
  /**
   * The request's id (0 when the request could not be read far enough to know it).
   */
  'id': (number);
  'transition'?: (_samveteran_v1_TransitionResponse__Output | null);
  'group'?: (_samveteran_v1_TransitionGroupResponse__Output | null);
  /**
   * What a unary call would have ended with: a gRPC status code (never OK) and its details.
   */
  'error'?: (_samveteran_v1_StreamError__Output | null);
  'outcome'?: "transition"|"group"|"error";
}
