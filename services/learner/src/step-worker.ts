/**
 * The learner's step worker: holds a trainable copy of the policy and the frozen reference, and
 * computes each GRPO step's gradient at the weights the learner sends with it (grpo-step.ts
 * `grpoGradients`). It keeps no optimizer state: AdamW runs on the learner's thread, so checkpoints,
 * resume and the weight average do not depend on this thread existing.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SamVeteranError } from '../../../core/errors/index.ts';
import { PointerPolicy } from '../../../core/policy/index.ts';
import { grpoGradients } from './grpo-step.ts';
import type { StepWorkerInit, StepWorkerRequest, StepWorkerResponse } from './step-protocol.ts';

const port = parentPort;
if (!port) throw new Error('step-worker.ts must run in a worker thread');
const init = workerData as StepWorkerInit;
const policy = await PointerPolicy.create(init.config, { weights: init.reference, train: init.train });
const reference = await PointerPolicy.create(init.config, { weights: init.reference, frozen: true });

port.on('message', (req: StepWorkerRequest) => {
  if (req.type === 'close') {
    policy.dispose();
    reference.dispose();
    port.close();
    return;
  }
  let res: StepWorkerResponse;
  try {
    policy.setWeights(req.weights);
    res = { type: 'grads', id: req.id, result: grpoGradients(policy, reference, req.batch, req.settings) };
  } catch (err) {
    res = {
      type: 'error',
      id: req.id,
      code: err instanceof SamVeteranError ? err.code : 'INTERNAL',
      message: err instanceof Error ? err.message : String(err),
    };
  }
  const transfer =
    res.type === 'grads'
      ? [
          ...[...res.result.grads.values()].map((g) => g.buffer as ArrayBuffer),
          res.result.logpNew.buffer as ArrayBuffer,
          res.result.logpRef.buffer as ArrayBuffer,
          res.result.tokenMask.buffer as ArrayBuffer,
          res.result.advantages.buffer as ArrayBuffer,
        ]
      : [];
  port.postMessage(res, transfer);
});
port.postMessage({ type: 'ready', id: 0 } satisfies StepWorkerResponse);
