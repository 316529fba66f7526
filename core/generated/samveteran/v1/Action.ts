// Original file: proto/samveteran/v1/training.proto

import type { Box as _samveteran_v1_Box, Box__Output as _samveteran_v1_Box__Output } from '../../samveteran/v1/Box.ts';
import type { RefineAction as _samveteran_v1_RefineAction, RefineAction__Output as _samveteran_v1_RefineAction__Output } from '../../samveteran/v1/RefineAction.ts';

/**
 * A parsed action of the grammar in ARCHITECTURE.md.
 */
export interface Action {
  /**
   * {"bbox_2d":[x1,y1,x2,y2]}
   */
  'box'?: (_samveteran_v1_Box | null);
  /**
   * {"positive_point":[x,y]|null,"negative_point":[x,y]|null}
   */
  'refine'?: (_samveteran_v1_RefineAction | null);
  'kind'?: "box"|"refine";
}

/**
 * A parsed action of the grammar in ARCHITECTURE.md.
 */
export interface Action__Output {
  /**
   * {"bbox_2d":[x1,y1,x2,y2]}
   */
  'box'?: (_samveteran_v1_Box__Output | null);
  /**
   * {"positive_point":[x,y]|null,"negative_point":[x,y]|null}
   */
  'refine'?: (_samveteran_v1_RefineAction__Output | null);
  'kind'?: "box"|"refine";
}
