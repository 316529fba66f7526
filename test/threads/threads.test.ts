/** core/threads: workers start once ready and end by themselves; terminate() only as the fallback. */
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { endWorker, startReadyWorker } from '../../core/threads/index.ts';

const ENTRY = new URL('./closing-worker.ts', import.meta.url);

/** Counts terminate() calls on `w`. */
function watchTerminate(w: Worker): { count: number } {
  const seen = { count: 0 };
  const terminate = w.terminate.bind(w);
  w.terminate = () => {
    seen.count++;
    return terminate();
  };
  return seen;
}

describe('endWorker', () => {
  it('lets a worker that closes its port exit by itself, long before the fallback', async () => {
    const w = await startReadyWorker(ENTRY, {});
    const pong = new Promise((resolve) => w.once('message', resolve));
    w.postMessage({ type: 'ping' });
    expect(await pong).toEqual({ type: 'pong' });
    const seen = watchTerminate(w);
    const t0 = performance.now();
    await endWorker(w, { type: 'close' }, 60_000);
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(seen.count).toBe(0);
    expect(w.threadId).toBe(-1);
    // Ending an exited worker again returns at once.
    await endWorker(w, { type: 'close' }, 60_000);
  }, 60_000);

  it('terminates a worker that does not end within the grace period', async () => {
    const w = await startReadyWorker(ENTRY, { stubborn: true });
    const seen = watchTerminate(w);
    const t0 = performance.now();
    await endWorker(w, { type: 'close' }, 300);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
    expect(seen.count).toBe(1);
    expect(w.threadId).toBe(-1);
  }, 60_000);
});
