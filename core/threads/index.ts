/**
 * Worker threads that start when ready and end by themselves.
 *
 * Ending: Node 20 aborted the whole process (`NodePlatform::ForIsolate` assertion) when a worker
 * was terminated while V8 still compiled its code in the background; CI saw it twice. So pools ask
 * their threads to end (a close message, after which the thread closes its port and its event loop
 * empties) and keep `terminate()` only as a fallback for a thread that does not end in time.
 */
import { Worker } from 'node:worker_threads';

/** Bootstrap that registers tsx in the worker before loading the TypeScript entry. */
export const WORKER_BOOTSTRAP = new URL('../../bin/ts-worker.mjs', import.meta.url);

/**
 * Starts a TypeScript module in a worker thread (through bin/ts-worker.mjs, which registers tsx
 * there) and resolves once it posts `{ type: 'ready' }`; a worker that fails first is terminated and
 * the failure rethrown.
 */
export async function startReadyWorker(entry: URL, data: object): Promise<Worker> {
  const worker = new Worker(WORKER_BOOTSTRAP, { workerData: { ...data, __entry: entry.href } });
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

/**
 * Asks `worker` to end by posting `closeMessage` (its thread must then close its port, or otherwise
 * let its event loop empty) and resolves once it has exited; terminates it if it has not within
 * `graceMs`. Resolves at once for a thread that has already exited.
 */
export async function endWorker(worker: Worker, closeMessage: unknown, graceMs = 10_000): Promise<void> {
  if (worker.threadId === -1) return;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.postMessage(closeMessage);
  const timer = setTimeout(() => void worker.terminate(), graceMs);
  await exited;
  clearTimeout(timer);
}
