// Original file: proto/samveteran/v1/common.proto


/**
 * Low-resolution mask logits (SAM: 256x256, pre-sigmoid, clamped to +-32), used as mask input for the
 * next transition of the same episode. Frame: the model's low-res grid, which covers the model's
 * padded square input (see the server's Info.low_res_size); opaque to clients, which only echo it.
 */
export interface LowResLogits {
  /**
   * Grid columns.
   */
  'width'?: (number);
  /**
   * Grid rows.
   */
  'height'?: (number);
  /**
   * width*height float32 values, little-endian, row-major.
   */
  'data'?: (Buffer | Uint8Array | string);
}

/**
 * Low-resolution mask logits (SAM: 256x256, pre-sigmoid, clamped to +-32), used as mask input for the
 * next transition of the same episode. Frame: the model's low-res grid, which covers the model's
 * padded square input (see the server's Info.low_res_size); opaque to clients, which only echo it.
 */
export interface LowResLogits__Output {
  /**
   * Grid columns.
   */
  'width': (number);
  /**
   * Grid rows.
   */
  'height': (number);
  /**
   * width*height float32 values, little-endian, row-major.
   */
  'data': (Buffer);
}
