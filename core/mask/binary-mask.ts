/**
 * A binary mask over an image: one byte per pixel (0 or 1), row-major (index y·width + x).
 * Row-major matches decoded image buffers (sharp, OpenCV, onnx tensors); COCO RLE's column-major
 * order is handled inside the RLE codec only.
 */
import { ValidationError } from '../errors/index.ts';
import type { ImageSize } from '../geometry/index.ts';

export class BinaryMask implements ImageSize {
  readonly width: number;
  readonly height: number;
  /** 0/1 per pixel, row-major. */
  readonly data: Uint8Array;

  constructor(width: number, height: number, data?: Uint8Array) {
    if (!Number.isInteger(width) || width < 1) throw new ValidationError('mask.width', width, 'must be a positive integer');
    if (!Number.isInteger(height) || height < 1) {
      throw new ValidationError('mask.height', height, 'must be a positive integer');
    }
    if (data && data.length !== width * height) {
      throw new ValidationError('mask.data', data, `has ${data.length} bytes, expected ${width}x${height}=${width * height}`);
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
    throw new ValidationError(field, `${b.width}x${b.height}`, `does not match the ${a.width}x${a.height} reference size`);
  }
}
