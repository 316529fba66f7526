/**
 * Renders a laid-out scene to RGB: a textured background (two octaves of seeded value noise, an
 * optional stripe pattern, a muted non-green tone — the policy sees its masks as a green overlay,
 * so a green background would make overlay and image hard to tell apart), shapes with mild
 * directional shading and a darker one-pixel rim (so two touching shapes of one colour stay
 * separable), and per-pixel noise everywhere.
 *
 * Value noise: random values on a lattice of spacing `cell`, blended with the smoothstep
 * weights s(t) = t²(3 − 2t) (Perlin's "value noise" without gradients).
 */
import type { Rng } from '../../rng/index.ts';
import type { Scene } from './scene.ts';

/** Muted background tones (greys, beiges, browns, slate, mauve): none is green or saturated. */
const BACKGROUND_TONES: ReadonlyArray<readonly [number, number, number]> = [
  [128, 124, 120],
  [172, 156, 128],
  [122, 108, 96],
  [112, 120, 138],
  [150, 134, 142],
  [96, 96, 104],
  [186, 180, 172],
  [140, 118, 110],
];

function valueNoise(width: number, height: number, cell: number, rng: Rng): Float32Array {
  const gw = Math.ceil(width / cell) + 2;
  const gh = Math.ceil(height / cell) + 2;
  const lattice = new Float32Array(gw * gh);
  for (let i = 0; i < lattice.length; i++) lattice[i] = rng.float() * 2 - 1;
  // Column lattice indices and smoothstep weights are the same on every row: compute them once.
  const ixs = new Int32Array(width);
  const txs = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const fx = x / cell;
    const ix = Math.floor(fx);
    const tx = fx - ix;
    ixs[x] = ix;
    txs[x] = tx * tx * (3 - 2 * tx);
  }
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const fy = y / cell;
    const iy = Math.floor(fy);
    let ty = fy - iy;
    ty = ty * ty * (3 - 2 * ty);
    const r0 = iy * gw;
    const r1 = r0 + gw;
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const ix = ixs[x] as number;
      const tx = txs[x] as number;
      const a = lattice[r0 + ix] as number;
      const b = lattice[r0 + ix + 1] as number;
      const c = lattice[r1 + ix] as number;
      const d = lattice[r1 + ix + 1] as number;
      out[row + x] = (a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty;
    }
  }
  return out;
}

/** Renders the scene; draws all randomness from `rng` (so the bytes depend only on its state). */
export function renderScene(scene: Scene, rng: Rng): Uint8Array {
  const { width, height, labels, objects } = scene;
  const side = Math.min(width, height);
  const tone = rng.pick(BACKGROUND_TONES);
  const coarse = valueNoise(width, height, Math.max(4, side / 4), rng);
  const fine = valueNoise(width, height, Math.max(2, side / 18), rng);
  const tint = valueNoise(width, height, Math.max(4, side / 3), rng);
  const coarseAmp = rng.uniform(14, 30);
  const fineAmp = rng.uniform(5, 12);
  const tintAmp = rng.uniform(4, 10);
  const stripes = rng.bool(0.4);
  const stripeAngle = rng.uniform(0, Math.PI);
  const stripePeriod = rng.uniform(0.025, 0.08) * side;
  const stripeAmp = stripes ? rng.uniform(6, 16) : 0;
  const sc = Math.cos(stripeAngle);
  const ss = Math.sin(stripeAngle);
  const light = rng.uniform(0, 2 * Math.PI);
  const lx = Math.cos(light);
  const ly = Math.sin(light);
  const shadeAmp = rng.uniform(0.08, 0.16);
  const noiseAmp = rng.uniform(4, 10);

  // Stripes sin(kx·x + ky·y) = sin(kx·x)cos(ky·y) + cos(kx·x)sin(ky·y): separable, so per-pixel
  // work is two multiplies instead of a sin().
  const k = (2 * Math.PI) / stripePeriod;
  const sinX = new Float32Array(width);
  const cosX = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    sinX[x] = Math.sin(k * sc * x) * stripeAmp;
    cosX[x] = Math.cos(k * sc * x) * stripeAmp;
  }
  // Per-pixel noise from an inline xorshift32 seeded by the scene's stream (cheaper than a call
  // per pixel, still fully determined by `rng`).
  let state = rng.nextU32() | 1;
  const noiseScale = noiseAmp / 511.5;

  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sinY = Math.sin(k * ss * y);
    const cosY = Math.cos(k * ss * y);
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      // One 32-bit draw gives three independent 10-bit uniforms in [−noiseAmp, noiseAmp].
      const n0 = ((state & 1023) - 511.5) * noiseScale;
      const n1 = (((state >> 10) & 1023) - 511.5) * noiseScale;
      const n2 = (((state >> 20) & 1023) - 511.5) * noiseScale;
      const owner = labels[i] as number;
      let r: number;
      let g: number;
      let b: number;
      if (owner < 0) {
        let lum = (coarse[i] as number) * coarseAmp + (fine[i] as number) * fineAmp;
        if (stripes) lum += (sinX[x] as number) * cosY + (cosX[x] as number) * sinY;
        // The tint moves along a warm–cool axis (red against blue) and never towards green.
        const t = (tint[i] as number) * tintAmp;
        r = tone[0] + lum + t;
        g = tone[1] + lum;
        b = tone[2] + lum - t;
      } else {
        const o = objects[owner];
        if (o === undefined) continue;
        const dx = (x + 0.5 - o.cx) / o.radius;
        const dy = (y + 0.5 - o.cy) / o.radius;
        let shade = 1 + shadeAmp * Math.max(-1.5, Math.min(1.5, dx * lx + dy * ly));
        const rim =
          (x > 0 && labels[i - 1] !== owner) ||
          (x < width - 1 && labels[i + 1] !== owner) ||
          (y > 0 && labels[i - width] !== owner) ||
          (y < height - 1 && labels[i + width] !== owner);
        if (rim) shade *= 0.72;
        r = o.rgb[0] * shade;
        g = o.rgb[1] * shade;
        b = o.rgb[2] * shade;
      }
      const j = i * 3;
      rgb[j] = clampByte(r + n0);
      rgb[j + 1] = clampByte(g + n1);
      rgb[j + 2] = clampByte(b + n2);
    }
  }
  return rgb;
}

/** Rounds half up and clamps to 0..255 (integer ops: Math.round on doubles is much slower here). */
function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
}
