/**
 * Writes samples in the sam-veteran-dataset layout (see dataset-format.ts): one PNG per sample,
 * one annotation line per sample appended as it is added (so a 100k-sample dump never holds more
 * than one sample in memory), and the manifest last — a folder without a manifest is an
 * unfinished write and is refused by the reader.
 */
import { mkdir, open, readdir, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '../../errors/index.ts';
import { encodeCocoRle, type BinaryMask } from '../../mask/index.ts';
import type { Sample } from '../sample.ts';
import {
  ANNOTATIONS_FILE,
  DATASET_FORMAT,
  DATASET_VERSION,
  IMAGES_DIR,
  MANIFEST_FILE,
  type AnnotationRecord,
  type DatasetManifest,
} from './dataset-format.ts';
import { encodePng } from './image-io.ts';

function rleRecord(mask: BinaryMask): AnnotationRecord['mask'] {
  const rle = encodeCocoRle(mask);
  return { size: [rle.size[0], rle.size[1]], counts: rle.counts };
}

export interface DatasetWriterOptions {
  /** Dataset name recorded in the manifest (default: the directory's base name). */
  name?: string;
  /** Replace an existing non-empty directory (default false: refuse). */
  overwrite?: boolean;
}

export class DatasetWriter {
  private readonly ids = new Set<string>();
  private readonly splits = new Set<string>();
  private readonly sources = new Set<string>();
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly name: string,
    private readonly annotations: FileHandle,
  ) {}

  /** Prepares `dir` (created if missing; must be empty unless `overwrite`). */
  static async create(dir: string, opts: DatasetWriterOptions = {}): Promise<DatasetWriter> {
    let entries: string[] = [];
    try {
      entries = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (entries.length > 0) {
      if (!opts.overwrite)
        throw new ValidationError('out', dir, 'is not empty (pass overwrite to replace it)');
      // Only ever delete what looks like a dataset folder: a mistyped --out must not wipe a home directory.
      if (!entries.includes(MANIFEST_FILE) && !entries.includes(ANNOTATIONS_FILE)) {
        throw new ValidationError(
          'out',
          dir,
          'is not empty and is not a dataset folder; refusing to overwrite it',
        );
      }
      await rm(dir, { recursive: true, force: true });
    }
    await mkdir(join(dir, IMAGES_DIR), { recursive: true });
    const fh = await open(join(dir, ANNOTATIONS_FILE), 'w');
    const name =
      opts.name ??
      (dir
        .replace(/[/\\]+$/, '')
        .split(/[/\\]/)
        .pop() ||
        'dataset');
    return new DatasetWriter(dir, name, fh);
  }

  get count(): number {
    return this.ids.size;
  }

  /** Appends one sample (its image as PNG, its masks as COCO RLE). */
  async add(sample: Sample): Promise<void> {
    if (this.closed) throw new ValidationError('writer', this.dir, 'is already closed');
    if (this.ids.has(sample.id))
      throw new ValidationError('sample.id', sample.id, 'is already in this dataset');
    if (/[/\\]/.test(sample.id))
      throw new ValidationError('sample.id', sample.id, 'must not contain path separators');
    const image = `${IMAGES_DIR}/${sample.id}.png`;
    await writeFile(join(this.dir, image), await encodePng(sample.image));
    const record: AnnotationRecord = {
      id: sample.id,
      split: sample.split,
      source: sample.source,
      image,
      width: sample.image.width,
      height: sample.image.height,
      query: sample.query,
      mask: rleRecord(sample.gtMask),
      ...(sample.ignore !== undefined ? { ignore: rleRecord(sample.ignore) } : {}),
      box: [...sample.gtBox],
      meta: { ...sample.meta },
    };
    await this.annotations.write(`${JSON.stringify(record)}\n`);
    this.ids.add(sample.id);
    this.splits.add(sample.split);
    this.sources.add(sample.source);
  }

  /** Flushes annotations and writes the manifest; returns it. Idempotent. */
  async close(): Promise<DatasetManifest> {
    const manifest: DatasetManifest = {
      format: DATASET_FORMAT,
      version: DATASET_VERSION,
      name: this.name,
      count: this.ids.size,
      splits: [...this.splits].sort(),
      sources: [...this.sources].sort(),
      annotations: ANNOTATIONS_FILE,
    };
    if (this.closed) return manifest;
    this.closed = true;
    await this.annotations.close();
    await writeFile(join(this.dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  }
}
