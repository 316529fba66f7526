import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Action as _samveteran_v1_Action, Action__Output as _samveteran_v1_Action__Output } from './samveteran/v1/Action.ts';
import type { Box as _samveteran_v1_Box, Box__Output as _samveteran_v1_Box__Output } from './samveteran/v1/Box.ts';
import type { ImageRef as _samveteran_v1_ImageRef, ImageRef__Output as _samveteran_v1_ImageRef__Output } from './samveteran/v1/ImageRef.ts';
import type { LowResLogits as _samveteran_v1_LowResLogits, LowResLogits__Output as _samveteran_v1_LowResLogits__Output } from './samveteran/v1/LowResLogits.ts';
import type { Observation as _samveteran_v1_Observation, Observation__Output as _samveteran_v1_Observation__Output } from './samveteran/v1/Observation.ts';
import type { Point as _samveteran_v1_Point, Point__Output as _samveteran_v1_Point__Output } from './samveteran/v1/Point.ts';
import type { PolicyRelease as _samveteran_v1_PolicyRelease, PolicyRelease__Output as _samveteran_v1_PolicyRelease__Output } from './samveteran/v1/PolicyRelease.ts';
import type { PromptPoint as _samveteran_v1_PromptPoint, PromptPoint__Output as _samveteran_v1_PromptPoint__Output } from './samveteran/v1/PromptPoint.ts';
import type { RawImage as _samveteran_v1_RawImage, RawImage__Output as _samveteran_v1_RawImage__Output } from './samveteran/v1/RawImage.ts';
import type { RefineAction as _samveteran_v1_RefineAction, RefineAction__Output as _samveteran_v1_RefineAction__Output } from './samveteran/v1/RefineAction.ts';
import type { RleMask as _samveteran_v1_RleMask, RleMask__Output as _samveteran_v1_RleMask__Output } from './samveteran/v1/RleMask.ts';
import type { Rollout as _samveteran_v1_Rollout, Rollout__Output as _samveteran_v1_Rollout__Output } from './samveteran/v1/Rollout.ts';
import type { RolloutGroup as _samveteran_v1_RolloutGroup, RolloutGroup__Output as _samveteran_v1_RolloutGroup__Output } from './samveteran/v1/RolloutGroup.ts';
import type { SamplingStats as _samveteran_v1_SamplingStats, SamplingStats__Output as _samveteran_v1_SamplingStats__Output } from './samveteran/v1/SamplingStats.ts';
import type { Task as _samveteran_v1_Task, Task__Output as _samveteran_v1_Task__Output } from './samveteran/v1/Task.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  samveteran: {
    v1: {
      Action: MessageTypeDefinition<_samveteran_v1_Action, _samveteran_v1_Action__Output>
      Box: MessageTypeDefinition<_samveteran_v1_Box, _samveteran_v1_Box__Output>
      ImageRef: MessageTypeDefinition<_samveteran_v1_ImageRef, _samveteran_v1_ImageRef__Output>
      LowResLogits: MessageTypeDefinition<_samveteran_v1_LowResLogits, _samveteran_v1_LowResLogits__Output>
      Observation: MessageTypeDefinition<_samveteran_v1_Observation, _samveteran_v1_Observation__Output>
      Point: MessageTypeDefinition<_samveteran_v1_Point, _samveteran_v1_Point__Output>
      PointLabel: EnumTypeDefinition
      PolicyRelease: MessageTypeDefinition<_samveteran_v1_PolicyRelease, _samveteran_v1_PolicyRelease__Output>
      PromptPoint: MessageTypeDefinition<_samveteran_v1_PromptPoint, _samveteran_v1_PromptPoint__Output>
      RawImage: MessageTypeDefinition<_samveteran_v1_RawImage, _samveteran_v1_RawImage__Output>
      RefineAction: MessageTypeDefinition<_samveteran_v1_RefineAction, _samveteran_v1_RefineAction__Output>
      RleMask: MessageTypeDefinition<_samveteran_v1_RleMask, _samveteran_v1_RleMask__Output>
      Rollout: MessageTypeDefinition<_samveteran_v1_Rollout, _samveteran_v1_Rollout__Output>
      RolloutGroup: MessageTypeDefinition<_samveteran_v1_RolloutGroup, _samveteran_v1_RolloutGroup__Output>
      SamplingStats: MessageTypeDefinition<_samveteran_v1_SamplingStats, _samveteran_v1_SamplingStats__Output>
      Task: MessageTypeDefinition<_samveteran_v1_Task, _samveteran_v1_Task__Output>
      TaskKind: EnumTypeDefinition
    }
  }
}

