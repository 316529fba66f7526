/**
 * Loader for RefCOCO / RefCOCO+ / RefCOCOg (the `refer` toolkit's layout), with the refs as JSON:
 *
 *   <dir>/instances.json   COCO instances: {"images": [{id, file_name, width, height}],
 *                          "annotations": [{id, image_id, segmentation, iscrowd?}], …}
 *                          segmentation: polygons [[x1, y1, x2, y2, …], …] (union of parts), or
 *                          RLE {"size": [h, w], "counts": "<compressed>" | [runs]} (iscrowd).
 *   <dir>/refs.json        a JSON array of {ref_id, ann_id, image_id, split,
 *                          sentences: [{sent, sent_id?}, …]} — the content of refer's
 *                          `refs(unc).p` / `refs(umd).p` / `refs(google).p` pickles, which Node
 *                          cannot read; convert once with
 *                          python -c "import pickle,json,sys; json.dump(pickle.load(open(sys.argv[1],'rb')),open(sys.argv[2],'w'))" 'refs(unc).p' refs.json
 *                          (`refs(unc).json` etc. beside instances.json are also found).
 *   <dir>/images/<file_name>   the COCO train2014 images (or pass `imagesDir`).
 *
 * Each sentence of each ref in the chosen split is one sample. Splits are the refs' own
 * (RefCOCO/+: train, val, testA, testB; RefCOCOg umd: train, val, test).
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError } from '../../errors/index.ts';
import { decodeCocoRle, polygonToFlat, rasterizePolygons, type BinaryMask } from '../../mask/index.ts';
import { DataFormatError, inFile } from '../io/data-format-error.ts';
import { decodeImageFile } from '../io/image-io.ts';
import { checkIndex, gtBoxOf, type Dataset, type Sample } from '../sample.ts';

export interface RefCocoOptions {
  /** Only refs of this split (default: all splits). */
  split?: string;
  /** Instances JSON (default `<dir>/instances.json`). */
  instancesFile?: string;
  /** Refs JSON (default: the first of refs.json, refs(unc).json, refs(umd).json, refs(google).json in dir). */
  refsFile?: string;
  /** Image folder (default `<dir>/images`). */
  imagesDir?: string;
}

export interface RefCocoDataset extends Dataset {
  readonly dir: string;
  readonly split: string | undefined;
  /** Number of refs (objects) selected; samples are refs × sentences. */
  readonly refs: number;
}

interface CocoImage {
  readonly id: number;
  readonly file_name: string;
  readonly width: number;
  readonly height: number;
}

type Segmentation = number[][] | { size: [number, number]; counts: string | number[] };

interface CocoAnnotation {
  readonly id: number;
  readonly image_id: number;
  readonly segmentation: Segmentation;
}

interface RefEntry {
  readonly refId: number;
  readonly split: string;
  readonly ann: CocoAnnotation;
  readonly image: CocoImage;
  readonly sentence: string;
  readonly sentenceIndex: number;
}

const REFS_CANDIDATES = ['refs.json', 'refs(unc).json', 'refs(umd).json', 'refs(google).json'];

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new NotFoundError(`${what} ${path} does not exist`);
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new DataFormatError(path, `invalid JSON (${(err as Error).message})`, { cause: err });
  }
}

function isInt(v: unknown): v is number {
  return Number.isInteger(v);
}

/** Checks an annotation's segmentation against its image, so broken files fail at open time. */
function checkSegmentation(ann: CocoAnnotation, image: CocoImage, file: string): void {
  const where = `annotation ${ann.id}`;
  const seg = ann.segmentation as unknown;
  if (Array.isArray(seg)) {
    if (seg.length === 0) throw new DataFormatError(file, `${where}: segmentation has no polygon`);
    seg.forEach((poly, i) =>
      inFile(file, where, () => polygonToFlat(poly as number[], `segmentation[${i}]`)),
    );
    return;
  }
  if (seg === null || typeof seg !== 'object') {
    throw new DataFormatError(file, `${where}: segmentation must be a polygon list or an RLE object`);
  }
  const rle = seg as { size?: unknown; counts?: unknown };
  const size = rle.size;
  if (!Array.isArray(size) || size.length !== 2 || size[0] !== image.height || size[1] !== image.width) {
    throw new DataFormatError(
      file,
      `${where}: RLE size ${JSON.stringify(size)} does not fit image ${image.id} (${image.file_name}, ${image.width}x${image.height}; expected [${image.height}, ${image.width}])`,
    );
  }
  if (typeof rle.counts !== 'string' && !Array.isArray(rle.counts)) {
    throw new DataFormatError(file, `${where}: RLE counts must be a string or a list of run lengths`);
  }
}

function segmentationMask(ann: CocoAnnotation, image: CocoImage, file: string): BinaryMask {
  const where = `annotation ${ann.id}`;
  return inFile(file, where, () => {
    const seg = ann.segmentation;
    if (Array.isArray(seg)) return rasterizePolygons(seg, image, 'segmentation');
    return decodeCocoRle(seg, 'segmentation');
  });
}

