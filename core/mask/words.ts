/**
 * Word-at-a-time helpers for 0/1 byte masks (SWAR: four pixels per 32-bit word). Because every
 * byte is 0 or 1, adding up to 255 words keeps each byte lane's sum ≤ 255 with no carry into the
 * next lane, so one integer add counts four pixels at once.
 */

/** A Uint32 view over `bytes` when its offset is 4-aligned (the trailing length % 4 bytes excluded). */
export function wordView(bytes: Uint8Array): Uint32Array | null {
  if (bytes.byteOffset % 4 !== 0) return null;
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
}

/** Sum of the four byte lanes of a word. */
export function laneSum(v: number): number {
  return (v & 0xff) + ((v >>> 8) & 0xff) + ((v >>> 16) & 0xff) + (v >>> 24);
}

/** Words per lane-accumulator flush (255 ones per lane at most). */
export const FLUSH_WORDS = 255;
