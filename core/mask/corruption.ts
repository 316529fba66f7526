/**
 * Seeded mask corruption: turns a ground-truth mask into a plausible wrong prediction by adding
 * and removing random star-shaped polygons centred near the object's boundary (where SAM's real
 * mistakes are: leaks into the background and bites out of the object). Used to make examples for
 * the auxiliary "point at the error" task, including clean ones.
 *
 * Guarantees: the same GT, options and Rng state give the same mask; the final change
 * (added + removed pixels against GT) never exceeds maxChangeFraction · reference area, where the
 * reference area is the GT area (or 1% of the image for an empty GT).
 */
import { ValidationError } from '../errors/index.ts';
import type { Rng } from '../rng/index.ts';
import { BinaryMask } from './binary-mask.ts';
import { maskArea } from './metrics.ts';
import { fillPolygon } from './polygon.ts';

export interface CorruptionOptions {
  /** Upper bound on (added + removed) pixels as a fraction of the GT area (default 0.3). */
  maxChangeFraction?: number;
  /** Polygon operations to attempt: a count or an inclusive [min, max] range (default [1, 3]). 0 gives a clean copy. */
  operations?: number | readonly [number, number];
  /** Probability of returning the GT unchanged, for clean examples (default 0). */
  cleanProbability?: number;
  /** Probability that an operation adds pixels rather than removes them (default 0.5). */
  addProbability?: number;
  /** Polygon radius range as a fraction of √(GT area) (default [0.1, 0.35]). */
  radiusFraction?: readonly [number, number];
  /** Vertex-count range of each star polygon (default [5, 10]). */
  vertices?: readonly [number, number];
}

export interface CorruptionResult {
  mask: BinaryMask;
  /** Pixels set in `mask` but not in GT. */
  added: number;
  /** GT pixels missing from `mask`. */
  removed: number;
  /** Polygon operations that were applied. */
  operations: number;
}

/** Shrink attempts for an operation that would exceed the change budget. */
const SHRINK_TRIES = 4;

function checkFraction(field: string, v: number, max = 1): void {
  if (!(Number.isFinite(v) && v >= 0 && v <= max))
    throw new ValidationError(field, v, `must be in [0, ${max}]`);
}

function checkRange(field: string, r: readonly [number, number], min: number): void {
  if (!(Number.isFinite(r[0]) && Number.isFinite(r[1]) && r[0] >= min && r[1] >= r[0])) {
    throw new ValidationError(field, r, `must be [lo, hi] with ${min} <= lo <= hi`);
  }
}

