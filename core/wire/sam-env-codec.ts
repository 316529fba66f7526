/**
 * Codec for the SamEnv gRPC messages (sam_env.proto): the proto-loader object form ↔ domain types.
 * The server decodes requests with the `…FromWire` functions (structural checks; range checks
 * against the image live in the service), the client encodes with `…ToWire` and decodes responses.
 */
import type { InfoResponse, InfoResponse__Output } from '../generated/samveteran/v1/InfoResponse.ts';
import type { Prompt, Prompt__Output } from '../generated/samveteran/v1/Prompt.ts';
import type {
  TransitionResult,
  TransitionResult__Output,
} from '../generated/samveteran/v1/TransitionResult.ts';
import type { EnvInfo, EnvPrompt, EnvTransitionResult } from './types.ts';
import {
  boxFromWire,
  boxToWire,
  labeledPointFromWire,
  labeledPointToWire,
  logitsFromWire,
  logitsToWire,
  requireMessage,
  rleFromWire,
  rleToWire,
} from './value-codec.ts';

export function promptFromWire(w: Prompt__Output | null | undefined, field: string): EnvPrompt {
  const p = requireMessage(w, field);
  const box = boxFromWire(p.box, `${field}.box`);
  const points = (p.points ?? []).map((pt, i) => labeledPointFromWire(pt, `${field}.points[${i}]`));
  return {
    box,
    points,
    ...(p.prevLogits ? { prevLogits: logitsFromWire(p.prevLogits, `${field}.prevLogits`) } : {}),
    ...(p.prevMask ? { prevMask: rleFromWire(p.prevMask, `${field}.prevMask`) } : {}),
  };
}

export function promptToWire(p: EnvPrompt): Prompt {
  return {
    box: boxToWire(p.box),
    points: p.points.map(labeledPointToWire),
    ...(p.prevLogits ? { prevLogits: logitsToWire(p.prevLogits) } : {}),
    ...(p.prevMask ? { prevMask: rleToWire(p.prevMask) } : {}),
  };
}

export function transitionResultToWire(r: EnvTransitionResult): TransitionResult {
  return {
    mask: rleToWire(r.mask),
    ...(r.lowResLogits ? { lowResLogits: logitsToWire(r.lowResLogits) } : {}),
    predictedIou: r.predictedIou,
    stability: r.stability,
    area: r.area,
  };
}

export function transitionResultFromWire(
  w: TransitionResult__Output | null | undefined,
  field: string,
): EnvTransitionResult {
  const r = requireMessage(w, field);
  return {
    mask: rleFromWire(r.mask, `${field}.mask`),
    ...(r.lowResLogits ? { lowResLogits: logitsFromWire(r.lowResLogits, `${field}.lowResLogits`) } : {}),
    predictedIou: r.predictedIou,
    stability: r.stability,
    area: r.area,
  };
}

export function infoToWire(i: EnvInfo): InfoResponse {
  return { ...i, limits: { ...i.limits } };
}

export function infoFromWire(w: InfoResponse__Output): EnvInfo {
  const l = requireMessage(w.limits, 'limits');
  return {
    modelId: w.modelId,
    family: w.family,
    inputSize: w.inputSize,
    supportsMaskInput: w.supportsMaskInput,
    lowResSize: w.lowResSize,
    limits: {
      maxPoints: l.maxPoints,
      maxGroupSize: l.maxGroupSize,
      maxBatch: l.maxBatch,
      maxImageBytes: l.maxImageBytes,
      maxImageSide: l.maxImageSide,
      maxMessageBytes: l.maxMessageBytes,
    },
    serverVersion: w.serverVersion,
  };
}
