/**
 * A training run's folder: `<root>/<yyyymmdd-hhmmss>-<name>/` (UTC), holding `metrics.jsonl` (one
 * JSON object per line, one line per learner step, appended), JSON documents written atomically
 * (temp file + fsync + rename, so a reader or a crash never sees half a file), plots and the report.
 *
 * Appends go through one `appendFileSync` per record (O_APPEND, one write): the line is in the OS
 * before the call returns, so it survives the process being killed; it is not fsynced (a power cut
 * may lose the last lines). A torn last line (crash mid-write) is skipped by `readMetrics`.
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { NotFoundError, SamVeteranError, ValidationError } from '../errors/index.ts';

/** One metrics line: flat dotted keys (`reward.localization`) or nested objects, numbers or null. */
export type MetricsRecord = Readonly<Record<string, unknown>>;

export const METRICS_FILE = 'metrics.jsonl';
export const LOCK_FILE = 'run.lock';

interface LockInfo {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

/** Whether `pid` is a live process on this host (signal 0 probes without signalling). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let tmpCounter = 0;

/** Writes `data` to `file` atomically: a sibling temp file, fsync, then rename over the target. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${++tmpCounter}`;
  const fd = openSync(tmp, 'w');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** `yyyymmdd-hhmmss` in UTC. */
export function runStamp(date = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return (
    `${date.getUTCFullYear()}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}-` +
    `${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`
  );
}

function sanitizeName(name: string): string {
  const s = name
    .trim()
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|-+$/g, '');
  if (!s) throw new ValidationError('name', name, 'must contain at least one of [A-Za-z0-9._-]');
  return s.slice(0, 80);
}

export class RunFolder {
  /** Absolute path of the run folder. */
  readonly dir: string;
  /** The folder's name (`yyyymmdd-hhmmss-<name>`), used as the run id. */
  readonly id: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.id = basename(dir);
  }

  /**
   * Creates a fresh run folder `<root>/<yyyymmdd-hhmmss>[-<name>]` (UTC). If that folder exists
   * (two runs in the same second), a `-2`, `-3`, … suffix is added; an existing folder is never reused.
   */
  static create(root = 'runs', name?: string, now = new Date()): RunFolder {
    const base = name === undefined ? runStamp(now) : `${runStamp(now)}-${sanitizeName(name)}`;
    const rootAbs = resolve(root);
    mkdirSync(rootAbs, { recursive: true });
    for (let k = 1; k < 1000; k++) {
      const dir = join(rootAbs, k === 1 ? base : `${base}-${k}`);
      try {
        mkdirSync(dir);
        return new RunFolder(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    throw new ValidationError('name', base, `has 999 run folders under ${rootAbs} already`);
  }

  /** Opens an existing run folder (to resume a run or re-render its report). */
  static open(dir: string): RunFolder {
    const abs = resolve(dir);
    if (!existsSync(abs)) throw new NotFoundError(`run folder ${JSON.stringify(abs)} does not exist`);
    return new RunFolder(abs);
  }

  /** Absolute path of `rel` inside the run folder; refuses paths that leave it. */
  path(rel: string): string {
    const abs = resolve(this.dir, rel);
    const back = relative(this.dir, abs);
    if (isAbsolute(rel) || back.startsWith('..') || isAbsolute(back)) {
      throw new ValidationError('rel', rel, `must be a path inside the run folder ${this.dir}`);
    }
    return abs;
  }

  /** Appends one record as a JSON line to metrics.jsonl (NaN/∞ become null, as JSON has no NaN). */
  appendMetrics(record: MetricsRecord): void {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new ValidationError('record', record, 'must be a plain object');
    }
    const line = JSON.stringify(record);
    appendFileSync(this.path(METRICS_FILE), `${line}\n`, 'utf8');
  }

  /** All records of metrics.jsonl in order ([] if none yet). A torn final line is skipped. */
  readMetrics(): MetricsRecord[] {
    const file = this.path(METRICS_FILE);
    if (!existsSync(file)) return [];
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n');
    const out: MetricsRecord[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = (lines[i] as string).trim();
      if (!line) continue;
      try {
        const v: unknown = JSON.parse(line);
        if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
        out.push(v as MetricsRecord);
      } catch (err) {
        // Only the last line may be torn by a crash mid-append; anything earlier is corruption.
        const isLast = lines.slice(i + 1).every((l) => !l.trim());
        if (isLast && !text.endsWith('\n')) continue;
        throw new ValidationError(`${file}:${i + 1}`, line, 'is not a JSON object line', { cause: err });
      }
    }
    return out;
  }

  /**
   * Rewrites metrics.jsonl atomically with only the records `keep` accepts; returns how many were
   * dropped. A torn last line goes too.
   */
  keepMetrics(keep: (record: MetricsRecord) => boolean): number {
    if (!existsSync(this.path(METRICS_FILE))) return 0;
    const records = this.readMetrics();
    const kept = records.filter(keep);
    writeFileAtomic(this.path(METRICS_FILE), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return records.length - kept.length;
  }

  /**
   * Drops the metrics of steps after `step` (a resumed run retakes the steps after its checkpoint);
   * returns how many lines went.
   */
  dropMetricsAfter(step: number): number {
    return this.keepMetrics((r) => typeof r['step'] !== 'number' || r['step'] <= step);
  }

  /**
   * Takes the run folder for this process (`run.lock`: pid, host, time), so that two jobs never
   * write one run (a `--resume` while the run is still going). A lock left by a process that is gone
   * (killed, crashed) is taken over. Returns the release function (idempotent).
   * @throws SamVeteranError FAILED_PRECONDITION naming the process that holds the folder.
   */
  lock(): () => void {
    const file = this.path(LOCK_FILE);
    const mine: LockInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx');
        writeSync(fd, JSON.stringify(mine));
        closeSync(fd);
        let released = false;
        return () => {
          if (released) return;
          released = true;
          rmSync(file, { force: true });
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let held: Partial<LockInfo> = {};
      try {
        held = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockInfo>;
      } catch {
        // Torn or unreadable: written by a process that died mid-write; treat as stale.
      }
      const live = typeof held.pid === 'number' && (held.host !== mine.host || alive(held.pid));
      if (live) {
        throw new SamVeteranError(
          'FAILED_PRECONDITION',
          `run folder ${this.dir} is in use by pid ${held.pid} on ${held.host} since ${held.since} ` +
            `(${file}); wait for it to stop, or remove the file if that process is gone`,
        );
      }
      rmSync(file, { force: true }); // stale: its process is gone
    }
    throw new SamVeteranError('FAILED_PRECONDITION', `run folder ${this.dir} could not be locked (${file})`);
  }

  /** Whether `rel` exists in the run folder. */
  has(rel: string): boolean {
    return existsSync(this.path(rel));
  }

  /** Writes `obj` as pretty JSON to `rel` atomically (temp + rename); creates parent folders. */
  writeJson(rel: string, obj: unknown): string {
    const file = this.path(rel);
    writeFileAtomic(file, `${JSON.stringify(obj, null, 2)}\n`);
    return file;
  }

  /** Reads a JSON document written by writeJson. */
  readJson<T = unknown>(rel: string): T {
    const file = this.path(rel);
    if (!existsSync(file)) throw new NotFoundError(`${JSON.stringify(file)} does not exist`);
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  }

  /** Writes bytes or text to `rel` atomically. */
  writeFile(rel: string, data: string | Uint8Array): string {
    const file = this.path(rel);
    writeFileAtomic(file, data);
    return file;
  }
}
