/**
 * Synthetic test scenes for sam-env: textured background noise with filled, textured discs drawn on
 * it, exact ground-truth masks per disc, and the PNG encoding with its SHA-256. Seeded (core/rng).
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { BinaryMask } from '../../core/mask/index.ts';
import { Rng } from '../../core/rng/index.ts';

export interface Disc {
  readonly cx: number;
  readonly cy: number;
  readonly r: number;
  /** Base RGB colour. */
  readonly color: readonly [number, number, number];
}

export interface Scene {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
  readonly png: Uint8Array;
  readonly digest: string;
  /** One ground-truth mask per disc, in drawing order. */
  readonly masks: BinaryMask[];
}

export async function makeScene(
  width: number,
  height: number,
  discs: readonly Disc[],
  seed = 1,
): Promise<Scene> {
  const rng = new Rng(seed);
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    rgb[i * 3] = 40 + rng.int(50);
    rgb[i * 3 + 1] = 90 + rng.int(50);
    rgb[i * 3 + 2] = 60 + rng.int(50);
  }
  const masks = discs.map((d) => {
    const m = new BinaryMask(width, height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if ((x + 0.5 - d.cx) ** 2 + (y + 0.5 - d.cy) ** 2 > d.r * d.r) continue;
        m.set(x, y, 1);
        const i = (y * width + x) * 3;
        for (let c = 0; c < 3; c++) rgb[i + c] = Math.max(0, Math.min(255, d.color[c]! - 20 + rng.int(41)));
      }
    }
    return m;
  });
  const png = new Uint8Array(
    await sharp(rgb, { raw: { width, height, channels: 3 } })
      .png()
      .toBuffer(),
  );
  const digest = createHash('sha256').update(png).digest('hex');
  return { width, height, rgb, png, digest, masks };
}

export function maskIou(a: BinaryMask, b: BinaryMask): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i]!;
    const y = b.data[i]!;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union === 0 ? 1 : inter / union;
}

export const RED: readonly [number, number, number] = [205, 50, 45];
