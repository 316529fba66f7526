/**
 * Source index ranges [start, end) of each of `n` output cells over `len` input pixels: an area
 * average when downsampling, the nearest source pixel of the cell centre when upsampling.
 */
export function cellRanges(len: number, n: number): Int32Array {
  const r = new Int32Array(2 * n);
  for (let i = 0; i < n; i++) {
    let a = Math.floor((i * len) / n);
    let b = Math.floor(((i + 1) * len) / n);
    if (b <= a) {
      a = Math.min(len - 1, Math.floor(((i + 0.5) * len) / n));
      b = a + 1;
    }
    r[2 * i] = a;
    r[2 * i + 1] = b;
  }
  return r;
}
