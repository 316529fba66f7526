// Original file: proto/samveteran/v1/common.proto


/**
 * A point in absolute pixels of the original image.
 */
export interface Point {
  'x'?: (number | string);
  'y'?: (number | string);
}

/**
 * A point in absolute pixels of the original image.
 */
export interface Point__Output {
  'x': (number);
  'y': (number);
}
