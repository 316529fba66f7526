/**
 * One referring-segmentation sample, whatever its source (synthetic world, ReasonSeg/LISA folder,
 * RefCOCO/+/g), and the dataset interface every consumer (training feeder, evaluation, CLI) uses.
 *
 * Memory design: a `Sample` carries its decoded image eagerly (`image.rgb`), because every
 * consumer needs the pixels at once and a synchronous field keeps policy code simple. Laziness
 * lives one level up: a `Dataset` holds only paths and annotations (a few hundred bytes per
 * sample) and decodes an image when `get(i)` is called, so a dataset of large photos never sits in
 * memory — only the samples a caller is currently holding do.
 */
import { SamVeteranError, ValidationError } from '../errors/index.ts';
import type { Box } from '../geometry/index.ts';
import { maskBbox, type BinaryMask, type RgbImage } from '../mask/index.ts';

/** The decoded image type is core/mask's (8-bit RGB, interleaved HWC, row-major); re-exported here. */
export type { RgbImage };

export type SampleSource = 'synthetic' | 'reasonseg' | 'refcoco';

/** Free-form facts about a sample (query family, template id, file name, …). */
export type SampleMeta = Readonly<Record<string, string | number | boolean>>;

export interface Sample {
  /** Unique within its dataset; safe as a file name (no '/'). */
  readonly id: string;
  readonly source: SampleSource;
  /** Split name: 'train' | 'id-val' | 'ood-val' for synthetic data, the dataset's own names otherwise. */
  readonly split: string;
  readonly image: RgbImage;
  /** The referring expression / reasoning question. */
  readonly query: string;
  /** Ground-truth mask, same size as the image. */
  readonly gtMask: BinaryMask;
  /** Pixels excluded from IoU (ReasonSeg "ignore" shapes); absent when nothing is ignored. */
  readonly ignore?: BinaryMask;
  /** Tight box of `gtMask` in pixel edges [x1, y1, x2, y2] (x2/y2 exclusive). */
  readonly gtBox: Box;
  readonly meta: SampleMeta;
}

/** An indexable collection of samples; `get` decodes on demand. */
export interface Dataset {
  /** Human-readable origin, e.g. "synthetic:id-val" or a directory. */
  readonly name: string;
  readonly size: number;
  get(index: number): Promise<Sample>;
}

export function checkRgbImage(image: RgbImage, field = 'image'): void {
  if (image.rgb.length !== image.width * image.height * 3) {
    throw new ValidationError(
      `${field}.rgb`,
      image.rgb,
      `has ${image.rgb.length} bytes, expected ${image.width}x${image.height}x3 = ${image.width * image.height * 3}`,
    );
  }
}

/**
 * The box of a ground-truth mask. An empty mask has no box; `where` names the file or sample so
 * the error says which annotation is broken.
 */
export function gtBoxOf(mask: BinaryMask, where: string): Box {
  const box = maskBbox(mask);
  if (box === null) throw new SamVeteranError('INVALID_ARGUMENT', `${where}: ground-truth mask is empty`);
  return box;
}

/** Validates an index into a dataset of `size` samples. */
export function checkIndex(index: number, size: number, name: string): void {
  if (!Number.isInteger(index) || index < 0 || index >= size) {
    throw new ValidationError('index', index, `is outside dataset ${name} of ${size} samples`);
  }
}

/** Iterates a dataset in order (or a prefix of `limit` samples). */
export async function* iterateDataset(ds: Dataset, limit = ds.size): AsyncGenerator<Sample> {
  const n = Math.min(limit, ds.size);
  for (let i = 0; i < n; i++) yield await ds.get(i);
}
