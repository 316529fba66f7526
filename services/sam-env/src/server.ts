/**
 * The SamEnv gRPC server (grpc-js): Info / Transition / TransitionGroup / TransitionStream over the
 * transport-free TransitionService, plus the standard health service (grpc.health.v1) and server reflection.
 *
 * Lifecycle: starting → ready → draining → stopped (logged). Shutdown is idempotent: health goes
 * NOT_SERVING (so load balancers and k8s readiness stop routing here), existing sessions get GOAWAY
 * (`drain`), `tryShutdown` lets in-flight calls finish, and `forceShutdown` cuts them after the grace
 * period. Keepalive pings detect dead peers; `maxConnectionAgeMs` recycles connections so DNS-based
 * clients re-resolve and find new replicas (grpc-node #2265).
 */
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { silentLogger, type Logger } from '../../../core/log/index.ts';
import {
  imageRefFromWire,
  infoToWire,
  loadSamEnvDefinition,
  promptFromWire,
  SAM_ENV_SERVICE,
  transitionResultToWire,
  type SamEnvHandlers,
} from '../../../core/wire/index.ts';
import { toGrpcStatus } from './errors.ts';
import { SamEnvMetrics } from './metrics.ts';
import type { EnvModel } from './model.ts';
import { TransitionStreams, type StreamMethods } from './stream-server.ts';
import { TransitionService, type TransitionServiceOptions } from './transition-service.ts';

export interface SamEnvServerOptions extends Omit<TransitionServiceOptions, 'model' | 'metrics'> {
  readonly model: EnvModel;
  /** Bind host. Default '0.0.0.0'. */
  readonly host?: string;
  /** Bind port; 0 = any free port. Default 50051. */
  readonly port?: number;
  /** Max gRPC message size in bytes (receive and send). Default 32 MiB. */
  readonly maxMessageBytes?: number;
  /** Keepalive ping interval in ms. Default 30000. */
  readonly keepaliveTimeMs?: number;
  /** Keepalive ping ack timeout in ms. Default 10000. */
  readonly keepaliveTimeoutMs?: number;
  /** Max connection age in ms before GOAWAY (clients reconnect and re-resolve). Default 300000. */
  readonly maxConnectionAgeMs?: number;
  /** Grace for calls on an aged connection in ms. Default 10000. */
  readonly maxConnectionAgeGraceMs?: number;
  /** Time in ms in-flight calls get to finish on shutdown before being cut. Default 10000. */
  readonly drainTimeoutMs?: number;
  /** Serve Prometheus metrics on this HTTP port (0 = any free port); omitted = no HTTP endpoint. */
  readonly metricsPort?: number;
  /** Close `imageStore` when the server stops (it was opened for this server). Default false. */
  readonly ownsImageStore?: boolean;
  readonly logger?: Logger;
}

export type ServerState = 'starting' | 'ready' | 'draining' | 'stopped';

export class SamEnvServer {
  readonly service: TransitionService;
  readonly metrics: SamEnvMetrics;
  private readonly server: grpc.Server;
  private readonly health: HealthImplementation;
  private readonly logger: Logger;
  private stateValue: ServerState = 'starting';
  private boundPort = 0;
  private metricsPortValue: number | undefined;
  private stopping: Promise<void> | undefined;
  /** The two transition methods, shared by the unary calls and TransitionStream. */
  private readonly methods: StreamMethods = {
    transition: async (req, signal) => {
      const out = await this.service.run({
        model: req.model,
        image: imageRefFromWire(req.image, 'image'),
        prompts: [promptFromWire(req.prompt, 'prompt')],
        returnLogits: req.returnLogits,
        promptField: 'prompt',
        signal,
      });
      this.metrics.transitions.inc({ method: 'Transition' });
      const result = out.results[0];
      return {
        ...(result ? { result: transitionResultToWire(result) } : {}),
        embeddingCached: out.embeddingCached,
        modelId: out.modelId,
        serverMs: out.serverMs,
      };
    },
    group: async (req, signal) => {
      const out = await this.service.run({
        model: req.model,
        image: imageRefFromWire(req.image, 'image'),
        prompts: req.prompts.map((p, i) => promptFromWire(p, `prompts[${i}]`)),
        returnLogits: req.returnLogits,
        promptField: 'prompts',
        signal,
      });
      this.metrics.transitions.inc({ method: 'TransitionGroup' }, out.results.length);
      return {
        results: out.results.map(transitionResultToWire),
        embeddingCached: out.embeddingCached,
        modelId: out.modelId,
        serverMs: out.serverMs,
      };
    },
  };
  private readonly streams: TransitionStreams;

