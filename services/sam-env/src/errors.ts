/**
 * The ONE mapping between domain errors and gRPC status codes, used by the server (domain → status)
 * and the client (status → domain). Unknown errors become INTERNAL with an opaque reference; the
 * cause is logged with that reference and never sent to the caller.
 */
import { randomUUID } from 'node:crypto';
import { status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import {
  NotFoundError,
  ResourceExhaustedError,
  SamVeteranError,
  UnavailableError,
  ValidationError,
  type ErrorCode,
} from '../../../core/errors/index.ts';
import type { Logger } from '../../../core/log/index.ts';

const CODE_TO_STATUS: Record<ErrorCode, status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  UNAVAILABLE: status.UNAVAILABLE,
  INTERNAL: status.INTERNAL,
  CONFIG: status.INTERNAL,
};

/** Raised by the server when a call's deadline passed or the caller cancelled before the work ran. */
export class DeadlineExceededError extends SamVeteranError {
  override name = 'DeadlineExceededError';
  constructor(message: string) {
    super('UNAVAILABLE', message);
  }
}

/** Domain error → gRPC status (code + details). Logs unknown errors; never leaks their message. */
export function toGrpcStatus(
  err: unknown,
  logger: Logger,
  method: string,
): Pick<StatusObject, 'code' | 'details'> {
  if (err instanceof DeadlineExceededError) return { code: status.DEADLINE_EXCEEDED, details: err.message };
  if (err instanceof SamVeteranError && err.code !== 'INTERNAL' && err.code !== 'CONFIG') {
    return { code: CODE_TO_STATUS[err.code], details: err.message };
  }
  const ref = randomUUID().slice(0, 8);
  logger.error({ err, method, ref }, 'internal error');
  return { code: status.INTERNAL, details: `internal error (ref ${ref}); see the server log` };
}

/** Error a client call failed with, carrying the gRPC code. */
export class SamEnvCallError extends SamVeteranError {
  override name = 'SamEnvCallError';
  readonly grpcCode: status;
  constructor(code: ErrorCode, grpcCode: status, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.grpcCode = grpcCode;
  }
}

/**
 * gRPC ServiceError → domain error. INVALID_ARGUMENT keeps the server's message (which names the
 * field and value); NOT_FOUND and RESOURCE_EXHAUSTED map to their classes; UNAVAILABLE and
 * DEADLINE_EXCEEDED to UNAVAILABLE-coded errors (CANCELLED, which this client never causes itself,
 * counts as UNAVAILABLE: the server dropped the call); everything else to a SamEnvCallError.
 */
export function fromGrpcError(err: ServiceError, address: string): SamVeteranError {
  const msg = err.details || err.message;
  const where = `sam-env ${address}`;
  switch (err.code) {
    case status.INVALID_ARGUMENT:
      return new SamEnvCallError('INVALID_ARGUMENT', err.code, `${where}: ${msg}`, { cause: err });
    case status.NOT_FOUND:
      return new NotFoundError(`${where}: ${msg}`, { cause: err });
    case status.RESOURCE_EXHAUSTED:
      return new SamEnvCallError('RESOURCE_EXHAUSTED', err.code, `${where}: ${msg}`, { cause: err });
    case status.FAILED_PRECONDITION:
      return new SamEnvCallError('FAILED_PRECONDITION', err.code, `${where}: ${msg}`, { cause: err });
    case status.UNAVAILABLE:
      return new UnavailableError(`${where} unavailable: ${msg}`, { cause: err });
    case status.CANCELLED:
      // The client never cancels its own calls, so CANCELLED means the server dropped the call
      // (force shutdown, connection reset): safe to retry elsewhere, like UNAVAILABLE.
      return new UnavailableError(`${where} cancelled the call: ${msg}`, { cause: err });
    case status.DEADLINE_EXCEEDED:
      return new SamEnvCallError('UNAVAILABLE', err.code, `${where}: deadline exceeded: ${msg}`, {
        cause: err,
      });
    default:
      return new SamEnvCallError('INTERNAL', err.code, `${where}: ${status[err.code] ?? err.code}: ${msg}`, {
        cause: err,
      });
  }
}

export { NotFoundError, ResourceExhaustedError, ValidationError };
