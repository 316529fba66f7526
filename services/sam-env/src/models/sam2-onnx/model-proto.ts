/**
 * Reads a decoder's declared graph inputs/outputs straight from the ONNX protobuf, synchronously, so
 * the plugin knows its family (and thus its `info`) before any native session exists.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import onnxProto from 'onnx-proto';
import { ValidationError } from '../../../../../core/errors/index.ts';

const { onnx } = onnxProto;

export interface ProtoValue {
  readonly name: string;
  /** Fixed sizes as numbers, symbolic ones as their names (`?` when unnamed). */
  readonly dims: readonly (number | string)[];
}

export interface ProtoSummary {
  readonly inputs: readonly ProtoValue[];
  readonly outputs: readonly ProtoValue[];
  /** First 8 hex digits of the sha256 of the model bytes. */
  readonly sha8: string;
}

function dimsOf(v: onnxProto.onnx.IValueInfoProto): (number | string)[] {
  const dims = v.type?.tensorType?.shape?.dim ?? [];
  return dims.map((d) => {
    if (d.dimValue !== null && d.dimValue !== undefined && Number(d.dimValue) > 0) return Number(d.dimValue);
    return d.dimParam ? d.dimParam : '?';
  });
}

/** Loads bytes from a path or returns the given bytes; `field` names the option in errors. */
export function loadModelBytes(
  field: string,
  path: string | undefined,
  bytes: Uint8Array | undefined,
): Uint8Array {
  if (bytes) return bytes;
  if (path === undefined) throw new ValidationError(field, path, 'is missing: give a path or bytes');
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ValidationError(field, path, `cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

export function summariseModel(field: string, value: unknown, bytes: Uint8Array): ProtoSummary {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new ValidationError(field, value, `is not an ONNX model: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const graph = model.graph;
  if (!graph) throw new ValidationError(field, value, 'is an ONNX model without a graph');
  // Old exports (IR < 4) list initializers among the inputs; those are weights, not feeds.
  const weights = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const inputs = (graph.input ?? [])
    .filter((v) => !weights.has(v.name ?? ''))
    .map((v) => ({ name: v.name ?? '', dims: dimsOf(v) }));
  const outputs = (graph.output ?? []).map((v) => ({ name: v.name ?? '', dims: dimsOf(v) }));
  const sha8 = createHash('sha256').update(bytes).digest('hex').slice(0, 8);
  return { inputs, outputs, sha8 };
}
