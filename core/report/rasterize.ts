/**
 * SVG → PNG through sharp (librsvg). At density 72 one SVG user unit is one pixel, so the PNG has
 * exactly the SVG's width × height.
 */
import sharp from 'sharp';
import { SamVeteranError } from '../errors/index.ts';

export async function svgToPng(svg: string): Promise<Buffer> {
  try {
    return await sharp(Buffer.from(svg, 'utf8'), { density: 72 }).png({ compressionLevel: 6 }).toBuffer();
  } catch (err) {
    throw new SamVeteranError('INTERNAL', `could not rasterize chart SVG: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
