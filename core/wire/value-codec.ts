/**
 * Codecs for the shared value types of common.proto, between the plain-object wire form (what
 * @grpc/proto-loader and protobufjs `toObject` produce with PROTO_LOADER_OPTIONS) and the domain
 * types. Decoders check structure (presence, types, enum values, byte lengths) and throw a
 * ValidationError naming the field path; range checks against an image (inside the image, x2 ≥ x1)
 * belong to the consumer, which knows the image size.
 */
import { endianness } from 'node:os';
import { ValidationError } from '../errors/index.ts';
import type { Box, Point } from '../geometry/index.ts';
import type { Box__Output, Box as BoxIn } from '../generated/samveteran/v1/Box.ts';
import type { ImageRef as ImageRefIn, ImageRef__Output } from '../generated/samveteran/v1/ImageRef.ts';
import type {
  LowResLogits as LogitsIn,
  LowResLogits__Output,
} from '../generated/samveteran/v1/LowResLogits.ts';
import type { Point as PointIn, Point__Output } from '../generated/samveteran/v1/Point.ts';
import type {
  PromptPoint as PromptPointIn,
  PromptPoint__Output,
} from '../generated/samveteran/v1/PromptPoint.ts';
import type { RleMask as RleIn, RleMask__Output } from '../generated/samveteran/v1/RleMask.ts';
import type { ImageRef, LabeledPoint, LogitGrid, RleMask } from './types.ts';

const SHA256_HEX = /^[0-9a-f]{64}$/;
const LITTLE_ENDIAN = endianness() === 'LE';

export function isSha256Hex(s: unknown): s is string {
  return typeof s === 'string' && SHA256_HEX.test(s);
}

export function requireString(v: unknown, field: string, allowEmpty = false): string {
  if (typeof v !== 'string') throw new ValidationError(field, v, 'must be a string');
  if (!allowEmpty && v.length === 0) throw new ValidationError(field, v, 'is required');
  return v;
}

export function requireMessage<T>(v: T | null | undefined, field: string): T {
  if (v === null || v === undefined) throw new ValidationError(field, v ?? null, 'is required');
  return v;
}

export function requireFiniteNumber(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new ValidationError(field, v, 'must be a finite number');
  return v;
}

export function requireNonNegInt(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new ValidationError(field, v, 'must be a non-negative integer');
  }
  return v;
}

// --- Box / Point -------------------------------------------------------------------------------

/** Wire box → domain tuple (not range-checked; NaN passes through to the consumer's validation). */
export function boxFromWire(w: Box__Output | null | undefined, field: string): Box {
  const b = requireMessage(w, field);
  return [b.x1, b.y1, b.x2, b.y2];
}

export function boxToWire(b: Box): BoxIn {
  return { x1: b[0], y1: b[1], x2: b[2], y2: b[3] };
}

export function pointFromWire(w: Point__Output | null | undefined, field: string): Point {
  const p = requireMessage(w, field);
  return [p.x, p.y];
}

export function pointToWire(p: Point): PointIn {
  return { x: p[0], y: p[1] };
}

export function labeledPointFromWire(w: PromptPoint__Output, field: string): LabeledPoint {
  const point = pointFromWire(w.point, `${field}.point`);
  const label = w.label as string;
  if (label === 'POINT_LABEL_POSITIVE') return { point, label: 1 };
  if (label === 'POINT_LABEL_NEGATIVE') return { point, label: 0 };
  throw new ValidationError(`${field}.label`, label, 'must be POINT_LABEL_POSITIVE or POINT_LABEL_NEGATIVE');
}

export function labeledPointToWire(p: LabeledPoint): PromptPointIn {
  return {
    point: pointToWire(p.point),
    label: p.label === 1 ? 'POINT_LABEL_POSITIVE' : 'POINT_LABEL_NEGATIVE',
  };
}

// --- RLE -----------------------------------------------------------------------------------------

