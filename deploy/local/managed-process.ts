/**
 * One supervised OS process: spawn, log capture, readiness wait, exit bookkeeping, and stop
 * (SIGTERM → grace period → SIGKILL). The child runs in its own process group (`detached`), so a
 * stop or a crash cleans up anything it spawned, and Ctrl-C in the terminal reaches only the
 * supervisor, which then stops children in reverse start order instead of all at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { UnavailableError } from '../../core/errors/index.ts';
import { checkReadiness, describeReadiness, lineMatches, type Readiness } from './readiness.ts';

/** What to do when a process exits by itself. */
export type RestartPolicy = 'none' | 'on-failure';

/**
 * Life cycle: starting → ready; on an unplanned exit → restarting (on-failure) or failed/exited;
 * on stop → stopping → stopped.
 */
export type ProcessState = 'starting' | 'ready' | 'restarting' | 'stopping' | 'stopped' | 'exited' | 'failed';

/** A process to run under the supervisor. */
export interface ProcessSpec {
  /** Unique name; also the log file name (`<runDir>/logs/<name>.log`). */
  name: string;
  /** Group for `scale()` (e.g. `actor` for `actor-1`, `actor-2`). Default: the name. */
  group?: string;
  /** Executable (looked up on PATH), e.g. `process.execPath` or `nats-server`. */
  command: string;
  args?: readonly string[];
  /** Extra environment variables, merged over the supervisor's environment. */
  env?: Readonly<Record<string, string>>;
  /** Start from an empty environment plus `env` instead of inheriting. Default false. */
  cleanEnv?: boolean;
  cwd?: string;
  /** When the process counts as started. Default `{ kind: 'none' }`. */
  readiness?: Readiness;
  /** Time allowed to become ready, in ms. Default 30 000. */
  readyTimeoutMs?: number;
  /** Default 'none'. */
  restart?: RestartPolicy;
  /** Restarts allowed under 'on-failure' before the process is left failed. Default 5. */
  maxRestarts?: number;
  /** First restart delay in ms, doubled per restart up to 5 000. Default 250. */
  restartDelayMs?: number;
  /** Grace period between SIGTERM and SIGKILL on stop, in ms. Default 5 000. */
  stopTimeoutMs?: number;
}

/** A snapshot of one supervised process. */
export interface ProcessStatus {
  name: string;
  group: string;
  state: ProcessState;
  /** PID of the current (or last) child. */
  pid: number | undefined;
  restarts: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  logFile: string;
  readiness: string;
  /** Epoch ms of the current incarnation's spawn. */
  startedAt: number | undefined;
}

/** Callbacks from a managed process to its supervisor. */
export interface ManagedProcessHooks {
  onReady(p: ManagedProcess): void;
  /** Called after every exit, once the state is updated. */
  onExit(p: ManagedProcess, planned: boolean): void;
  onRestart(p: ManagedProcess): void;
  /** True while the supervisor shuts down: no restarts then. */
  closing(): boolean;
}

const TAIL_LINES = 20;
const CLOSE_WAIT_MS = 1000;
const MAX_PARTIAL_CHARS = 64 * 1024;

