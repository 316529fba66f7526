/**
 * Content digest of policy weights: `sha256:<hex>`. The learner publishes it with the `latest`
 * pointer; an actor refuses bytes whose digest differs (a torn or corrupted download).
 */
import { createHash } from 'node:crypto';
import { SamVeteranError } from '../errors/index.ts';

export function weightsDigest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Throws SamVeteranError INTERNAL naming the version when `bytes` do not hash to `expected`. */
export function verifyWeightsDigest(version: number, bytes: Uint8Array, expected: string): void {
  const actual = weightsDigest(bytes);
  if (actual !== expected) {
    throw new SamVeteranError(
      'INTERNAL',
      `weights version ${version} digest ${actual} does not match expected ${expected} (corrupt or wrong object)`,
    );
  }
}
