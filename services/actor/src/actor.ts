/**
 * The actor service (ARCHITECTURE.md, "actor"): pulls tasks with bounded concurrency, runs each
 * (state → dynamic sampling → one env group call → rewards), publishes one RolloutGroup per task
 * and only then acks it. Lifecycle: idle → starting → ready → draining → stopped (logged).
 *
 * Delivery rules (core/bus contract):
 * - the group's msgId is the task id, so a task re-run after a crash cannot yield two groups;
 * - ack after the publish is confirmed; on any failure nak with a growing delay (redelivered,
 *   and after the bus's maxDeliver recorded as dead) — never publish zero rewards for a failure;
 * - a task that can never succeed (undecodable payload, invalid sample reference) is term()ed at
 *   once with the reason, which records it as dead;
 * - a long task sends working() every `workingIntervalMs` so its ack wait does not expire.
 */
import type { Bus, Subscription, TaskMessage } from '../../../core/bus/index.ts';
import type { ActorConfig } from '../../../core/config/index.ts';
import type { EnvPort } from '../../../core/env/index.ts';
import { ValidationError } from '../../../core/errors/index.ts';
import type { Logger } from '../../../core/log/index.ts';
import { silentLogger } from '../../../core/log/index.ts';
import type { PointerPolicy } from '../../../core/policy/index.ts';
import type { RewardConfig } from '../../../core/reward/index.ts';
import { DEFAULT_REWARD_CONFIG } from '../../../core/reward/index.ts';
import type { Task, TaskKind } from '../../../core/wire/index.ts';
import { decodeTask, encodeRolloutGroup, TASK_KINDS } from '../../../core/wire/index.ts';
import type { Registry } from 'prom-client';
import { ActorMetrics } from './actor-metrics.ts';
import { RetryingEnv, type RetryOptions } from './retrying-env.ts';
import { runActorTask, TaskRejectedError, type TaskOutcome } from './run-task.ts';
import { SampleResolver } from './sample-resolver.ts';
import type { StateOptions } from './state-builder.ts';
import { WeightsHolder, type SwapRecord } from './weights-holder.ts';

export type ActorState = 'idle' | 'starting' | 'ready' | 'draining' | 'stopped';

export interface ActorOptions {
  readonly id: string;
  readonly bus: Bus;
  /** The environment (gRPC client adapter, worker pool, or LocalEnv); not closed by the actor. */
  readonly env: EnvPort;
  readonly config: ActorConfig;
  /** Policy to load released weights into (saves building one); weights always come from the bus. */
  readonly policy?: PointerPolicy;
  readonly logger?: Logger;
  /** Registry to register metrics in (may be shared by several actors). Default: a private one. */
  readonly metrics?: Registry;
  /** Seed of the actor's own randomness (env retry jitter). Task sampling is seeded by the task. */
  readonly seed?: number;
  /** Reward thresholds. Default: the paper's (core/reward defaults). */
  readonly rewards?: RewardConfig;
  /** State construction knobs (jitter range, policy-box and clean probabilities). */
  readonly stateOptions?: Partial<StateOptions>;
  /** Env retries per call. Default 3 attempts, 100 ms initial backoff. */
  readonly envRetry?: Omit<RetryOptions, 'onRetry' | 'seed'>;
  /** First nak delay after a failure, ms; doubles per delivery up to 30 s. Default 1000. */
  readonly failureNakDelayMs?: number;
  /** How long a task waits for its minPolicyVersion before being nak'd, ms. Default 10000. */
  readonly minVersionWaitMs?: number;
  /** Sample resolver (shared dataset cache). Default: a private one. */
  readonly resolver?: SampleResolver;
}

export interface KindStats {
  processed: number;
  zeroVariance: number;
  samplesDrawn: number;
}

export interface ActorStats {
  /** Tasks whose group was published (or found already published) and acked. */
  tasksProcessed: number;
  /** Task attempts that failed and were nak'd for redelivery. */
  tasksFailed: number;
  /** Tasks terminated as dead (undecodable or unresolvable). */
  tasksDead: number;
  groupsPublished: number;
  /** Publishes the bus dropped as duplicates. */
  duplicateGroups: number;
  zeroVarianceGroups: number;
  transitions: number;
  envRetries: number;
  weightSwaps: number;
  weightSwapFailures: number;
  policyVersion: number;
  lastSwap: SwapRecord | null;
  byKind: Record<TaskKind, KindStats>;
}

