/**
 * The default local cluster topology as data: one nats-server (JetStream, own store), N sam-env
 * replicas, M actors and one learner, each a separate OS process on loopback — the same shape as
 * deploy/k8s, for one machine. `sam-veteran cluster up` turns the entries into process specs
 * ({@link toProcessSpec}) and starts them in order; `cluster scale actors N` uses {@link actorEntry}.
 *
 * Subcommands are given as argv after `node bin/sam-veteran.js` (e.g. `env serve --model grabcut
 * --port P`). The `actor` and `learner` subcommands and the `--metrics-port` flag are the planned
 * interface (issue 5); this file is the one place to adjust if their flags end up different.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../../core/errors/index.ts';
import { pinnedSpec } from './cpu-affinity.ts';
import { getFreePorts } from './free-port.ts';
import type { ProcessSpec, RestartPolicy } from './managed-process.ts';
import type { Readiness } from './readiness.ts';

export type TopologyRole = 'nats' | 'sam-env' | 'actor' | 'learner';

/** One process of the local cluster. */
export interface TopologyEntry {
  /** Unique process name, e.g. `sam-env-1`, `actor-2`. */
  name: string;
  /** Group for scaling = role. */
  group: TopologyRole;
  /** `node` entries run the CLI; the nats entry runs `nats-server`. */
  executable: 'node' | 'nats-server';
  /** For `node` entries: argv after `bin/sam-veteran.js`; for nats: the server flags. */
  args: string[];
  env: Record<string, string>;
  readiness: Readiness;
  restart: RestartPolicy;
  /** Ports this process listens on (named). */
  ports: Record<string, number>;
  /** CPUs the process is pinned to (started under `taskset -c`); unset: anywhere. */
  cpus?: readonly number[];
}

/** Loopback ports for a local cluster. */
export interface LocalPorts {
  nats: number;
  natsMonitor: number;
  /** gRPC port per sam-env replica. */
  samEnv: number[];
  /** /metrics port per sam-env replica. */
  samEnvMetrics: number[];
  /** /metrics port per actor. */
  actorMetrics: number[];
  learnerMetrics: number;
}

/** Options of {@link buildLocalTopology}. */
export interface LocalTopologyOptions {
  /** Run folder (logs, NATS store, learner checkpoints and report). */
  runDir: string;
  ports: LocalPorts;
  /** Env model of the sam-env replicas. Default `grabcut` (CPU, no weights needed). */
  model?: string;
  /** Extra environment for every service process (e.g. LOG_LEVEL). */
  env?: Record<string, string>;
  /**
   * Images travel through a NATS Object Store bucket (`images` on the cluster's nats-server): the
   * replicas open it with `--image-store`, the actors put each image there once and send keys.
   * Default false (actors send the pixels): on one machine the network is free and the store costs
   * CPU (PNG encode and decode; bench:cluster BENCH_IMAGE_STORE=1); it pays across machines.
   */
  imageStore?: boolean;
  /**
   * Pin processes to CPUs (Linux, `taskset`): `samEnv` for the replicas, `services` for nats-server,
   * the learner and the actors. On one machine this gives the env its own cores, as GPU nodes would;
   * unset: the OS schedules everything everywhere.
   */
  cpus?: { readonly samEnv?: readonly number[]; readonly services?: readonly number[] };
}

/** The default local cluster: nats + 2 sam-env replicas + 2 actors + 1 learner. */
export interface LocalTopology {
  natsUrl: string;
  natsMonitorUrl: string;
  /** `host:port` of every sam-env replica (the actors' `--env` list). */
  samEnvTargets: string[];
  storeDir: string;
  checkpointDir: string;
  /** Image store spec shared by replicas and actors (`nats://…/images`), when enabled. */
  imageStoreUrl?: string;
  /** In start order: nats, sam-env-*, learner, actor-*. */
  entries: TopologyEntry[];
  /** CPUs of nats, the learner and the actors (also for actors added by `cluster scale`), if pinned. */
  serviceCpus?: readonly number[];
}

export const DEFAULT_LOCAL_COUNTS = { samEnv: 2, actors: 2 } as const;
const HOST = '127.0.0.1';

/** Picks free loopback ports for a topology with the given replica counts. */
export async function allocateLocalPorts(
  counts: { samEnv?: number; actors?: number } = {},
): Promise<LocalPorts> {
  const samEnv = counts.samEnv ?? DEFAULT_LOCAL_COUNTS.samEnv;
  const actors = counts.actors ?? DEFAULT_LOCAL_COUNTS.actors;
  if (!Number.isInteger(samEnv) || samEnv < 1)
    throw new ValidationError('samEnv', samEnv, 'must be an integer >= 1');
  if (!Number.isInteger(actors) || actors < 0)
    throw new ValidationError('actors', actors, 'must be an integer >= 0');
  const ports = await getFreePorts(3 + 2 * samEnv + actors, HOST);
  const take = (k: number): number[] => ports.splice(0, k);
  const [nats = 0, natsMonitor = 0, learnerMetrics = 0] = take(3);
  return {
    nats,
    natsMonitor,
    learnerMetrics,
    samEnv: take(samEnv),
    samEnvMetrics: take(samEnv),
    actorMetrics: take(actors),
  };
}

