/** Runs `bin/sam-veteran.js` as a child process, as a user would, for end-to-end CLI tests. */
import { spawn } from 'node:child_process';
import { CLI_PATH } from '../../deploy/local/index.ts';

export interface CliRun {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

export interface CliRunOptions {
  /** LOG_LEVEL of the child (and of the services it starts). Default 'warn'. */
  readonly logLevel?: string;
  /**
   * Called with the stdout so far on every stdout chunk and every `pollMs` while the child runs;
   * `interrupt` sends it SIGINT (Ctrl-C).
   */
  readonly watch?: (out: string, interrupt: () => void) => void | Promise<void>;
  /** Default 100. */
  readonly pollMs?: number;
}

export function runCli(args: readonly string[], opts: CliRunOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: opts.logLevel ?? 'warn' },
    });
    let out = '';
    let err = '';
    const interrupt = (): void => void child.kill('SIGINT');
    const watch = (): void => {
      if (opts.watch) void Promise.resolve(opts.watch(out, interrupt)).catch(() => undefined);
    };
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      watch();
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = opts.watch ? setInterval(watch, opts.pollMs ?? 100) : undefined;
    child.once('error', reject);
    child.once('exit', (code) => {
      if (timer) clearInterval(timer);
      resolve({ code, out, err });
    });
  });
}
