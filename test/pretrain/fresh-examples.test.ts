/**
 * Fresh warm-start examples made in a worker thread: the same examples, in the same order, as on the
 * calling thread, whatever the chunking; a closed stream rejects instead of hanging.
 */
import { describe, expect, it } from 'vitest';
import { resolvePolicyConfig, typeHasPositive, type PreparedBatch } from '../../core/policy/index.ts';
import { FreshExampleStream, type FreshExample } from '../../core/pretrain/fresh-examples.ts';
import { TINY } from '../policy/fixtures.ts';

const CONFIG = resolvePolicyConfig(TINY);

function bytes(p: PreparedBatch): Buffer[] {
  return [p.patches, p.queryOneHot, p.queryMask].map((a) =>
    Buffer.from(a.buffer, a.byteOffset, a.byteLength),
  );
}

function same(a: FreshExample, b: FreshExample): boolean {
  if ((a.aux === undefined) !== (b.aux === undefined)) return false;
  const pairs: [PreparedBatch, PreparedBatch][] = [
    [a.box[0], b.box[0]],
    ...(a.aux && b.aux ? [[a.aux[0], b.aux[0]] as [PreparedBatch, PreparedBatch]] : []),
  ];
  return (
    pairs.every(([x, y]) => bytes(x).every((buf, i) => buf.equals(bytes(y)[i] as Buffer))) &&
    JSON.stringify([a.box[1], a.aux?.[1]]) === JSON.stringify([b.box[1], b.aux?.[1]])
  );
}

async function take(stream: FreshExampleStream, n: number): Promise<FreshExample[]> {
  const out: FreshExample[] = [];
  for (let i = 0; i < n; i++) out.push(await stream.next());
  return out;
}

describe('FreshExampleStream', () => {
  it('gives the same examples in a worker as in this thread, in index order', async () => {
    const local = await FreshExampleStream.start({ config: CONFIG, seed: 5, start: 40, inThread: true });
    const worker = await FreshExampleStream.start({ config: CONFIG, seed: 5, start: 40, chunk: 3, ahead: 5 });
    const other = await FreshExampleStream.start({ config: CONFIG, seed: 6, start: 40, inThread: true });
    try {
      const [a, b, c] = await Promise.all([take(local, 14), take(worker, 14), take(other, 14)]);
      a.forEach((e, i) => expect(same(e, b[i] as FreshExample), `example ${40 + i}`).toBe(true));
      // Consecutive examples differ (the index is used), and another seed gives other examples.
      expect(same(a[0] as FreshExample, a[1] as FreshExample)).toBe(false);
      expect(a.filter((e, i) => same(e, c[i] as FreshExample))).toHaveLength(0);
      // Box targets are box actions (one token sequence); aux targets start with a refinement type.
      for (const e of a) expect(e.box[1].ids.length).toBeGreaterThan(1);
      expect(a.some((e) => typeHasPositive(e.aux![1].ids[0] as number))).toBe(true);
    } finally {
      await Promise.all([local.close(), worker.close(), other.close()]);
    }
  }, 60_000);

  it('makes the auxiliary example of the first `count` of every `every` examples only', async () => {
    const aux = { every: 3, count: 1 };
    const all = await FreshExampleStream.start({ config: CONFIG, seed: 5, start: 40, inThread: true });
    const local = await FreshExampleStream.start({ config: CONFIG, seed: 5, start: 40, inThread: true, aux });
    const worker = await FreshExampleStream.start({
      config: CONFIG,
      seed: 5,
      start: 40,
      chunk: 3,
      ahead: 4,
      aux,
    });
    try {
      const [a, l, w] = await Promise.all([take(all, 9), take(local, 9), take(worker, 9)]);
      expect(l.map((e) => e.aux !== undefined)).toEqual([
        true,
        false,
        false,
        true,
        false,
        false,
        true,
        false,
        false,
      ]);
      l.forEach((e, i) => {
        expect(same(e, w[i] as FreshExample), `example ${40 + i}`).toBe(true);
        // The box example is the same either way, and so is the auxiliary one where it is made.
        const full = a[i] as FreshExample;
        expect(same(e, e.aux ? full : { box: full.box })).toBe(true);
      });
    } finally {
      await Promise.all([all.close(), local.close(), worker.close()]);
    }
  }, 60_000);

  it('rejects a next() left waiting when the stream closes', async () => {
    const stream = await FreshExampleStream.start({ config: CONFIG, seed: 5, start: 0, chunk: 1, ahead: 1 });
    await take(stream, 2);
    const pending = stream.next();
    const late = stream.next();
    const settled = Promise.allSettled([pending, late]);
    // The worker ends by itself (no terminate(), which Node 20 could abort on): close() returns long
    // before its fallback would cut the thread.
    const t0 = performance.now();
    await stream.close(120_000);
    expect(performance.now() - t0).toBeLessThan(30_000);
    const results = await settled;
    // The first may have arrived before the close; whatever had not is rejected, naming the close.
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) expect(String((r as PromiseRejectedResult).reason)).toMatch(/closed/);
    await expect(stream.next()).rejects.toThrow(/closed/);
    // The same on this thread.
    const local = await FreshExampleStream.start({ config: CONFIG, seed: 5, start: 0, inThread: true });
    await take(local, 1);
    await local.close();
    await expect(local.next()).rejects.toThrow(/closed/);
  }, 60_000);
});
