/**
 * The `latest` policy pointer: validation on write and parsing on read (the JetStream KV value is
 * JSON written by another process, so it is checked field by field, not trusted).
 */
import { ValidationError } from '../errors/index.ts';
import { validateVersion } from './options.ts';
import type { PolicyPointer } from './types.ts';

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function validatePointer(
  p: Omit<PolicyPointer, 'publishedAtMs'> & { publishedAtMs?: number },
): PolicyPointer {
  validateVersion(p.version);
  if (typeof p.digest !== 'string' || !DIGEST_RE.test(p.digest)) {
    throw new ValidationError('pointer.digest', p.digest, 'must be "sha256:" followed by 64 hex digits');
  }
  if (!Number.isSafeInteger(p.size) || p.size < 0) {
    throw new ValidationError('pointer.size', p.size, 'must be a non-negative integer');
  }
  const publishedAtMs = p.publishedAtMs ?? Date.now();
  if (!Number.isFinite(publishedAtMs)) {
    throw new ValidationError('pointer.publishedAtMs', publishedAtMs, 'must be a finite number');
  }
  const out: PolicyPointer = { version: p.version, digest: p.digest, size: p.size, publishedAtMs };
  if (p.meta !== undefined) {
    for (const [k, v] of Object.entries(p.meta)) {
      if (typeof v !== 'string') throw new ValidationError(`pointer.meta.${k}`, v, 'must be a string');
    }
    out.meta = { ...p.meta };
  }
  return out;
}

/** Parses a stored pointer; throws ValidationError naming the bad field. */
export function parsePointer(json: string): PolicyPointer {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new ValidationError('pointer', json, 'is not valid JSON', { cause: e });
  }
  if (typeof raw !== 'object' || raw === null) throw new ValidationError('pointer', raw, 'must be an object');
  return validatePointer(raw as PolicyPointer);
}