/** Sends a signal to a process group, falling back to the single process; ignores "no such process". */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export class ManagedProcess {
  readonly spec: ProcessSpec;
  readonly group: string;
  readonly logFile: string;
  state: ProcessState = 'starting';
  restarts = 0;
  exitCode: number | null = null;
  signal: NodeJS.Signals | null = null;
  pid: number | undefined;
  startedAt: number | undefined;
  private child: ChildProcess | undefined;
  private log: WriteStream;
  private readonly tail: string[] = [];
  private logSeen = false;
  private exited: Promise<void> = Promise.resolve();
  private restartTimer: NodeJS.Timeout | undefined;
  private incarnation = 0;

  constructor(
    spec: ProcessSpec,
    logFile: string,
    private readonly hooks: ManagedProcessHooks,
    private readonly pollIntervalMs: number,
  ) {
    this.spec = spec;
    this.group = spec.group ?? spec.name;
    this.logFile = logFile;
    this.log = createWriteStream(logFile, { flags: 'a' });
    // A log file that cannot be written must not crash the supervisor; keep the reason for status.
    this.log.on('error', (err) => this.scanLine(`supervisor: log file error: ${err.message}`));
  }

  /** True while a child is running. */
  get alive(): boolean {
    return this.child !== undefined;
  }

  status(): ProcessStatus {
    return {
      name: this.spec.name,
      group: this.group,
      state: this.state,
      pid: this.pid,
      restarts: this.restarts,
      exitCode: this.exitCode,
      signal: this.signal,
      logFile: this.logFile,
      readiness: describeReadiness(this.spec.readiness ?? { kind: 'none' }),
      startedAt: this.startedAt,
    };
  }

  /** The last lines of output, for error messages. */
  lastOutput(): string {
    return this.tail.join('\n');
  }

  /** Spawns the child (a new incarnation). */
  spawn(): void {
    const { spec } = this;
    this.incarnation += 1;
    const incarnation = this.incarnation;
    this.logSeen = false;
    this.exitCode = null;
    this.signal = null;
    this.state = this.restarts > 0 ? 'restarting' : 'starting';
    const env = spec.cleanEnv ? { ...spec.env } : { ...process.env, ...spec.env };
    const child = spawn(spec.command, [...(spec.args ?? [])], {
      cwd: spec.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    this.pid = child.pid;
    this.startedAt = Date.now();
    this.write(
      `--- supervisor: start #${incarnation} pid ${child.pid ?? '?'}: ${spec.command} ${(spec.args ?? []).join(' ')}\n`,
    );
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      // Decode as a stream so multi-byte characters split across chunks stay intact.
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        this.write(chunk);
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        // A process that never prints a newline must not grow this buffer without bound.
        if (partial.length > MAX_PARTIAL_CHARS) partial = partial.slice(-MAX_PARTIAL_CHARS);
        for (const line of lines) this.scanLine(line);
      });
      stream?.on('end', () => {
        if (partial) this.scanLine(partial);
        partial = '';
      });
    }
    this.exited = new Promise<void>((resolve) => {
      let handled = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (handled) return;
        handled = true;
        void this.afterExit(child, incarnation, code, signal).then(resolve);
      };
      child.once('exit', finish);
      child.once('error', (err) => {
        // Spawn failures (ENOENT, EACCES) emit 'error' and may never emit 'exit'.
        this.scanLine(`supervisor: spawn error: ${err.message}`);
        if (child.pid === undefined) finish(null, null);
      });
    });
  }

  private write(data: string | Buffer): void {
    if (!this.log.writableEnded) this.log.write(data);
  }

  private scanLine(line: string): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    const r = this.spec.readiness;
    if (r?.kind === 'log' && !this.logSeen && lineMatches(r.pattern, line)) this.logSeen = true;
  }

  private async afterExit(
    child: ChildProcess,
    incarnation: number,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): Promise<void> {
    // Anything the child left behind in its group goes with it.
    if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
    // Wait for the output pipes to drain ('close'), but not forever: a grandchild that escaped the
    // group could hold them open.
    await Promise.race([
      new Promise<void>((resolve) => child.once('close', () => resolve())),
      sleep(CLOSE_WAIT_MS),
    ]);
    child.stdout?.destroy();
    child.stderr?.destroy();
    if (incarnation !== this.incarnation) return;
    this.child = undefined;
    this.exitCode = code;
    this.signal = signal;
    this.write(`--- supervisor: exit #${incarnation} code ${code ?? '-'} signal ${signal ?? '-'}\n`);
    const planned = this.state === 'stopping';
    if (planned) {
      this.state = 'stopped';
    } else {
      const failure = code !== 0;
      const policy = this.spec.restart ?? 'none';
      const maxRestarts = this.spec.maxRestarts ?? 5;
      if (failure && policy === 'on-failure' && this.restarts < maxRestarts && !this.hooks.closing()) {
        this.state = 'restarting';
        this.scheduleRestart();
      } else {
        this.state = failure ? 'failed' : 'exited';
      }
    }
    this.hooks.onExit(this, planned);
  }

  private scheduleRestart(): void {
    const base = this.spec.restartDelayMs ?? 250;
    const delay = Math.min(5000, base * 2 ** this.restarts);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.hooks.closing() || this.state !== 'restarting') return;
      this.restarts += 1;
      this.spawn();
      this.hooks.onRestart(this);
      this.waitReady().catch(() => {
        // Not ready in time after a restart: kill it; the exit path counts it as another failure.
        if (this.pid !== undefined && this.alive) killGroup(this.pid, 'SIGKILL');
      });
    }, delay);
  }

  /**
   * Polls the readiness predicate until it holds (state → ready), the child exits, or the
   * timeout passes. Rejects with UnavailableError in the last two cases.
   */
  async waitReady(): Promise<void> {
    const incarnation = this.incarnation;
    const readiness = this.spec.readiness ?? { kind: 'none' };
    const timeoutMs = this.spec.readyTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    // No pid means the spawn itself failed; the 'error' event (next tick) ends this incarnation.
    if (this.pid === undefined) await this.exited;
    for (;;) {
      if (exited || !this.alive || incarnation !== this.incarnation) {
        throw new UnavailableError(
          `process "${this.spec.name}" exited (code ${this.exitCode ?? '-'}, signal ${this.signal ?? '-'}) ` +
            `before it was ready (${describeReadiness(readiness)}); log ${this.logFile}; last output:\n` +
            this.lastOutput(),
        );
      }
      if (await checkReadiness(readiness, this.logSeen)) {
        if (incarnation === this.incarnation && this.alive) {
          this.state = 'ready';
          this.hooks.onReady(this);
          return;
        }
        continue;
      }
      if (Date.now() > deadline) {
        throw new UnavailableError(
          `process "${this.spec.name}" not ready after ${timeoutMs} ms (${describeReadiness(readiness)}); ` +
            `log ${this.logFile}; last output:\n${this.lastOutput()}`,
        );
      }
      await Promise.race([sleep(this.pollIntervalMs), this.exited]);
    }
  }

  /** Stops the child: SIGTERM to its group, then SIGKILL after the grace period. Idempotent. */
  async stop(): Promise<void> {
    if (this.restartTimer !== undefined) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
    }
    if (this.child === undefined || this.pid === undefined) {
      if (this.state === 'restarting' || this.state === 'starting' || this.state === 'ready') {
        this.state = 'stopped';
      }
      return;
    }
    const pid = this.pid;
    if (this.state !== 'stopping') {
      this.state = 'stopping';
      killGroup(pid, 'SIGTERM');
    }
    const graceMs = this.spec.stopTimeoutMs ?? 5000;
    const inTime = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!inTime) {
      this.write(`--- supervisor: no exit ${graceMs} ms after SIGTERM, sending SIGKILL\n`);
      killGroup(pid, 'SIGKILL');
      await this.exited;
    }
  }

  /** SIGKILL without waiting (used from a synchronous process 'exit' hook). */
  killNow(): void {
    if (this.child !== undefined && this.pid !== undefined) killGroup(this.pid, 'SIGKILL');
  }

  /** Flushes and closes the log file. */
  closeLog(): Promise<void> {
    if (this.log.closed || this.log.writableEnded) return Promise.resolve();
    return new Promise((resolve) => this.log.end(resolve));
  }
}