/** Describes the local cluster for the given ports (pure; nothing is started). */
export function buildLocalTopology(opts: LocalTopologyOptions): LocalTopology {
  const { ports, runDir } = opts;
  if (ports.samEnvMetrics.length !== ports.samEnv.length) {
    throw new ValidationError(
      'ports.samEnvMetrics',
      ports.samEnvMetrics,
      'needs one port per sam-env replica',
    );
  }
  const natsUrl = `nats://${HOST}:${ports.nats}`;
  const storeDir = join(runDir, 'nats-store');
  const checkpointDir = join(runDir, 'checkpoints');
  const samEnvTargets = ports.samEnv.map((p) => `${HOST}:${p}`);
  const topology: LocalTopology = {
    natsUrl,
    natsMonitorUrl: `http://${HOST}:${ports.natsMonitor}`,
    samEnvTargets,
    storeDir,
    checkpointDir,
    ...(opts.imageStore === true ? { imageStoreUrl: `${natsUrl}/images` } : {}),
    ...(opts.cpus?.services ? { serviceCpus: opts.cpus.services } : {}),
    entries: [],
  };
  const envCpus = opts.cpus?.samEnv ? { cpus: opts.cpus.samEnv } : {};
  const serviceCpus = topology.serviceCpus ? { cpus: topology.serviceCpus } : {};
  const imageStoreArgs = topology.imageStoreUrl ? ['--image-store', topology.imageStoreUrl] : [];
  // Services load the whole SAMV_* tree strictly (unknown keys are errors), so only real keys go
  // into the environment; per-process values travel as CLI flags.
  const baseEnv = { ...opts.env };

  topology.entries.push({
    name: 'nats',
    group: 'nats',
    executable: 'nats-server',
    args: ['-js', '-sd', storeDir, '-a', HOST, '-p', String(ports.nats), '-m', String(ports.natsMonitor)],
    env: {},
    readiness: { kind: 'http', url: `${topology.natsMonitorUrl}/healthz` },
    restart: 'none',
    ports: { client: ports.nats, monitor: ports.natsMonitor },
    ...serviceCpus,
  });
  ports.samEnv.forEach((port, i) => {
    const metrics = ports.samEnvMetrics[i] ?? 0;
    topology.entries.push({
      name: `sam-env-${i + 1}`,
      group: 'sam-env',
      executable: 'node',
      args: [
        'env',
        'serve',
        '--model',
        opts.model ?? 'grabcut',
        '--port',
        String(port),
        '--metrics-port',
        String(metrics),
        ...imageStoreArgs,
      ],
      env: baseEnv,
      readiness: { kind: 'tcp', host: HOST, port },
      restart: 'on-failure',
      ports: { grpc: port, metrics },
      ...envCpus,
    });
  });
  topology.entries.push({
    name: 'learner',
    group: 'learner',
    executable: 'node',
    args: ['learner', '--bus', natsUrl, '--run-dir', runDir, '--metrics-port', String(ports.learnerMetrics)],
    env: { ...baseEnv, SAMV_LEARNER__CHECKPOINT_DIR: checkpointDir },
    readiness: { kind: 'http', url: `http://${HOST}:${ports.learnerMetrics}/metrics` },
    // A restarted learner resumes from its last checkpoint (issue 5 acceptance).
    restart: 'on-failure',
    ports: { metrics: ports.learnerMetrics },
    ...serviceCpus,
  });
  ports.actorMetrics.forEach((metrics, i) => {
    topology.entries.push(actorEntry(topology, i + 1, metrics, opts.env));
  });
  return topology;
}

/** The entry of actor number `index` (1-based); used for the initial actors and by `cluster scale`. */
export function actorEntry(
  topology: Pick<LocalTopology, 'natsUrl' | 'samEnvTargets' | 'imageStoreUrl' | 'serviceCpus'>,
  index: number,
  metricsPort: number,
  extraEnv: Record<string, string> = {},
): TopologyEntry {
  const name = `actor-${index}`;
  return {
    name,
    group: 'actor',
    executable: 'node',
    args: [
      'actor',
      '--bus',
      topology.natsUrl,
      '--env',
      topology.samEnvTargets.join(','),
      '--id',
      name,
      '--metrics-port',
      String(metricsPort),
      ...(topology.imageStoreUrl ? ['--image-store', topology.imageStoreUrl] : []),
    ],
    env: { ...extraEnv },
    readiness: { kind: 'http', url: `http://${HOST}:${metricsPort}/metrics` },
    restart: 'on-failure',
    ports: { metrics: metricsPort },
    ...(topology.serviceCpus ? { cpus: topology.serviceCpus } : {}),
  };
}

/** Where the CLI lives: `<repo>/bin/sam-veteran.js`, resolved from this file. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI_PATH = join(REPO_ROOT, 'bin', 'sam-veteran.js');

/** Turns a topology entry into a supervisor process spec (`node bin/sam-veteran.js …` or nats-server). */
export function toProcessSpec(
  entry: TopologyEntry,
  opts: { node?: string; cliPath?: string; natsServer?: string; cwd?: string; readyTimeoutMs?: number } = {},
): ProcessSpec {
  const isNode = entry.executable === 'node';
  const spec: ProcessSpec = {
    name: entry.name,
    group: entry.group,
    command: isNode ? (opts.node ?? process.execPath) : (opts.natsServer ?? 'nats-server'),
    args: isNode ? [opts.cliPath ?? CLI_PATH, ...entry.args] : entry.args,
    env: entry.env,
    cwd: opts.cwd ?? REPO_ROOT,
    readiness: entry.readiness,
    readyTimeoutMs: opts.readyTimeoutMs ?? 60_000,
    restart: entry.restart,
    stopTimeoutMs: entry.group === 'nats' ? 10_000 : 15_000,
  };
  return entry.cpus ? pinnedSpec(spec, entry.cpus, `cpus of ${entry.name}`) : spec;
}
