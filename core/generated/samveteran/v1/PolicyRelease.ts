// Original file: proto/samveteran/v1/training.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A published policy version: the value of the weights KV key; the bytes are in the Object Store.
 */
export interface PolicyRelease {
  /**
   * Monotonic version, 1 for the first release.
   */
  'version'?: (number | string | Long);
  /**
   * Lowercase hex SHA-256 of the weight bytes.
   */
  'digest'?: (string);
  /**
   * Object Store object name holding the weights.
   */
  'objectName'?: (string);
  /**
   * Size of the weight bytes.
   */
  'byteSize'?: (number | string | Long);
  'createdAtMs'?: (number | string | Long);
  /**
   * Architecture id + hyper-parameters, e.g. "pointer-vlm/v1 d=64 patch=8"; loaders refuse a mismatch.
   */
  'architecture'?: (string);
  /**
   * Learner optimisation step that produced these weights.
   */
  'step'?: (number | string | Long);
}

/**
 * A published policy version: the value of the weights KV key; the bytes are in the Object Store.
 */
export interface PolicyRelease__Output {
  /**
   * Monotonic version, 1 for the first release.
   */
  'version': (number);
  /**
   * Lowercase hex SHA-256 of the weight bytes.
   */
  'digest': (string);
  /**
   * Object Store object name holding the weights.
   */
  'objectName': (string);
  /**
   * Size of the weight bytes.
   */
  'byteSize': (number);
  'createdAtMs': (number);
  /**
   * Architecture id + hyper-parameters, e.g. "pointer-vlm/v1 d=64 patch=8"; loaders refuse a mismatch.
   */
  'architecture': (string);
  /**
   * Learner optimisation step that produced these weights.
   */
  'step': (number);
}
