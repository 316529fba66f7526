import { describe, expect, it } from 'vitest';
import { ByteLru, EmbeddingCache } from '../../services/sam-env/src/embedding-cache.ts';
import { DeadlineExceededError } from '../../services/sam-env/src/errors.ts';
import { MicroBatcher } from '../../services/sam-env/src/micro-batcher.ts';

/** A batch runner that records the batches it ran and doubles each item. */
function recorder() {
  const runs: { ctx: string; items: number[] }[] = [];
  const run = async (ctx: string, items: readonly number[]) => {
    runs.push({ ctx, items: [...items] });
    await new Promise((r) => setTimeout(r, 1));
    return items.map((x) => x * 2);
  };
  return { runs, run };
}

describe('MicroBatcher', () => {
  it('batches concurrent prompts on the same image up to maxBatch, results in order', async () => {
    const { runs, run } = recorder();
    const b = new MicroBatcher<string, number, number>({ maxBatch: 4, maxWaitMs: 50 }, run);
    const out = await b.submitAll('img-a', 'A', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(out).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
    expect(runs.map((r) => r.items.length)).toEqual([4, 4, 2]);
  });

  it('keeps images apart; prompts arriving during a run wait and go together in the next', async () => {
    const { runs, run } = recorder();
    const sizes: number[] = [];
    const b = new MicroBatcher<string, number, number>({ maxBatch: 8, maxWaitMs: 1000 }, run, (n) =>
      sizes.push(n),
    );
    const first = Promise.all([b.submit('a', 'A', 1), b.submit('c', 'C', 2), b.submit('a', 'A', 3)]);
    await new Promise((r) => setImmediate(r)); // the first runs have started
    const t0 = performance.now();
    const later = Promise.all([b.submit('a', 'A', 5), b.submit('a', 'A', 6)]);
    expect(await first).toEqual([2, 4, 6]);
    expect(await later).toEqual([10, 12]);
    // Released when the running decodes finished, not at the 1000 ms timer.
    expect(performance.now() - t0).toBeLessThan(500);
    expect(runs.map((r) => `${r.ctx}:${r.items.join(',')}`).sort()).toEqual(['A:1,3', 'A:5,6', 'C:2']);
    expect(sizes.sort()).toEqual([1, 2, 2]);
    await b.idle();
  });

  it('drops items whose caller has gone and fails the whole batch when the model throws', async () => {
    const ac = new AbortController();
    ac.abort();
    let calls = 0;
    const b = new MicroBatcher<string, number, number>({ maxBatch: 4, maxWaitMs: 0 }, async (_c, items) => {
      calls++;
      if (items.includes(99)) throw new Error('boom');
      return items.map((x) => x);
    });
    await expect(b.submit('k', 'K', 1, ac.signal)).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(calls).toBe(0);
    await expect(Promise.all([b.submit('k', 'K', 99), b.submit('k', 'K', 2)])).rejects.toThrow('boom');
  });
});

describe('caches', () => {
  it('ByteLru evicts least recently used entries to stay within its byte budget', () => {
    const evicted: string[] = [];
    const lru = new ByteLru<Uint8Array>({
      maxBytes: 100,
      sizeOf: (v) => v.length,
      onEvict: (_v, k) => evicted.push(k),
    });
    lru.set('a', new Uint8Array(40));
    lru.set('b', new Uint8Array(40));
    expect(lru.get('a')).toBeDefined(); // a is now most recent
    lru.set('c', new Uint8Array(40));
    expect(evicted).toEqual(['b']);
    expect(lru.byteSize).toBe(80);
    lru.set('huge', new Uint8Array(101));
    expect(lru.has('huge')).toBe(false);
  });

  it('EmbeddingCache computes once for concurrent misses and disposes on eviction', async () => {
    const cache = new EmbeddingCache(1000);
    let computed = 0;
    let disposed = 0;
    const compute = async () => {
      computed++;
      await new Promise((r) => setTimeout(r, 5));
      return { byteSize: 600, dispose: () => disposed++ };
    };
    const [x, y, z] = await Promise.all([
      cache.getOrCompute('m', 'd1', compute),
      cache.getOrCompute('m', 'd1', compute),
      cache.getOrCompute('m', 'd1', compute),
    ]);
    expect(computed).toBe(1);
    expect([x.cached, y.cached, z.cached]).toEqual([false, true, true]);
    expect((await cache.getOrCompute('m', 'd1', compute)).cached).toBe(true);
    await cache.getOrCompute('other-model', 'd1', compute);
    expect(computed).toBe(2);
    expect(disposed).toBe(1);
  });
});
