/**
 * Checkpoint format: one binary file.
 *
 *   bytes 0–3   magic "SVP1"
 *   bytes 4–7   uint32 LE: manifest length M
 *   bytes 8–8+M UTF-8 JSON manifest (architecture config, tensor table, sha256 of the blob)
 *   zero padding to a multiple of 4, then the blob: float32 little-endian tensors back to back
 *
 * Offsets and lengths in the tensor table are in bytes from the start of the blob. Loading checks
 * the magic, the sha256 and every tensor against the architecture, and restores the weights bit
 * for bit. The same bytes travel over the bus as the weights object of a policy version.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile, rename } from 'node:fs/promises';
import { endianness } from 'node:os';
import { SamVeteranError, ValidationError } from '../errors/index.ts';
import type { PolicyConfig } from './config.ts';
import { resolvePolicyConfig } from './config.ts';
import type { NamedWeight, PolicyCreateOptions } from './policy-types.ts';
import { PointerPolicy } from './pointer-policy.ts';
import { ensureTf } from './tf-runtime.ts';

const MAGIC = 'SVP1';
export const POLICY_FORMAT = 'sam-veteran-policy';
export const POLICY_ARCHITECTURE = 'pointer-v1';

export interface TensorEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32';
  /** Byte offset in the blob. */
  readonly offset: number;
  /** Byte length in the blob. */
  readonly length: number;
}

export interface PolicyManifest {
  readonly format: typeof POLICY_FORMAT;
  readonly version: 1;
  readonly architecture: typeof POLICY_ARCHITECTURE;
  readonly config: PolicyConfig;
  readonly tensors: readonly TensorEntry[];
  /** Lowercase hex sha256 of the blob. */
  readonly sha256: string;
  /** Free-form provenance (training command, step, metrics); not interpreted. */
  readonly metadata?: Record<string, unknown>;
}

export interface SerializedPolicy {
  readonly manifest: PolicyManifest;
  readonly blob: Uint8Array;
}

/** Signals a checkpoint that cannot be read (bad magic, manifest, hash or tensor table). */
export class CheckpointError extends SamVeteranError {
  override name = 'CheckpointError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
  }
}

function assertLittleEndian(): void {
  if (endianness() !== 'LE')
    throw new SamVeteranError('INTERNAL', 'policy checkpoints need a little-endian host');
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function serializePolicy(policy: PointerPolicy, metadata?: Record<string, unknown>): SerializedPolicy {
  return serializeWeights(policy.config, policy.getWeights(), metadata);
}

/** The same for weights held outside a policy (e.g. a moving average), with the config they fit. */
export function serializeWeights(
  config: PolicyConfig,
  weights: readonly NamedWeight[],
  metadata?: Record<string, unknown>,
): SerializedPolicy {
  assertLittleEndian();
  const total = weights.reduce((n, w) => n + w.data.byteLength, 0);
  const blob = new Uint8Array(total);
  const tensors: TensorEntry[] = [];
  let offset = 0;
  for (const w of weights) {
    blob.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), offset);
    tensors.push({ name: w.name, shape: [...w.shape], dtype: 'float32', offset, length: w.data.byteLength });
    offset += w.data.byteLength;
  }
  const manifest: PolicyManifest = {
    format: POLICY_FORMAT,
    version: 1,
    architecture: POLICY_ARCHITECTURE,
    config,
    tensors,
    sha256: sha256Hex(blob),
    ...(metadata ? { metadata } : {}),
  };
  return { manifest, blob };
}

/** Manifest + blob → the one-file byte layout. */
export function encodePolicyFile(s: SerializedPolicy): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(s.manifest));
  const head = 8 + json.length;
  const pad = (4 - (head % 4)) % 4;
  const out = new Uint8Array(head + pad + s.blob.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(4, json.length, true);
  out.set(json, 8);
  out.set(s.blob, head + pad);
  return out;
}

/** The policy as checkpoint bytes. */
export function policyToBytes(policy: PointerPolicy, metadata?: Record<string, unknown>): Uint8Array {
  return encodePolicyFile(serializePolicy(policy, metadata));
}

