/**
 * Source index ranges [start, end) of each of `n` output cells over `len` input pixels: an area
 * average when downsampling, the nearest source pixel of the cell centre when upsampling.
 */
function cellRanges(len: number, n: number): Int32Array {
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

/**
 * Area-averages the image (and, with C = 4, the mask coverage) into a V×V view, HWC, each value in
 * [−centre, 1 − centre]: the policy's view uses centre 0.5, the edge view 0 (plain [0, 1]).
 */
export function resizeInto(
  obs: {
    readonly width: number;
    readonly height: number;
    readonly rgb: Uint8Array;
    readonly mask?: { readonly data: Uint8Array } | null;
  },
  V: number,
  C: 3 | 4,
  out: Float32Array,
  centre = 0.5,
): void {
  const { width: W, height: H, rgb } = obs;
  const xs = cellRanges(W, V);
  const ys = cellRanges(H, V);
  const mask = C === 4 ? obs.mask?.data : undefined;
  for (let vy = 0; vy < V; vy++) {
    const y0 = ys[2 * vy] as number;
    const y1 = ys[2 * vy + 1] as number;
    for (let vx = 0; vx < V; vx++) {
      const x0 = xs[2 * vx] as number;
      const x1 = xs[2 * vx + 1] as number;
      let r = 0;
      let g = 0;
      let bl = 0;
      let m = 0;
      for (let y = y0; y < y1; y++) {
        let i = y * W + x0;
        for (let x = x0; x < x1; x++, i++) {
          r += rgb[3 * i] as number;
          g += rgb[3 * i + 1] as number;
          bl += rgb[3 * i + 2] as number;
          if (mask) m += mask[i] as number;
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      const o = (vy * V + vx) * C;
      const s = 1 / (255 * n);
      out[o] = r * s - centre;
      out[o + 1] = g * s - centre;
      out[o + 2] = bl * s - centre;
      if (C === 4) out[o + 3] = m / n - 0.5;
    }
  }
}
