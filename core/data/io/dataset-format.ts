/**
 * The project's own on-disk dataset layout ("sam-veteran-dataset", version 1). Exact masks are
 * stored as COCO RLE, so a written dataset reads back bit-identical:
 *
 *   <dir>/manifest.json       {"format":"sam-veteran-dataset","version":1,"name":…,"count":N,
 *                              "splits":[…],"sources":[…],"annotations":"annotations.jsonl"}
 *   <dir>/annotations.jsonl   one JSON object per line, in sample order:
 *                              {"id","split","source","image":"images/<id>.png","width","height",
 *                               "query","mask":{"size":[h,w],"counts":"<COCO RLE string>"},
 *                               "ignore"?: {…same…},"box":[x1,y1,x2,y2],"meta":{…}}
 *   <dir>/images/<id>.png     8-bit RGB PNG
 *
 * `box` is the tight box of `mask` in pixel edges (x2/y2 exclusive); `ignore` marks pixels left out
 * of IoU. No timestamps are written, so generating the same samples twice gives identical files.
 */
import { z } from 'zod';

export const DATASET_FORMAT = 'sam-veteran-dataset';
export const DATASET_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const ANNOTATIONS_FILE = 'annotations.jsonl';
export const IMAGES_DIR = 'images';

const rleSchema = z.object({
  size: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  counts: z.string(),
});

export const annotationSchema = z.object({
  id: z
    .string()
    .min(1)
    .regex(/^[^/\\]+$/, 'must not contain path separators'),
  split: z.string(),
  source: z.enum(['synthetic', 'reasonseg', 'refcoco']),
  image: z.string().min(1),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  query: z.string(),
  mask: rleSchema,
  ignore: rleSchema.optional(),
  box: z.tuple([z.number(), z.number(), z.number(), z.number()]),
  meta: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});
export type AnnotationRecord = z.infer<typeof annotationSchema>;

export const manifestSchema = z.object({
  format: z.literal(DATASET_FORMAT),
  version: z.literal(DATASET_VERSION),
  name: z.string(),
  count: z.number().int().nonnegative(),
  splits: z.array(z.string()),
  sources: z.array(z.string()),
  annotations: z.string().default(ANNOTATIONS_FILE),
});
export type DatasetManifest = z.infer<typeof manifestSchema>;

/** "field.path problem; other.field problem" from a zod error, for one-line messages. */
export function describeZodError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'} ${i.message}`).join('; ');
}
