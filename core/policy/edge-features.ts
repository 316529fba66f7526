/**
 * Oriented edge energy per patch cell (config.edgeBins > 0): a fixed, non-learned front end that
 * reads the image at twice the view's resolution and tells the network which way the edges in each
 * part of a patch run — the straight sides of a square, the three directions of a triangle, the
 * even spread of a circle — the way a histogram of oriented gradients (Dalal & Triggs 2005) does.
 *
 * The view the patch tokens are cut from is 64 px, where a small object is 8 px wide and its shape
 * is a few blurred pixels; a linear patch embedding then has to learn every shape at every offset.
 * Edge orientation at 128 px is what tells shapes apart, and it is cheap: one pass of central
 * differences, the colour channel with the strongest gradient at each pixel (so a red shape on a
 * grey ground has an edge even where their brightness matches), unsigned orientation (the shapes'
 * dark rims give both signs of one edge) soft-binned into `edgeBins` over [0, π), weighted by the
 * gradient magnitude above a noise floor, summed over `edgeCells`² cells per patch.
 * Histograms add up, so the local blocks' 3×3 convolutions can assemble an object's from the
 * patches it covers. Value per (cell, bin): 2·√(energy / cell pixels), so a cell crossed by one
 * strong edge reads about 0.5 and background texture reads 0.
 */
import type { PolicyConfig } from './config.ts';
import { resizeInto } from './resample.ts';

/** Gradient magnitude (RGB in [0, 1], central differences) below which a pixel adds nothing. */
export const EDGE_NOISE_FLOOR = 0.1;

/** Side of the image the edges are measured on: config.edgeScale (default 2) times the view. */
export function edgeViewSize(c: PolicyConfig): number {
  return c.edgeScale * c.viewSize;
}

/** Edge features per patch token. */
export function edgeFeatureCount(c: PolicyConfig): number {
  return c.edgeBins > 0 ? c.edgeCells * c.edgeCells * c.edgeBins : 0;
}

/** Reusable buffers of one edge-view size. */
export class EdgeScratch {
  readonly rgb: Float32Array;
  readonly energy: Float32Array;
  constructor(
    readonly side: number,
    cells: number,
  ) {
    this.rgb = new Float32Array(side * side * 3);
    this.energy = new Float32Array(cells);
  }
}

/**
 * Writes the edge features of `obs` into `out`: for patch k, its `edgeFeatureCount` values start at
 * `out[offset + k·stride]`, ordered (cell row, cell column, bin).
 */
export function edgeFeaturesInto(
  obs: { readonly width: number; readonly height: number; readonly rgb: Uint8Array },
  c: PolicyConfig,
  out: Float32Array,
  offset: number,
  stride: number,
  scratch?: EdgeScratch,
): void {
  const bins = c.edgeBins;
  const cellsPerSide = c.edgeCells;
  const S = edgeViewSize(c);
  const G = c.viewSize / c.patchSize;
  const cellSide = S / (G * cellsPerSide);
  const gridCells = G * cellsPerSide;
  const s = scratch && scratch.side === S ? scratch : new EdgeScratch(S, gridCells * gridCells * bins);
  const { rgb, energy } = s;
  energy.fill(0);

  resizeInto(obs, S, 3, rgb, 0);

  const floor2 = EDGE_NOISE_FLOOR * EDGE_NOISE_FLOOR;
  const binScale = bins / Math.PI;
  const row = 3 * S;
  for (let y = 1; y < S - 1; y++) {
    const cellRow = Math.floor(y / cellSide) * gridCells;
    for (let x = 1, o = 3 * (y * S + 1); x < S - 1; x++, o += 3) {
      // The channel with the strongest gradient (the first of equals), unrolled.
      const dxr = (rgb[o + 3] as number) - (rgb[o - 3] as number);
      const dyr = (rgb[o + row] as number) - (rgb[o - row] as number);
      const dxg = (rgb[o + 4] as number) - (rgb[o - 2] as number);
      const dyg = (rgb[o + row + 1] as number) - (rgb[o - row + 1] as number);
      const dxb = (rgb[o + 5] as number) - (rgb[o - 1] as number);
      const dyb = (rgb[o + row + 2] as number) - (rgb[o - row + 2] as number);
      const mr = dxr * dxr + dyr * dyr;
      const mg = dxg * dxg + dyg * dyg;
      const mb = dxb * dxb + dyb * dyb;
      let best = mr;
      let gx = dxr;
      let gy = dyr;
      if (mg > best) {
        best = mg;
        gx = dxg;
        gy = dyg;
      }
      if (mb > best) {
        best = mb;
        gx = dxb;
        gy = dyb;
      }
      if (best <= floor2) continue;
      const weight = Math.sqrt(best) - EDGE_NOISE_FLOOR;
      let theta = Math.atan2(gy, gx);
      if (theta < 0) theta += Math.PI;
      const t = theta * binScale - 0.5;
      const lo = Math.floor(t);
      const frac = t - lo;
      const b0 = (lo + bins) % bins;
      const b1 = (b0 + 1) % bins;
      const cell = (cellRow + Math.floor(x / cellSide)) * bins;
      energy[cell + b0] = (energy[cell + b0] as number) + weight * (1 - frac);
      energy[cell + b1] = (energy[cell + b1] as number) + weight * frac;
    }
  }

  const norm = 1 / (cellSide * cellSide);
  for (let gy = 0; gy < G; gy++) {
    for (let gx = 0; gx < G; gx++) {
      let dst = offset + (gy * G + gx) * stride;
      for (let cy = 0; cy < cellsPerSide; cy++) {
        for (let cx = 0; cx < cellsPerSide; cx++) {
          const src = ((gy * cellsPerSide + cy) * gridCells + gx * cellsPerSide + cx) * bins;
          for (let k = 0; k < bins; k++) out[dst++] = 2 * Math.sqrt((energy[src + k] as number) * norm);
        }
      }
    }
  }
}
