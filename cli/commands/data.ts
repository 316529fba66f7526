/**
 * `sam-veteran data gen` — write a synthetic split to disk in the sam-veteran-dataset layout.
 * `sam-veteran data show` — a PNG contact sheet of any dataset spec with query text and GT overlay.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  datasetFromSpec,
  DatasetWriter,
  generateSample,
  isSyntheticSplit,
  renderContactSheet,
  SYNTHETIC_SPLITS,
  type Sample,
  type SyntheticSplit,
} from '../../core/data/index.ts';
import { ValidationError } from '../../core/errors/index.ts';
import { createProgress } from '../progress.ts';
import { intOption } from '../options.ts';

interface GenOptions {
  split: string;
  n: number;
  out: string;
  seed: number;
  size: number;
  start: number;
  overwrite?: boolean;
}

interface ShowOptions {
  data: string;
  n: number;
  out: string;
  start: number;
  columns: number;
  tile: number;
}

async function gen(opts: GenOptions): Promise<void> {
  if (!isSyntheticSplit(opts.split)) {
    throw new ValidationError('--split', opts.split, `must be one of ${SYNTHETIC_SPLITS.join(', ')}`);
  }
  const split: SyntheticSplit = opts.split;
  const writer = await DatasetWriter.create(opts.out, {
    name: `synthetic-${split}-seed${opts.seed}`,
    ...(opts.overwrite ? { overwrite: true } : {}),
  });
  const bar = createProgress({ label: `data gen ${split}`, fields: ['rate'] });
  const t0 = performance.now();
  bar.start(opts.n, 0, { rate: '' });
  try {
    for (let i = 0; i < opts.n; i++) {
      await writer.add(generateSample(split, opts.start + i, { seed: opts.seed, size: opts.size }));
      bar.update(i + 1, { rate: `${((i + 1) / ((performance.now() - t0) / 1000)).toFixed(0)}/s` });
    }
  } finally {
    bar.stop();
  }
  const manifest = await writer.close();
  console.log(
    `wrote ${manifest.count} ${split} samples (${opts.size}x${opts.size}, seed ${opts.seed}) to ${opts.out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

async function show(opts: ShowOptions): Promise<void> {
  const ds = await datasetFromSpec(opts.data);
  if (opts.start >= ds.size)
    throw new ValidationError('--start', opts.start, `is past the end of ${ds.name} (${ds.size} samples)`);
  const n = Math.min(opts.n, ds.size - opts.start);
  const samples: Sample[] = [];
  for (let i = 0; i < n; i++) samples.push(await ds.get(opts.start + i));
  const png = await renderContactSheet(samples, { columns: opts.columns, tile: opts.tile });
  await writeFile(opts.out, png);
  console.log(`wrote ${opts.out}: ${n} samples of ${ds.name} (${ds.size} in total)`);
}

export function registerDataCommand(program: Command): void {
  const data = program.command('data').description('Synthetic data generation and dataset inspection');
  data
    .command('gen')
    .description(
      'Generate a synthetic split into a sam-veteran-dataset folder (PNG images + COCO-RLE annotations)',
    )
    .requiredOption('--split <split>', `split: ${SYNTHETIC_SPLITS.join(' | ')}`)
    .requiredOption('--n <count>', 'number of samples', intOption('--n', 1))
    .requiredOption('--out <dir>', 'output folder (must be empty or absent)')
    .option('--seed <seed>', 'world seed', intOption('--seed', 0), 0)
    .option('--size <px>', 'image side in pixels', intOption('--size', 32), 256)
    .option('--start <index>', 'index of the first sample', intOption('--start', 0), 0)
    .option('--overwrite', 'replace a non-empty output folder')
    .action(async (opts: GenOptions) => gen(opts));
  data
    .command('show')
    .description('Write a PNG contact sheet of samples with their queries and ground-truth overlays')
    .requiredOption(
      '--data <spec>',
      'dataset: <dir> | synthetic:<split>[?n=&seed=&size=] | reasonseg:<dir> | refcoco:<dir>[:<split>]',
    )
    .option('--n <count>', 'number of samples', intOption('--n', 1), 16)
    .option('--start <index>', 'index of the first sample', intOption('--start', 0), 0)
    .option('--out <file>', 'output PNG', 'sheet.png')
    .option('--columns <count>', 'tiles per row', intOption('--columns', 1), 4)
    .option('--tile <px>', 'tile side in pixels', intOption('--tile', 32), 256)
    .action(async (opts: ShowOptions) => show(opts));
}
