// Original file: proto/samveteran/v1/training.proto

import type { Point as _samveteran_v1_Point, Point__Output as _samveteran_v1_Point__Output } from '../../samveteran/v1/Point.ts';

/**
 * A refinement action: positive and/or negative point; both absent = stop, (null, null).
 */
export interface RefineAction {
  'positive'?: (_samveteran_v1_Point | null);
  'negative'?: (_samveteran_v1_Point | null);
}

/**
 * A refinement action: positive and/or negative point; both absent = stop, (null, null).
 */
export interface RefineAction__Output {
  'positive': (_samveteran_v1_Point__Output | null);
  'negative': (_samveteran_v1_Point__Output | null);
}
