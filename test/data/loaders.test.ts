import { cp, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DataFormatError,
  datasetFromSpec,
  generateSample,
  openReasonSeg,
  openRefCoco,
} from '../../core/data/index.ts';
import { NotFoundError, ValidationError } from '../../core/errors/index.ts';
import {
  BinaryMask,
  decodeCocoRle,
  maskBbox,
  maskIou,
  rasterizePolygon,
  rasterizePolygons,
} from '../../core/mask/index.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'data');
const REASONSEG = join(FIXTURES, 'reasonseg', 'val');
const REFCOCO = join(FIXTURES, 'refcoco');

interface RefJson {
  split: string;
  sentences: unknown[];
}
/** Expected sample counts, from the fixture's refs.json (refs × sentences). */
async function refCounts(split?: string): Promise<{ refs: number; samples: number }> {
  const refs = (JSON.parse(await readFile(join(REFCOCO, 'refs.json'), 'utf8')) as RefJson[]).filter(
    (r) => split === undefined || r.split === split,
  );
  return { refs: refs.length, samples: refs.reduce((a, r) => a + r.sentences.length, 0) };
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'sv-data-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A private copy of a fixture folder that a test may break. */
async function copyOf(src: string, name: string): Promise<string> {
  const dst = join(tmp, name);
  await cp(src, dst, { recursive: true });
  return dst;
}

async function editJson(path: string, edit: (j: Record<string, unknown>) => void): Promise<void> {
  const j = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  edit(j);
  await writeFile(path, JSON.stringify(j));
}

function count(m: BinaryMask): number {
  return m.data.reduce((a, b) => a + b, 0);
}

describe('ReasonSeg/LISA loader', () => {
  it('reads every (image, text) pair with decoded RGB, target mask and box', async () => {
    const ds = await openReasonSeg(REASONSEG);
    expect(ds.images).toBe(4);
    expect(ds.size).toBe(8);
    const json = JSON.parse(await readFile(join(REASONSEG, 'img_3.json'), 'utf8')) as {
      text: string[];
      shapes: Array<{ points: number[][] }>;
    };
    const s = await ds.get(7);
    expect(s.id).toBe('img_3-q1');
    expect(s.source).toBe('reasonseg');
    expect(s.split).toBe('val');
    expect(s.query).toBe(json.text[1]);
    expect(s.image.width * s.image.height * 3).toBe(s.image.rgb.length);
    expect(s.meta).toMatchObject({ file: 'img_3.json', textIndex: 1 });
    const expected = rasterizePolygon(json.shapes[0]!.points, s.image);
    expect(maskIou(s.gtMask, expected)).toBe(1);
    expect(s.gtBox).toEqual(maskBbox(expected));
    expect(s.ignore).toBeUndefined();
  });

  it('paints a small ignore shape over a larger target and excludes it from IoU', async () => {
    const ds = await openReasonSeg(REASONSEG);
    const s = await ds.get(0);
    const ignore = s.ignore as BinaryMask;
    expect(count(ignore)).toBe(36); // the 6x6 square inside the target
    expect(ignore.data.some((v, i) => (v & s.gtMask.data[i]!) === 1)).toBe(false);
    // A prediction that also covers the ignored hole is perfect once the hole is excluded.
    const pred = new BinaryMask(
      s.gtMask.width,
      s.gtMask.height,
      s.gtMask.data.map((v, i) => v | ignore.data[i]!),
    );
    expect(maskIou(pred, s.gtMask)).toBeLessThan(1);
    expect(maskIou(pred, s.gtMask, ignore)).toBe(1);
  });

  it('drops "flag" shapes and reads LabelMe rectangles as target parts', async () => {
    const ds = await openReasonSeg(REASONSEG);
    const flagged = await ds.get(2);
    const json = JSON.parse(await readFile(join(REASONSEG, 'img_1.json'), 'utf8')) as {
      shapes: Array<{ label: string; points: number[][] }>;
    };
    const other = rasterizePolygon(json.shapes[1]!.points, flagged.image);
    const flag = rasterizePolygon(json.shapes[2]!.points, flagged.image);
    const flagOnly = [...flag.data.keys()].filter((i) => flag.data[i] === 1 && other.data[i] === 0);
    expect(flagOnly.length).toBeGreaterThan(50);
    expect(flagOnly.some((i) => flagged.ignore?.data[i] === 1 || flagged.gtMask.data[i] === 1)).toBe(false);
    expect(count(flagged.ignore as BinaryMask)).toBeGreaterThan(0);
    const rect = await ds.get(4);
    for (let y = 2; y < 8; y++) for (let x = 2; x < 10; x++) expect(rect.gtMask.get(x, y)).toBe(1);
  });

  it('names the file for a missing image, an unknown label, a bad polygon and broken JSON', async () => {
    const missing = await copyOf(REASONSEG, 'rs-missing');
    await unlink(join(missing, 'img_1.jpg'));
    await expect(openReasonSeg(missing)).rejects.toThrow(NotFoundError);
    await expect(openReasonSeg(missing)).rejects.toThrow(
      `${join(missing, 'img_1.json')}: image img_1.jpg (or .jpeg/.png) is missing`,
    );

    const label = await copyOf(REASONSEG, 'rs-label');
    await editJson(
      join(label, 'img_2.json'),
      (j) => ((j.shapes as Array<{ label: string }>)[0]!.label = 'person'),
    );
    await expect(openReasonSeg(label)).rejects.toThrow(DataFormatError);
    await expect(openReasonSeg(label)).rejects.toThrow(
      `${join(label, 'img_2.json')}: shapes[0].label "person" is not one of "target", "ignore", "flag"`,
    );

    const poly = await copyOf(REASONSEG, 'rs-poly');
    await editJson(
      join(poly, 'img_0.json'),
      (j) =>
        ((j.shapes as Array<{ points: unknown }>)[0]!.points = [
          [1, 2],
          [3, 4],
        ]),
    );
    await expect(openReasonSeg(poly)).rejects.toThrow(
      `${join(poly, 'img_0.json')}: shapes[0].points [[1, 2], [3, 4]] has 2 points, needs at least 3`,
    );

    const broken = await copyOf(REASONSEG, 'rs-json');
    await writeFile(join(broken, 'img_3.json'), '{"text": [');
    await expect(openReasonSeg(broken)).rejects.toThrow(`${join(broken, 'img_3.json')}: invalid JSON`);
  });

  it('rejects an image whose size differs from imageWidth/imageHeight, naming the JSON', async () => {
    const dir = await copyOf(REASONSEG, 'rs-size');
    await editJson(join(dir, 'img_0.json'), (j) => (j.imageWidth = 100));
    const ds = await openReasonSeg(dir);
    await expect(ds.get(0)).rejects.toThrow(
      `${join(dir, 'img_0.json')}: imageWidth/imageHeight 100x96 do not match`,
    );
  });
});

describe('RefCOCO loader', () => {
  it('reads refs × sentences of all splits or of one split, with masks from polygons and RLE', async () => {
    const all = await openRefCoco(REFCOCO);
    const want = await refCounts();
    expect(all.refs).toBe(want.refs);
    expect(all.size).toBe(want.samples);
    expect(want.refs).toBeGreaterThanOrEqual(6);
    const val = await openRefCoco(REFCOCO, { split: 'val' });
    expect(val.size).toBe((await refCounts('val')).samples);
    expect(val.size).toBeLessThan(all.size);
    const instances = JSON.parse(await readFile(join(REFCOCO, 'instances.json'), 'utf8')) as {
      annotations: Array<{
        id: number;
        segmentation: number[][] | { size: [number, number]; counts: string | number[] };
      }>;
    };
    const kinds = new Set<string>();
    for (let i = 0; i < all.size; i++) {
      const s = await all.get(i);
      expect(s.source).toBe('refcoco');
      expect([s.image.width, s.image.height]).toEqual([128, 96]);
      expect(s.image.rgb.length).toBe(128 * 96 * 3);
      const ann = instances.annotations.find((a) => a.id === s.meta.annId)!;
      const seg = ann.segmentation;
      const expected = Array.isArray(seg) ? rasterizePolygons(seg, s.image) : decodeCocoRle(seg);
      kinds.add(Array.isArray(seg) ? 'polygon' : typeof seg.counts === 'string' ? 'rle-string' : 'rle-array');
      expect(maskIou(s.gtMask, expected)).toBe(1);
      expect(count(s.gtMask)).toBeGreaterThan(0);
      expect(s.gtBox).toEqual(maskBbox(expected));
    }
    expect(kinds).toEqual(new Set(['polygon', 'rle-string', 'rle-array']));
    for (let i = 0; i < val.size; i++) expect((await val.get(i)).split).toBe('val');
  });

  it('expands greyscale JPEGs to three equal channels', async () => {
    const ds = await openRefCoco(REFCOCO);
    let grey = false;
    for (let i = 0; i < ds.size; i++) {
      const s = await ds.get(i);
      if (s.meta.imageId !== 3) continue;
      grey = true;
      const rgb = s.image.rgb;
      let equal = true;
      for (let p = 0; p < rgb.length; p += 3) equal &&= rgb[p] === rgb[p + 1] && rgb[p] === rgb[p + 2];
      expect(equal).toBe(true);
      break;
    }
    expect(grey).toBe(true);
  });

  it('lists the available splits when the requested one has no refs', async () => {
    await expect(openRefCoco(REFCOCO, { split: 'testB' })).rejects.toThrow(
      `${join(REFCOCO, 'refs.json')} has no refs in split "testB" (splits: testA, train, val)`,
    );
  });

  it('names the file for an RLE that does not fit the image, a bad polygon and a missing image', async () => {
    const rle = await copyOf(REFCOCO, 'rc-rle');
    await editJson(join(rle, 'instances.json'), (j) => {
      const a = (j.annotations as Array<{ segmentation: { size: number[] } }>)[0]!;
      a.segmentation.size = [96, 129];
    });
    await expect(openRefCoco(rle)).rejects.toThrow(DataFormatError);
    await expect(openRefCoco(rle)).rejects.toThrow(
      `${join(rle, 'instances.json')}: annotation 101: RLE size [96,129] does not fit image 1 (COCO_train2014_000000000001.jpg, 128x96; expected [96, 128])`,
    );

    const poly = await copyOf(REFCOCO, 'rc-poly');
    await editJson(join(poly, 'instances.json'), (j) => {
      const a = (j.annotations as Array<{ id: number; segmentation: unknown }>).find((x) => x.id === 104)!;
      a.segmentation = [[1, 2, 3, 4]];
    });
    await expect(openRefCoco(poly)).rejects.toThrow(
      `${join(poly, 'instances.json')}: annotation 104: segmentation[0] [1, 2, 3, 4] has 2 points, needs at least 3`,
    );

    const img = await copyOf(REFCOCO, 'rc-img');
    await unlink(join(img, 'images', 'COCO_train2014_000000000002.jpg'));
    const ds = await openRefCoco(img);
    let err: unknown;
    for (let k = 0; k < ds.size && err === undefined; k++) await ds.get(k).catch((e: unknown) => (err = e));
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toBe(
      `image file ${join(img, 'images', 'COCO_train2014_000000000002.jpg')} does not exist`,
    );
  });

  it('names the refs file for a ref whose annotation does not exist', async () => {
    const dir = await copyOf(REFCOCO, 'rc-ref');
    await editJson(
      join(dir, 'refs.json'),
      (j) => ((j as unknown as Array<{ ann_id: number }>)[2]!.ann_id = 9999),
    );
    await expect(openRefCoco(dir)).rejects.toThrow(
      `${join(dir, 'refs.json')}: ref 2: ann_id 9999 is not in ${join(dir, 'instances.json')}`,
    );
  });
});

describe('datasetFromSpec', () => {
  it('resolves synthetic, reasonseg and refcoco specs', async () => {
    const syn = await datasetFromSpec('synthetic:ood-val?n=3&size=64&seed=2');
    expect(syn.size).toBe(3);
    const s = await syn.get(2);
    const direct = generateSample('ood-val', 2, { size: 64, seed: 2 });
    expect(s.query).toBe(direct.query);
    expect(Buffer.from(s.image.rgb).equals(Buffer.from(direct.image.rgb))).toBe(true);
    expect((await datasetFromSpec('synthetic:train')).size).toBe(100_000);
    expect((await datasetFromSpec(`reasonseg:${REASONSEG}`)).size).toBe(8);
    expect((await datasetFromSpec(`refcoco:${REFCOCO}:testA`)).size).toBe((await refCounts('testA')).samples);
    expect((await datasetFromSpec(`refcoco:${REFCOCO}`)).size).toBe((await refCounts()).samples);
  });

  it('rejects unknown splits, parameters and folders without a manifest', async () => {
    await expect(datasetFromSpec('synthetic:test')).rejects.toThrow(ValidationError);
    await expect(datasetFromSpec('synthetic:test')).rejects.toThrow(
      'data "synthetic:test" has unknown synthetic split "test" (use train, id-val, ood-val)',
    );
    await expect(datasetFromSpec('synthetic:train?m=3')).rejects.toThrow(
      'has unknown parameter "m" (use n, seed, size)',
    );
    await expect(datasetFromSpec(REASONSEG)).rejects.toThrow(NotFoundError);
    await expect(datasetFromSpec(REASONSEG)).rejects.toThrow(
      `${join(REASONSEG, 'manifest.json')} does not exist`,
    );
  });
});
