/**
 * Dense per-patch targets of a synthetic sample for the policy's dense heads (config.denseClasses):
 * what share of each patch the referred object covers, and what each patch shows (background or
 * one of the world's shapes). A box example teaches grounding through one centre token; these give
 * the warm start a label for every patch of every example, the shape labels independently of the
 * query (shape-only and extreme queries were where the box went wrong: README, "Warm start").
 */
import { SHAPES, type Scene } from '../data/index.ts';
import { ValidationError } from '../errors/index.ts';
import type { BinaryMask } from '../mask/index.ts';
import type { DensePatchTargets } from '../policy/index.ts';

/** Classes of the dense class head: background, then SHAPES in order. */
export const DENSE_CLASSES = 1 + SHAPES.length;

const SHAPE_CLASS = new Map<string, number>(SHAPES.map((s, i) => [s, 1 + i]));

/**
 * Per-patch shares over a grid×grid partition of the image (the policy's view is the whole image
 * resized, so patch (gy, gx) covers rows [gy·H/G, (gy+1)·H/G) and the same for columns).
 */
export function denseTargetsOf(scene: Scene, target: BinaryMask, grid: number): DensePatchTargets {
  const { width: W, height: H } = scene;
  if (target.width !== W || target.height !== H) {
    throw new ValidationError('target', `${target.width}x${target.height}`, `must be the scene's ${W}x${H}`);
  }
  const P = grid * grid;
  const C = DENSE_CLASSES;
  const coverage = new Float32Array(P);
  const classes = new Float32Array(P * C);
  const pixels = new Float32Array(P);
  const classOf = scene.objects.map((o) => SHAPE_CLASS.get(o.shape) ?? 0);
  const colOf = Int32Array.from({ length: W }, (_, x) => Math.min(grid - 1, Math.floor((x * grid) / W)));
  for (let y = 0; y < H; y++) {
    const rowBase = Math.min(grid - 1, Math.floor((y * grid) / H)) * grid;
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const p = rowBase + (colOf[x] as number);
      pixels[p] = (pixels[p] as number) + 1;
      coverage[p] = (coverage[p] as number) + (target.data[i] as number);
      const label = scene.labels[i] as number;
      const k = p * C + (label < 0 ? 0 : (classOf[label] as number));
      classes[k] = (classes[k] as number) + 1;
    }
  }
  for (let p = 0; p < P; p++) {
    const n = Math.max(1, pixels[p] as number);
    coverage[p] = (coverage[p] as number) / n;
    for (let c = 0; c < C; c++) classes[p * C + c] = (classes[p * C + c] as number) / n;
  }
  return { coverage, classes };
}
