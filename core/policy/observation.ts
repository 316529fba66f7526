/**
 * What the policy sees, and its conversion to network inputs (plain typed arrays, no tensors, so a
 * learner can prepare a batch once and reuse it across updates).
 *
 * The image is area-averaged (box filter; nearest when upsampling) into a viewSize² view and cut
 * into patchSize² patches, written patch-major: feature ((py·p + px)·C + c) of patch (gy·G + gx)
 * (with `convStem`, pixel (py, px) is at its quadtree position instead: see mortonIndex).
 * With `patchMargin` m > 0 each token holds the (p + 2m)² window around its patch instead.
 * Channels: R, G, B in [−0.5, 0.5], and optionally the mask coverage of the view pixel in
 * [−0.5, 0.5]; with `edgeBins` each token then carries its oriented edge energy (edge-features.ts).
 * The query becomes one-hot rows over the vocabulary (embedding = one-hot · E, which
 * trains on the WASM backend, unlike gather) plus a validity mask.
 */
import { ValidationError } from '../errors/index.ts';
import { detintOverlay, type BinaryMask } from '../mask/index.ts';
import type { PolicyConfig, PolicyDims } from './config.ts';
import { EdgeScratch, edgeFeaturesInto, edgeViewSize } from './edge-features.ts';
import { resizeInto } from './resample.ts';
import type { Vocabulary } from './vocabulary.ts';
import { tokenize } from './vocabulary.ts';

export interface PolicyObservation {
  readonly width: number;
  readonly height: number;
  /** RGB, 3 bytes per pixel, row-major (HWC), with the current mask already drawn as the green overlay. */
  readonly rgb: Uint8Array;
  /** The referring expression. */
  readonly query: string;
  /** The current mask (absent or null before the first box, i.e. an empty mask). */
  readonly mask?: BinaryMask | null;
}

/** A batch as network inputs. */
export interface PreparedBatch {
  /** Rows (actions to sample or score). */
  readonly size: number;
  /** [U, P, F] patch features of the batch's U observations (U = size unless `rowOf` is given). */
  readonly patches: Float32Array;
  /** [U, T, V] one-hot query tokens (all-zero rows for padding). */
  readonly queryOneHot: Float32Array;
  /** [U, T] 1 for a real token, 0 for padding. */
  readonly queryMask: Float32Array;
  /**
   * Row b reads observation rowOf[b] (length `size`, values in [0, U)). Omitted: row b reads
   * observation b. The G rollouts of one state share one observation, so with `rowOf` the encoder
   * runs once per state instead of once per rollout; only the action heads run per row.
   */
  readonly rowOf?: Int32Array;
  /** Original image size of every row, for decoding actions. */
  readonly imageSizes: readonly { width: number; height: number }[];
}

/** Observations in a prepared batch (U): `size` without `rowOf`. */
export function observationCount(prep: PreparedBatch): number {
  if (!prep.rowOf) return prep.size;
  let u = 0;
  for (const r of prep.rowOf) if (r + 1 > u) u = r + 1;
  return u;
}

/**
 * Rows that repeat observations: observation i of `prep` (a batch without `rowOf`) becomes
 * `counts[i]` consecutive rows, sharing its arrays (nothing is copied).
 */
export function repeatRows(prep: PreparedBatch, counts: readonly number[]): PreparedBatch {
  if (prep.rowOf) throw new ValidationError('prep.rowOf', 'present', 'must be absent: repeat a plain batch');
  if (counts.length !== prep.size) {
    throw new ValidationError('counts', counts.length, `must have one count per observation (${prep.size})`);
  }
  const n = counts.reduce((a, c) => a + c, 0);
  const rowOf = new Int32Array(n);
  const imageSizes: { width: number; height: number }[] = [];
  let row = 0;
  counts.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 1)
      throw new ValidationError(`counts[${i}]`, c, 'must be an integer >= 1');
    rowOf.fill(i, row, row + c);
    row += c;
    for (let k = 0; k < c; k++) imageSizes.push(prep.imageSizes[i] as { width: number; height: number });
  });
  return { ...prep, size: n, rowOf, imageSizes };
}

