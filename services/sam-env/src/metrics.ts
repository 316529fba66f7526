/**
 * Prometheus metrics of one sam-env server instance (its own registry, so several servers in one
 * process — tests, benches — do not collide). Transitions/s is `rate(samenv_transitions_total[1m])`;
 * cache hit ratio is hits / (hits + misses).
 */
import type { Server } from 'node:http';
import { serveMetrics } from '../../../core/log/index.ts';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class SamEnvMetrics {
  readonly registry = new Registry();
  /** Prompts turned into masks, by method. */
  readonly transitions: Counter<'method'>;
  readonly callLatency: Histogram<'method'>;
  readonly cacheLookups: Counter<'cache' | 'result'>;
  readonly batchSize: Histogram;
  readonly errors: Counter<'method' | 'code'>;
  /** TransitionStream calls open. */
  readonly openStreams: Gauge;
  private http: Server | undefined;

  constructor(opts: { defaultMetrics?: boolean; labels?: Record<string, string> } = {}) {
    if (opts.labels) this.registry.setDefaultLabels(opts.labels);
    const registers = [this.registry];
    this.transitions = new Counter({
      name: 'samenv_transitions_total',
      help: 'Prompts decoded into masks',
      labelNames: ['method'],
      registers,
    });
    this.callLatency = new Histogram({
      name: 'samenv_call_duration_seconds',
      help: 'Server-side duration of gRPC calls',
      labelNames: ['method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.cacheLookups = new Counter({
      name: 'samenv_cache_lookups_total',
      help: 'Image and embedding cache lookups by result (hit|miss)',
      labelNames: ['cache', 'result'],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'samenv_decode_batch_size',
      help: 'Prompts per decoder run',
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers,
    });
    this.errors = new Counter({
      name: 'samenv_errors_total',
      help: 'Failed calls by gRPC status code name',
      labelNames: ['method', 'code'],
      registers,
    });
    this.openStreams = new Gauge({
      name: 'samenv_open_streams',
      help: 'TransitionStream calls open (long-lived; each carries many transitions)',
      registers,
    });
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Serves GET /metrics on `port` (0 = any free port); returns the bound port. */
  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    const { server, port: bound } = await serveMetrics(this.registry, port, host);
    this.http = server;
    return bound;
  }

  async close(): Promise<void> {
    const s = this.http;
    this.http = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
