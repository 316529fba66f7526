// Original file: proto/samveteran/v1/training.proto


/**
 * Sampling statistics of one rollout.
 */
export interface SamplingStats {
  'temperature'?: (number | string);
  'topP'?: (number | string);
  /**
   * 0 = disabled.
   */
  'topK'?: (number);
  /**
   * Mean per-token entropy of the behaviour distribution, in nats.
   */
  'meanEntropy'?: (number | string);
  /**
   * Wall time to sample the action, milliseconds.
   */
  'sampleMs'?: (number | string);
  /**
   * Wall time of the environment transition(s), milliseconds.
   */
  'envMs'?: (number | string);
}

/**
 * Sampling statistics of one rollout.
 */
export interface SamplingStats__Output {
  'temperature': (number);
  'topP': (number);
  /**
   * 0 = disabled.
   */
  'topK': (number);
  /**
   * Mean per-token entropy of the behaviour distribution, in nats.
   */
  'meanEntropy': (number);
  /**
   * Wall time to sample the action, milliseconds.
   */
  'sampleMs': (number);
  /**
   * Wall time of the environment transition(s), milliseconds.
   */
  'envMs': (number);
}
