/**
 * A configuration that failed validation. Carries every problem (not just the first), each with
 * the dotted key path, the offending value and where it came from, so a service can stop at start
 * with a message that says exactly what to fix:
 *   learner.batchStates: -3 must be >= 1 (from env SAMV_LEARNER__BATCH_STATES)
 */
import { SamVeteranError, formatValue } from '../errors/index.ts';

export interface ConfigIssue {
  /** Dotted key path, e.g. `learner.batchStates` (array items as numbers: `actor.envAddresses.1`). */
  readonly path: string;
  /** The bad value as given (undefined when missing). */
  readonly value: unknown;
  /** What is wrong, e.g. `must be >= 1`. */
  readonly problem: string;
  /** Where the value came from: `env SAMV_…`, `file path.json`, `override`, or `default`. */
  readonly source: string;
}

export function formatConfigIssue(issue: ConfigIssue): string {
  const value = issue.value === undefined ? '(missing)' : formatValue(issue.value);
  const from = issue.source === 'default' ? '' : ` (from ${issue.source})`;
  return `${issue.path || '(root)'}: ${value} ${issue.problem}${from}`;
}

export class ConfigError extends SamVeteranError {
  override name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    const lines = issues.map(formatConfigIssue);
    const message =
      lines.length === 1
        ? `invalid configuration: ${lines[0]}`
        : `invalid configuration (${lines.length} problems):\n  ${lines.join('\n  ')}`;
    super('CONFIG', message, options);
    this.issues = issues;
  }
}
