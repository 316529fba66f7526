/**
 * Learner checkpoints: one directory per commit, `step-<000000123>/`, holding
 *   policy.svp       the weights (core/policy's checkpoint format, sha256-verified on load)
 *   optimizer.bin    Adam's moments: "SVO1" + uint32 manifest length + JSON manifest + float32 blob
 *   state.json       step, version, feeder position and RNG, outstanding tasks, recently applied
 *                    group ids, counters (everything else the learner needs to continue exactly)
 *
 * Atomicity: the three files are written into `.tmp-step-…-<pid>/`, each fsync'd, the directory is
 * renamed to its final name and the parent directory fsync'd. A directory named `step-*` is therefore
 * complete; a crash leaves at most a `.tmp-*` directory, removed on the next write. The newest
 * readable `step-*` wins on load; older ones beyond `keep` are deleted after a successful commit.
 */
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SamVeteranError } from '../../../core/errors/index.ts';
import type { NamedWeight, OptimizerState } from '../../../core/policy/index.ts';
import type { RngState } from '../../../core/rng/index.ts';
import type { TaskKind } from '../../../core/wire/index.ts';

export const CHECKPOINT_FORMAT = 'sam-veteran-learner-checkpoint';

/** A task the learner issued and has not yet applied a group for. */
export interface OutstandingTask {
  readonly taskId: string;
  readonly kind: TaskKind;
  readonly dataset: string;
  readonly sampleId: string;
  readonly seed: number;
  /** Learner version when the task was published. */
  readonly issuedVersion: number;
  /** sha256 hex of the sample's RGB bytes (what the task's observation carries). */
  readonly imageDigest: string;
}

export interface FeederState {
  /** Next task sequence number. */
  readonly seq: number;
  readonly rng: RngState;
}

export interface LearnerState {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly runId: string;
  readonly step: number;
  readonly version: number;
  readonly feeder: FeederState;
  readonly outstanding: readonly OutstandingTask[];
  /** Group ids applied in recent steps (newest last): a redelivery of one of these is skipped. */
  readonly appliedGroupIds: readonly string[];
  /** Cumulative counters (groups applied, dropped by reason, …). */
  readonly counters: Readonly<Record<string, number>>;
  readonly createdAtMs: number;
}

export interface Checkpoint {
  readonly dir: string;
  readonly state: LearnerState;
  readonly policyBytes: Uint8Array;
  readonly optimizer: OptimizerState | null;
  /** The moving average of the weights (`policy-avg.svp`), when the learner keeps one. */
  readonly averagedPolicyBytes?: Uint8Array;
}

const OPT_MAGIC = 'SVO1';

export function encodeOptimizerState(s: OptimizerState): Uint8Array {
  const entries: { name: string; shape: number[]; offset: number; length: number }[] = [];
  let total = 0;
  for (const m of s.moments) {
    entries.push({ name: m.name, shape: [...m.shape], offset: total, length: m.data.length });
    total += m.data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify({ iterations: s.iterations, entries }));
  const head = 8 + json.length;
  const pad = (4 - (head % 4)) % 4;
  const out = new Uint8Array(head + pad + total * 4);
  out.set(new TextEncoder().encode(OPT_MAGIC), 0);
  new DataView(out.buffer).setUint32(4, json.length, true);
  out.set(json, 8);
  const blob = new Float32Array(out.buffer, head + pad, total);
  s.moments.forEach((m, i) => blob.set(m.data, (entries[i] as { offset: number }).offset));
  return out;
}

export function decodeOptimizerState(bytes: Uint8Array, source: string): OptimizerState {
  if (bytes.length < 8 || new TextDecoder().decode(bytes.subarray(0, 4)) !== OPT_MAGIC) {
    throw new SamVeteranError(
      'INVALID_ARGUMENT',
      `${source} is not an optimizer state (expected magic "${OPT_MAGIC}")`,
    );
  }
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  const manifest = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len))) as {
    iterations: number;
    entries: { name: string; shape: number[]; offset: number; length: number }[];
  };
  const head = 8 + len;
  const start = head + ((4 - (head % 4)) % 4);
  const aligned = bytes.slice(start); // copy: the blob must start at a 4-byte aligned offset
  const blob = new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
  const moments: NamedWeight[] = manifest.entries.map((e) => {
    if (e.offset + e.length > blob.length) {
      throw new SamVeteranError(
        'INVALID_ARGUMENT',
        `${source} is truncated at tensor ${JSON.stringify(e.name)}`,
      );
    }
    return { name: e.name, shape: e.shape, data: blob.slice(e.offset, e.offset + e.length) };
  });
  return { iterations: manifest.iterations, moments };
}

