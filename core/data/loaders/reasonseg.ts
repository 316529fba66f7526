/**
 * Loader for the ReasonSeg / LISA layout: a folder (one per split, e.g. `ReasonSeg/val/`) of images
 * with a same-name LabelMe-style JSON beside each:
 *
 *   <dir>/<stem>.jpg | .jpeg | .png
 *   <dir>/<stem>.json   {"text": ["question", …] (or one string), "is_sentence": bool,
 *                        "shapes": [{"label": "target"|"ignore"|"flag", "points": [[x, y], …],
 *                                    "shape_type"?: "polygon"|"rectangle"}, …],
 *                        "imageWidth"?: W, "imageHeight"?: H}
 *
 * Every text of a JSON becomes one sample (same image and mask). Mask semantics follow LISA's
 * reference loader: "flag" shapes are discarded; the remaining shapes are painted in order of
 * decreasing area, "target" as foreground and "ignore" as ignored, so a small shape drawn inside
 * a big one wins. Ignored pixels go to `Sample.ignore` and are left out of IoU. Polygons are filled
 * by pixel-centre sampling (core/mask), not OpenCV's fillPoly with a 1-px outline, so boundary
 * pixels can differ from LISA's masks by one pixel. Any other label is an error naming the file.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { NotFoundError } from '../../errors/index.ts';
import { BinaryMask, maskArea, polygonToFlat, rasterizePolygon } from '../../mask/index.ts';
import { DataFormatError, inFile } from '../io/data-format-error.ts';
import { decodeImageFile } from '../io/image-io.ts';
import { checkIndex, gtBoxOf, type Dataset, type Sample } from '../sample.ts';

const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.JPG', '.JPEG', '.PNG'];

interface ReasonSegShape {
  readonly label: 'target' | 'ignore';
  readonly points: Float64Array;
}

interface ReasonSegEntry {
  readonly jsonPath: string;
  readonly imagePath: string;
  readonly stem: string;
  readonly texts: readonly string[];
  readonly isSentence: boolean;
  readonly shapes: readonly ReasonSegShape[];
  readonly declaredSize: { width: number; height: number } | undefined;
}

export interface ReasonSegOptions {
  /** Split name recorded on samples (default: the folder's base name, e.g. "val"). */
  split?: string;
}

export interface ReasonSegDataset extends Dataset {
  readonly dir: string;
  /** Number of annotated images (samples are images × texts). */
  readonly images: number;
}

function parseShape(raw: unknown, i: number, file: string): ReasonSegShape | null {
  if (raw === null || typeof raw !== 'object')
    throw new DataFormatError(file, `shapes[${i}] must be an object`);
  const s = raw as { label?: unknown; points?: unknown; shape_type?: unknown };
  const label = typeof s.label === 'string' ? s.label.toLowerCase() : s.label;
  if (label === 'flag') return null;
  if (label !== 'target' && label !== 'ignore') {
    throw new DataFormatError(
      file,
      `shapes[${i}].label ${JSON.stringify(s.label)} is not one of "target", "ignore", "flag"`,
    );
  }
  const type = s.shape_type ?? 'polygon';
  let points = s.points;
  if (type === 'rectangle') {
    // LabelMe rectangles are two opposite corners.
    const pts = points as number[][];
    if (!Array.isArray(pts) || pts.length !== 2 || !pts.every((p) => Array.isArray(p) && p.length === 2)) {
      throw new DataFormatError(file, `shapes[${i}].points must be two corners for a rectangle`);
    }
    const [[x1, y1], [x2, y2]] = pts as [[number, number], [number, number]];
    points = [
      [x1, y1],
      [x2, y1],
      [x2, y2],
      [x1, y2],
    ];
  } else if (type !== 'polygon') {
    throw new DataFormatError(
      file,
      `shapes[${i}].shape_type ${JSON.stringify(type)} is not "polygon" or "rectangle"`,
    );
  }
  const flat = inFile(file, '', () => polygonToFlat(points as number[][], `shapes[${i}].points`));
  return { label, points: flat };
}

function parseEntry(jsonPath: string, imagePath: string, text: string): ReasonSegEntry {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DataFormatError(jsonPath, `invalid JSON (${(err as Error).message})`, { cause: err });
  }
  if (json === null || typeof json !== 'object')
    throw new DataFormatError(jsonPath, 'must contain a JSON object');
  const o = json as {
    text?: unknown;
    shapes?: unknown;
    is_sentence?: unknown;
    imageWidth?: unknown;
    imageHeight?: unknown;
  };
  const texts = typeof o.text === 'string' ? [o.text] : o.text;
  if (
    !Array.isArray(texts) ||
    texts.length === 0 ||
    !texts.every((t) => typeof t === 'string' && t.trim() !== '')
  ) {
    throw new DataFormatError(jsonPath, '"text" must be a non-empty list of non-empty strings');
  }
  if (!Array.isArray(o.shapes)) throw new DataFormatError(jsonPath, '"shapes" must be a list');
  const shapes = o.shapes
    .map((s, i) => parseShape(s, i, jsonPath))
    .filter((s): s is ReasonSegShape => s !== null);
  if (!shapes.some((s) => s.label === 'target')) throw new DataFormatError(jsonPath, 'has no "target" shape');
  const declaredSize =
    typeof o.imageWidth === 'number' && typeof o.imageHeight === 'number'
      ? { width: o.imageWidth, height: o.imageHeight }
      : undefined;
  const stem = basename(jsonPath, '.json');
  return {
    jsonPath,
    imagePath,
    stem,
    texts: texts as string[],
    isSentence: o.is_sentence === true,
    shapes,
    declaredSize,
  };
}

