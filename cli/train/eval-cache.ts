/**
 * The evaluation of a warm start before training, kept across runs.
 *
 * `train` evaluates the warm start on 3000 samples per split before it trains: with the shipped
 * checkpoint that is the same work, with the same result, in every run (about a third of the
 * default job's time on 2 cores). The result is stored under the runs folder keyed by everything it
 * depends on (the checkpoint's SHA-256, split, sample count, seed, refinement limit and this file's
 * format version) and reused only after a check: the first `VERIFY_SAMPLES` episodes are run again
 * and must reproduce the stored per-sample IoUs exactly, so a change in the environment, the agent
 * loop or the data generator is caught rather than compared against stale numbers. Directories after
 * the first are read-only seeds (the shipped evaluation next to the shipped warm start).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EpisodeSummary } from '../../core/agent/index.ts';

/** Bump when what an evaluation computes changes in a way the prefix check might not see. */
export const EVAL_CACHE_VERSION = 1;
/** Episodes re-run to check a stored evaluation (two evaluation batches of 64). */
export const VERIFY_SAMPLES = 128;

export interface EvalKey {
  readonly policySha256: string;
  readonly split: string;
  readonly n: number;
  readonly seed: number;
  readonly maxRefinements: number;
}

export interface StoredEvaluation {
  readonly format: 'sam-veteran-eval-cache';
  readonly version: number;
  readonly key: EvalKey;
  readonly summary: EpisodeSummary;
  /** Final IoU per sample, in dataset order (what the paired comparison after training needs). */
  readonly finals: readonly number[];
}

export function evalCacheFile(key: EvalKey): string {
  return `${key.policySha256.slice(0, 16)}-${key.split}-n${key.n}-seed${key.seed}-r${key.maxRefinements}.json`;
}

function sameKey(a: EvalKey, b: EvalKey): boolean {
  return (
    a.policySha256 === b.policySha256 &&
    a.split === b.split &&
    a.n === b.n &&
    a.seed === b.seed &&
    a.maxRefinements === b.maxRefinements
  );
}

/**
 * The stored evaluation for `key` from the first directory that has a well-formed one, or undefined.
 * A file that cannot be read or parsed, or holds another key or version, counts as absent (`onSkip`
 * says why): the evaluation is then simply run again.
 */
export function readStoredEvaluation(
  dirs: readonly string[],
  key: EvalKey,
  onSkip: (file: string, why: string) => void = () => {},
): { stored: StoredEvaluation; file: string } | undefined {
  for (const dir of dirs) {
    const file = join(dir, evalCacheFile(key));
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    try {
      const s = JSON.parse(text) as StoredEvaluation;
      if (s.format !== 'sam-veteran-eval-cache' || s.version !== EVAL_CACHE_VERSION) {
        onSkip(file, `format ${String(s.format)} version ${String(s.version)} is not this one`);
      } else if (!s.key || !sameKey(s.key, key)) {
        onSkip(file, 'holds another evaluation');
      } else if (
        !Array.isArray(s.finals) ||
        s.finals.length !== key.n ||
        !s.finals.every((x) => typeof x === 'number')
      ) {
        onSkip(
          file,
          `has ${Array.isArray(s.finals) ? s.finals.length : 'no'} per-sample IoUs, needs ${key.n}`,
        );
      } else {
        return { stored: s, file };
      }
    } catch (err) {
      onSkip(file, `is not valid JSON (${(err as Error).message})`);
    }
  }
  return undefined;
}

/** Writes atomically (temp file + rename) into `dir`; returns the file. */
export function writeStoredEvaluation(
  dir: string,
  key: EvalKey,
  summary: EpisodeSummary,
  finals: readonly number[],
): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, evalCacheFile(key));
  const body: StoredEvaluation = {
    format: 'sam-veteran-eval-cache',
    version: EVAL_CACHE_VERSION,
    key,
    summary,
    finals,
  };
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(body));
  renameSync(tmp, file);
  return file;
}

/** Index of the first sample whose re-run final IoU differs from the stored one, or -1. */
export function firstMismatch(stored: readonly number[], rerun: readonly number[]): number {
  for (let i = 0; i < rerun.length; i++) if (stored[i] !== rerun[i]) return i;
  return -1;
}
