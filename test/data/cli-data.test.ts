import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerDataCommand } from '../../cli/commands/data.ts';
import { generateSample, openSamDataset } from '../../core/data/index.ts';
import { ValidationError } from '../../core/errors/index.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'sv-cli-data-'));
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterAll(async () => {
  vi.restoreAllMocks();
  await rm(tmp, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<void> {
  const program = new Command('sam-veteran').exitOverride();
  registerDataCommand(program);
  await program.parseAsync(['node', 'sam-veteran', ...args]);
}

describe('sam-veteran data', () => {
  it("gen writes a dataset that reads back as the generator's samples; show draws a sheet of it", async () => {
    const out = join(tmp, 'gen');
    await run(
      'data',
      'gen',
      '--split',
      'ood-val',
      '--n',
      '5',
      '--out',
      out,
      '--size',
      '64',
      '--seed',
      '3',
      '--start',
      '10',
    );
    const ds = await openSamDataset(out);
    expect(ds.size).toBe(5);
    const s = await ds.get(4);
    const want = generateSample('ood-val', 14, { size: 64, seed: 3 });
    expect(s.id).toBe(want.id);
    expect(s.query).toBe(want.query);
    expect(Buffer.from(s.image.rgb).equals(Buffer.from(want.image.rgb))).toBe(true);

    const sheet = join(tmp, 'sheet.png');
    await run('data', 'show', '--data', out, '--n', '5', '--columns', '3', '--tile', '96', '--out', sheet);
    const meta = await sharp(sheet).metadata();
    expect(meta.format).toBe('png');
    // 3 columns of 96-px tiles plus padding; 2 rows with captions below the tiles.
    expect(meta.width).toBe(3 * (96 + 6) + 6);
    expect(meta.height).toBeGreaterThan(2 * 96);
  });

  it('show accepts synthetic specs directly', async () => {
    const sheet = join(tmp, 'syn.png');
    await run('data', 'show', '--data', 'synthetic:id-val?size=64', '--n', '2', '--out', sheet);
    expect((await sharp(sheet).metadata()).width).toBe(2 * (256 + 6) + 6);
  });

  it('rejects an unknown split and a bad count with ValidationErrors', async () => {
    await expect(run('data', 'gen', '--split', 'test', '--n', '2', '--out', join(tmp, 'x'))).rejects.toThrow(
      '--split "test" must be one of train, id-val, ood-val',
    );
    await expect(run('data', 'gen', '--split', 'train', '--n', '0', '--out', join(tmp, 'y'))).rejects.toThrow(
      ValidationError,
    );
  });
});
