/**
 * Reads the sam-veteran-dataset layout (see dataset-format.ts). Opening parses the manifest and all
 * annotation lines (small: RLE strings); `get(i)` decodes the PNG and the masks on demand.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError } from '../../errors/index.ts';
import { boxIou } from '../../geometry/index.ts';
import { decodeCocoRle, maskBbox, type BinaryMask } from '../../mask/index.ts';
import { checkIndex, type Dataset, type Sample } from '../sample.ts';
import { DataFormatError, inFile } from './data-format-error.ts';
import {
  annotationSchema,
  describeZodError,
  MANIFEST_FILE,
  manifestSchema,
  type AnnotationRecord,
  type DatasetManifest,
} from './dataset-format.ts';
import { decodeImageFile } from './image-io.ts';

export interface SamDataset extends Dataset {
  readonly dir: string;
  readonly manifest: DatasetManifest;
  /** Annotation records in sample order (no pixels). */
  readonly records: readonly AnnotationRecord[];
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new NotFoundError(`${what} ${path} does not exist`);
    throw err;
  }
}

function parseJson(text: string, file: string, where = ''): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new DataFormatError(file, `${where}${where ? ': ' : ''}invalid JSON (${(err as Error).message})`, {
      cause: err,
    });
  }
}

/** Opens a dataset directory written by DatasetWriter (or `sam-veteran data gen`). */
export async function openSamDataset(dir: string): Promise<SamDataset> {
  const manifestPath = join(dir, MANIFEST_FILE);
  const manifestText = await readText(
    manifestPath,
    'dataset manifest (for ReasonSeg or RefCOCO folders use reasonseg:<dir> or refcoco:<dir>:<split>)',
  );
  const parsedManifest = manifestSchema.safeParse(parseJson(manifestText, manifestPath));
  if (!parsedManifest.success)
    throw new DataFormatError(manifestPath, describeZodError(parsedManifest.error));
  const manifest = parsedManifest.data;
  const annotationsPath = join(dir, manifest.annotations);
  const lines = (await readText(annotationsPath, 'annotations file')).split('\n');
  const records: AnnotationRecord[] = [];
  const ids = new Set<string>();
  lines.forEach((line, k) => {
    if (line.trim() === '') return;
    const where = `line ${k + 1}`;
    const parsed = annotationSchema.safeParse(parseJson(line, annotationsPath, where));
    if (!parsed.success)
      throw new DataFormatError(annotationsPath, `${where}: ${describeZodError(parsed.error)}`);
    if (ids.has(parsed.data.id))
      throw new DataFormatError(annotationsPath, `${where}: duplicate id "${parsed.data.id}"`);
    ids.add(parsed.data.id);
    records.push(parsed.data);
  });
  if (records.length !== manifest.count) {
    throw new DataFormatError(
      manifestPath,
      `count ${manifest.count} does not match ${records.length} lines in ${annotationsPath}`,
    );
  }
  const name = dir;
  return {
    name,
    dir,
    manifest,
    records,
    size: records.length,
    async get(index: number): Promise<Sample> {
      checkIndex(index, records.length, name);
      const rec = records[index] as AnnotationRecord;
      const where = `line ${index + 1} (id "${rec.id}")`;
      const imagePath = join(dir, rec.image);
      const image = await decodeImageFile(imagePath);
      if (image.width !== rec.width || image.height !== rec.height) {
        throw new DataFormatError(
          imagePath,
          `is ${image.width}x${image.height} but ${annotationsPath} ${where} says ${rec.width}x${rec.height}`,
        );
      }
      const decode = (rle: AnnotationRecord['mask'], field: string): BinaryMask =>
        inFile(annotationsPath, where, () => {
          if (rle.size[0] !== image.height || rle.size[1] !== image.width) {
            throw new DataFormatError(
              annotationsPath,
              `${where}: ${field} RLE size [${rle.size.join(', ')}] does not fit the ${image.width}x${image.height} image (expected [${image.height}, ${image.width}])`,
            );
          }
          return decodeCocoRle(rle, field);
        });
      const gtMask = decode(rec.mask, 'mask');
      const ignore = rec.ignore !== undefined ? decode(rec.ignore, 'ignore') : undefined;
      const box = maskBbox(gtMask);
      if (box === null) throw new DataFormatError(annotationsPath, `${where}: mask is empty`);
      if (boxIou(box, rec.box) < 0.999) {
        throw new DataFormatError(
          annotationsPath,
          `${where}: box [${rec.box.join(', ')}] does not match the mask's box [${box.join(', ')}]`,
        );
      }
      return {
        id: rec.id,
        source: rec.source,
        split: rec.split,
        image,
        query: rec.query,
        gtMask,
        ...(ignore !== undefined ? { ignore } : {}),
        gtBox: box,
        meta: rec.meta,
      };
    },
  };
}
