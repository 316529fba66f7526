/** Test worker for core/threads: ends on `{ type: 'close' }` unless started stubborn (it then keeps a timer alive). */
import { parentPort, workerData } from 'node:worker_threads';

const port = parentPort;
if (!port) throw new Error('closing-worker.ts must run in a worker thread');
const stubborn = (workerData as { stubborn?: boolean }).stubborn === true;
if (stubborn) setInterval(() => undefined, 1000);
port.on('message', (m: { type: string }) => {
  if (m.type === 'close' && !stubborn) port.close();
  if (m.type === 'ping') port.postMessage({ type: 'pong' });
});
port.postMessage({ type: 'ready' });
