import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Box as _samveteran_v1_Box, Box__Output as _samveteran_v1_Box__Output } from './samveteran/v1/Box.ts';
import type { ImageRef as _samveteran_v1_ImageRef, ImageRef__Output as _samveteran_v1_ImageRef__Output } from './samveteran/v1/ImageRef.ts';
import type { InfoRequest as _samveteran_v1_InfoRequest, InfoRequest__Output as _samveteran_v1_InfoRequest__Output } from './samveteran/v1/InfoRequest.ts';
import type { InfoResponse as _samveteran_v1_InfoResponse, InfoResponse__Output as _samveteran_v1_InfoResponse__Output } from './samveteran/v1/InfoResponse.ts';
import type { Limits as _samveteran_v1_Limits, Limits__Output as _samveteran_v1_Limits__Output } from './samveteran/v1/Limits.ts';
import type { LowResLogits as _samveteran_v1_LowResLogits, LowResLogits__Output as _samveteran_v1_LowResLogits__Output } from './samveteran/v1/LowResLogits.ts';
import type { Point as _samveteran_v1_Point, Point__Output as _samveteran_v1_Point__Output } from './samveteran/v1/Point.ts';
import type { Prompt as _samveteran_v1_Prompt, Prompt__Output as _samveteran_v1_Prompt__Output } from './samveteran/v1/Prompt.ts';
import type { PromptPoint as _samveteran_v1_PromptPoint, PromptPoint__Output as _samveteran_v1_PromptPoint__Output } from './samveteran/v1/PromptPoint.ts';
import type { RawImage as _samveteran_v1_RawImage, RawImage__Output as _samveteran_v1_RawImage__Output } from './samveteran/v1/RawImage.ts';
import type { RleMask as _samveteran_v1_RleMask, RleMask__Output as _samveteran_v1_RleMask__Output } from './samveteran/v1/RleMask.ts';
import type { SamEnvClient as _samveteran_v1_SamEnvClient, SamEnvDefinition as _samveteran_v1_SamEnvDefinition } from './samveteran/v1/SamEnv.ts';
import type { StreamError as _samveteran_v1_StreamError, StreamError__Output as _samveteran_v1_StreamError__Output } from './samveteran/v1/StreamError.ts';
import type { TransitionGroupRequest as _samveteran_v1_TransitionGroupRequest, TransitionGroupRequest__Output as _samveteran_v1_TransitionGroupRequest__Output } from './samveteran/v1/TransitionGroupRequest.ts';
import type { TransitionGroupResponse as _samveteran_v1_TransitionGroupResponse, TransitionGroupResponse__Output as _samveteran_v1_TransitionGroupResponse__Output } from './samveteran/v1/TransitionGroupResponse.ts';
import type { TransitionRequest as _samveteran_v1_TransitionRequest, TransitionRequest__Output as _samveteran_v1_TransitionRequest__Output } from './samveteran/v1/TransitionRequest.ts';
import type { TransitionResponse as _samveteran_v1_TransitionResponse, TransitionResponse__Output as _samveteran_v1_TransitionResponse__Output } from './samveteran/v1/TransitionResponse.ts';
import type { TransitionResult as _samveteran_v1_TransitionResult, TransitionResult__Output as _samveteran_v1_TransitionResult__Output } from './samveteran/v1/TransitionResult.ts';
import type { TransitionStreamRequest as _samveteran_v1_TransitionStreamRequest, TransitionStreamRequest__Output as _samveteran_v1_TransitionStreamRequest__Output } from './samveteran/v1/TransitionStreamRequest.ts';
import type { TransitionStreamResponse as _samveteran_v1_TransitionStreamResponse, TransitionStreamResponse__Output as _samveteran_v1_TransitionStreamResponse__Output } from './samveteran/v1/TransitionStreamResponse.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  samveteran: {
    v1: {
      Box: MessageTypeDefinition<_samveteran_v1_Box, _samveteran_v1_Box__Output>
      ImageRef: MessageTypeDefinition<_samveteran_v1_ImageRef, _samveteran_v1_ImageRef__Output>
      InfoRequest: MessageTypeDefinition<_samveteran_v1_InfoRequest, _samveteran_v1_InfoRequest__Output>
      InfoResponse: MessageTypeDefinition<_samveteran_v1_InfoResponse, _samveteran_v1_InfoResponse__Output>
      Limits: MessageTypeDefinition<_samveteran_v1_Limits, _samveteran_v1_Limits__Output>
      LowResLogits: MessageTypeDefinition<_samveteran_v1_LowResLogits, _samveteran_v1_LowResLogits__Output>
      Point: MessageTypeDefinition<_samveteran_v1_Point, _samveteran_v1_Point__Output>
      PointLabel: EnumTypeDefinition
      Prompt: MessageTypeDefinition<_samveteran_v1_Prompt, _samveteran_v1_Prompt__Output>
      PromptPoint: MessageTypeDefinition<_samveteran_v1_PromptPoint, _samveteran_v1_PromptPoint__Output>
      RawImage: MessageTypeDefinition<_samveteran_v1_RawImage, _samveteran_v1_RawImage__Output>
      RleMask: MessageTypeDefinition<_samveteran_v1_RleMask, _samveteran_v1_RleMask__Output>
      SamEnv: SubtypeConstructor<typeof grpc.Client, _samveteran_v1_SamEnvClient> & { service: _samveteran_v1_SamEnvDefinition }
      StreamError: MessageTypeDefinition<_samveteran_v1_StreamError, _samveteran_v1_StreamError__Output>
      TransitionGroupRequest: MessageTypeDefinition<_samveteran_v1_TransitionGroupRequest, _samveteran_v1_TransitionGroupRequest__Output>
      TransitionGroupResponse: MessageTypeDefinition<_samveteran_v1_TransitionGroupResponse, _samveteran_v1_TransitionGroupResponse__Output>
      TransitionRequest: MessageTypeDefinition<_samveteran_v1_TransitionRequest, _samveteran_v1_TransitionRequest__Output>
      TransitionResponse: MessageTypeDefinition<_samveteran_v1_TransitionResponse, _samveteran_v1_TransitionResponse__Output>
      TransitionResult: MessageTypeDefinition<_samveteran_v1_TransitionResult, _samveteran_v1_TransitionResult__Output>
      TransitionStreamRequest: MessageTypeDefinition<_samveteran_v1_TransitionStreamRequest, _samveteran_v1_TransitionStreamRequest__Output>
      TransitionStreamResponse: MessageTypeDefinition<_samveteran_v1_TransitionStreamResponse, _samveteran_v1_TransitionStreamResponse__Output>
    }
  }
}

