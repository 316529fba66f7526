/** core/threads: workers start once ready and end by themselves; terminate() only as the fallback. */
import { describe, expect, it } from 'vitest';
import { endWorker, startReadyWorker } from '../../core/threads/index.ts';
import { watchTerminate } from '../helpers/watch-terminate.ts';

const ENTRY = new URL('./closing-worker.ts', import.meta.url);

describe('endWorker', () => {
  it('lets a worker that closes its port exit by itself, long before the fallback', async () => {
    const w = await startReadyWorker(ENTRY, {});
    const pong = new Promise((resolve) => w.once('message', resolve));
    w.postMessage({ type: 'ping' });
    expect(await pong).toEqual({ type: 'pong' });
    const seen = watchTerminate([w]);
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
    const seen = watchTerminate([w]);
    const t0 = performance.now();
    await endWorker(w, { type: 'close' }, 300);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
    expect(seen.count).toBe(1);
    expect(w.threadId).toBe(-1);
  }, 60_000);
});