/** Opens RefCOCO/+/g; refs, annotations and image records are validated now, pixels decoded on get. */
export async function openRefCoco(dir: string, opts: RefCocoOptions = {}): Promise<RefCocoDataset> {
  const instancesFile = opts.instancesFile ?? join(dir, 'instances.json');
  let refsFile = opts.refsFile;
  if (refsFile === undefined) {
    for (const c of REFS_CANDIDATES) {
      if (await exists(join(dir, c))) {
        refsFile = join(dir, c);
        break;
      }
    }
  }
  if (refsFile === undefined) {
    throw new NotFoundError(
      `RefCOCO folder ${dir} has no refs JSON (looked for ${REFS_CANDIDATES.join(', ')}; convert refs(unc).p to JSON, see core/data/README.md)`,
    );
  }
  const imagesDir = opts.imagesDir ?? join(dir, 'images');
  const instances = (await readJson(instancesFile, 'COCO instances file')) as {
    images?: unknown;
    annotations?: unknown;
  };
  if (
    instances === null ||
    typeof instances !== 'object' ||
    !Array.isArray(instances.images) ||
    !Array.isArray(instances.annotations)
  ) {
    throw new DataFormatError(
      instancesFile,
      'must be a COCO instances object with "images" and "annotations" lists',
    );
  }
  const images = new Map<number, CocoImage>();
  (instances.images as unknown[]).forEach((raw, i) => {
    const im = raw as Partial<CocoImage>;
    if (
      !isInt(im.id) ||
      typeof im.file_name !== 'string' ||
      !isInt(im.width) ||
      !isInt(im.height) ||
      im.width < 1 ||
      im.height < 1
    ) {
      throw new DataFormatError(
        instancesFile,
        `images[${i}] must have integer id, width, height and a file_name`,
      );
    }
    images.set(im.id, im as CocoImage);
  });
  const anns = new Map<number, CocoAnnotation>();
  (instances.annotations as unknown[]).forEach((raw, i) => {
    const a = raw as Partial<CocoAnnotation>;
    if (!isInt(a.id) || !isInt(a.image_id) || a.segmentation === undefined) {
      throw new DataFormatError(
        instancesFile,
        `annotations[${i}] must have integer id, image_id and a segmentation`,
      );
    }
    anns.set(a.id, a as CocoAnnotation);
  });

  const refs = await readJson(refsFile, 'refs file');
  if (!Array.isArray(refs)) throw new DataFormatError(refsFile, 'must be a JSON array of refs');
  const entries: RefEntry[] = [];
  const splits = new Set<string>();
  let refCount = 0;
  refs.forEach((raw: unknown, i) => {
    const r = raw as {
      ref_id?: unknown;
      ann_id?: unknown;
      image_id?: unknown;
      split?: unknown;
      sentences?: unknown;
    };
    if (!isInt(r.ref_id) || !isInt(r.ann_id) || typeof r.split !== 'string' || !Array.isArray(r.sentences)) {
      throw new DataFormatError(
        refsFile,
        `refs[${i}] must have integer ref_id, ann_id, a split and a sentences list`,
      );
    }
    splits.add(r.split);
    if (opts.split !== undefined && r.split !== opts.split) return;
    const ann = anns.get(r.ann_id);
    if (ann === undefined)
      throw new DataFormatError(refsFile, `ref ${r.ref_id}: ann_id ${r.ann_id} is not in ${instancesFile}`);
    const image = images.get(ann.image_id);
    if (image === undefined) {
      throw new DataFormatError(
        instancesFile,
        `annotation ${ann.id}: image_id ${ann.image_id} is not in "images"`,
      );
    }
    if (isInt(r.image_id) && r.image_id !== ann.image_id) {
      throw new DataFormatError(
        refsFile,
        `ref ${r.ref_id}: image_id ${r.image_id} differs from annotation ${ann.id}'s ${ann.image_id}`,
      );
    }
    checkSegmentation(ann, image, instancesFile);
    refCount++;
    (r.sentences as unknown[]).forEach((s, k) => {
      const sent =
        (s as { sent?: unknown; raw?: unknown } | null)?.sent ?? (s as { raw?: unknown } | null)?.raw;
      if (typeof sent !== 'string')
        throw new DataFormatError(refsFile, `ref ${r.ref_id}: sentences[${k}].sent must be a string`);
      entries.push({
        refId: r.ref_id as number,
        split: r.split as string,
        ann,
        image,
        sentence: sent,
        sentenceIndex: k,
      });
    });
  });
  if (opts.split !== undefined && refCount === 0) {
    throw new NotFoundError(
      `${refsFile} has no refs in split "${opts.split}" (splits: ${[...splits].sort().join(', ')})`,
    );
  }
  const name = `refcoco:${dir}${opts.split !== undefined ? `:${opts.split}` : ''}`;
  return {
    name,
    dir,
    split: opts.split,
    refs: refCount,
    size: entries.length,
    async get(i: number): Promise<Sample> {
      checkIndex(i, entries.length, name);
      const e = entries[i] as RefEntry;
      const imagePath = join(imagesDir, e.image.file_name);
      const image = await decodeImageFile(imagePath);
      if (image.width !== e.image.width || image.height !== e.image.height) {
        throw new DataFormatError(
          imagePath,
          `is ${image.width}x${image.height} but ${instancesFile} image ${e.image.id} says ${e.image.width}x${e.image.height}`,
        );
      }
      const gtMask = segmentationMask(e.ann, e.image, instancesFile);
      const gtBox = inFile(instancesFile, `annotation ${e.ann.id}`, () => gtBoxOf(gtMask, 'segmentation'));
      return {
        id: `ref${e.refId}-s${e.sentenceIndex}`,
        source: 'refcoco',
        split: e.split,
        image,
        query: e.sentence,
        gtMask,
        gtBox,
        meta: {
          refId: e.refId,
          annId: e.ann.id,
          imageId: e.image.id,
          file: e.image.file_name,
          sentenceIndex: e.sentenceIndex,
        },
      };
    },
  };
}
