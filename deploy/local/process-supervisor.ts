/**
 * Local process supervisor: runs the cluster's services as separate OS processes on one machine
 * (used by `sam-veteran cluster up`). It starts named processes in order and waits for each to be
 * ready, writes each one's stdout+stderr to `<runDir>/logs/<name>.log`, restarts on failure when
 * asked, scales groups (`actor-1`, `actor-2`, …) up and down while running, and stops everything in
 * reverse start order (SIGTERM → grace → SIGKILL). Shutdown is idempotent and also runs on
 * SIGINT/SIGTERM when `handleSignals()` is installed; children still alive when the supervisor's own
 * process exits are SIGKILLed from a synchronous 'exit' hook so none are left behind.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../core/log/index.ts';
import { silentLogger } from '../../core/log/index.ts';
import { SamVeteranError, ValidationError } from '../../core/errors/index.ts';
import { ManagedProcess, type ProcessSpec, type ProcessStatus } from './managed-process.ts';

/** Options of a {@link ProcessSupervisor}. */
export interface SupervisorOptions {
  /** Run folder; logs go to `<runDir>/logs/<name>.log`. Created if missing. */
  runDir: string;
  logger?: Logger;
  /** Readiness poll interval in ms. Default 50. */
  pollIntervalMs?: number;
}

/** Builds the spec of group member `index` (1-based); its name and group are set by the supervisor. */
export type GroupTemplate = (index: number) => ProcessSpec | Promise<ProcessSpec>;

export interface SupervisorEvents {
  ready: [ProcessStatus];
  exit: [ProcessStatus, { planned: boolean }];
  restart: [ProcessStatus];
  failed: [ProcessStatus];
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
const LIVE_STATES = new Set(['starting', 'ready', 'restarting', 'stopping']);

export class ProcessSupervisor extends EventEmitter<SupervisorEvents> {
  readonly runDir: string;
  readonly logDir: string;
  private readonly logger: Logger;
  private readonly pollIntervalMs: number;
  /** Insertion order = start order; stop walks it backwards. */
  private readonly procs = new Map<string, ManagedProcess>();
  private readonly templates = new Map<string, GroupTemplate>();
  private shutdown: Promise<void> | undefined;
  private exitHookInstalled = false;
  private readonly exitHook = (): void => {
    for (const p of this.procs.values()) p.killNow();
  };

  constructor(opts: SupervisorOptions) {
    super();
    this.runDir = opts.runDir;
    this.logDir = join(opts.runDir, 'logs');
    this.logger = opts.logger ?? silentLogger;
    this.pollIntervalMs = opts.pollIntervalMs ?? 50;
    mkdirSync(this.logDir, { recursive: true });
  }

  /** True once `stopAll()` has been called. */
  get closed(): boolean {
    return this.shutdown !== undefined;
  }

  /**
   * Starts one process and resolves once it is ready. If it exits first or is not ready in time,
   * it is stopped, removed, and the promise rejects with UnavailableError (message has the log path
   * and the last output lines).
   */
  async start(spec: ProcessSpec): Promise<ProcessStatus> {
    if (this.closed) {
      throw new SamVeteranError(
        'FAILED_PRECONDITION',
        `cannot start "${spec.name}": the supervisor is shut down`,
      );
    }
    if (!NAME_RE.test(spec.name)) {
      throw new ValidationError('name', spec.name, 'must be 1-63 letters, digits, ".", "_" or "-"');
    }
    const existing = this.procs.get(spec.name);
    if (existing !== undefined) {
      if (LIVE_STATES.has(existing.state)) {
        throw new ValidationError('name', spec.name, 'is already running; process names must be unique');
      }
      await existing.closeLog();
      this.procs.delete(spec.name);
    }
    const p = new ManagedProcess(
      spec,
      join(this.logDir, `${spec.name}.log`),
      {
        onReady: (mp) => {
          this.logger.info({ process: mp.spec.name, pid: mp.pid }, 'process ready');
          this.emit('ready', mp.status());
        },
        onExit: (mp, planned) => this.onExit(mp, planned),
        onRestart: (mp) => {
          this.logger.warn({ process: mp.spec.name, restarts: mp.restarts }, 'process restarted');
          this.emit('restart', mp.status());
        },
        closing: () => this.closed,
      },
      this.pollIntervalMs,
    );
    this.procs.set(spec.name, p);
    this.installExitHook();
    p.spawn();
    this.logger.info(
      { process: spec.name, pid: p.pid, command: spec.command, args: spec.args },
      'process started',
    );
    try {
      await p.waitReady();
    } catch (err) {
      await p.stop();
      await p.closeLog();
      if (this.procs.get(spec.name) === p) this.procs.delete(spec.name);
      throw err;
    }
    return p.status();
  }

  /** Starts processes one after another; on a failure stops the ones this call started, then rethrows. */
  async startAll(specs: readonly ProcessSpec[]): Promise<ProcessStatus[]> {
    const started: string[] = [];
    try {
      const out: ProcessStatus[] = [];
      for (const spec of specs) {
        out.push(await this.start(spec));
        started.push(spec.name);
      }
      return out;
    } catch (err) {
      for (const name of started.reverse()) await this.stop(name);
      throw err;
    }
  }

