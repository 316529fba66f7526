import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Box as _samveteran_v1_Box, Box__Output as _samveteran_v1_Box__Output } from './samveteran/v1/Box.ts';
import type { ImageRef as _samveteran_v1_ImageRef, ImageRef__Output as _samveteran_v1_ImageRef__Output } from './samveteran/v1/ImageRef.ts';
import type { LowResLogits as _samveteran_v1_LowResLogits, LowResLogits__Output as _samveteran_v1_LowResLogits__Output } from './samveteran/v1/LowResLogits.ts';
import type { Point as _samveteran_v1_Point, Point__Output as _samveteran_v1_Point__Output } from './samveteran/v1/Point.ts';
import type { PromptPoint as _samveteran_v1_PromptPoint, PromptPoint__Output as _samveteran_v1_PromptPoint__Output } from './samveteran/v1/PromptPoint.ts';
import type { RawImage as _samveteran_v1_RawImage, RawImage__Output as _samveteran_v1_RawImage__Output } from './samveteran/v1/RawImage.ts';
import type { RleMask as _samveteran_v1_RleMask, RleMask__Output as _samveteran_v1_RleMask__Output } from './samveteran/v1/RleMask.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  samveteran: {
    v1: {
      Box: MessageTypeDefinition<_samveteran_v1_Box, _samveteran_v1_Box__Output>
      ImageRef: MessageTypeDefinition<_samveteran_v1_ImageRef, _samveteran_v1_ImageRef__Output>
      LowResLogits: MessageTypeDefinition<_samveteran_v1_LowResLogits, _samveteran_v1_LowResLogits__Output>
      Point: MessageTypeDefinition<_samveteran_v1_Point, _samveteran_v1_Point__Output>
      PointLabel: EnumTypeDefinition
      PromptPoint: MessageTypeDefinition<_samveteran_v1_PromptPoint, _samveteran_v1_PromptPoint__Output>
      RawImage: MessageTypeDefinition<_samveteran_v1_RawImage, _samveteran_v1_RawImage__Output>
      RleMask: MessageTypeDefinition<_samveteran_v1_RleMask, _samveteran_v1_RleMask__Output>
    }
  }
}