export function validateObservation(obs: PolicyObservation, field: string): void {
  if (!Number.isInteger(obs.width) || obs.width < 1)
    throw new ValidationError(`${field}.width`, obs.width, 'must be a positive integer');
  if (!Number.isInteger(obs.height) || obs.height < 1) {
    throw new ValidationError(`${field}.height`, obs.height, 'must be a positive integer');
  }
  if (!(obs.rgb instanceof Uint8Array) || obs.rgb.length !== obs.width * obs.height * 3) {
    throw new ValidationError(
      `${field}.rgb`,
      obs.rgb,
      `must be a Uint8Array of ${obs.width}x${obs.height}x3 bytes`,
    );
  }
  if (typeof obs.query !== 'string')
    throw new ValidationError(`${field}.query`, obs.query, 'must be a string');
  if (obs.mask && (obs.mask.width !== obs.width || obs.mask.height !== obs.height)) {
    throw new ValidationError(
      `${field}.mask`,
      `${obs.mask.width}x${obs.mask.height}`,
      `does not match the ${obs.width}x${obs.height} image`,
    );
  }
}

export function prepareBatch(
  batch: readonly PolicyObservation[],
  config: PolicyConfig,
  dims: PolicyDims,
  vocab: Vocabulary,
): PreparedBatch {
  const B = batch.length;
  const { viewSize: V, patchSize: p, maxQueryTokens: T } = config;
  const m = config.patchMargin;
  const w = p + 2 * m;
  const { grid: G, channels: C, patchFeatures: F, patches: P } = dims;
  const patches = new Float32Array(B * P * F);
  const queryOneHot = new Float32Array(B * T * vocab.size);
  const queryMask = new Float32Array(B * T);
  const view = new Float32Array(V * V * C);
  const morton = config.convStem > 0;
  const edges =
    config.edgeBins > 0
      ? new EdgeScratch(edgeViewSize(config), (G * config.edgeCells) ** 2 * config.edgeBins)
      : undefined;
  let clear: Uint8Array | undefined;
  batch.forEach((obs0, b) => {
    validateObservation(obs0, `observations[${b}]`);
    // The image under the overlay, for the parts of the front end config.detint names.
    const detinted =
      config.detint !== 'none' && obs0.mask
        ? { ...obs0, rgb: (clear = detintOverlay(obs0.rgb, obs0.mask, clear)) }
        : obs0;
    const obs = config.detint === 'all' ? detinted : obs0;
    resizeInto(obs, V, C as 3 | 4, view);
    const base = b * P * F;
    if (m === 0) {
      for (let y = 0; y < V; y++) {
        const gy = Math.floor(y / p);
        const py = y - gy * p;
        for (let x = 0; x < V; x++) {
          const gx = Math.floor(x / p);
          const px = x - gx * p;
          const within = morton ? mortonIndex(py, px) : py * p + px;
          const dst = base + (gy * G + gx) * F + within * C;
          const src = (y * V + x) * C;
          for (let c = 0; c < C; c++) patches[dst + c] = view[src + c] as number;
        }
      }
    } else {
      // Overlapping windows: feature ((wy·w + wx)·C + c) of patch (gy, gx) is view pixel
      // (gy·p − m + wy, gx·p − m + wx), zero outside the view.
      for (let gy = 0; gy < G; gy++) {
        for (let gx = 0; gx < G; gx++) {
          const patchBase = base + (gy * G + gx) * F;
          for (let wy = 0; wy < w; wy++) {
            const y = gy * p - m + wy;
            if (y < 0 || y >= V) continue;
            for (let wx = 0; wx < w; wx++) {
              const x = gx * p - m + wx;
              if (x < 0 || x >= V) continue;
              const dst = patchBase + (wy * w + wx) * C;
              const src = (y * V + x) * C;
              for (let c = 0; c < C; c++) patches[dst + c] = view[src + c] as number;
            }
          }
        }
      }
    }
    if (edges) edgeFeaturesInto(detinted, config, patches, base + dims.pixelFeatures, F, edges);
    const ids = tokenize(vocab, obs.query, T);
    ids.forEach((id, t) => {
      queryOneHot[(b * T + t) * vocab.size + id] = 1;
      queryMask[b * T + t] = 1;
    });
  });
  return {
    size: B,
    patches,
    queryOneHot,
    queryMask,
    imageSizes: batch.map((o) => ({ width: o.width, height: o.height })),
  };
}

/**
 * Position of pixel (py, px) of an 8×8 patch in quadtree (Morton) order, coarsest level first:
 * bits y2 x2 y1 x1 y0 x0. Consecutive runs of 4, 16 and 64 features are then the 2×2, 4×4 and 8×8
 * cells, which is what the convolutional stem reshapes into rows (no transposes in the graph).
 */
function mortonIndex(py: number, px: number): number {
  let i = 0;
  for (let bit = 2; bit >= 0; bit--) i = i * 4 + ((py >> bit) & 1) * 2 + ((px >> bit) & 1);
  return i;
}

/** Area-averaged view of the image (and mask coverage) into `out` [V, V, C], centred to [−0.5, 0.5]. */
