/**
 * Test launcher for a real `nats-server` with JetStream: a free loopback port, a fresh store
 * directory, a readiness poll, a clean stop (SIGTERM, wait for exit, remove the directory), and a
 * restart on the same store directory so tests can check what survives a server restart.
 * Ready means the client port greets with `INFO` and the monitoring endpoint `/healthz` answers
 * 200: right after a restart the port accepts clients before JetStream has recovered its streams,
 * and API requests sent in that gap time out (5 s) instead of failing fast.
 *
 * The binary is `nats-server` on PATH, `/usr/sbin/nats-server` (Debian package), or `$NATS_SERVER_BIN`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServerOptions {
  /** Fixed port; default: a free port chosen by the OS. */
  port?: number;
  /** Store directory; default: a fresh temp dir removed on stop(). */
  storeDir?: string;
  /** Extra command-line arguments. */
  args?: string[];
  /** How long to wait for the server to accept connections, ms. Default 10000. */
  readyTimeoutMs?: number;
}

export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** HTTP monitoring port (`/varz`, `/jsz`, `/healthz`). */
  readonly monitorPort: number;
  readonly pid: number | undefined;
  /** Stops the process (SIGTERM; SIGKILL after 5 s) and keeps the store directory. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts again on the same port and store directory (after kill()). */
  restart(): Promise<void>;
  /** Stops the process and removes the store directory if this helper created it. Idempotent. */
  stop(): Promise<void>;
  /** Everything the server wrote to stderr/stdout so far (for failure messages). */
  output(): string;
}

export function findNatsServerBinary(): string | null {
  const env = process.env['NATS_SERVER_BIN'];
  if (env && existsSync(env)) return env;
  for (const dir of (process.env['PATH'] ?? '').split(':').concat(['/usr/sbin', '/usr/local/bin'])) {
    const p = join(dir, 'nats-server');
    if (dir && existsSync(p)) return p;
  }
  return null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** True when a TCP connection to the port gets the server's `INFO` greeting. */
async function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = tcpConnect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('error', () => done(false));
    sock.once('data', (buf) => done(buf.toString('utf8').startsWith('INFO')));
  });
}

async function healthy(monitorPort: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${monitorPort}/healthz`, { signal: AbortSignal.timeout(500) });
    return res.status === 200;
  } catch {
    return false;
  }
}

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const bin = findNatsServerBinary();
  if (!bin) throw new Error('nats-server not found: apt-get install -y nats-server, or set NATS_SERVER_BIN');
  const ownsDir = opts.storeDir === undefined;
  const storeDir = opts.storeDir ?? (await mkdtemp(join(tmpdir(), 'nats-test-')));
  const port = opts.port ?? (await freePort());
  const monitorPort = await freePort();
  const readyTimeoutMs = opts.readyTimeoutMs ?? 10_000;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let out = '';
  let stopped = false;

  const launch = async (): Promise<void> => {
    const args = ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort)];
    args.push(...(opts.args ?? []));
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    const append = (b: Buffer): void => {
      out += b.toString('utf8');
      if (out.length > 200_000) out = out.slice(-100_000);
    };
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    let exitedFlag = false;
    exited = new Promise((resolve) =>
      proc.once('exit', () => {
        exitedFlag = true;
        resolve();
      }),
    );
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (exitedFlag) throw new Error(`nats-server exited during start:\n${out}`);
      if ((await probe(port)) && (await healthy(monitorPort))) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    proc.kill('SIGKILL');
    throw new Error(`nats-server not ready on port ${port} after ${readyTimeoutMs} ms:\n${out}`);
  };

  const kill = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  await launch();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    monitorPort,
    get pid() {
      return child?.pid;
    },
    kill,
    restart: async () => {
      await kill();
      await launch();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await kill();
      if (ownsDir) await rm(storeDir, { recursive: true, force: true });
    },
    output: () => out,
  };
}
