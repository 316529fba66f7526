// Original file: proto/samveteran/v1/common.proto


/**
 * A binary mask as COCO run-length encoding, byte-identical to pycocotools' compressed form:
 * runs over the pixels in COLUMN-major order (down the first column, then the next), alternating
 * 0-runs and 1-runs and starting with a (possibly empty) run of zeros, then LEB128-like
 * delta-compressed into an ASCII string (pycocotools `rleToString`).
 */
export interface RleMask {
  /**
   * Rows (pixels). COCO's `size` is [height, width].
   */
  'height'?: (number);
  /**
   * Columns (pixels).
   */
  'width'?: (number);
  /**
   * Compressed counts string.
   */
  'counts'?: (string);
}

/**
 * A binary mask as COCO run-length encoding, byte-identical to pycocotools' compressed form:
 * runs over the pixels in COLUMN-major order (down the first column, then the next), alternating
 * 0-runs and 1-runs and starting with a (possibly empty) run of zeros, then LEB128-like
 * delta-compressed into an ASCII string (pycocotools `rleToString`).
 */
export interface RleMask__Output {
  /**
   * Rows (pixels). COCO's `size` is [height, width].
   */
  'height': (number);
  /**
   * Columns (pixels).
   */
  'width': (number);
  /**
   * Compressed counts string.
   */
  'counts': (string);
}
