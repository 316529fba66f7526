/**
 * A local nats-server with JetStream for the loopback cluster and for tests: its own store
 * directory, bound to 127.0.0.1 on free ports, ready when the monitoring `/healthz` answers 200
 * (nats-server 2.9 reports healthy only once JetStream is up). Flags: `-js -sd DIR -a ADDR -p PORT
 * -m HTTP_PORT -n NAME` (nats-server --help; DIR/jetstream holds the streams).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationError } from '../../core/errors/index.ts';
import { getFreePorts } from './free-port.ts';
import type { ProcessStatus } from './managed-process.ts';
import { ProcessSupervisor } from './process-supervisor.ts';

/** Options of {@link startNatsServer}. */
export interface NatsProcessOptions {
  /** Supervisor to run it under (shares its run folder and shutdown). Default: a new one on `runDir`. */
  supervisor?: ProcessSupervisor;
  /** Run folder when no supervisor is given. */
  runDir?: string;
  /** JetStream store directory. Default `<runDir>/nats-store`. */
  storeDir?: string;
  /** Process name in the supervisor (log file `<name>.log`). Default `nats`. */
  name?: string;
  /** Client port; default a free one. */
  port?: number;
  /** HTTP monitoring port (/healthz, /jsz, /varz — also what KEDA reads); default a free one. */
  monitorPort?: number;
  /** Executable. Default `nats-server` (on PATH; `apt-get install nats-server`). */
  binary?: string;
  /** Extra server flags, e.g. `['--max_payload', '8MB']` — see `nats-server --help`. */
  extraArgs?: readonly string[];
  /** Default 20 000. */
  readyTimeoutMs?: number;
  /** Attempts with fresh free ports when the chosen ones were taken meanwhile. Default 3. */
  attempts?: number;
}

/** A running local nats-server. */
export interface NatsProcess {
  /** `nats://127.0.0.1:<port>` */
  url: string;
  port: number;
  monitorPort: number;
  /** `http://127.0.0.1:<monitorPort>` */
  monitorUrl: string;
  storeDir: string;
  name: string;
  supervisor: ProcessSupervisor;
  status(): ProcessStatus | undefined;
  /** Stops the server (only this process when the supervisor was shared; the whole supervisor otherwise). */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

export async function startNatsServer(opts: NatsProcessOptions = {}): Promise<NatsProcess> {
  const own = opts.supervisor === undefined;
  let supervisor: ProcessSupervisor;
  if (opts.supervisor !== undefined) supervisor = opts.supervisor;
  else if (opts.runDir !== undefined) supervisor = new ProcessSupervisor({ runDir: opts.runDir });
  else throw new ValidationError('runDir', opts.runDir, 'is required when no supervisor is given');
  const name = opts.name ?? 'nats';
  const storeDir = opts.storeDir ?? join(supervisor.runDir, `${name}-store`);
  mkdirSync(storeDir, { recursive: true });
  const attempts = opts.attempts ?? 3;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const [freeA, freeB] = await getFreePorts(2, HOST);
    const port = opts.port ?? freeA ?? 0;
    const monitorPort = opts.monitorPort ?? freeB ?? 0;
    const args = [
      '-js',
      '-sd',
      storeDir,
      '-a',
      HOST,
      '-p',
      String(port),
      '-m',
      String(monitorPort),
      '-n',
      name,
      ...(opts.extraArgs ?? []),
    ];
    try {
      await supervisor.start({
        name,
        group: 'nats',
        command: opts.binary ?? 'nats-server',
        args,
        readiness: { kind: 'http', url: `http://${HOST}:${monitorPort}/healthz` },
        readyTimeoutMs: opts.readyTimeoutMs ?? 20_000,
        // JetStream flushes its store on SIGTERM; give it time before SIGKILL.
        stopTimeoutMs: 10_000,
      });
      return {
        url: `nats://${HOST}:${port}`,
        port,
        monitorPort,
        monitorUrl: `http://${HOST}:${monitorPort}`,
        storeDir,
        name,
        supervisor,
        status: () => supervisor.get(name),
        stop: () => (own ? supervisor.stopAll() : supervisor.stop(name)),
      };
    } catch (err) {
      lastError = err;
      // Fixed ports cannot change between attempts; only retry on free-port races.
      if (opts.port !== undefined && opts.monitorPort !== undefined) break;
    }
  }
  if (own) await supervisor.stopAll();
  throw lastError;
}
