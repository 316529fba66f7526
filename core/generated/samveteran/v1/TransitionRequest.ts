// Original file: proto/samveteran/v1/sam_env.proto

import type { ImageRef as _samveteran_v1_ImageRef, ImageRef__Output as _samveteran_v1_ImageRef__Output } from '../../samveteran/v1/ImageRef.ts';
import type { Prompt as _samveteran_v1_Prompt, Prompt__Output as _samveteran_v1_Prompt__Output } from '../../samveteran/v1/Prompt.ts';

export interface TransitionRequest {
  /**
   * Expected model id or family; empty = whatever the server serves. A mismatch is INVALID_ARGUMENT.
   */
  'model'?: (string);
  'image'?: (_samveteran_v1_ImageRef | null);
  'prompt'?: (_samveteran_v1_Prompt | null);
  /**
   * Return low-res logits for the next step (off saves ~256 KiB per response for SAM).
   */
  'returnLogits'?: (boolean);
}

export interface TransitionRequest__Output {
  /**
   * Expected model id or family; empty = whatever the server serves. A mismatch is INVALID_ARGUMENT.
   */
  'model': (string);
  'image': (_samveteran_v1_ImageRef__Output | null);
  'prompt': (_samveteran_v1_Prompt__Output | null);
  /**
   * Return low-res logits for the next step (off saves ~256 KiB per response for SAM).
   */
  'returnLogits': (boolean);
}
