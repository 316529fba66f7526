// Original file: proto/samveteran/v1/common.proto


/**
 * Decoded RGB image, 3 bytes per pixel, row-major (HWC), no padding: rgb.length == width*height*3.
 */
export interface RawImage {
  /**
   * Pixels.
   */
  'width'?: (number);
  /**
   * Pixels.
   */
  'height'?: (number);
  'rgb'?: (Buffer | Uint8Array | string);
}

/**
 * Decoded RGB image, 3 bytes per pixel, row-major (HWC), no padding: rgb.length == width*height*3.
 */
export interface RawImage__Output {
  /**
   * Pixels.
   */
  'width': (number);
  /**
   * Pixels.
   */
  'height': (number);
  'rgb': (Buffer);
}