export function rleFromWire(w: RleMask__Output | null | undefined, field: string): RleMask {
  const r = requireMessage(w, field);
  if (!Number.isInteger(r.height) || r.height < 1)
    throw new ValidationError(`${field}.height`, r.height, 'must be ≥ 1');
  if (!Number.isInteger(r.width) || r.width < 1)
    throw new ValidationError(`${field}.width`, r.width, 'must be ≥ 1');
  requireString(r.counts, `${field}.counts`);
  return { height: r.height, width: r.width, counts: r.counts };
}

export function rleToWire(r: RleMask): RleIn {
  return { height: r.height, width: r.width, counts: r.counts };
}

// --- Logits --------------------------------------------------------------------------------------

/** float32 little-endian bytes → Float32Array (copied, so it is aligned and owned). */
export function logitsFromWire(w: LowResLogits__Output | null | undefined, field: string): LogitGrid {
  const l = requireMessage(w, field);
  if (!Number.isInteger(l.width) || l.width < 1)
    throw new ValidationError(`${field}.width`, l.width, 'must be ≥ 1');
  if (!Number.isInteger(l.height) || l.height < 1)
    throw new ValidationError(`${field}.height`, l.height, 'must be ≥ 1');
  const expected = l.width * l.height * 4;
  const bytes = l.data;
  if (!(bytes instanceof Uint8Array) || bytes.length !== expected) {
    throw new ValidationError(
      `${field}.data`,
      bytes,
      `has ${bytes instanceof Uint8Array ? bytes.length : 0} bytes, expected ${l.width}x${l.height} float32 = ${expected}`,
    );
  }
  let data: Float32Array;
  if (LITTLE_ENDIAN) {
    // One copy into a fresh (aligned) buffer, viewed as float32.
    data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + expected));
  } else {
    data = new Float32Array(l.width * l.height);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(i * 4, true);
  }
  return { width: l.width, height: l.height, data };
}

export function logitsToWire(g: LogitGrid): LogitsIn {
  if (LITTLE_ENDIAN) {
    // A view, no copy: serialization copies the bytes into the message.
    return {
      width: g.width,
      height: g.height,
      data: Buffer.from(g.data.buffer, g.data.byteOffset, g.data.byteLength),
    };
  }
  const out = Buffer.allocUnsafe(g.data.length * 4);
  for (let i = 0; i < g.data.length; i++) out.writeFloatLE(g.data[i] ?? 0, i * 4);
  return { width: g.width, height: g.height, data: out };
}

// --- Image reference -----------------------------------------------------------------------------

export function imageRefFromWire(w: ImageRef__Output | null | undefined, field: string): ImageRef {
  const r = requireMessage(w, field);
  if (!isSha256Hex(r.digest)) {
    throw new ValidationError(`${field}.digest`, r.digest, 'must be a lowercase hex SHA-256 (64 characters)');
  }
  switch (r.source) {
    case 'encoded':
      if (!r.encoded || r.encoded.length === 0)
        throw new ValidationError(`${field}.encoded`, r.encoded, 'is empty');
      return { digest: r.digest, source: { kind: 'encoded', bytes: r.encoded } };
    case 'raw': {
      const raw = requireMessage(r.raw, `${field}.raw`);
      return {
        digest: r.digest,
        source: { kind: 'raw', width: raw.width, height: raw.height, rgb: raw.rgb },
      };
    }
    case 'storeKey':
      return {
        digest: r.digest,
        source: { kind: 'store', key: requireString(r.storeKey, `${field}.storeKey`) },
      };
    default:
      return { digest: r.digest };
  }
}

export function imageRefToWire(r: ImageRef): ImageRefIn {
  const s = r.source;
  if (!s) return { digest: r.digest };
  switch (s.kind) {
    case 'encoded':
      return {
        digest: r.digest,
        encoded: Buffer.from(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength),
      };
    case 'raw':
      return {
        digest: r.digest,
        raw: {
          width: s.width,
          height: s.height,
          rgb: Buffer.from(s.rgb.buffer, s.rgb.byteOffset, s.rgb.byteLength),
        },
      };
    case 'store':
      return { digest: r.digest, storeKey: s.key };
  }
}
