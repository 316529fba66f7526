/**
 * Image decoding and encoding through sharp (libvips). Decoding always yields 8-bit sRGB with three
 * channels: greyscale JPEGs (COCO has some) are expanded, alpha is dropped, 16-bit PNGs are
 * reduced. EXIF orientation is deliberately NOT applied: COCO and LabelMe annotations are in the
 * stored pixel grid, so rotating the pixels would misalign every polygon.
 *
 * sharp is loaded on first use, so importing core/data (e.g. only for the synthetic world) does not
 * load libvips.
 */
import { readFile } from 'node:fs/promises';
import type { Sharp, SharpOptions } from 'sharp';
import type * as SharpModule from 'sharp';
import { NotFoundError, SamVeteranError } from '../../errors/index.ts';
import type { RgbImage } from '../sample.ts';

let sharpModule: Promise<typeof SharpModule> | undefined;

async function sharp(input: Uint8Array | string, options?: SharpOptions): Promise<Sharp> {
  sharpModule ??= import('sharp');
  const { default: create } = await sharpModule;
  return create(input, options);
}

/** Decodes a JPEG/PNG (or anything libvips reads) file to RGB; errors name the file. */
export async function decodeImageFile(path: string): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new NotFoundError(`image file ${path} does not exist`);
    throw new SamVeteranError(
      'INVALID_ARGUMENT',
      `image file ${path} cannot be read: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return decodeImageBytes(bytes, path);
}

/** Decodes encoded image bytes to RGB; `where` names the source in errors. */
export async function decodeImageBytes(bytes: Uint8Array, where: string): Promise<RgbImage> {
  try {
    const { data, info } = await (
      await sharp(bytes)
    )
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return {
      width: info.width,
      height: info.height,
      rgb: new Uint8Array(data.buffer, data.byteOffset, data.length),
    };
  } catch (err) {
    throw new SamVeteranError(
      'INVALID_ARGUMENT',
      `image ${where} cannot be decoded: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/** Reads only the header for the pixel size (no full decode). */
export async function imageFileSize(path: string): Promise<{ width: number; height: number }> {
  try {
    const m = await (await sharp(path)).metadata();
    if (m.width === undefined || m.height === undefined) throw new Error('no size in header');
    return { width: m.width, height: m.height };
  } catch (err) {
    throw new SamVeteranError('INVALID_ARGUMENT', `image ${path} cannot be read: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Encodes RGB as PNG (lossless). Settings are pinned (compression 6, adaptive filtering off, no
 * palette) rather than left to library defaults, so the same pixels give the same bytes.
 */
export async function encodePng(image: RgbImage): Promise<Buffer> {
  return (await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } }))
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

/** Encodes RGB as JPEG (used for the RefCOCO fixtures, whose real images are JPEGs). */
export async function encodeJpeg(image: RgbImage, quality = 92): Promise<Buffer> {
  return (await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } }))
    .jpeg({ quality, chromaSubsampling: '4:4:4' })
    .toBuffer();
}
