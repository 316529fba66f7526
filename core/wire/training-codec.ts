/**
 * Binary codecs for the NATS messages of training.proto (Task, RolloutGroup, PolicyRelease), built on
 * protobufjs at runtime (`Root.loadSync` of proto/). `encodeX(domain)` validates and returns the
 * protobuf bytes; `decodeX(bytes)` parses, checks every required field and returns the domain object,
 * throwing a ValidationError that names the field path (e.g. `rollouts[3].behaviourLogprobs`).
 * Garbage bytes become a ValidationError on the message itself, never a raw protobufjs exception.
 */
import { isAbsolute, join } from 'node:path';
import protobuf from 'protobufjs';
import { ValidationError } from '../errors/index.ts';
import type { Box } from '../geometry/index.ts';
import type { Action__Output, Action as ActionIn } from '../generated/samveteran/v1/Action.ts';
import type {
  Observation__Output,
  Observation as ObservationIn,
} from '../generated/samveteran/v1/Observation.ts';
import type { PolicyRelease__Output } from '../generated/samveteran/v1/PolicyRelease.ts';
import type { Rollout__Output, Rollout as RolloutIn } from '../generated/samveteran/v1/Rollout.ts';
import type { RolloutGroup__Output } from '../generated/samveteran/v1/RolloutGroup.ts';
import type { Task__Output } from '../generated/samveteran/v1/Task.ts';
import type { TaskKind__Output } from '../generated/samveteran/v1/TaskKind.ts';
import { PROTO_FILES, PROTO_ROOT } from './proto-files.ts';
import type { Action, Observation, PolicyRelease, Rollout, RolloutGroup, Task, TaskKind } from './types.ts';
import {
  boxFromWire,
  boxToWire,
  imageRefFromWire,
  imageRefToWire,
  isSha256Hex,
  labeledPointFromWire,
  labeledPointToWire,
  logitsFromWire,
  logitsToWire,
  pointFromWire,
  pointToWire,
  requireFiniteNumber,
  requireMessage,
  requireNonNegInt,
  requireString,
  rleFromWire,
  rleToWire,
} from './value-codec.ts';

const TO_OBJECT: protobuf.IConversionOptions = {
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  objects: false,
  oneofs: true,
};

let root: protobuf.Root | undefined;

function type(name: 'Task' | 'RolloutGroup' | 'PolicyRelease'): protobuf.Type {
  if (!root) {
    const r = new protobuf.Root();
    // Imports are written relative to the include root ("samveteran/v1/common.proto").
    r.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(PROTO_ROOT, target));
    r.loadSync(PROTO_FILES.training, { keepCase: false });
    r.resolveAll();
    root = r;
  }
  return root.lookupType(`samveteran.v1.${name}`);
}

function encodeMessage(name: 'Task' | 'RolloutGroup' | 'PolicyRelease', obj: object): Uint8Array {
  const t = type(name);
  return t.encode(t.fromObject(obj as Record<string, unknown>)).finish();
}

