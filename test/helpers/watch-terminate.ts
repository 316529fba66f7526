/** Counts `terminate()` calls on worker threads (to check that pools end them by message instead). */
import type { Worker } from 'node:worker_threads';

export function watchTerminate(workers: readonly Worker[]): { count: number } {
  const seen = { count: 0 };
  for (const w of workers) {
    const terminate = w.terminate.bind(w);
    w.terminate = () => {
      seen.count++;
      return terminate();
    };
  }
  return seen;
}
