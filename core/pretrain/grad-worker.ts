/**
 * A data-parallel training worker (see data-parallel.ts): holds a copy of the policy, computes the
 * gradients of its share of each batch and applies the mean gradients it is sent back, so every
 * worker's weights stay identical to every other's.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  PointerPolicy,
  WeightAverage,
  tf,
  type PolicyConfig,
  type PolicyTrainOptions,
} from '../policy/index.ts';
import type { GradWorkerInit, GradWorkerRequest, GradWorkerResponse } from './grad-protocol.ts';

const port = parentPort;
if (!port) throw new Error('grad-worker.ts must run in a worker thread');
const init = workerData as GradWorkerInit;
const policy = await PointerPolicy.create(init.config as Partial<PolicyConfig>, {
  weights: init.weights,
  train: init.train as Partial<PolicyTrainOptions>,
});
const average = init.averageDecay ? new WeightAverage(init.averageDecay, init.weights) : undefined;

/** Applies the mean gradients, then folds the new weights into the average. */
function apply(a: { grads: Map<string, Float32Array>; loss: number }): void {
  policy.applyGradients(a.grads, a.loss);
  average?.update(policy.getWeights());
}

function handle(req: Exclude<GradWorkerRequest, { type: 'close' }>): GradWorkerResponse {
  if (req.type === 'weights') {
    if (req.apply) apply(req.apply);
    return {
      type: 'weights',
      id: req.id,
      weights: policy.getWeights(),
      ...(average ? { average: average.weights() } : {}),
    };
  }
  if (req.apply) {
    policy.setTrainOptions({ learningRate: req.apply.learningRate });
    apply(req.apply);
  }
  const { loss, grads } = policy.computeGradients(() =>
    policy.supervisedLoss(req.batch, req.targets, req.loss),
  );
  // Per-task losses on a cheap cadence (forward only), for the loss curve.
  const parts = req.probe.map(({ batch, targets }) =>
    tf.tidy(() => (policy.supervisedLoss(batch, targets).dataSync() as Float32Array)[0] as number),
  );
  return { type: 'grads', id: req.id, loss, grads, parts };
}

port.on('message', (req: GradWorkerRequest) => {
  if (req.type === 'close') {
    policy.dispose();
    port.close();
    return;
  }
  let res: GradWorkerResponse;
  try {
    res = handle(req);
  } catch (err) {
    res = { type: 'error', id: req.id, message: err instanceof Error ? err.message : String(err) };
  }
  const transfer =
    res.type === 'grads'
      ? [...res.grads.values()].map((g) => g.buffer as ArrayBuffer)
      : res.type === 'weights'
        ? [...res.weights, ...(res.average ?? [])].map((w) => w.data.buffer as ArrayBuffer)
        : [];
  port.postMessage(res, transfer);
});
port.postMessage({ type: 'ready', id: 0 } satisfies GradWorkerResponse);
