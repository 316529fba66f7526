/**
 * Progress for long CLI work: a bar on a terminal, plain lines when stderr is a file or a pipe (CI
 * logs, `nohup`, `kubectl logs`), where a bar prints nothing and a 40-minute `pretrain` would look hung.
 *
 * Plain mode writes one line on the first update, then at most one per `everyMs` (default 30 s), and
 * one when stopped unless the last line already showed the final count:
 * `pretrain training 1200/6000 (20%) loss 0.812 | 8m 02s elapsed, ~32m 10s left`.
 */
import { Presets, SingleBar } from 'cli-progress';

export interface Progress {
  /** Starts (or restarts, for a new phase) at `done` of `total`. */
  start(total: number, done?: number, fields?: Readonly<Record<string, string>>): void;
  update(done: number, fields?: Readonly<Record<string, string>>): void;
  /** Ends the current phase (a final line in plain mode). Idempotent. */
  stop(): void;
}

export interface ProgressOptions {
  /** What is running, e.g. `eval id-val` or `pretrain`. */
  readonly label: string;
  /** Field names shown after the counts, in this order (values given to start/update). */
  readonly fields?: readonly string[];
  /** Bar (true) or plain lines (false). Default: a bar when the stream is a TTY. */
  readonly bar?: boolean;
  /** Minimum time between plain lines, in ms. Default 30000. */
  readonly everyMs?: number;
  /** Default process.stderr. */
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Clock in ms (tests). Default Date.now. */
  readonly now?: () => number;
}

/** `83` → `1m 23s`; `4000` → `1h 06m`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const fields = opts.fields ?? [];
  const useBar = opts.bar ?? stream.isTTY === true;
  if (useBar) {
    const tail = fields.map((f) => `{${f}}`).join(' ');
    const bar = new SingleBar(
      {
        format: `${opts.label} |{bar}| {value}/{total}${tail ? ` ${tail}` : ''} | {eta_formatted} left`,
        stream,
        hideCursor: true,
        etaBuffer: 20,
      },
      Presets.shades_classic,
    );
    let running = false;
    const blank = Object.fromEntries(fields.map((f) => [f, '']));
    return {
      start(total, done = 0, values = {}) {
        if (running) bar.stop();
        bar.start(total, done, { ...blank, ...values });
        running = true;
      },
      update(done, values = {}) {
        bar.update(done, values);
      },
      stop() {
        if (running) bar.stop();
        running = false;
      },
    };
  }

  const now = opts.now ?? Date.now;
  const everyMs = opts.everyMs ?? 30_000;
  let total = 0;
  let startDone = 0;
  let done = 0;
  let t0 = 0;
  let lastLine = -Infinity;
  let lastShown = -1;
  let running = false;
  let values: Record<string, string> = {};

  const line = (): void => {
    const elapsed = (now() - t0) / 1000;
    const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
    const shown = fields.filter((f) => values[f]).map((f) => values[f]);
    const rate = (done - startDone) / Math.max(elapsed, 1e-9);
    const left = done < total && rate > 0 ? `, ~${formatDuration((total - done) / rate)} left` : '';
    stream.write(
      `${opts.label} ${done}/${total} (${pct}%)${shown.length ? ` ${shown.join(' ')}` : ''} | ` +
        `${formatDuration(elapsed)} elapsed${left}\n`,
    );
    lastLine = now();
    lastShown = done;
  };

  return {
    start(n, at = 0, v = {}) {
      total = n;
      startDone = at;
      done = at;
      values = { ...v };
      t0 = now();
      lastLine = -Infinity;
      lastShown = -1;
      running = true;
    },
    update(at, v = {}) {
      if (!running) return;
      done = at;
      values = { ...values, ...v };
      if (now() - lastLine >= everyMs) line();
    },
    stop() {
      if (!running) return;
      running = false;
      if (done !== lastShown) line();
    },
  };
}