  private constructor(private readonly opts: SamEnvServerOptions) {
    this.logger = opts.logger ?? silentLogger;
    this.metrics = new SamEnvMetrics();
    const maxMessageBytes = opts.maxMessageBytes ?? 32 * 2 ** 20;
    this.service = new TransitionService({ ...opts, maxMessageBytes, metrics: this.metrics });
    this.streams = new TransitionStreams(this.methods, this.metrics, this.logger);
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.max_send_message_length': maxMessageBytes,
      'grpc.keepalive_time_ms': opts.keepaliveTimeMs ?? 30_000,
      'grpc.keepalive_timeout_ms': opts.keepaliveTimeoutMs ?? 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_connection_age_ms': opts.maxConnectionAgeMs ?? 300_000,
      'grpc.max_connection_age_grace_ms': opts.maxConnectionAgeGraceMs ?? 10_000,
      // Channelz stays on although no channelz service is exposed: with it off, grpc-js 1.14 does
      // not track sessions, and forceShutdown() (kill) leaves open connections serving.
    });
    const { packageDefinition, proto } = loadSamEnvDefinition();
    this.server.addService(proto.samveteran.v1.SamEnv.service, this.handlers());
    this.health = new HealthImplementation({ '': 'NOT_SERVING', [SAM_ENV_SERVICE]: 'NOT_SERVING' });
    this.health.addToServer(this.server);
    new ReflectionService(packageDefinition).addToServer(this.server);
  }

  /** Initialises the model (warm-up), binds, and marks the server SERVING. */
  static async start(opts: SamEnvServerOptions): Promise<SamEnvServer> {
    const s = new SamEnvServer(opts);
    await s.startInternal();
    return s;
  }

  get state(): ServerState {
    return this.stateValue;
  }

  get port(): number {
    return this.boundPort;
  }

  /** `host:port` clients can dial (loopback when bound to all interfaces). */
  get address(): string {
    const host = this.opts.host ?? '0.0.0.0';
    return `${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${this.boundPort}`;
  }

  get metricsPort(): number | undefined {
    return this.metricsPortValue;
  }

  /** Where store keys are resolved (no credentials), or undefined without an image store. */
  get imageStoreLocation(): string | undefined {
    return this.opts.imageStore?.location;
  }

  private setState(s: ServerState): void {
    this.logger.info({ from: this.stateValue, to: s, port: this.boundPort }, 'sam-env state');
    this.stateValue = s;
  }

  private async startInternal(): Promise<void> {
    await this.opts.model.init();
    const host = this.opts.host ?? '0.0.0.0';
    this.boundPort = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(
        `${host}:${this.opts.port ?? 50051}`,
        grpc.ServerCredentials.createInsecure(),
        (err, port) => (err ? reject(err) : resolve(port)),
      );
    });
    if (this.opts.metricsPort !== undefined)
      this.metricsPortValue = await this.metrics.listen(this.opts.metricsPort);
    this.health.setStatus('', 'SERVING');
    this.health.setStatus(SAM_ENV_SERVICE, 'SERVING');
    this.setState('ready');
    this.logger.info(
      {
        model: this.opts.model.info.id,
        address: this.address,
        imageStore: this.opts.imageStore?.location ?? null,
      },
      'sam-env listening',
    );
  }

  /**
   * Graceful stop: NOT_SERVING, GOAWAY, wait for in-flight calls (up to drainTimeoutMs), then close
   * the model. Idempotent: later calls return the same promise.
   */
  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      this.setState('draining');
      this.health.setStatus('', 'NOT_SERVING');
      this.health.setStatus(SAM_ENV_SERVICE, 'NOT_SERVING');
      const graceMs = this.opts.drainTimeoutMs ?? 10_000;
      this.streams.drain();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.logger.warn({ graceMs }, 'drain timed out; cutting remaining calls');
          this.server.forceShutdown();
          resolve();
        }, graceMs);
        timer.unref();
        this.server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await this.service.idle();
      await this.finish();
    })();
    return this.stopping;
  }

  /** Immediate stop: cancels in-flight calls (clients see UNAVAILABLE/CANCELLED). */
  async kill(): Promise<void> {
    this.stopping ??= (async () => {
      this.setState('draining');
      this.server.forceShutdown();
      await this.finish();
    })();
    return this.stopping;
  }

  private async finish(): Promise<void> {
    this.service.clearCaches();
    await this.opts.model.close();
    if (this.opts.ownsImageStore) {
      await this.opts.imageStore?.close?.().catch((err: unknown) => {
        this.logger.warn({ err }, 'closing the image store failed');
      });
    }
    await this.metrics.close();
    this.setState('stopped');
  }

  private handlers(): SamEnvHandlers {
    return {
      Info: this.unary('Info', async () => infoToWire(this.service.info())),
      Transition: this.unary('Transition', this.methods.transition),
      TransitionGroup: this.unary('TransitionGroup', this.methods.group),
      TransitionStream: this.streams.handle,
    };
  }

  /** Wraps a handler: cancellation → AbortSignal, latency and error metrics, the one error mapping. */
  private unary<Req, Res>(
    method: string,
    fn: (req: Req, signal: AbortSignal) => Promise<Res>,
  ): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const stop = this.metrics.callLatency.startTimer({ method });
      const ac = new AbortController();
      // grpc-js also emits 'cancelled' after the status is sent; aborting then would only build a
      // DOMException (with its stack) per call for nobody.
      const onCancelled = (): void => ac.abort();
      call.once('cancelled', onCancelled);
      fn(call.request, ac.signal).then(
        (res) => {
          call.off('cancelled', onCancelled);
          stop();
          callback(null, res);
        },
        (err: unknown) => {
          call.off('cancelled', onCancelled);
          stop();
          const st = toGrpcStatus(err, this.logger, method);
          this.metrics.errors.inc({ method, code: grpc.status[st.code] ?? String(st.code) });
          callback(st);
        },
      );
    };
  }
}
