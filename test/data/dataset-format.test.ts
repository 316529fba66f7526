import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DataFormatError,
  datasetFromSpec,
  DatasetWriter,
  generateSample,
  openReasonSeg,
  openSamDataset,
  type Sample,
} from '../../core/data/index.ts';
import { ValidationError } from '../../core/errors/index.ts';

const REASONSEG = join(import.meta.dirname, '..', 'fixtures', 'data', 'reasonseg', 'val');

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'sv-dsfmt-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function samples(): Promise<Sample[]> {
  const out = [0, 1, 2].map((i) => generateSample('ood-val', i, { size: 64 }));
  out.push(await (await openReasonSeg(REASONSEG)).get(0)); // carries an ignore mask
  return out;
}

async function write(dir: string, items: Sample[]): Promise<void> {
  const w = await DatasetWriter.create(dir, { name: 'fixture' });
  for (const s of items) await w.add(s);
  await w.close();
}

async function digest(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir, { recursive: true })).sort()) {
    const buf = await readFile(join(dir, f)).catch(() => null);
    if (buf) out[f] = createHash('sha256').update(buf).digest('hex');
  }
  return out;
}

describe('sam-veteran-dataset format', () => {
  it('round-trips samples bit-identically (pixels, masks, ignore, box, query, meta)', async () => {
    const items = await samples();
    const dir = join(tmp, 'rt');
    await write(dir, items);
    const ds = await openSamDataset(dir);
    expect(ds.size).toBe(items.length);
    expect(ds.manifest).toMatchObject({
      count: 4,
      splits: ['ood-val', 'val'],
      sources: ['reasonseg', 'synthetic'],
    });
    for (const [i, want] of items.entries()) {
      const got = await ds.get(i);
      expect(got.id).toBe(want.id);
      expect(got.query).toBe(want.query);
      expect(got.split).toBe(want.split);
      expect(got.meta).toEqual(want.meta);
      expect(got.gtBox).toEqual(want.gtBox);
      expect(Buffer.from(got.image.rgb).equals(Buffer.from(want.image.rgb))).toBe(true);
      expect(Buffer.from(got.gtMask.data).equals(Buffer.from(want.gtMask.data))).toBe(true);
      expect(got.ignore === undefined).toBe(want.ignore === undefined);
      if (want.ignore) expect(Buffer.from(got.ignore!.data).equals(Buffer.from(want.ignore.data))).toBe(true);
    }
    expect((await datasetFromSpec(dir)).size).toBe(4);
  });

  it('writes identical bytes for identical samples', async () => {
    const items = await samples();
    await write(join(tmp, 'a'), items);
    await write(join(tmp, 'b'), items);
    expect(await digest(join(tmp, 'a'))).toEqual(await digest(join(tmp, 'b')));
  });

  it('refuses a non-empty folder unless told to overwrite, and duplicate ids', async () => {
    const dir = join(tmp, 'busy');
    await write(dir, [generateSample('train', 0, { size: 64 })]);
    await expect(DatasetWriter.create(dir)).rejects.toThrow(
      `out "${dir}" is not empty (pass overwrite to replace it)`,
    );
    const other = join(tmp, 'not-a-dataset');
    await write(join(other, 'inner'), [generateSample('train', 0, { size: 64 })]);
    await expect(DatasetWriter.create(other, { overwrite: true })).rejects.toThrow(
      `out "${other}" is not empty and is not a dataset folder; refusing to overwrite it`,
    );
    const w = await DatasetWriter.create(dir, { overwrite: true });
    const s = generateSample('train', 1, { size: 64 });
    await w.add(s);
    await expect(w.add(s)).rejects.toThrow(ValidationError);
    await w.close();
    expect((await openSamDataset(dir)).size).toBe(1);
  });

  it('names the annotations file and line for a bad record or an RLE that does not fit the image', async () => {
    const dir = join(tmp, 'bad');
    await write(
      dir,
      [0, 1].map((i) => generateSample('train', i, { size: 64 })),
    );
    const path = join(dir, 'annotations.jsonl');
    const lines = (await readFile(path, 'utf8')).trim().split('\n');

    const noQuery = JSON.parse(lines[1]!) as Record<string, unknown>;
    delete noQuery.query;
    await writeFile(path, `${lines[0]}\n${JSON.stringify(noQuery)}\n`);
    await expect(openSamDataset(dir)).rejects.toThrow(DataFormatError);
    await expect(openSamDataset(dir)).rejects.toThrow(`${path}: line 2: query Invalid input`);

    const wrongSize = JSON.parse(lines[1]!) as { mask: { size: number[] } };
    wrongSize.mask.size = [64, 65];
    await writeFile(path, `${lines[0]}\n${JSON.stringify(wrongSize)}\n`);
    const ds = await openSamDataset(dir);
    await expect(ds.get(1)).rejects.toThrow(
      `${path}: line 2 (id "syn-train-0-1"): mask RLE size [64, 65] does not fit the 64x64 image (expected [64, 64])`,
    );
  });
});
