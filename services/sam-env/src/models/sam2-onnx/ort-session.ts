/**
 * The one place that talks to onnxruntime-node: creates a session from a path or bytes with the
 * configured execution providers, checks declared inputs/outputs against a contract, checks every
 * feed (name, dtype, fixed dims) before running, wraps native failures in domain errors, and
 * releases the native session on close.
 *
 * onnxruntime-node appends CUDA through a throwing C++ wrapper, so a missing provider library makes
 * `create` throw (no silent CPU fallback); we turn that into a FAILED_PRECONDITION that says how to fix it.
 */
import * as ort from 'onnxruntime-node';
import { SamVeteranError, ValidationError } from '../../../../../core/errors/index.ts';
import type { TensorSpec } from './families.ts';

export type ExecutionProviderName = 'cpu' | 'cuda';

/** Where a model comes from: a file (needed for external `.onnx_data` weights) or bytes in memory. */
export type ModelSource = { readonly path: string } | { readonly bytes: Uint8Array };

export interface OrtSessionOptions {
  /** `encoder` or `decoder`; used in every error message. */
  readonly role: string;
  readonly source: ModelSource;
  /** Providers in priority order, e.g. `['cuda', 'cpu']`. Default `['cpu']`. */
  readonly executionProviders?: readonly ExecutionProviderName[];
  /** Intra-op threads; default: onnxruntime's choice (all cores). */
  readonly intraOpNumThreads?: number;
}

export interface TensorMeta {
  readonly name: string;
  readonly type: string;
  readonly shape: readonly (number | string)[];
}

function metaOf(m: ort.InferenceSession.ValueMetadata): TensorMeta {
  if (!m.isTensor) return { name: m.name, type: 'non-tensor', shape: [] };
  return {
    name: m.name,
    type: m.type,
    shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : String(d))),
  };
}

function cudaError(role: string, cause: unknown): SamVeteranError {
  const detail = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  return new SamVeteranError(
    'FAILED_PRECONDITION',
    `execution provider cuda could not be loaded for the ${role}: ${detail}; install the CUDA provider ` +
      '(ONNXRUNTIME_NODE_INSTALL=1 npm install onnxruntime-node, with CUDA 12 and cuDNN 9 on the library path) or use provider cpu',
    { cause },
  );
}

export class OrtSession {
  readonly role: string;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  private readonly inputs = new Map<string, TensorMeta>();
  private readonly outputs = new Map<string, TensorMeta>();
  private session: ort.InferenceSession | undefined;

  private constructor(role: string, session: ort.InferenceSession) {
    this.role = role;
    this.session = session;
    this.inputNames = [...session.inputNames];
    this.outputNames = [...session.outputNames];
    for (const m of session.inputMetadata) this.inputs.set(m.name, metaOf(m));
    for (const m of session.outputMetadata) this.outputs.set(m.name, metaOf(m));
  }

  static async create(options: OrtSessionOptions): Promise<OrtSession> {
    const providers = options.executionProviders ?? ['cpu'];
    for (const [i, p] of providers.entries()) {
      if (p !== 'cpu' && p !== 'cuda') {
        throw new ValidationError(
          `executionProviders[${i}]`,
          p,
          'is not a supported execution provider; use cpu or cuda',
        );
      }
    }
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: [...providers],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      ...(options.intraOpNumThreads !== undefined ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
    };
    try {
      const session =
        'path' in options.source
          ? await ort.InferenceSession.create(options.source.path, sessionOptions)
          : await ort.InferenceSession.create(options.source.bytes, sessionOptions);
      return new OrtSession(options.role, session);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (providers.includes('cuda') && /cuda|provider|shared librar/i.test(msg))
        throw cudaError(options.role, err);
      const what = 'path' in options.source ? `file ${JSON.stringify(options.source.path)}` : 'bytes';
      throw new SamVeteranError(
        'FAILED_PRECONDITION',
        `${options.role} model (${what}) could not be loaded: ${msg}`,
        {
          cause: err,
        },
      );
    }
  }

  input(name: string): TensorMeta | undefined {
    return this.inputs.get(name);
  }

  output(name: string): TensorMeta | undefined {
    return this.outputs.get(name);
  }

  /** Checks that each spec'd input exists with the spec's dtype, rank and fixed dims. */
  requireInputs(specs: readonly TensorSpec[], context: string): void {
    for (const s of specs) this.check('input', this.inputs.get(s.name), s, context, this.inputNames);
  }

  requireOutputs(specs: readonly TensorSpec[], context: string): void {
    for (const s of specs) this.check('output', this.outputs.get(s.name), s, context, this.outputNames);
  }

  private check(
    kind: string,
    meta: TensorMeta | undefined,
    spec: TensorSpec,
    context: string,
    names: readonly string[],
  ): void {
    const field = `${this.role}.${kind}s.${spec.name}`;
    if (!meta) {
      throw new ValidationError(
        `${this.role}.${kind}s`,
        [...names],
        `lack ${JSON.stringify(spec.name)}, which ${context} needs`,
      );
    }
    if (meta.type !== spec.type) {
      throw new ValidationError(
        `${field}.type`,
        meta.type,
        `is not the ${spec.type} that ${context} expects`,
      );
    }
    const bad =
      meta.shape.length !== spec.shape.length ||
      spec.shape.some((d, i) => d !== null && typeof meta.shape[i] === 'number' && meta.shape[i] !== d);
    if (bad) {
      const want = `[${spec.shape.map((d) => (d === null ? '?' : d)).join(',')}]`;
      throw new ValidationError(
        `${field}.shape`,
        [...meta.shape],
        `does not match ${want} that ${context} expects`,
      );
    }
  }

  /** Runs after checking each feed against the model's declared inputs. */
  async run(feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType> {
    const session = this.session;
    if (!session) throw new SamVeteranError('FAILED_PRECONDITION', `${this.role} session is closed`);
    for (const name of this.inputNames) {
      const feed = feeds[name];
      const meta = this.inputs.get(name);
      if (!feed || !meta)
        throw new ValidationError(
          `${this.role}.feeds`,
          Object.keys(feeds),
          `lack input ${JSON.stringify(name)}`,
        );
      if (feed.type !== meta.type) {
        throw new ValidationError(
          `${this.role}.feeds.${name}.type`,
          feed.type,
          `is not the model's ${meta.type}`,
        );
      }
      const fixedMismatch =
        feed.dims.length !== meta.shape.length ||
        meta.shape.some((d, i) => typeof d === 'number' && feed.dims[i] !== d);
      if (fixedMismatch) {
        throw new ValidationError(
          `${this.role}.feeds.${name}.dims`,
          [...feed.dims],
          `do not fit the model's [${meta.shape.join(',')}]`,
        );
      }
    }
    try {
      return await session.run(feeds);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new SamVeteranError('INTERNAL', `${this.role} run failed: ${msg}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s) await s.release();
  }
}

export { ort };
