// Original file: proto/samveteran/v1/training.proto

import type { TaskKind as _samveteran_v1_TaskKind, TaskKind__Output as _samveteran_v1_TaskKind__Output } from '../../samveteran/v1/TaskKind.ts';
import type { Observation as _samveteran_v1_Observation, Observation__Output as _samveteran_v1_Observation__Output } from '../../samveteran/v1/Observation.ts';
import type { RleMask as _samveteran_v1_RleMask, RleMask__Output as _samveteran_v1_RleMask__Output } from '../../samveteran/v1/RleMask.ts';
import type { Box as _samveteran_v1_Box, Box__Output as _samveteran_v1_Box__Output } from '../../samveteran/v1/Box.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * One unit of work on the task queue: one state, from which an actor samples a group of G rollouts.
 */
export interface Task {
  /**
   * Unique id (also the NATS message id, for dedupe).
   */
  'taskId'?: (string);
  'kind'?: (_samveteran_v1_TaskKind);
  /**
   * Dataset name, e.g. "procedural", "reasonseg", "refcoco".
   */
  'dataset'?: (string);
  /**
   * Sample id inside the dataset.
   */
  'sampleId'?: (string);
  'observation'?: (_samveteran_v1_Observation | null);
  /**
   * Ground-truth mask (image-sized), for the reward.
   */
  'gtMask'?: (_samveteran_v1_RleMask | null);
  /**
   * Ground-truth box (tight box of gt_mask unless the dataset gives one).
   */
  'gtBox'?: (_samveteran_v1_Box | null);
  /**
   * Rollouts to publish in the group (G; paper: 8).
   */
  'groupSize'?: (number);
  /**
   * Seed for the actor's sampling of this task (reproducibility).
   */
  'seed'?: (number | string | Long);
  /**
   * Minimum policy version the actor should use (0 = any).
   */
  'minPolicyVersion'?: (number | string | Long);
  'createdAtMs'?: (number | string | Long);
  /**
   * Region of the GT to ignore in IoU (ReasonSeg "ignore" shapes), image-sized (optional).
   */
  'ignoreMask'?: (_samveteran_v1_RleMask | null);
}

/**
 * One unit of work on the task queue: one state, from which an actor samples a group of G rollouts.
 */
export interface Task__Output {
  /**
   * Unique id (also the NATS message id, for dedupe).
   */
  'taskId': (string);
  'kind': (_samveteran_v1_TaskKind__Output);
  /**
   * Dataset name, e.g. "procedural", "reasonseg", "refcoco".
   */
  'dataset': (string);
  /**
   * Sample id inside the dataset.
   */
  'sampleId': (string);
  'observation': (_samveteran_v1_Observation__Output | null);
  /**
   * Ground-truth mask (image-sized), for the reward.
   */
  'gtMask': (_samveteran_v1_RleMask__Output | null);
  /**
   * Ground-truth box (tight box of gt_mask unless the dataset gives one).
   */
  'gtBox': (_samveteran_v1_Box__Output | null);
  /**
   * Rollouts to publish in the group (G; paper: 8).
   */
  'groupSize': (number);
  /**
   * Seed for the actor's sampling of this task (reproducibility).
   */
  'seed': (number);
  /**
   * Minimum policy version the actor should use (0 = any).
   */
  'minPolicyVersion': (number);
  'createdAtMs': (number);
  /**
   * Region of the GT to ignore in IoU (ReasonSeg "ignore" shapes), image-sized (optional).
   */
  'ignoreMask': (_samveteran_v1_RleMask__Output | null);
}
