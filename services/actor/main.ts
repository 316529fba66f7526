/**
 * Actor entry point — wiring only: config (file ← SAMV_* ← flags) → bus → env (sam-env replicas
 * over gRPC, or GrabCut in a worker thread when no address is given) → Actor → /metrics → signals.
 * Run via `sam-veteran actor --bus nats://… --env host:port,host:port --id actor-1`.
 */
import { createBus, type Bus, type BusOptions } from '../../core/bus/index.ts';
import {
  loadConfig,
  SamVeteranConfigSchema,
  type ActorConfig,
  type BusConfig,
} from '../../core/config/index.ts';
import type { EnvPort } from '../../core/env/index.ts';
import type { Logger } from '../../core/log/index.ts';
import { openImageStore } from '../sam-env/src/image-store.ts';
import { WorkerEnvPool } from '../sam-env/src/worker-env-pool.ts';
import { Actor } from './src/actor.ts';
import { GrpcEnvPort } from './src/grpc-env-port.ts';
import { StoreImageUploader } from './src/image-uploader.ts';

export interface ActorServiceOptions {
  /** Actor id (metrics label, group actorId). */
  readonly id: string;
  /** Bus URL (`memory://…` or `nats://…`); overrides config actor.busUrl. */
  readonly bus?: string;
  /** sam-env replicas (`host:port`); overrides config actor.envAddresses. Empty = in-process GrabCut. */
  readonly envAddresses?: readonly string[];
  readonly configFile?: string;
  readonly metricsPort?: number;
  readonly concurrency?: number;
  /** Image store spec; overrides config actor.envImageStore. */
  readonly imageStore?: string;
  readonly logger: Logger;
}

export interface ActorService {
  readonly actor: Actor;
  readonly bus: Bus;
  readonly env: EnvPort;
  readonly config: ActorConfig;
  readonly metricsPort: number | null;
  /** Drains the actor, then closes the metrics endpoint, the env and the bus. Idempotent. */
  close(): Promise<void>;
}

function defined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

/** The config's bus section as core/bus options (unset keys keep core/bus defaults). */
function busOptions(c: BusConfig): BusOptions {
  const { prefix, pullExpiresMs, weightsChunkBytes, maxPayloadBytes } = c;
  return {
    ...defined({ prefix, pullExpiresMs, weightsChunkBytes, maxPayloadBytes }),
    tasks: defined(c.tasks),
    groups: defined(c.groups),
  };
}

export async function startActorService(opts: ActorServiceOptions): Promise<ActorService> {
  const overrides: Record<string, unknown> = {};
  if (opts.bus !== undefined) overrides['busUrl'] = opts.bus;
  if (opts.envAddresses !== undefined) overrides['envAddresses'] = [...opts.envAddresses];
  if (opts.metricsPort !== undefined) overrides['metricsPort'] = opts.metricsPort;
  if (opts.concurrency !== undefined) overrides['concurrency'] = opts.concurrency;
  if (opts.imageStore !== undefined) overrides['envImageStore'] = opts.imageStore;
  const all = loadConfig(SamVeteranConfigSchema, { file: opts.configFile, overrides: { actor: overrides } });
  const config = all.actor;
  const log = opts.logger;

  const url = config.busUrl === 'memory' ? 'memory://' : config.busUrl;
  const bus = await createBus(url, { ...busOptions(all.bus), logger: log, name: `actor-${opts.id}` });
  const remote = config.envAddresses.length > 0;
  let imageStore: Awaited<ReturnType<typeof openImageStore>> | undefined;
  // The env port is built before the actor, whose metrics its image-store callbacks count into.
  const late: { actor?: Actor } = {};
  try {
    if (remote && config.envImageStore !== null) {
      imageStore = await openImageStore(config.envImageStore, { field: 'actor.envImageStore', logger: log });
    }
  } catch (err) {
    await bus.close();
    throw err;
  }
  let fallbacks = 0;
  const uploader = imageStore
    ? new StoreImageUploader(imageStore, { onUse: (r) => late.actor?.metrics.imageStoreUse(r) })
    : undefined;
  const env: EnvPort = remote
    ? new GrpcEnvPort(
        {
          addresses: config.envAddresses,
          deadlineMs: config.envDeadlineMs,
          firstContact: config.envFirstContact,
          seed: opts.id,
        },
        {
          ...(uploader ? { uploader } : {}),
          onStoreFallback: (err) => {
            late.actor?.metrics.imageStoreUse('fallback');
            // The first and then every 100th: a misconfigured replica would otherwise flood the log.
            if (fallbacks++ % 100 === 0)
              log.warn({ err, fallbacks }, 'image store key not usable; sent the image bytes instead');
          },
        },
      )
    : new WorkerEnvPool({ workers: 1 });
  log.info(
    {
      bus: url,
      env: remote ? config.envAddresses : 'in-process grabcut',
      ...(imageStore ? { imageStore: imageStore.location } : {}),
      concurrency: config.concurrency,
    },
    'actor configured',
  );
  const actor = new Actor({ id: opts.id, bus, env, config, logger: log, rewards: all.rewards });
  late.actor = actor;
  let metricsPort: number | null = null;
  if (config.metricsPort !== null) {
    metricsPort = await actor.metrics.listen(config.metricsPort);
    log.info({ port: metricsPort }, 'metrics endpoint listening');
  }
  await actor.start();
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await actor.stop();
      await actor.metrics.close();
      await env.close();
      await imageStore?.close();
      await bus.close();
    })());
  return { actor, bus, env, config, metricsPort, close };
}

/** SIGTERM/SIGINT → stop pulling, finish tasks in flight, exit 0 (a second signal exits at once). */
export function handleSignals(service: ActorService, logger: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'draining actor');
    service.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'actor shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
