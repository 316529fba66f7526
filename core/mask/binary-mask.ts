/**
 * A binary mask over an image: one byte per pixel (0 or 1), row-major (index y·width + x).
 * Row-major matches decoded image buffers (sharp, OpenCV, onnx tensors); COCO RLE's column-major
 * order is handled inside the RLE codec only.
 *
 * Contract: every byte is 0 or 1. The fast paths (IoU, area, RLE) work on whole words and rely on
 * it; build masks from 0/255 or other bytes with `BinaryMask.fromBytes`.
 */
import { ValidationError } from '../errors/index.ts';
import type { ImageSize } from '../geometry/index.ts';

export class BinaryMask implements ImageSize {
  readonly width: number;
  readonly height: number;
  /** 0/1 per pixel, row-major. */
  readonly data: Uint8Array;

  constructor(width: number, height: number, data?: Uint8Array) {
    if (!Number.isInteger(width) || width < 1)
      throw new ValidationError('mask.width', width, 'must be a positive integer');
    if (!Number.isInteger(height) || height < 1) {
      throw new ValidationError('mask.height', height, 'must be a positive integer');
    }
    if (data && data.length !== width * height) {
      throw new ValidationError(
        'mask.data',
        data,
        `has ${data.length} bytes, expected ${width}x${height}=${width * height}`,
      );
    }
    this.width = width;
    this.height = height;
    this.data = data ?? new Uint8Array(width * height);
  }

  static empty(size: ImageSize): BinaryMask {
    return new BinaryMask(size.width, size.height);
  }

  static full(size: ImageSize): BinaryMask {
    return new BinaryMask(size.width, size.height, new Uint8Array(size.width * size.height).fill(1));
  }

  /**
   * A mask from arbitrary bytes (e.g. a decoded 0/255 PNG): 1 where byte > threshold (default 0).
   * Use this rather than the constructor for data that is not already 0/1, which every fast path
   * in this module assumes.
   */
  static fromBytes(width: number, height: number, bytes: ArrayLike<number>, threshold = 0): BinaryMask {
    if (bytes.length !== width * height) {
      throw new ValidationError(
        'mask.data',
        bytes,
        `has ${bytes.length} values, expected ${width}x${height}=${width * height}`,
      );
    }
    const data = new Uint8Array(width * height);
    for (let i = 0; i < data.length; i++) data[i] = bytes[i]! > threshold ? 1 : 0;
    return new BinaryMask(width, height, data);
  }

  get(x: number, y: number): number {
    return this.data[y * this.width + x] ?? 0;
  }

  set(x: number, y: number, v: 0 | 1): void {
    this.data[y * this.width + x] = v;
  }

  clone(): BinaryMask {
    return new BinaryMask(this.width, this.height, this.data.slice());
  }

  sameSize(other: ImageSize): boolean {
    return this.width === other.width && this.height === other.height;
  }
}

/** Throws a ValidationError naming `field` when two masks differ in size. */
export function assertSameSize(a: ImageSize, b: ImageSize, field = 'mask'): void {
  if (a.width !== b.width || a.height !== b.height) {
    throw new ValidationError(
      field,
      `${b.width}x${b.height}`,
      `does not match the ${a.width}x${a.height} reference size`,
    );
  }
}