export class Actor {
  readonly id: string;
  readonly metrics: ActorMetrics;
  readonly weights: WeightsHolder;
  private readonly bus: Bus;
  private readonly env: RetryingEnv;
  private readonly config: ActorConfig;
  private readonly log: Logger;
  private readonly rewards: RewardConfig;
  private readonly resolver: SampleResolver;
  private readonly opts: ActorOptions;
  private lifecycle: ActorState = 'idle';
  private sub: Subscription<TaskMessage> | undefined;
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private signalStop: () => void = () => undefined;
  private readonly stopSignal: Promise<void>;
  private readonly inFlight = new Set<Promise<void>>();
  private envModelId: Promise<string> | undefined;
  private readonly counters: Omit<
    ActorStats,
    'weightSwaps' | 'weightSwapFailures' | 'policyVersion' | 'lastSwap'
  >;
  private lastSwap: SwapRecord | null = null;

  constructor(opts: ActorOptions) {
    if (!opts.id || /\s/.test(opts.id))
      throw new ValidationError('id', opts.id, 'must be a non-empty id without spaces');
    this.opts = opts;
    this.id = opts.id;
    this.bus = opts.bus;
    this.config = opts.config;
    this.rewards = opts.rewards ?? DEFAULT_REWARD_CONFIG;
    this.log = (opts.logger ?? silentLogger).child({ component: 'actor', actorId: opts.id });
    this.metrics = new ActorMetrics(opts.id, opts.metrics);
    this.resolver = opts.resolver ?? new SampleResolver();
    this.env = new RetryingEnv(opts.env, {
      ...opts.envRetry,
      seed: `${opts.seed ?? 0}/${opts.id}/env-retry`,
      onRetry: (err, attempt) => {
        this.counters.envRetries++;
        this.metrics.envRetry();
        this.log.warn({ err, attempt }, 'env call failed; retrying');
      },
    });
    this.weights = new WeightsHolder({
      bus: opts.bus,
      ...(opts.policy ? { policy: opts.policy } : {}),
      logger: this.log,
      metrics: this.metrics,
      onSwap: (s) => (this.lastSwap = s),
    });
    const byKind = Object.fromEntries(
      TASK_KINDS.map((k) => [k, { processed: 0, zeroVariance: 0, samplesDrawn: 0 }]),
    ) as Record<TaskKind, KindStats>;
    this.counters = {
      tasksProcessed: 0,
      tasksFailed: 0,
      tasksDead: 0,
      groupsPublished: 0,
      duplicateGroups: 0,
      zeroVarianceGroups: 0,
      transitions: 0,
      envRetries: 0,
      byKind,
    };
    this.stopSignal = new Promise((resolve) => (this.signalStop = resolve));
  }

  get state(): ActorState {
    return this.lifecycle;
  }

  /** The last weight swap (version, latency); cheap, for polling (`stats` copies every counter). */
  get lastWeightSwap(): ActorStats['lastSwap'] {
    return this.lastSwap;
  }

  get stats(): Readonly<ActorStats> {
    return {
      ...this.counters,
      byKind: structuredClone(this.counters.byKind),
      weightSwaps: this.weights.swaps,
      weightSwapFailures: this.weights.swapFailures,
      policyVersion: this.weights.version,
      lastSwap: this.lastSwap,
    };
  }

  /** Starts the weights watch and the task loop (tasks are pulled once the first weights are loaded). */
  start(): Promise<void> {
    if (this.lifecycle !== 'idle') return Promise.resolve();
    this.transition('starting');
    this.weights.start();
    this.transition('ready');
    this.loop = this.run().catch((err: unknown) => {
      this.log.error({ err }, 'task loop failed');
    });
    return Promise.resolve();
  }

