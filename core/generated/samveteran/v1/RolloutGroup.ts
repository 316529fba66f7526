// Original file: proto/samveteran/v1/training.proto

import type { TaskKind as _samveteran_v1_TaskKind, TaskKind__Output as _samveteran_v1_TaskKind__Output } from '../../samveteran/v1/TaskKind.ts';
import type { Observation as _samveteran_v1_Observation, Observation__Output as _samveteran_v1_Observation__Output } from '../../samveteran/v1/Observation.ts';
import type { Rollout as _samveteran_v1_Rollout, Rollout__Output as _samveteran_v1_Rollout__Output } from '../../samveteran/v1/Rollout.ts';
import type { Long } from '@grpc/proto-loader';

export interface RolloutGroup {
  /**
   * Unique id (NATS message id for dedupe): normally "<task_id>/<attempt>".
   */
  'groupId'?: (string);
  'taskId'?: (string);
  'kind'?: (_samveteran_v1_TaskKind);
  /**
   * Version of the policy that sampled every rollout of the group.
   */
  'policyVersion'?: (number | string | Long);
  'actorId'?: (string);
  /**
   * The state all rollouts start from (copied from the task, with the actor's current mask filled in).
   */
  'observation'?: (_samveteran_v1_Observation | null);
  'rollouts'?: (_samveteran_v1_Rollout)[];
  /**
   * Candidates drawn by dynamic sampling before selecting the group.
   */
  'samplesDrawn'?: (number);
  /**
   * Mask-understanding case: true when the current mask was GOOD ENOUGH (modified IoU >= threshold).
   */
  'goodEnough'?: (boolean);
  /**
   * Prompt tokens fed to the policy (remote MLLM policies; empty when the learner rebuilds them).
   */
  'promptTokenIds'?: (number)[];
  /**
   * Environment model id used for transitions.
   */
  'envModelId'?: (string);
  'createdAtMs'?: (number | string | Long);
  /**
   * Delivery attempt of the task that produced the group (1 = first).
   */
  'attempt'?: (number);
}

export interface RolloutGroup__Output {
  /**
   * Unique id (NATS message id for dedupe): normally "<task_id>/<attempt>".
   */
  'groupId': (string);
  'taskId': (string);
  'kind': (_samveteran_v1_TaskKind__Output);
  /**
   * Version of the policy that sampled every rollout of the group.
   */
  'policyVersion': (number);
  'actorId': (string);
  /**
   * The state all rollouts start from (copied from the task, with the actor's current mask filled in).
   */
  'observation': (_samveteran_v1_Observation__Output | null);
  'rollouts': (_samveteran_v1_Rollout__Output)[];
  /**
   * Candidates drawn by dynamic sampling before selecting the group.
   */
  'samplesDrawn': (number);
  /**
   * Mask-understanding case: true when the current mask was GOOD ENOUGH (modified IoU >= threshold).
   */
  'goodEnough': (boolean);
  /**
   * Prompt tokens fed to the policy (remote MLLM policies; empty when the learner rebuilds them).
   */
  'promptTokenIds': (number)[];
  /**
   * Environment model id used for transitions.
   */
  'envModelId': (string);
  'createdAtMs': (number);
  /**
   * Delivery attempt of the task that produced the group (1 = first).
   */
  'attempt': (number);
}
