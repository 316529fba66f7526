/**
 * Structured logging (pino). Every service logs JSON lines with its service name and run id;
 * LOG_LEVEL overrides the level, and `silent` is the default under the test runner.
 */
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  service: string;
  runId?: string;
  level?: string;
  /** Write to this file descriptor instead of stdout (2 = stderr, keeps stdout for CLI output). */
  fd?: number;
}

export function createLogger(opts: LoggerOptions): Logger {
  const level = opts.level ?? process.env['LOG_LEVEL'] ?? (process.env['VITEST'] ? 'silent' : 'info');
  const base: Record<string, unknown> = { service: opts.service, pid: process.pid };
  if (opts.runId) base['runId'] = opts.runId;
  return pino({ level, base }, pino.destination({ fd: opts.fd ?? 2, sync: false }));
}

/** A logger that drops everything (tests, library defaults). */
export const silentLogger: Logger = pino({ level: 'silent' });
