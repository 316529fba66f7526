// Original file: proto/samveteran/v1/sam_env.proto

import type { ImageRef as _samveteran_v1_ImageRef, ImageRef__Output as _samveteran_v1_ImageRef__Output } from '../../samveteran/v1/ImageRef.ts';
import type { Prompt as _samveteran_v1_Prompt, Prompt__Output as _samveteran_v1_Prompt__Output } from '../../samveteran/v1/Prompt.ts';

export interface TransitionGroupRequest {
  'model'?: (string);
  'image'?: (_samveteran_v1_ImageRef | null);
  'prompts'?: (_samveteran_v1_Prompt)[];
  'returnLogits'?: (boolean);
}

export interface TransitionGroupRequest__Output {
  'model': (string);
  'image': (_samveteran_v1_ImageRef__Output | null);
  'prompts': (_samveteran_v1_Prompt__Output)[];
  'returnLogits': (boolean);
}
