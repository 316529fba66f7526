// Original file: proto/samveteran/v1/sam_env.proto

import type { Long } from '@grpc/proto-loader';

export interface Limits {
  /**
   * Max points per prompt (box corners not counted).
   */
  'maxPoints'?: (number);
  /**
   * Max prompts per TransitionGroup call.
   */
  'maxGroupSize'?: (number);
  /**
   * Max prompts decoded in one model run (micro-batch size).
   */
  'maxBatch'?: (number);
  /**
   * Max encoded image size in bytes.
   */
  'maxImageBytes'?: (number | string | Long);
  /**
   * Max image width or height in pixels.
   */
  'maxImageSide'?: (number);
  /**
   * Max gRPC message size in bytes.
   */
  'maxMessageBytes'?: (number | string | Long);
}

export interface Limits__Output {
  /**
   * Max points per prompt (box corners not counted).
   */
  'maxPoints': (number);
  /**
   * Max prompts per TransitionGroup call.
   */
  'maxGroupSize': (number);
  /**
   * Max prompts decoded in one model run (micro-batch size).
   */
  'maxBatch': (number);
  /**
   * Max encoded image size in bytes.
   */
  'maxImageBytes': (number);
  /**
   * Max image width or height in pixels.
   */
  'maxImageSide': (number);
  /**
   * Max gRPC message size in bytes.
   */
  'maxMessageBytes': (number);
}
