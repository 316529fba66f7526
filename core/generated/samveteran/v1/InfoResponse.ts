// Original file: proto/samveteran/v1/sam_env.proto

import type { Limits as _samveteran_v1_Limits, Limits__Output as _samveteran_v1_Limits__Output } from '../../samveteran/v1/Limits.ts';

export interface InfoResponse {
  /**
   * Stable model id, e.g. "grabcut@128" or "sam2-onnx:samexporter:1a2b3c4d".
   */
  'modelId'?: (string);
  /**
   * Export family: "grabcut", "sam2-samexporter", "sam2-rectlabel", "sam2-ort", "sam1-meta", ...
   */
  'family'?: (string);
  /**
   * Model input side in pixels (SAM: 1024; GrabCut: its working resolution).
   */
  'inputSize'?: (number);
  /**
   * Whether prev_logits are used as mask input.
   */
  'supportsMaskInput'?: (boolean);
  /**
   * Side of the low-res logit grid in cells (SAM: 256; 0 when no logits are produced).
   */
  'lowResSize'?: (number);
  'limits'?: (_samveteran_v1_Limits | null);
  /**
   * Server build version (package.json version).
   */
  'serverVersion'?: (string);
}

export interface InfoResponse__Output {
  /**
   * Stable model id, e.g. "grabcut@128" or "sam2-onnx:samexporter:1a2b3c4d".
   */
  'modelId': (string);
  /**
   * Export family: "grabcut", "sam2-samexporter", "sam2-rectlabel", "sam2-ort", "sam1-meta", ...
   */
  'family': (string);
  /**
   * Model input side in pixels (SAM: 1024; GrabCut: its working resolution).
   */
  'inputSize': (number);
  /**
   * Whether prev_logits are used as mask input.
   */
  'supportsMaskInput': (boolean);
  /**
   * Side of the low-res logit grid in cells (SAM: 256; 0 when no logits are produced).
   */
  'lowResSize': (number);
  'limits': (_samveteran_v1_Limits__Output | null);
  /**
   * Server build version (package.json version).
   */
  'serverVersion': (string);
}
