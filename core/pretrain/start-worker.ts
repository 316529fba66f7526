/**
 * Starts a TypeScript module in a worker thread (through bin/ts-worker.mjs, which registers tsx
 * there) and resolves once it posts `{ type: 'ready' }`; a worker that fails first is terminated and
 * the failure rethrown.
 */
import { Worker } from 'node:worker_threads';

const BOOTSTRAP = new URL('../../bin/ts-worker.mjs', import.meta.url);

export async function startReadyWorker(entry: URL, data: object): Promise<Worker> {
  const worker = new Worker(BOOTSTRAP, { workerData: { ...data, __entry: entry.href } });
  try {
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: { type?: string }): void => {
        if (m.type !== 'ready') return;
        worker.off('message', onMessage);
        worker.off('error', reject);
        resolve();
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  return worker;
}