/** Corrupts `gt` with seeded random polygons; see the file header for the guarantees. */
export function corruptMask(gt: BinaryMask, rng: Rng, opts: CorruptionOptions = {}): CorruptionResult {
  const maxChangeFraction = opts.maxChangeFraction ?? 0.3;
  const cleanProbability = opts.cleanProbability ?? 0;
  const addProbability = opts.addProbability ?? 0.5;
  const radiusFraction = opts.radiusFraction ?? [0.1, 0.35];
  const vertices = opts.vertices ?? [5, 10];
  const opsOpt = opts.operations ?? [1, 3];
  const opsRange: readonly [number, number] = typeof opsOpt === 'number' ? [opsOpt, opsOpt] : opsOpt;
  checkFraction('maxChangeFraction', maxChangeFraction, 10);
  checkFraction('cleanProbability', cleanProbability);
  checkFraction('addProbability', addProbability);
  checkRange('radiusFraction', radiusFraction, 0);
  checkRange('vertices', vertices, 3);
  checkRange('operations', opsRange, 0);

  const { width: w, height: h } = gt;
  const g = gt.data;
  const mask = gt.clone();
  const clean = rng.float() < cleanProbability;
  const nOps = clean ? 0 : rng.intBetween(Math.floor(opsRange[0]), Math.floor(opsRange[1]));
  if (nOps === 0) return { mask, added: 0, removed: 0, operations: 0 };

  const gtArea = maskArea(gt);
  const refArea = gtArea > 0 ? gtArea : 0.01 * w * h;
  const budget = Math.floor(maxChangeFraction * refArea);
  const scale = Math.sqrt(Math.max(refArea, 16));
  const boundary = boundaryPixels(gt);
  const scratch = new BinaryMask(w, h);
  const sd = scratch.data;
  const md = mask.data;
  let diff = 0;
  let applied = 0;

  for (let op = 0; op < nOps; op++) {
    const add = rng.float() < addProbability;
    // Centre: a random boundary pixel (anywhere for an empty GT), jittered a little.
    const at = boundary.length > 0 ? boundary[rng.int(boundary.length)]! : rng.int(w * h);
    let r = rng.uniform(radiusFraction[0], radiusFraction[1]) * scale;
    const cx = (at % w) + 0.5 + rng.uniform(-0.25, 0.25) * r;
    const cy = Math.floor(at / w) + 0.5 + rng.uniform(-0.25, 0.25) * r;
    const k = rng.intBetween(vertices[0], vertices[1]);
    const phase = rng.uniform(0, 2 * Math.PI);
    const shape = new Float64Array(2 * k);
    for (let i = 0; i < k; i++) {
      shape[2 * i] = (i + rng.uniform(-0.3, 0.3)) * ((2 * Math.PI) / k) + phase; // angle
      shape[2 * i + 1] = rng.uniform(0.5, 1); // radius factor
    }
    for (let attempt = 0; attempt < SHRINK_TRIES && r >= 0.5; attempt++, r *= 0.6) {
      const flat = new Float64Array(2 * k);
      for (let i = 0; i < k; i++) {
        flat[2 * i] = cx + r * shape[2 * i + 1]! * Math.cos(shape[2 * i]!);
        flat[2 * i + 1] = cy + r * shape[2 * i + 1]! * Math.sin(shape[2 * i]!);
      }
      const x0 = Math.max(0, Math.floor(cx - r - 1));
      const x1 = Math.min(w, Math.ceil(cx + r + 1));
      const y0 = Math.max(0, Math.floor(cy - r - 1));
      const y1 = Math.min(h, Math.ceil(cy + r + 1));
      if (x1 <= x0 || y1 <= y0) break;
      fillPolygon(scratch, flat, 1);
      // Effect on |mask XOR gt| of painting the polygon with value `add`.
      const target = add ? 1 : 0;
      let delta = 0;
      let touched = 0;
      for (let y = y0; y < y1; y++) {
        for (let i = y * w + x0, end = y * w + x1; i < end; i++) {
          if (sd[i] === 0 || md[i] === target) continue;
          touched++;
          delta += g[i] === target ? -1 : 1;
        }
      }
      const ok = touched > 0 && diff + delta <= budget;
      for (let y = y0; y < y1; y++) {
        for (let i = y * w + x0, end = y * w + x1; i < end; i++) {
          if (sd[i] !== 0) {
            if (ok) md[i] = target;
            sd[i] = 0;
          }
        }
      }
      if (ok) {
        diff += delta;
        applied++;
        break;
      }
      if (touched === 0) break; // the polygon changes nothing at any size (e.g. adding inside GT)
    }
  }

  let added = 0;
  let removed = 0;
  for (let i = 0; i < md.length; i++) {
    const m = md[i]!;
    const t = g[i]!;
    added += m & (t ^ 1);
    removed += t & (m ^ 1);
  }
  return { mask, added, removed, operations: applied };
}

/** Indices of GT pixels with a 4-neighbour outside GT (the image border counts as outside). */
function boundaryPixels(gt: BinaryMask): number[] {
  const { width: w, height: h, data } = gt;
  const out: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (data[i] === 0) continue;
      if (x === 0 || y === 0 || x === w - 1 || y === h - 1) out.push(i);
      else if (data[i - 1] === 0 || data[i + 1] === 0 || data[i - w] === 0 || data[i + w] === 0) out.push(i);
    }
  }
  return out;
}