/**
 * Paints the shapes LISA's way (largest first, later = smaller wins) into a target and an ignore
 * mask of the given size.
 */
export function reasonSegMasks(
  shapes: readonly { label: 'target' | 'ignore'; points: Float64Array | readonly number[] }[],
  size: { width: number; height: number },
): { target: BinaryMask; ignore: BinaryMask | undefined } {
  const filled = shapes.map((s) => {
    const mask = rasterizePolygon(Array.from(s.points), size);
    return { label: s.label, mask, area: maskArea(mask) };
  });
  // Decreasing area; ties keep file order (LISA's argsort()[::-1] leaves tie order unspecified,
  // so we pick one that is deterministic).
  const order = filled
    .map((_, i) => i)
    .sort((a, b) => (filled[b]?.area ?? 0) - (filled[a]?.area ?? 0) || a - b);
  const labels = new Uint8Array(size.width * size.height);
  for (const k of order) {
    const f = filled[k];
    if (f === undefined) continue;
    const v = f.label === 'target' ? 1 : 2;
    const d = f.mask.data;
    for (let i = 0; i < d.length; i++) if (d[i] === 1) labels[i] = v;
  }
  const target = new BinaryMask(size.width, size.height);
  const ignore = new BinaryMask(size.width, size.height);
  let ignored = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) target.data[i] = 1;
    else if (labels[i] === 2) {
      ignore.data[i] = 1;
      ignored++;
    }
  }
  return { target, ignore: ignored > 0 ? ignore : undefined };
}

/** Opens a ReasonSeg/LISA split folder; JSONs and labels are validated now, images decoded on get. */
export async function openReasonSeg(dir: string, opts: ReasonSegOptions = {}): Promise<ReasonSegDataset> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new NotFoundError(`ReasonSeg folder ${dir} does not exist`);
    throw err;
  }
  const present = new Set(names);
  const entries: ReasonSegEntry[] = [];
  for (const name of names) {
    if (extname(name) !== '.json') continue;
    const jsonPath = join(dir, name);
    const stem = basename(name, '.json');
    const imageName = IMAGE_EXTENSIONS.map((e) => stem + e).find((n) => present.has(n));
    if (imageName === undefined) {
      throw new NotFoundError(`${jsonPath}: image ${stem}.jpg (or .jpeg/.png) is missing beside it`);
    }
    entries.push(parseEntry(jsonPath, join(dir, imageName), await readFile(jsonPath, 'utf8')));
  }
  if (entries.length === 0) throw new NotFoundError(`ReasonSeg folder ${dir} has no .json annotations`);
  const split = opts.split ?? basename(dir.replace(/[/\\]+$/, ''));
  const index: Array<readonly [entry: number, text: number]> = [];
  entries.forEach((e, i) => e.texts.forEach((_, k) => index.push([i, k])));
  const name = `reasonseg:${dir}`;
  return {
    name,
    dir,
    images: entries.length,
    size: index.length,
    async get(i: number): Promise<Sample> {
      checkIndex(i, index.length, name);
      const [ei, k] = index[i] as readonly [number, number];
      const e = entries[ei] as ReasonSegEntry;
      const image = await decodeImageFile(e.imagePath);
      if (
        e.declaredSize &&
        (e.declaredSize.width !== image.width || e.declaredSize.height !== image.height)
      ) {
        throw new DataFormatError(
          e.jsonPath,
          `imageWidth/imageHeight ${e.declaredSize.width}x${e.declaredSize.height} do not match ${e.imagePath} (${image.width}x${image.height})`,
        );
      }
      const { target, ignore } = reasonSegMasks(e.shapes, image);
      const gtBox = inFile(e.jsonPath, '', () => gtBoxOf(target, 'target shapes'));
      return {
        id: `${e.stem}-q${k}`,
        source: 'reasonseg',
        split,
        image,
        query: e.texts[k] as string,
        gtMask: target,
        ...(ignore !== undefined ? { ignore } : {}),
        gtBox,
        meta: { file: basename(e.jsonPath), textIndex: k, isSentence: e.isSentence },
      };
    },
  };
}
