/**
 * Domain errors. Every error has a stable `code`, and the ones about bad input carry the offending
 * `field` (a dotted path) and `value`, so that edges (gRPC, CLI, config) can map them in one place
 * and messages can say exactly what was wrong.
 */

export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'RESOURCE_EXHAUSTED'
  | 'FAILED_PRECONDITION'
  | 'UNAVAILABLE'
  | 'INTERNAL'
  | 'CONFIG';

export class SamVeteranError extends Error {
  override name = 'SamVeteranError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Bad input: names the field (dotted path) and quotes the value. */
export class ValidationError extends SamVeteranError {
  override name = 'ValidationError';
  readonly field: string;
  readonly value: unknown;
  constructor(field: string, value: unknown, problem: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', `${field} ${formatValue(value)} ${problem}`, options);
    this.field = field;
    this.value = value;
  }

  /** One rebuilt from another's field, value and message (verbatim), e.g. across a thread. */
  static rebuilt(field: string, value: unknown, message: string): ValidationError {
    const e = new ValidationError(field, value, '');
    e.message = message;
    return e;
  }
}

export class NotFoundError extends SamVeteranError {
  override name = 'NotFoundError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_FOUND', message, options);
  }
}

export class ResourceExhaustedError extends SamVeteranError {
  override name = 'ResourceExhaustedError';
  readonly field: string;
  readonly value: unknown;
  constructor(field: string, value: unknown, problem: string) {
    super('RESOURCE_EXHAUSTED', `${field} ${formatValue(value)} ${problem}`);
    this.field = field;
    this.value = value;
  }
}

export class UnavailableError extends SamVeteranError {
  override name = 'UnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNAVAILABLE', message, options);
  }
}

/** Renders a bad value for an error message: short, JSON-like, never huge. */
export function formatValue(value: unknown): string {
  let s: string;
  if (typeof value === 'number') s = Number.isNaN(value) ? 'NaN' : String(value);
  else if (typeof value === 'string') s = JSON.stringify(value);
  else if (ArrayBuffer.isView(value))
    s = `<${value.constructor.name} length ${(value as Uint8Array).length}>`;
  else if (Array.isArray(value)) s = `[${value.map((v) => formatValue(v)).join(', ')}]`;
  else {
    try {
      s = JSON.stringify(value) ?? String(value);
    } catch {
      s = String(value);
    }
  }
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