function decodeMessage<T>(name: 'Task' | 'RolloutGroup' | 'PolicyRelease', bytes: Uint8Array): T {
  const t = type(name);
  let msg: protobuf.Message;
  try {
    msg = t.decode(bytes);
  } catch (err) {
    throw new ValidationError(name, bytes, `is not a valid protobuf ${name}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return t.toObject(msg, TO_OBJECT) as T;
}

// --- enums ---------------------------------------------------------------------------------------

const KIND_TO_WIRE: Record<TaskKind, TaskKind__Output> = {
  localization: 'TASK_KIND_LOCALIZATION',
  mask_understanding: 'TASK_KIND_MASK_UNDERSTANDING',
  auxiliary: 'TASK_KIND_AUXILIARY',
};

function kindToWire(k: TaskKind, field: string): TaskKind__Output {
  const w = KIND_TO_WIRE[k];
  if (!w) throw new ValidationError(field, k, 'must be localization, mask_understanding or auxiliary');
  return w;
}

function kindFromWire(w: TaskKind__Output, field: string): TaskKind {
  for (const [k, v] of Object.entries(KIND_TO_WIRE)) if (v === w) return k as TaskKind;
  throw new ValidationError(field, w, 'must be a task kind (localization, mask_understanding, auxiliary)');
}

function finiteBox(b: Box, field: string): Box {
  for (const v of b) if (!Number.isFinite(v)) throw new ValidationError(field, b, 'must be finite numbers');
  return b;
}

// --- Observation ---------------------------------------------------------------------------------

function observationToWire(o: Observation, field: string): ObservationIn {
  requireString(o.image?.digest, `${field}.image.digest`);
  return {
    image: imageRefToWire(o.image),
    query: requireString(o.query, `${field}.query`, true),
    ...(o.currentMask ? { currentMask: rleToWire(o.currentMask) } : {}),
    ...(o.box ? { box: boxToWire(finiteBox(o.box, `${field}.box`)) } : {}),
    points: o.points.map(labeledPointToWire),
    step: requireNonNegInt(o.step, `${field}.step`),
    ...(o.currentLogits ? { currentLogits: logitsToWire(o.currentLogits) } : {}),
  };
}

function observationFromWire(w: Observation__Output | null, field: string): Observation {
  const o = requireMessage(w, field);
  return {
    image: imageRefFromWire(o.image, `${field}.image`),
    query: o.query,
    ...(o.currentMask ? { currentMask: rleFromWire(o.currentMask, `${field}.currentMask`) } : {}),
    ...(o.box ? { box: finiteBox(boxFromWire(o.box, `${field}.box`), `${field}.box`) } : {}),
    points: o.points.map((p, i) => labeledPointFromWire(p, `${field}.points[${i}]`)),
    step: o.step,
    ...(o.currentLogits ? { currentLogits: logitsFromWire(o.currentLogits, `${field}.currentLogits`) } : {}),
  };
}

// --- Task ----------------------------------------------------------------------------------------

export function encodeTask(t: Task): Uint8Array {
  const taskId = requireString(t.taskId, 'taskId');
  if (!Number.isInteger(t.groupSize) || t.groupSize < 1)
    throw new ValidationError('groupSize', t.groupSize, 'must be ≥ 1');
  return encodeMessage('Task', {
    taskId,
    kind: kindToWire(t.kind, 'kind'),
    dataset: t.dataset,
    sampleId: t.sampleId,
    observation: observationToWire(t.observation, 'observation'),
    gtMask: rleToWire(requireMessage(t.gtMask, 'gtMask')),
    gtBox: boxToWire(finiteBox(requireMessage(t.gtBox, 'gtBox'), 'gtBox')),
    groupSize: t.groupSize,
    seed: requireNonNegInt(t.seed, 'seed'),
    minPolicyVersion: requireNonNegInt(t.minPolicyVersion, 'minPolicyVersion'),
    createdAtMs: requireFiniteNumber(t.createdAtMs, 'createdAtMs'),
    ...(t.ignoreMask ? { ignoreMask: rleToWire(t.ignoreMask) } : {}),
  });
}

export function decodeTask(bytes: Uint8Array): Task {
  const w = decodeMessage<Task__Output>('Task', bytes);
  const taskId = requireString(w.taskId, 'taskId');
  if (w.groupSize < 1) throw new ValidationError('groupSize', w.groupSize, 'must be ≥ 1');
  return {
    taskId,
    kind: kindFromWire(w.kind, 'kind'),
    dataset: w.dataset,
    sampleId: w.sampleId,
    observation: observationFromWire(w.observation, 'observation'),
    gtMask: rleFromWire(w.gtMask, 'gtMask'),
    gtBox: finiteBox(boxFromWire(w.gtBox, 'gtBox'), 'gtBox'),
    groupSize: w.groupSize,
    seed: w.seed,
    minPolicyVersion: w.minPolicyVersion,
    createdAtMs: w.createdAtMs,
    ...(w.ignoreMask ? { ignoreMask: rleFromWire(w.ignoreMask, 'ignoreMask') } : {}),
  };
}

// --- Action / Rollout ----------------------------------------------------------------------------

function actionToWire(a: Action, field: string): ActionIn {
  if (a.kind === 'box') return { box: boxToWire(finiteBox(a.box, `${field}.box`)) };
  if (a.kind === 'refine') {
    return {
      refine: {
        ...(a.positive ? { positive: pointToWire(a.positive) } : {}),
        ...(a.negative ? { negative: pointToWire(a.negative) } : {}),
      },
    };
  }
  throw new ValidationError(`${field}.kind`, (a as { kind: unknown }).kind, 'must be box or refine');
}

function actionFromWire(w: Action__Output, field: string): Action {
  if (w.kind === 'box')
    return { kind: 'box', box: finiteBox(boxFromWire(w.box, `${field}.box`), `${field}.box`) };
  if (w.kind === 'refine') {
    const r = requireMessage(w.refine, `${field}.refine`);
    return {
      kind: 'refine',
      positive: r.positive ? pointFromWire(r.positive, `${field}.refine.positive`) : null,
      negative: r.negative ? pointFromWire(r.negative, `${field}.refine.negative`) : null,
    };
  }
  throw new ValidationError(field, w, 'must set box or refine');
}

function checkRollout(r: Rollout | Rollout__Output, field: string): void {
  if (r.tokenIds.length !== r.behaviourLogprobs.length) {
    throw new ValidationError(
      `${field}.behaviourLogprobs`,
      r.behaviourLogprobs.length,
      `must have one log-prob per token (${r.tokenIds.length} tokens)`,
    );
  }
  r.tokenIds.forEach((t, i) => requireNonNegInt(t, `${field}.tokenIds[${i}]`));
  r.behaviourLogprobs.forEach((lp, i) => {
    if (!Number.isFinite(lp) || lp > 1e-6) {
      throw new ValidationError(
        `${field}.behaviourLogprobs[${i}]`,
        lp,
        'must be a finite log-probability ≤ 0',
      );
    }
  });
  requireFiniteNumber(r.reward, `${field}.reward`);
  for (const [k, v] of Object.entries(r.rewardBreakdown))
    requireFiniteNumber(v, `${field}.rewardBreakdown.${k}`);
}

function rolloutToWire(r: Rollout, field: string): RolloutIn {
  checkRollout(r, field);
  if (!r.action && !r.formatError) {
    throw new ValidationError(
      `${field}.formatError`,
      r.formatError,
      'must explain why a rollout has no action',
    );
  }
  return {
    tokenIds: [...r.tokenIds],
    behaviourLogprobs: [...r.behaviourLogprobs],
    actionText: r.actionText,
    ...(r.action ? { action: actionToWire(r.action, `${field}.action`) } : {}),
    formatError: r.formatError,
    reward: r.reward,
    rewardBreakdown: { ...r.rewardBreakdown },
    ...(r.resultMask ? { resultMask: rleToWire(r.resultMask) } : {}),
    iou: r.iou,
    stats: { ...r.stats },
    ...(r.drawWeight === undefined
      ? {}
      : { drawWeight: requireDrawWeight(r.drawWeight, `${field}.drawWeight`) }),
  };
}

function requireDrawWeight(v: number, field: string): number {
  if (!(Number.isFinite(v) && v > 0)) throw new ValidationError(field, v, 'must be a finite number > 0');
  return v;
}

function rolloutFromWire(w: Rollout__Output, field: string): Rollout {
  checkRollout(w, field);
  if (!w.action && !w.formatError) {
    throw new ValidationError(`${field}.action`, null, 'is required unless formatError explains its absence');
  }
  const s = w.stats;
  return {
    tokenIds: w.tokenIds,
    behaviourLogprobs: w.behaviourLogprobs,
    actionText: w.actionText,
    ...(w.action ? { action: actionFromWire(w.action, `${field}.action`) } : {}),
    formatError: w.formatError,
    reward: w.reward,
    rewardBreakdown: { ...w.rewardBreakdown },
    ...(w.resultMask ? { resultMask: rleFromWire(w.resultMask, `${field}.resultMask`) } : {}),
    iou: w.iou,
    stats: {
      temperature: s?.temperature ?? 0,
      topP: s?.topP ?? 0,
      topK: s?.topK ?? 0,
      meanEntropy: s?.meanEntropy ?? 0,
      sampleMs: s?.sampleMs ?? 0,
      envMs: s?.envMs ?? 0,
    },
    ...(w.drawWeight === 0 ? {} : { drawWeight: requireDrawWeight(w.drawWeight, `${field}.drawWeight`) }),
  };
}

// --- RolloutGroup --------------------------------------------------------------------------------

export function encodeRolloutGroup(g: RolloutGroup): Uint8Array {
  if (g.rollouts.length === 0) throw new ValidationError('rollouts', [], 'must contain at least one rollout');
  return encodeMessage('RolloutGroup', {
    groupId: requireString(g.groupId, 'groupId'),
    taskId: requireString(g.taskId, 'taskId'),
    kind: kindToWire(g.kind, 'kind'),
    policyVersion: requireNonNegInt(g.policyVersion, 'policyVersion'),
    actorId: requireString(g.actorId, 'actorId'),
    observation: observationToWire(g.observation, 'observation'),
    rollouts: g.rollouts.map((r, i) => rolloutToWire(r, `rollouts[${i}]`)),
    samplesDrawn: requireNonNegInt(g.samplesDrawn, 'samplesDrawn'),
    goodEnough: g.goodEnough,
    promptTokenIds: [...g.promptTokenIds],
    envModelId: g.envModelId,
    createdAtMs: requireFiniteNumber(g.createdAtMs, 'createdAtMs'),
    attempt: requireNonNegInt(g.attempt, 'attempt'),
  });
}

export function decodeRolloutGroup(bytes: Uint8Array): RolloutGroup {
  const w = decodeMessage<RolloutGroup__Output>('RolloutGroup', bytes);
  if (w.rollouts.length === 0) throw new ValidationError('rollouts', [], 'must contain at least one rollout');
  return {
    groupId: requireString(w.groupId, 'groupId'),
    taskId: requireString(w.taskId, 'taskId'),
    kind: kindFromWire(w.kind, 'kind'),
    policyVersion: w.policyVersion,
    actorId: requireString(w.actorId, 'actorId'),
    observation: observationFromWire(w.observation, 'observation'),
    rollouts: w.rollouts.map((r, i) => rolloutFromWire(r, `rollouts[${i}]`)),
    samplesDrawn: w.samplesDrawn,
    goodEnough: w.goodEnough,
    promptTokenIds: w.promptTokenIds,
    envModelId: w.envModelId,
    createdAtMs: w.createdAtMs,
    attempt: w.attempt,
  };
}

// --- PolicyRelease -------------------------------------------------------------------------------

function checkRelease(p: PolicyRelease | PolicyRelease__Output): void {
  if (!Number.isInteger(p.version) || p.version < 1)
    throw new ValidationError('version', p.version, 'must be ≥ 1');
  if (!isSha256Hex(p.digest))
    throw new ValidationError('digest', p.digest, 'must be a lowercase hex SHA-256');
  requireString(p.objectName, 'objectName');
  if (!Number.isInteger(p.byteSize) || p.byteSize < 1)
    throw new ValidationError('byteSize', p.byteSize, 'must be ≥ 1');
  requireString(p.architecture, 'architecture');
  requireNonNegInt(p.step, 'step');
}

export function encodePolicyRelease(p: PolicyRelease): Uint8Array {
  checkRelease(p);
  return encodeMessage('PolicyRelease', { ...p });
}

export function decodePolicyRelease(bytes: Uint8Array): PolicyRelease {
  const w = decodeMessage<PolicyRelease__Output>('PolicyRelease', bytes);
  checkRelease(w);
  return {
    version: w.version,
    digest: w.digest,
    objectName: w.objectName,
    byteSize: w.byteSize,
    createdAtMs: w.createdAtMs,
    architecture: w.architecture,
    step: w.step,
  };
}
