/**
 * Exact Euclidean distance transform (Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled
 * Functions", Theory of Computing 8, 2012): the squared distance d(q) = min_p ((q − p)² + f(p)) is
 * the lower envelope of parabolas rooted at each sample, computed in O(n) per line; the 2-D
 * transform is a pass over rows followed by a pass over columns.
 */

/** Stand-in for +∞ that keeps the parabola-intersection arithmetic finite. */
const FAR = 1e20;

/**
 * Squared Euclidean distance (centre to centre, in pixels²) from every pixel to the nearest pixel
 * whose value is 0. Pixels with value 0 get 0. Pixels beyond the image are not considered; when
 * the mask has no 0 pixel at all, every distance is Infinity.
 */
export function squaredDistanceToOutside(region: Uint8Array, width: number, height: number): Float64Array {
  const n = Math.max(width, height);
  const f = new Float64Array(n);
  const d = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  const out = new Float64Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = region[i] === 0 ? 0 : FAR;

  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) f[x] = out[row + x]!;
    transform1d(f, width, d, v, z);
    for (let x = 0; x < width; x++) out[row + x] = d[x]!;
  }
  for (let x = 0; x < width; x++) {
    for (let y = 0, i = x; y < height; y++, i += width) f[y] = out[i]!;
    transform1d(f, height, d, v, z);
    for (let y = 0, i = x; y < height; y++, i += width) out[i] = d[y]! >= FAR / 2 ? Infinity : d[y]!;
  }
  return out;
}

/** 1-D squared distance transform of f[0..n) into d (v, z are scratch). */
function transform1d(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    const fq = f[q]! + q * q;
    let s = 0;
    for (;;) {
      const p = v[k]!;
      s = (fq - (f[p]! + p * p)) / (2 * q - 2 * p);
      if (s <= z[k]! && k > 0) k--;
      else break;
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1]! < q) k++;
    const p = v[k]!;
    d[q] = (q - p) * (q - p) + f[p]!;
  }
}
