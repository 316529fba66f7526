/**
 * Bilinear resampling of single-channel grids (pixel-centre aligned, like OpenCV's INTER_LINEAR
 * with align_corners = false): destination pixel centre (x + 0.5) maps to source (x + 0.5)·sw/dw − 0.5.
 */
export function resampleBilinear(
  src: ArrayLike<number>,
  sw: number,
  sh: number,
  dw: number,
  dh: number,
): Float32Array {
  const out = new Float32Array(dw * dh);
  const fx = sw / dw;
  const fy = sh / dh;
  // Precompute the horizontal taps once per column.
  const x0s = new Int32Array(dw);
  const x1s = new Int32Array(dw);
  const wxs = new Float32Array(dw);
  for (let x = 0; x < dw; x++) {
    const sx = Math.min(Math.max((x + 0.5) * fx - 0.5, 0), sw - 1);
    const x0 = Math.floor(sx);
    x0s[x] = x0;
    x1s[x] = Math.min(x0 + 1, sw - 1);
    wxs[x] = sx - x0;
  }
  for (let y = 0; y < dh; y++) {
    const sy = Math.min(Math.max((y + 0.5) * fy - 0.5, 0), sh - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, sh - 1);
    const wy = sy - y0;
    const r0 = y0 * sw;
    const r1 = y1 * sw;
    const o = y * dw;
    for (let x = 0; x < dw; x++) {
      const a = x0s[x] as number;
      const b = x1s[x] as number;
      const wx = wxs[x] as number;
      const top = (src[r0 + a] as number) * (1 - wx) + (src[r0 + b] as number) * wx;
      const bot = (src[r1 + a] as number) * (1 - wx) + (src[r1 + b] as number) * wx;
      out[o + x] = top * (1 - wy) + bot * wy;
    }
  }
  return out;
}