  /** Stops one process (SIGTERM → grace → SIGKILL) and removes it from the table. */
  async stop(name: string): Promise<void> {
    const p = this.procs.get(name);
    if (p === undefined) return;
    await p.stop();
    await p.closeLog();
    if (this.procs.get(name) === p) this.procs.delete(name);
  }

  /** Registers how to build members of `group` for {@link scale}. */
  defineGroup(group: string, template: GroupTemplate): void {
    this.templates.set(group, template);
  }

  /**
   * Brings the number of live members of `group` to `n`: starts `<group>-<i>` for the lowest free
   * indices (in parallel, each awaited to readiness), or stops the highest-numbered ones.
   * Returns the group's members afterwards.
   */
  async scale(group: string, n: number, template?: GroupTemplate): Promise<ProcessStatus[]> {
    if (!Number.isInteger(n) || n < 0) throw new ValidationError('n', n, 'must be an integer >= 0');
    if (template !== undefined) this.templates.set(group, template);
    const members = this.liveMembers(group);
    if (n > members.length) {
      const make = this.templates.get(group);
      if (make === undefined) {
        throw new ValidationError(
          'group',
          group,
          'has no template; call defineGroup() or pass one to scale()',
        );
      }
      const taken = new Set(members.map((m) => m.spec.name));
      const indices: number[] = [];
      for (let i = 1; indices.length < n - members.length; i++) {
        if (!taken.has(`${group}-${i}`)) indices.push(i);
      }
      const specs = await Promise.all(
        indices.map(async (i) => ({ ...(await make(i)), name: `${group}-${i}`, group })),
      );
      const results = await Promise.allSettled(specs.map((s) => this.start(s)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    } else if (n < members.length) {
      const extra = members.sort((a, b) => memberIndex(b) - memberIndex(a)).slice(0, members.length - n);
      await Promise.all(extra.map((m) => this.stop(m.spec.name)));
    }
    return this.status().filter((s) => s.group === group);
  }

  /** Snapshot of every known process, in start order. */
  status(): ProcessStatus[] {
    return [...this.procs.values()].map((p) => p.status());
  }

  /** Snapshot of one process, or undefined. */
  get(name: string): ProcessStatus | undefined {
    return this.procs.get(name)?.status();
  }

  /**
   * Stops every process in reverse start order and closes the logs. Idempotent: later calls
   * return the same promise. No process starts or restarts afterwards.
   */
  stopAll(): Promise<void> {
    this.shutdown ??= (async () => {
      this.logger.info({ processes: this.procs.size }, 'stopping all processes');
      for (const p of [...this.procs.values()].reverse()) {
        await p.stop();
        await p.closeLog();
      }
      this.removeExitHook();
      this.logger.info('all processes stopped');
    })();
    return this.shutdown;
  }

  /**
   * On the first SIGINT/SIGTERM: `stopAll()`, then `process.exit(130|143)` unless `exit: false`.
   * Further signals while shutting down are ignored (shutdown is already under way).
   * Returns a function that removes the handlers.
   */
  handleSignals(opts: { signals?: NodeJS.Signals[]; exit?: boolean } = {}): () => void {
    const signals = opts.signals ?? ['SIGINT', 'SIGTERM'];
    const handler = (signal: NodeJS.Signals): void => {
      if (this.closed) {
        this.logger.warn({ signal }, 'shutdown already under way');
        return;
      }
      this.logger.info({ signal }, 'signal received, shutting down');
      void this.stopAll().then(() => {
        if (opts.exit !== false) process.exit(signal === 'SIGINT' ? 130 : 143);
      });
    };
    for (const s of signals) process.on(s, handler);
    return () => {
      for (const s of signals) process.off(s, handler);
    };
  }

  private liveMembers(group: string): ManagedProcess[] {
    return [...this.procs.values()].filter((p) => p.group === group && LIVE_STATES.has(p.state));
  }

  private onExit(p: ManagedProcess, planned: boolean): void {
    const status = p.status();
    if (!planned) {
      this.logger.warn(
        { process: status.name, code: status.exitCode, signal: status.signal, state: status.state },
        'process exited',
      );
    }
    this.emit('exit', status, { planned });
    if (status.state === 'failed') this.emit('failed', status);
  }

  private installExitHook(): void {
    if (!this.exitHookInstalled) {
      process.on('exit', this.exitHook);
      this.exitHookInstalled = true;
    }
  }

  private removeExitHook(): void {
    if (this.exitHookInstalled) {
      process.off('exit', this.exitHook);
      this.exitHookInstalled = false;
    }
  }
}

function memberIndex(p: ManagedProcess): number {
  const m = /-(\d+)$/.exec(p.spec.name);
  return m?.[1] !== undefined ? Number(m[1]) : 0;
}
