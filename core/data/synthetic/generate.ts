/**
 * The synthetic referring-segmentation world: `generateSample(split, index, {seed, size})` is a pure
 * function — the same arguments give byte-identical images, masks and queries on every machine —
 * and fast (about a millisecond at 256×256), so training can draw samples on the fly.
 *
 * Each (seed, split, index) seeds its own random stream, so splits never share scenes and sample i
 * does not depend on samples before it. Splits: `train` and `id-val` use the in-distribution query
 * family and never contain a held-out colour×shape pair; `ood-val` uses the out-of-distribution
 * family (held-out pairs as targets, ordinals, spatial relations, nearest-object and colour-matching
 * references).
 */
import { SamVeteranError, ValidationError } from '../../errors/index.ts';
import { BinaryMask } from '../../mask/index.ts';
import { Rng } from '../../rng/index.ts';
import { checkIndex, gtBoxOf, type Dataset, type Sample } from '../sample.ts';
import { phraseDescription, resolveDescription, type Description } from './referring.ts';
import { renderScene } from './render.ts';
import { layoutScene, objectMaskData, type Scene, type SceneObject } from './scene.ts';
import { planQuery, type QueryFamily } from './templates.ts';
import { isHeldOutPair } from './vocabulary.ts';

export const SYNTHETIC_SPLITS = ['train', 'id-val', 'ood-val'] as const;
export type SyntheticSplit = (typeof SYNTHETIC_SPLITS)[number];

export interface SyntheticOptions {
  /** World seed (default 0). Changes every sample of every split. */
  seed?: number;
  /** Square image side in pixels (default 256, at least 32). */
  size?: number;
  /** Minimum and maximum number of shapes per scene (defaults 2 and 6). */
  minObjects?: number;
  maxObjects?: number;
}

/** A sample together with the scene it was drawn from (for tests and visual debugging). */
export interface SyntheticResult {
  readonly sample: Sample;
  readonly scene: Scene;
  readonly target: SceneObject;
  readonly description: Description;
}

const MAX_ATTEMPTS = 400;

export function isSyntheticSplit(s: string): s is SyntheticSplit {
  return (SYNTHETIC_SPLITS as readonly string[]).includes(s);
}

export function familyOfSplit(split: SyntheticSplit): QueryFamily {
  return split === 'ood-val' ? 'ood' : 'id';
}

function resolveOptions(opts: SyntheticOptions): Required<SyntheticOptions> {
  const seed = opts.seed ?? 0;
  const size = opts.size ?? 256;
  const minObjects = opts.minObjects ?? 2;
  const maxObjects = opts.maxObjects ?? 6;
  if (!Number.isInteger(seed) || seed < 0)
    throw new ValidationError('seed', seed, 'must be a non-negative integer');
  if (!Number.isInteger(size) || size < 32 || size > 4096) {
    throw new ValidationError('size', size, 'must be an integer in [32, 4096] pixels');
  }
  if (!Number.isInteger(minObjects) || minObjects < 2) {
    throw new ValidationError('minObjects', minObjects, 'must be an integer >= 2');
  }
  if (!Number.isInteger(maxObjects) || maxObjects < minObjects || maxObjects > 12) {
    throw new ValidationError('maxObjects', maxObjects, `must be an integer in [${minObjects}, 12]`);
  }
  return { seed, size, minObjects, maxObjects };
}

/** The id of synthetic sample `index` of `split` under `seed` (also its file name stem). */
export function syntheticSampleId(split: SyntheticSplit, index: number, seed: number): string {
  return `syn-${split}-${seed}-${index}`;
}

/** Generates sample `index` of `split`, with its scene. Pure: depends only on its arguments. */
export function generateSynthetic(
  split: SyntheticSplit,
  index: number,
  opts: SyntheticOptions = {},
): SyntheticResult {
  if (!isSyntheticSplit(split)) {
    throw new ValidationError('split', split, `must be one of ${SYNTHETIC_SPLITS.join(', ')}`);
  }
  if (!Number.isInteger(index) || index < 0)
    throw new ValidationError('index', index, 'must be a non-negative integer');
  const o = resolveOptions(opts);
  const family = familyOfSplit(split);
  const root = new Rng(`sam-veteran/synthetic/v1:${o.seed}:${split}:${index}:${o.size}`);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const rng = root.fork(attempt);
    const count = rng.intBetween(o.minObjects, o.maxObjects);
    const plan = planQuery(family, count, rng);
    // Paint order is random, so the target is sometimes in front and sometimes occluded.
    const specs = rng.shuffle([...plan.specs]);
    const scene = layoutScene(specs, o.size, o.size, rng);
    if (scene.objects.length < 2) continue;
    if (family === 'id' && scene.objects.some((x) => isHeldOutPair(x.color, x.shape))) continue;
    const hits = resolveDescription(plan.description, scene);
    if (hits === null || hits.length !== 1) continue;
    const target = hits[0] as SceneObject;
    const query = phraseDescription(plan.description, rng);
    const gtMask = new BinaryMask(o.size, o.size, objectMaskData(scene, target.id));
    const id = syntheticSampleId(split, index, o.seed);
    const image = { width: o.size, height: o.size, rgb: renderScene(scene, rng) };
    const sample: Sample = {
      id,
      source: 'synthetic',
      split,
      image,
      query,
      gtMask,
      gtBox: gtBoxOf(gtMask, id),
      meta: {
        family,
        template: plan.template,
        seed: o.seed,
        index,
        objects: scene.objects.length,
        targetShape: target.shape,
        targetColor: target.color,
        targetSize: target.size,
        heldOutTarget: isHeldOutPair(target.color, target.shape),
        visibleFraction: Math.round((target.visiblePixels / target.fullPixels) * 1000) / 1000,
      },
    };
    return { sample, scene, target, description: plan.description };
  }
  throw new SamVeteranError(
    'INTERNAL',
    `synthetic ${split} #${index}: no unambiguous query after ${MAX_ATTEMPTS} scenes`,
  );
}

/** Generates sample `index` of `split` (see `generateSynthetic`). */
export function generateSample(split: SyntheticSplit, index: number, opts: SyntheticOptions = {}): Sample {
  return generateSynthetic(split, index, opts).sample;
}

/** Default number of samples of a synthetic dataset when a spec does not say (train is unbounded in principle). */
export const DEFAULT_SYNTHETIC_COUNT: Readonly<Record<SyntheticSplit, number>> = {
  train: 100_000,
  'id-val': 200,
  'ood-val': 200,
};

/** A synthetic split as a `Dataset` of `count` samples (generated on each `get`, nothing cached). */
export function syntheticDataset(
  split: SyntheticSplit,
  count?: number,
  opts: SyntheticOptions = {},
): Dataset {
  const o = resolveOptions(opts);
  const size = count ?? DEFAULT_SYNTHETIC_COUNT[split];
  if (!Number.isInteger(size) || size < 1)
    throw new ValidationError('count', count, 'must be a positive integer');
  const name = `synthetic:${split}`;
  return {
    name,
    size,
    get(i: number): Promise<Sample> {
      try {
        checkIndex(i, size, name);
        return Promise.resolve(generateSample(split, i, o));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    },
  };
}
