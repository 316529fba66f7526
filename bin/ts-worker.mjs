// Worker-thread bootstrap: registers tsx's loader in this thread, then runs the TypeScript module
// named in workerData.__entry (worker threads do not inherit the main thread's loader hooks).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.__entry);
