/**
 * Worker-thread side of WorkerEnvPool: hosts one EnvModel behind a LocalEnv and answers
 * transition requests posted by the pool. Masks and logits travel back as transferable buffers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BinaryMask } from '../../../core/mask/index.ts';
import { LocalEnv } from './local-env.ts';
import type { TransitionOutput, TransitionPrompt } from './model.ts';
import { createGrabCutModel, type GrabCutOptions } from './models/grabcut.ts';
import type {
  WorkerError,
  WorkerRequest,
  WorkerResponse,
  WireOutput,
  WirePrompt,
} from './worker-protocol.ts';

const port = parentPort;
if (!port) throw new Error('env-worker must run in a worker thread');

const spec = workerData as { model: 'grabcut'; options: GrabCutOptions; cacheBytes?: number };
const env = new LocalEnv(
  createGrabCutModel(spec.options),
  spec.cacheBytes !== undefined ? { cacheBytes: spec.cacheBytes } : {},
);

function toPrompt(p: WirePrompt): TransitionPrompt {
  return {
    box: p.box,
    points: p.points,
    ...(p.prevLogits ? { prevLogits: p.prevLogits } : {}),
    ...(p.prevMask ? { prevMask: new BinaryMask(p.prevMask.width, p.prevMask.height, p.prevMask.data) } : {}),
  };
}

function toWire(o: TransitionOutput): WireOutput {
  return {
    mask: { width: o.mask.width, height: o.mask.height, data: o.mask.data },
    ...(o.lowResLogits ? { lowResLogits: o.lowResLogits } : {}),
    predictedIou: o.predictedIou,
    stability: o.stability,
  };
}

port.on('message', (req: WorkerRequest) => {
  if (req.type === 'close') {
    // Answer, then close the port so the thread ends by itself (core/threads endWorker).
    void env.close().finally(() => {
      port.postMessage({ id: req.id, ok: true, outputs: [] } satisfies WorkerResponse);
      port.close();
    });
    return;
  }
  if (req.type === 'info') {
    env.info().then(
      (info) => port.postMessage({ id: req.id, ok: true, outputs: [], info } satisfies WorkerResponse),
      (err: unknown) =>
        port.postMessage({ id: req.id, ok: false, error: errorOf(err) } satisfies WorkerResponse),
    );
    return;
  }
  env.transitionGroup(req.image, req.prompts.map(toPrompt)).then(
    (outs) => {
      const outputs = outs.map(toWire);
      const transfer: ArrayBuffer[] = [];
      for (const o of outputs) {
        transfer.push(o.mask.data.buffer as ArrayBuffer);
        if (o.lowResLogits) transfer.push(o.lowResLogits.data.buffer as ArrayBuffer);
      }
      port.postMessage({ id: req.id, ok: true, outputs } satisfies WorkerResponse, transfer);
    },
    (err: unknown) =>
      port.postMessage({ id: req.id, ok: false, error: errorOf(err) } satisfies WorkerResponse),
  );
});

function errorOf(err: unknown): WorkerError {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; field?: unknown; value?: unknown };
    return {
      name: e.name,
      message: e.message,
      ...(typeof e.code === 'string' ? { code: e.code } : {}),
      ...(typeof e.field === 'string' ? { field: e.field } : {}),
      ...(cloneable(e.value) ? { value: e.value } : {}),
    };
  }
  return { name: 'Error', message: String(err) };
}

/** Whether a value can cross to the other thread (postMessage's structured clone). */
function cloneable(v: unknown): boolean {
  if (v === undefined) return false;
  try {
    structuredClone(v);
    return true;
  } catch {
    return false;
  }
}
