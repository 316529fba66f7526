/**
 * The one place that imports TensorFlow.js. It selects the backend once (WebAssembly/XNNPACK by
 * default: about 25× the plain-JS backend on matmul; 'cpu' for float-sensitive tests), registers
 * the gradient kernels the policy needs (tfjs-core's Node bundle ships none; see tf-gradients.ts),
 * and re-exports the `tf` namespace for the rest of core/policy.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { SamVeteranError } from '../errors/index.ts';
import { registerPolicyGradients } from './tf-gradients.ts';

export { tf };

/**
 * The WebAssembly backend's Identity kernel copies its input, and tfjs-core's engine clones (Identity)
 * every tensor a gradient saves for the backward pass: ~560 copies per training step of the warm
 * start's network, 9% of its time (`npm run bench:kernels`). Tensors are immutable (a variable's
 * assign swaps its data id), so the clone can share the input's buffer under the backend's reference
 * count, as the backend's own Reshape does and the CPU backend's Identity does: same values, no copy.
 */
function shareIdentityOnWasm(): void {
  const kernel = tf.getKernel('Identity', 'wasm');
  if (!kernel || (kernel as { shared?: boolean }).shared) return;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    ...kernel,
    shared: true,
    kernelFunc: (args) => {
      const x = (args.inputs as { x: tf.TensorInfo }).x;
      // Strings are not kept on the WASM heap; let the backend's kernel handle them.
      if (x.dtype === 'string') return kernel.kernelFunc(args);
      (args.backend as unknown as WasmBackendInternals).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  } as tf.KernelConfig);
}

/**
 * The WebAssembly backend caches one XNNPACK operator per right-hand operand of a plain product,
 * keyed by that operand's buffer alone (tfjs-backend-wasm's batch_mat_mul_impl.cc: the key is the
 * buffer id, the bias id and the activation, not the shape), with the operand packed into it. Two
 * products whose right operands are different reshapes of one buffer therefore get the first one's
 * packed matrix: wrong numbers, or NaN. Reshape views share buffers, and so do the clones above, so
 * this guard remembers the [K, N] each buffer was first multiplied as and gives any product that
 * views it differently a copy of its own (a new buffer, packed afresh, freed at once).
 */
function guardMatMulCacheOnWasm(): void {
  const kernel = tf.getKernel('BatchMatMul', 'wasm');
  if (!kernel || (kernel as { guarded?: boolean }).guarded) return;
  const seen = new WeakMap<object, string>();
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    ...kernel, // its setupFunc binds the WASM function the kernel calls
    guarded: true,
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean };
      const k = b.shape[b.shape.length - 2] as number;
      const n = b.shape[b.shape.length - 1] as number;
      const aRows = a.shape[a.shape.length - 2] as number;
      const aCols = a.shape[a.shape.length - 1] as number;
      const cached =
        !attrs.transposeA &&
        !attrs.transposeB &&
        tf.util.sizeFromShape(b.shape) === k * n &&
        tf.util.sizeFromShape(a.shape) === aRows * aCols;
      if (!cached) return kernel.kernelFunc(args);
      const view = `${k}x${n}`;
      const first = seen.get(b.dataId);
      if (first === undefined) seen.set(b.dataId, view);
      if (first === undefined || first === view) return kernel.kernelFunc(args);
      const backend = args.backend as unknown as WasmBackendInternals;
      const copy = backend.makeOutput(b.shape, b.dtype);
      backend.typedArrayFromHeap(copy).set(backend.typedArrayFromHeap(b));
      try {
        return kernel.kernelFunc({ ...args, inputs: { a, b: copy } } as typeof args);
      } finally {
        backend.disposeData(copy.dataId);
      }
    },
  } as tf.KernelConfig);
}

/** The few BackendWasm methods the kernels above use (not in tfjs-core's KernelBackend type). */
interface WasmBackendInternals {
  incRef(id: tf.DataId): void;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  disposeData(id: tf.DataId): boolean;
}

shareIdentityOnWasm();
guardMatMulCacheOnWasm();

export type TfBackendName = 'wasm' | 'cpu';

let ready: Promise<TfBackendName> | undefined;
let current: TfBackendName | undefined;

/**
 * Initialises the backend (idempotent; a different name switches backend, which tests use to run a
 * gradient check on 'cpu'). Must be awaited before any policy is built.
 */
export async function initTf(backend: TfBackendName = 'wasm'): Promise<TfBackendName> {
  if (current === backend && ready) return ready;
  const previous = ready ?? Promise.resolve(undefined);
  ready = previous.then(async () => {
    registerPolicyGradients(tf);
    let ok: boolean;
    try {
      ok = await tf.setBackend(backend);
      await tf.ready();
    } catch (err) {
      throw new SamVeteranError('UNAVAILABLE', `TensorFlow.js backend "${backend}" failed to initialise`, {
        cause: err,
      });
    }
    if (!ok) throw new SamVeteranError('UNAVAILABLE', `TensorFlow.js backend "${backend}" is not available`);
    current = backend;
    return backend;
  });
  return ready;
}

/** Initialises the default backend unless one is already active (keeps a test's 'cpu' choice). */
export async function ensureTf(): Promise<TfBackendName> {
  if (ready) return ready;
  return initTf('wasm');
}

/** The active backend name, or throws when initTf has not completed. */
export function assertTfReady(): TfBackendName {
  if (current === undefined || tf.getBackend() !== current) {
    throw new SamVeteranError(
      'FAILED_PRECONDITION',
      'TensorFlow.js is not initialised: await initTf() first',
    );
  }
  return current;
}
