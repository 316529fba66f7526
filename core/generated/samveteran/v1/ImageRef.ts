// Original file: proto/samveteran/v1/common.proto

import type { RawImage as _samveteran_v1_RawImage, RawImage__Output as _samveteran_v1_RawImage__Output } from '../../samveteran/v1/RawImage.ts';

/**
 * A content-addressed image. `digest` is always set; the source says where the pixels come from.
 * Servers cache by digest, so a reference without a source is valid when the receiver has seen the
 * digest before (otherwise: NOT_FOUND, "send image bytes for digest ...").
 */
export interface ImageRef {
  /**
   * Lowercase hex SHA-256 (64 chars) of `encoded` when encoded bytes are sent, or of `raw.rgb` when
   * raw pixels are sent. Receivers verify it against the bytes and reject a mismatch.
   */
  'digest'?: (string);
  /**
   * A complete PNG or JPEG file.
   */
  'encoded'?: (Buffer | Uint8Array | string);
  /**
   * Decoded 8-bit RGB pixels.
   */
  'raw'?: (_samveteran_v1_RawImage | null);
  /**
   * Key of the image in the shared image store (NATS Object Store bucket "images" by default).
   */
  'storeKey'?: (string);
  'source'?: "encoded"|"raw"|"storeKey";
}

/**
 * A content-addressed image. `digest` is always set; the source says where the pixels come from.
 * Servers cache by digest, so a reference without a source is valid when the receiver has seen the
 * digest before (otherwise: NOT_FOUND, "send image bytes for digest ...").
 */
export interface ImageRef__Output {
  /**
   * Lowercase hex SHA-256 (64 chars) of `encoded` when encoded bytes are sent, or of `raw.rgb` when
   * raw pixels are sent. Receivers verify it against the bytes and reject a mismatch.
   */
  'digest': (string);
  /**
   * A complete PNG or JPEG file.
   */
  'encoded'?: (Buffer);
  /**
   * Decoded 8-bit RGB pixels.
   */
  'raw'?: (_samveteran_v1_RawImage__Output | null);
  /**
   * Key of the image in the shared image store (NATS Object Store bucket "images" by default).
   */
  'storeKey'?: (string);
  'source'?: "encoded"|"raw"|"storeKey";
}
