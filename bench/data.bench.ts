/**
 * Synthetic-data throughput: generating a sample on the fly (`generateSample`) against reading the
 * same sample back from a written sam-veteran-dataset folder (PNG decode with sharp + RLE decode),
 * at 64, 128 and 256 px, in the same process. Tells a trainer whether caching samples on disk pays
 * off (ratio < 1: reading is faster than generating).
 *
 * Run: npm run bench:data   (tsx bench/data.bench.ts). Medians over BENCH_SAMPLES samples (default 60),
 * after two warm-up passes of each path. Limits: one thread for generation (sharp may use its own
 * threads for decoding); on a shared, loaded machine absolute numbers move a lot.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetWriter, generateSample, openSamDataset } from '../core/data/index.ts';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 60);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function timeEach(n: number, fn: (i: number) => unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn(i);
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

const tmp = await mkdtemp(join(tmpdir(), 'sv-bench-data-'));
try {
  console.log(`synthetic data, ${SAMPLES} samples per row (median ms per sample)`);
  console.log('size  generate  read-from-disk  read/generate');
  for (const size of [64, 128, 256]) {
    const dir = join(tmp, `d${size}`);
    const w = await DatasetWriter.create(dir);
    for (let i = 0; i < SAMPLES; i++) await w.add(generateSample('train', i, { size }));
    await w.close();
    const ds = await openSamDataset(dir);
    // Warm-up passes so both paths are JIT-compiled before timing.
    for (let pass = 0; pass < 2; pass++) {
      await timeEach(10, (i) => generateSample('train', 1000 + i, { size }));
      await timeEach(10, (i) => ds.get(i));
    }
    const gen = median(await timeEach(SAMPLES, (i) => generateSample('train', i, { size })));
    const read = median(await timeEach(SAMPLES, (i) => ds.get(i)));
    console.log(
      `${String(size).padStart(4)}  ${gen.toFixed(2).padStart(8)}  ${read.toFixed(2).padStart(14)}  ${(read / gen).toFixed(2).padStart(13)}x`,
    );
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