  /** Stops pulling, finishes the tasks in flight, stops the weights watch. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.lifecycle === 'idle') {
        this.transition('stopped');
        return;
      }
      this.transition('draining');
      this.signalStop();
      await this.sub?.stop();
      await this.loop;
      await Promise.allSettled([...this.inFlight]);
      await this.weights.stop();
      this.transition('stopped');
    })();
    return this.stopping;
  }

  private transition(to: ActorState): void {
    this.log.info({ from: this.lifecycle, to }, 'actor state');
    this.lifecycle = to;
  }

  private get draining(): boolean {
    return this.lifecycle === 'draining' || this.lifecycle === 'stopped';
  }

  private async run(): Promise<void> {
    if (!this.weights.ready) {
      this.log.info('waiting for the first policy release');
      await Promise.race([this.weights.waitForVersion(1), this.stopSignal]);
    }
    if (this.draining) return;
    this.log.info({ version: this.weights.version, concurrency: this.config.concurrency }, 'pulling tasks');
    const sub = this.bus.consumeTasks({ maxInFlight: this.config.concurrency });
    this.sub = sub;
    if (this.draining) {
      await sub.stop();
      return;
    }
    for await (const msg of sub) {
      if (this.draining) {
        msg.nak();
        break;
      }
      const p: Promise<void> = this.handle(msg).finally(() => {
        this.inFlight.delete(p);
        this.metrics.setInFlight(this.inFlight.size);
      });
      this.inFlight.add(p);
      this.metrics.setInFlight(this.inFlight.size);
    }
  }

  private modelId(): Promise<string> {
    if (!this.envModelId) {
      this.envModelId = this.env.info().then((i) => i.id);
      this.envModelId.catch(() => (this.envModelId = undefined));
    }
    return this.envModelId;
  }

  private async handle(msg: TaskMessage): Promise<void> {
    const t0 = performance.now();
    let task: Task;
    try {
      task = decodeTask(msg.payload);
    } catch (err) {
      this.counters.tasksDead++;
      this.log.error({ err, msgId: msg.id }, 'undecodable task payload; terminating it as dead');
      await msg.term(`undecodable task: ${(err as Error).message}`);
      return;
    }
    const heartbeat = setInterval(() => msg.working(), this.config.workingIntervalMs);
    heartbeat.unref();
    try {
      if (this.weights.version < task.minPolicyVersion) {
        const ok = await this.weights.waitForVersion(
          task.minPolicyVersion,
          this.opts.minVersionWaitMs ?? 10_000,
        );
        if (!ok) {
          this.fail(
            msg,
            task,
            new Error(
              `policy version ${this.weights.version} < task minPolicyVersion ${task.minPolicyVersion}`,
            ),
          );
          return;
        }
      }
      const outcome = await runActorTask(task, {
        actorId: this.id,
        env: this.env,
        weights: this.weights,
        resolver: this.resolver,
        rewards: this.rewards,
        sampling: this.config.sampling,
        ...(this.opts.stateOptions ? { stateOptions: this.opts.stateOptions } : {}),
        envModelId: await this.modelId(),
        attempt: msg.deliveryCount,
      });
      const ack = await this.bus.publishGroup(task.taskId, encodeRolloutGroup(outcome.group));
      await msg.ack();
      this.succeeded(task, outcome, ack.duplicate, (performance.now() - t0) / 1000);
    } catch (err) {
      if (err instanceof TaskRejectedError) {
        this.counters.tasksDead++;
        this.metrics.task(task.kind, 'dead');
        this.log.error({ err, taskId: task.taskId }, 'task can never succeed; terminating it as dead');
        await msg.term((err as Error).message);
        return;
      }
      this.fail(msg, task, err);
    } finally {
      clearInterval(heartbeat);
    }
  }

  private succeeded(task: Task, outcome: TaskOutcome, duplicate: boolean, seconds: number): void {
    const c = this.counters;
    c.tasksProcessed++;
    if (duplicate) c.duplicateGroups++;
    else c.groupsPublished++;
    if (outcome.zeroVariance) c.zeroVarianceGroups++;
    c.transitions += outcome.transitions;
    const k = c.byKind[task.kind];
    k.processed++;
    k.samplesDrawn += outcome.sampling.samplesDrawn;
    if (outcome.zeroVariance) k.zeroVariance++;
    this.metrics.task(task.kind, 'ok', seconds);
    this.metrics.group(task.kind, {
      duplicate,
      zeroVariance: outcome.zeroVariance,
      samplesDrawn: outcome.sampling.samplesDrawn,
    });
    this.metrics.addTransitions(outcome.transitions);
    this.log.debug(
      {
        taskId: task.taskId,
        kind: task.kind,
        version: outcome.group.policyVersion,
        rewards: outcome.group.rollouts.map((r) => Math.round(r.reward * 100) / 100),
        samplesDrawn: outcome.sampling.samplesDrawn,
        distinct: outcome.sampling.distinct,
        duplicate,
        ms: Math.round(seconds * 1000),
      },
      'group published',
    );
  }

  private fail(msg: TaskMessage, task: Task, err: unknown): void {
    const delay = Math.min(
      30_000,
      (this.opts.failureNakDelayMs ?? 1000) * 2 ** Math.max(0, msg.deliveryCount - 1),
    );
    this.counters.tasksFailed++;
    this.metrics.task(task.kind, 'retried');
    this.log.warn(
      { err, taskId: task.taskId, attempt: msg.deliveryCount, retryInMs: delay },
      'task failed; nak for redelivery',
    );
    msg.nak(delay);
  }
}
