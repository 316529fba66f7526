/**
 * Prometheus metrics of an actor. Every series carries an `actor` label, and metrics are looked up
 * by name before being created, so several actors (the embedded job runs them in one process) can
 * share one registry. Transitions/s is `rate(actor_transitions_total[1m])`; the weight broadcast
 * latency is publish time (the `latest` pointer's publishedAtMs) → weights swapped in this actor.
 */
import type { Server } from 'node:http';
import { serveMetrics } from '../../../core/log/index.ts';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TaskKind } from '../../../core/wire/index.ts';

type Ctor<M> = new (cfg: never) => M;

function getOrCreate<M>(
  registry: Registry,
  Kind: Ctor<M>,
  cfg: { name: string } & Record<string, unknown>,
): M {
  const existing = registry.getSingleMetric(cfg.name);
  if (existing) return existing as unknown as M;
  return new Kind({ ...cfg, registers: [registry] } as never);
}

export type TaskResult = 'ok' | 'retried' | 'dead';

export class ActorMetrics {
  readonly registry: Registry;
  private readonly tasks: Counter<'actor' | 'kind' | 'result'>;
  private readonly groups: Counter<'actor' | 'kind'>;
  private readonly duplicates: Counter<'actor'>;
  private readonly transitions: Counter<'actor'>;
  private readonly zeroVariance: Counter<'actor' | 'kind'>;
  private readonly samplesDrawn: Counter<'actor' | 'kind'>;
  private readonly envRetries: Counter<'actor'>;
  private readonly taskSeconds: Histogram<'actor' | 'kind'>;
  private readonly inFlight: Gauge<'actor'>;
  private readonly version: Gauge<'actor'>;
  private readonly versionLag: Gauge<'actor'>;
  private readonly swapSeconds: Histogram<'actor'>;
  private readonly swapFailures: Counter<'actor'>;
  private readonly imageStore: Counter<'actor' | 'result'>;
  private http: Server | undefined;

  constructor(
    readonly actorId: string,
    registry?: Registry,
  ) {
    this.registry = registry ?? new Registry();
    const r = this.registry;
    const L = ['actor'] as const;
    this.tasks = getOrCreate(r, Counter, {
      name: 'actor_tasks_total',
      help: 'Tasks finished by result: ok (group published), retried (nak, redelivered later), dead (terminated)',
      labelNames: ['actor', 'kind', 'result'],
    });
    this.groups = getOrCreate(r, Counter, {
      name: 'actor_groups_published_total',
      help: 'RolloutGroups published (new, not de-duplicated)',
      labelNames: ['actor', 'kind'],
    });
    this.duplicates = getOrCreate(r, Counter, {
      name: 'actor_groups_duplicate_total',
      help: 'Group publishes the bus dropped as duplicates (a task re-run after a crash)',
      labelNames: L,
    });
    this.transitions = getOrCreate(r, Counter, {
      name: 'actor_transitions_total',
      help: 'Env transitions requested (rollout prompts plus state masks)',
      labelNames: L,
    });
    this.zeroVariance = getOrCreate(r, Counter, {
      name: 'actor_zero_variance_groups_total',
      help: 'Published groups whose rewards are all equal (no GRPO signal)',
      labelNames: ['actor', 'kind'],
    });
    this.samplesDrawn = getOrCreate(r, Counter, {
      name: 'actor_samples_drawn_total',
      help: 'Actions drawn by dynamic sampling (before selecting G per group)',
      labelNames: ['actor', 'kind'],
    });
    this.envRetries = getOrCreate(r, Counter, {
      name: 'actor_env_retries_total',
      help: 'Env calls retried after a transient failure',
      labelNames: L,
    });
    this.taskSeconds = getOrCreate(r, Histogram, {
      name: 'actor_task_duration_seconds',
      help: 'Time from task receipt to group published',
      labelNames: ['actor', 'kind'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    this.inFlight = getOrCreate(r, Gauge, {
      name: 'actor_tasks_in_flight',
      help: 'Tasks being processed',
      labelNames: L,
    });
    this.version = getOrCreate(r, Gauge, {
      name: 'actor_policy_version',
      help: 'Policy version loaded',
      labelNames: L,
    });
    this.versionLag = getOrCreate(r, Gauge, {
      name: 'actor_policy_version_lag',
      help: 'Latest published policy version minus the loaded one',
      labelNames: L,
    });
    this.swapSeconds = getOrCreate(r, Histogram, {
      name: 'actor_weight_swap_latency_seconds',
      help: 'Weight broadcast latency: latest pointer published -> weights swapped in this actor',
      labelNames: L,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.swapFailures = getOrCreate(r, Counter, {
      name: 'actor_weight_swap_failures_total',
      help: 'Weight releases rejected (digest mismatch, missing or unreadable object)',
      labelNames: L,
    });
    this.imageStore = getOrCreate(r, Counter, {
      name: 'actor_image_store_total',
      help: 'Images sent to sam-env as image-store keys: put (uploaded), reused (key already put), fallback (bytes sent instead)',
      labelNames: ['actor', 'result'],
    });
  }

  imageStoreUse(result: 'put' | 'reused' | 'fallback'): void {
    this.imageStore.inc({ actor: this.actorId, result });
  }

  task(kind: TaskKind, result: TaskResult, seconds?: number): void {
    this.tasks.inc({ actor: this.actorId, kind, result });
    if (seconds !== undefined) this.taskSeconds.observe({ actor: this.actorId, kind }, seconds);
  }

  group(kind: TaskKind, opts: { duplicate: boolean; zeroVariance: boolean; samplesDrawn: number }): void {
    if (opts.duplicate) this.duplicates.inc({ actor: this.actorId });
    else this.groups.inc({ actor: this.actorId, kind });
    if (opts.zeroVariance) this.zeroVariance.inc({ actor: this.actorId, kind });
    this.samplesDrawn.inc({ actor: this.actorId, kind }, opts.samplesDrawn);
  }

  addTransitions(n: number): void {
    if (n > 0) this.transitions.inc({ actor: this.actorId }, n);
  }

  envRetry(): void {
    this.envRetries.inc({ actor: this.actorId });
  }

  setInFlight(n: number): void {
    this.inFlight.set({ actor: this.actorId }, n);
  }

  versions(loaded: number, latest: number): void {
    this.version.set({ actor: this.actorId }, loaded);
    this.versionLag.set({ actor: this.actorId }, Math.max(0, latest - loaded));
  }

  swapped(latencySeconds: number): void {
    this.swapSeconds.observe({ actor: this.actorId }, Math.max(0, latencySeconds));
  }

  swapFailed(): void {
    this.swapFailures.inc({ actor: this.actorId });
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