async function writeSynced(path: string, data: Uint8Array | string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function stepDirName(step: number): string {
  return `step-${String(step).padStart(9, '0')}`;
}

/** Writes a checkpoint atomically; returns its directory. Keeps the newest `keep` (default 2). */
export async function writeCheckpoint(
  root: string,
  data: {
    state: LearnerState;
    policyBytes: Uint8Array;
    optimizer: OptimizerState | null;
    averagedPolicyBytes?: Uint8Array | undefined;
  },
  keep = 2,
): Promise<string> {
  await mkdir(root, { recursive: true });
  const name = stepDirName(data.state.step);
  const tmp = join(root, `.tmp-${name}-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  await writeSynced(join(tmp, 'policy.svp'), data.policyBytes);
  if (data.optimizer) await writeSynced(join(tmp, 'optimizer.bin'), encodeOptimizerState(data.optimizer));
  if (data.averagedPolicyBytes) await writeSynced(join(tmp, 'policy-avg.svp'), data.averagedPolicyBytes);
  await writeSynced(join(tmp, 'state.json'), JSON.stringify(data.state));
  await syncDir(tmp);
  const final = join(root, name);
  // Same step written twice (stop right after a periodic commit): replace it.
  await rm(final, { recursive: true, force: true });
  await rename(tmp, final);
  await syncDir(root);
  await prune(root, keep);
  return final;
}

async function listStepDirs(root: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return [];
  }
  return names.filter((n) => /^step-\d+$/.test(n)).sort();
}

async function prune(root: string, keep: number): Promise<void> {
  const names = await listStepDirs(root);
  for (const n of names.slice(0, Math.max(0, names.length - keep))) {
    await rm(join(root, n), { recursive: true, force: true });
  }
  for (const n of await readdir(root)) {
    if (n.startsWith('.tmp-step-') && !n.endsWith(`-${process.pid}`))
      await rm(join(root, n), { recursive: true, force: true });
  }
}

/** Reads one checkpoint directory (throws SamVeteranError naming the file on a problem). */
export async function readCheckpoint(dir: string): Promise<Checkpoint> {
  let state: LearnerState;
  try {
    state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as LearnerState;
  } catch (err) {
    throw new SamVeteranError(
      'INVALID_ARGUMENT',
      `checkpoint ${JSON.stringify(dir)} has no readable state.json`,
      { cause: err },
    );
  }
  if (state.format !== CHECKPOINT_FORMAT) {
    throw new SamVeteranError(
      'INVALID_ARGUMENT',
      `checkpoint ${JSON.stringify(dir)} has format ${JSON.stringify(state.format)}, expected ${CHECKPOINT_FORMAT}`,
    );
  }
  const policyBytes = new Uint8Array(await readFile(join(dir, 'policy.svp')));
  const optimizerBytes = await readOptional(join(dir, 'optimizer.bin'));
  const optimizer = optimizerBytes ? decodeOptimizerState(optimizerBytes, join(dir, 'optimizer.bin')) : null;
  const averagedPolicyBytes = await readOptional(join(dir, 'policy-avg.svp'));
  return { dir, state, policyBytes, optimizer, ...(averagedPolicyBytes ? { averagedPolicyBytes } : {}) };
}

/** A file's bytes, or undefined when it does not exist (other read errors propagate). */
async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Step of the newest readable checkpoint under `root`; 0 when there is none. */
export async function checkpointStep(root: string): Promise<number> {
  return (await latestCheckpoint(root))?.state.step ?? 0;
}

/** The newest readable checkpoint under `root`, or null when there is none. */
export async function latestCheckpoint(root: string): Promise<Checkpoint | null> {
  const names = await listStepDirs(root);
  for (const n of names.reverse()) {
    try {
      return await readCheckpoint(join(root, n));
    } catch {
      // An unreadable directory (disk damage) falls back to the previous commit.
      continue;
    }
  }
  return null;
}
