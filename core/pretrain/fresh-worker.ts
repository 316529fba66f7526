/** The worker thread of FreshExampleStream (fresh-examples.ts): makes the examples it is asked for. */
import { parentPort, workerData } from 'node:worker_threads';
import {
  exampleEncoder,
  freshBuffers,
  freshExample,
  freshHasAux,
  type FreshRequest,
  type FreshResponse,
  type FreshWorkerInit,
} from './fresh-examples.ts';

const port = parentPort;
if (!port) throw new Error('fresh-worker.ts must run in a worker thread');
const init = workerData as FreshWorkerInit;
const encoder = exampleEncoder(init.config);
const stop = new Int32Array(init.stop);

port.on('message', (req: FreshRequest) => {
  // Closing: skip what is still queued; the close message ends the thread by emptying its loop.
  if (req.type === 'close') {
    port.close();
    return;
  }
  if (Atomics.load(stop, 0) === 1) return;
  try {
    const examples = Array.from({ length: req.count }, (_, k) =>
      freshExample(
        encoder,
        req.from + k,
        init.seed,
        init.labels,
        freshHasAux(req.from + k, init.start, init.aux),
      ),
    );
    const transfer = examples.flatMap(freshBuffers);
    port.postMessage({ type: 'examples', from: req.from, examples } satisfies FreshResponse, transfer);
  } catch (err) {
    port.postMessage({
      type: 'error',
      message: err instanceof Error ? err.message : String(err),
    } satisfies FreshResponse);
  }
});
port.postMessage({ type: 'ready' } satisfies FreshResponse);
