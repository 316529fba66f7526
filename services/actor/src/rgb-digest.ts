/**
 * Image identity shared by actors, learner and sam-env: the SHA-256 (lowercase hex) of the raw RGB
 * bytes, the same digest sam-env's client computes for a raw image (so the env's embedding cache
 * and the learner's image lookup agree on one key).
 */
import { createHash } from 'node:crypto';
import type { RgbImage } from '../../../core/mask/index.ts';

export function rgbDigest(image: RgbImage): string {
  return createHash('sha256').update(image.rgb).digest('hex');
}