/** Parses and verifies checkpoint bytes (magic, manifest, sha256, tensor table) without building a policy. */
export function decodePolicyFile(bytes: Uint8Array, source = 'checkpoint'): SerializedPolicy {
  if (bytes.length < 8 || new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC) {
    throw new CheckpointError(`${source} is not a policy checkpoint (expected magic "${MAGIC}")`);
  }
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (8 + len > bytes.length)
    throw new CheckpointError(`${source} is truncated: manifest length ${len} exceeds the file`);
  let manifest: PolicyManifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len))) as PolicyManifest;
  } catch (err) {
    throw new CheckpointError(`${source} has an unreadable manifest`, { cause: err });
  }
  if (
    manifest.format !== POLICY_FORMAT ||
    manifest.architecture !== POLICY_ARCHITECTURE ||
    manifest.version !== 1
  ) {
    throw new CheckpointError(
      `${source} has format ${JSON.stringify(manifest.format)} architecture ${JSON.stringify(manifest.architecture)} version ${String(manifest.version)}; expected ${POLICY_FORMAT} ${POLICY_ARCHITECTURE} 1`,
    );
  }
  const start = 8 + len + ((4 - ((8 + len) % 4)) % 4);
  const blob = bytes.subarray(start);
  const digest = sha256Hex(blob);
  if (digest !== manifest.sha256) {
    throw new CheckpointError(
      `${source} is corrupt: blob sha256 ${digest} does not match the manifest's ${manifest.sha256}`,
    );
  }
  for (const t of manifest.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (
      t.dtype !== 'float32' ||
      t.length !== 4 * n ||
      t.offset % 4 !== 0 ||
      t.offset + t.length > blob.length
    ) {
      throw new CheckpointError(`${source} has a bad tensor entry ${JSON.stringify(t)}`);
    }
  }
  return { manifest, blob };
}

/** The weights stored in a verified checkpoint (copies, aligned). */
export function weightsOf(s: SerializedPolicy): NamedWeight[] {
  assertLittleEndian();
  return s.manifest.tensors.map((t) => {
    const bytes = s.blob.slice(t.offset, t.offset + t.length);
    return {
      name: t.name,
      shape: [...t.shape],
      data: new Float32Array(bytes.buffer, bytes.byteOffset, t.length / 4),
    };
  });
}

export type LoadPolicyOptions = Omit<PolicyCreateOptions, 'weights' | 'seed'>;

/**
 * Builds the policy stored in checkpoint bytes (TensorFlow.js must be initialised: `ensureTf()`);
 * throws CheckpointError naming `source` and the problem.
 */
export function loadPolicyBytes(
  bytes: Uint8Array,
  source = 'checkpoint',
  options: LoadPolicyOptions = {},
): PointerPolicy {
  const s = decodePolicyFile(bytes, source);
  let config: PolicyConfig;
  try {
    config = resolvePolicyConfig(s.manifest.config);
  } catch (err) {
    if (err instanceof ValidationError)
      throw new CheckpointError(`${source} has an invalid config: ${err.message}`, { cause: err });
    throw err;
  }
  const create: PolicyCreateOptions = { weights: weightsOf(s) };
  if (options.frozen !== undefined) Object.assign(create, { frozen: options.frozen });
  if (options.train !== undefined) Object.assign(create, { train: options.train });
  try {
    return new PointerPolicy(config, create);
  } catch (err) {
    if (err instanceof ValidationError)
      throw new CheckpointError(`${source} does not match its architecture: ${err.message}`, { cause: err });
    throw err;
  }
}

/** Initialises TensorFlow.js if needed, then `loadPolicyBytes`. */
export async function loadPolicy(
  bytes: Uint8Array,
  options: LoadPolicyOptions & { source?: string } = {},
): Promise<PointerPolicy> {
  await ensureTf();
  const { source, ...rest } = options;
  return loadPolicyBytes(bytes, source ?? 'checkpoint', rest);
}

/** Writes the checkpoint atomically (temp file + rename); returns the manifest. */
export async function savePolicyFile(
  policy: PointerPolicy,
  path: string,
  metadata?: Record<string, unknown>,
): Promise<PolicyManifest> {
  const s = serializePolicy(policy, metadata);
  await writePolicyBytes(path, encodePolicyFile(s));
  return s.manifest;
}

/** Writes policy-file bytes to a temporary name and renames it, so a reader never sees half a file. */
export async function writePolicyBytes(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

export async function loadPolicyFile(path: string, options: LoadPolicyOptions = {}): Promise<PointerPolicy> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new CheckpointError(`policy checkpoint ${JSON.stringify(path)} cannot be read`, { cause: err });
  }
  return loadPolicy(bytes, { ...options, source: `policy checkpoint ${JSON.stringify(path)}` });
}
