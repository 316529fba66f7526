// Original file: proto/samveteran/v1/common.proto

import type { Point as _samveteran_v1_Point, Point__Output as _samveteran_v1_Point__Output } from '../../samveteran/v1/Point.ts';
import type { PointLabel as _samveteran_v1_PointLabel, PointLabel__Output as _samveteran_v1_PointLabel__Output } from '../../samveteran/v1/PointLabel.ts';

export interface PromptPoint {
  'point'?: (_samveteran_v1_Point | null);
  'label'?: (_samveteran_v1_PointLabel);
}

export interface PromptPoint__Output {
  'point': (_samveteran_v1_Point__Output | null);
  'label': (_samveteran_v1_PointLabel__Output);
}
