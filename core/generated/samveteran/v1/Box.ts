// Original file: proto/samveteran/v1/common.proto


/**
 * Axis-aligned box [x1, y1, x2, y2] in absolute pixels; x1 <= x2, y1 <= y2.
 */
export interface Box {
  'x1'?: (number | string);
  'y1'?: (number | string);
  'x2'?: (number | string);
  'y2'?: (number | string);
}

/**
 * Axis-aligned box [x1, y1, x2, y2] in absolute pixels; x1 <= x2, y1 <= y2.
 */
export interface Box__Output {
  'x1': (number);
  'y1': (number);
  'x2': (number);
  'y2': (number);
}
