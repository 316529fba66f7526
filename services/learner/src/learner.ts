/**
 * The learner: feeds tasks, consumes rollout groups, applies GRPO updates, publishes weights and
 * checkpoints. Lifecycle: new → starting → ready (run loop) → draining → stopped.
 *
 * Exactly-once application of groups across crashes (SIGKILL at any instant):
 * - A group's message is acked only after a checkpoint that contains the update using it has been
 *   committed (atomic rename, fsync'd). Applied-but-uncommitted groups are "held": their messages
 *   stay unacked (kept alive with in-progress heartbeats) until the next commit, then acked.
 * - Killed before the commit: the restarted learner loads the previous checkpoint, whose weights
 *   do not contain those updates; the held groups were never acked, so the bus redelivers them and
 *   they are applied once, now. Nothing is lost.
 * - Killed after the commit, before (all) the acks: the checkpoint lists the group ids applied in
 *   recent steps (`appliedGroupIds`) and no longer lists their tasks as outstanding, so the
 *   redelivered copies are recognised and acked without being applied. Nothing is applied twice.
 * - Groups that change nothing (stale, invalid, duplicate, unknown task) are acked at once: dropping
 *   them again after a restart is harmless.
 * Commits happen every `checkpointEverySteps` steps, or earlier when the held groups would use up
 * the unacked-message budget (`maxUnackedGroups`), and at stop().
 *
 * Versions: the weights at start are version 1 (+ steps already taken when resuming); every step
 * adds one, and weights are published every `publishEverySteps` steps as `putWeights(version)` +
 * `setLatest` with the sha-256 digest.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { Bus, GroupMessage, Subscription } from '../../../core/bus/index.ts';
import type { LearnerConfig } from '../../../core/config/index.ts';
import { SamVeteranError, ValidationError } from '../../../core/errors/index.ts';
import { silentLogger, type Logger } from '../../../core/log/index.ts';
import {
  decodePolicyFile,
  encodePolicyFile,
  ensureTf,
  PointerPolicy,
  policyToBytes,
  serializeWeights,
  weightsOf,
  writePolicyBytes,
} from '../../../core/policy/index.ts';
import {
  decodeRolloutGroup,
  TASK_KINDS,
  type RolloutGroup,
  type TaskKind,
} from '../../../core/wire/index.ts';
import { assembleBatch, buildGroupInput, type GroupInput, type StepBatch } from './batch.ts';
import { CHECKPOINT_FORMAT, latestCheckpoint, writeCheckpoint, type LearnerState } from './checkpoint.ts';
import { Feeder, type SampleSource } from './feeder.ts';
import { grpoStep, grpoStepResult, type GrpoStepResult } from './grpo-step.ts';
import { StepThread } from './step-thread.ts';
import { WeightAverage } from '../../../core/policy/index.ts';
import { LearnerMetrics, type GroupResult, type StepPart } from './metrics.ts';

/** Flat per-step record (JSONL-friendly): `step`, `version`, and named numbers such as 'reward.mean'. */
export type LearnerStepMetrics = { readonly step: number; readonly version: number } & Readonly<
  Record<string, number>
>;

export interface LearnerOptions {
  readonly bus: Bus;
  readonly config: LearnerConfig;
  /** The policy to train (the warm start; replaced by the checkpoint's weights when resuming). */
  readonly policy: PointerPolicy;
  /** Frozen reference for the KL term. Default: a frozen clone of `policy` taken at construction. */
  readonly reference?: PointerPolicy;
  /** Run id: task ids are `<runId>:<seq>`; keep it stable across restarts of one run. */
  readonly runId: string;
  readonly logger?: Logger;
  /** Prometheus registry to register the learner's metrics on. Default: a private one. */
  readonly metrics?: Registry;
  readonly onStep?: (m: LearnerStepMetrics) => void;
  /** Dataset spec for tasks. Default: config.dataset. */
  readonly datasetSpec?: string;
  /** Samples shared with in-process actors (see FeederOptions.samples). */
  readonly samples?: SampleSource;
  /** Unacked groups (held + waiting) at most; bounds the commit interval. Default 512. */
  readonly maxUnackedGroups?: number;
  /** In-progress heartbeat on unacked groups, ms. Default 10000 (groups' ack wait is 60 s). */
  readonly heartbeatMs?: number;
  /** Outstanding tasks older than this many versions are given up. Default 4·(maxStaleness + 1). */
  readonly taskExpiryVersions?: number;
  /** Applied group ids remembered for de-duplication. Default 64·batchStates. */
  readonly appliedIdWindow?: number;
  /** Checkpoint directories kept. Default 2. */
  readonly keepCheckpoints?: number;
  /** Weight versions kept on the bus. Default maxStaleness + 3. */
  readonly keepWeightVersions?: number;
  /** How often the wait loop re-feeds and checks dead tasks, ms. Default 1000. */
  readonly maintenanceMs?: number;
}

type LearnerPhase = 'new' | 'starting' | 'ready' | 'draining' | 'stopped';

interface Pending {
  readonly input: GroupInput;
  readonly taskId: string;
  readonly msgs: GroupMessage[];
}

const BASE_VERSION = 1;

export class Learner {
  private readonly bus: Bus;
  private readonly config: LearnerConfig;
  private readonly policy: PointerPolicy;
  /** Moving average of the weights (config.weightAverageDecay > 0); set in start(). */
  private average: WeightAverage | undefined;
  private readonly reference: PointerPolicy;
  /** Computes steps' gradients off this thread (config.stepThread 'worker'); set in start(). */
  private stepThread: StepThread | undefined;
  private readonly runId: string;
  private readonly log: Logger;
  private readonly metrics: LearnerMetrics;
  private feeder: Feeder;
  private readonly opts: LearnerOptions;
  private phase: LearnerPhase = 'new';
  private stepCount = 0;
  private currentVersion = BASE_VERSION;
  private lastCommitStep = -1;
  private readonly commitEvery: number;
  private readonly maxUnacked: number;
  private readonly counters: Record<string, number> = {};
  private readonly appliedIds: string[] = [];
  private readonly appliedSet = new Set<string>();
  private readonly held = new Map<string, GroupMessage[]>();
  private readonly pending: Pending[] = [];
  private readonly pendingById = new Map<string, Pending>();
  /** Groups for tasks this run will issue again after a restart (seq ≥ the feeder's): matched once re-issued. */
  private readonly parked = new Map<string, { group: RolloutGroup; msgs: GroupMessage[] }>();
  private readonly published: number[] = [];
  private sub: Subscription<GroupMessage> | undefined;
  private pumpDone: Promise<void> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  /** Pending re-feed under the `maxTasksPerSecond` cap. */
  private feedTimer: NodeJS.Timeout | undefined;
  private feeding: Promise<void> | undefined;
  private stopRequested = false;
  private running: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private startPromise: Promise<void> | undefined;
  private partsSinceStep: Record<StepPart, number> = {
    compute: 0,
    wait: 0,
    decode: 0,
    publish: 0,
    checkpoint: 0,
    feed: 0,
  };
  private lastStepEnd = performance.now();

  constructor(opts: LearnerOptions) {
    this.opts = opts;
    this.bus = opts.bus;
    this.config = opts.config;
    this.policy = opts.policy;
    this.reference = opts.reference ?? opts.policy.clone({ frozen: true });
    this.runId = opts.runId;
    this.log = (opts.logger ?? silentLogger).child({ component: 'learner' });
    this.metrics = new LearnerMetrics(opts.metrics);
    this.maxUnacked = opts.maxUnackedGroups ?? 512;
    const B = this.config.batchStates;
    if (this.maxUnacked < 3 * B) {
      throw new ValidationError(
        'maxUnackedGroups',
        this.maxUnacked,
        `must be at least 3 × batchStates (${3 * B})`,
      );
    }
    this.commitEvery = Math.max(
      1,
      Math.min(this.config.checkpointEverySteps, Math.floor(this.maxUnacked / B) - 2),
    );
    this.policy.setTrainOptions({
      learningRate: this.config.learningRate,
      weightDecay: this.config.weightDecay,
    });
    // Replaced in start() when a checkpoint is found.
    this.feeder = this.makeFeeder();
  }

  /** GRPO steps taken (including those restored from a checkpoint). */
  get step(): number {
    return this.stepCount;
  }

  /** Version of the current weights. */
  get version(): number {
    return this.currentVersion;
  }

  get state(): LearnerPhase {
    return this.phase;
  }

  /** Tasks issued and not yet applied. */
  get inFlight(): number {
    return this.feeder.inFlight;
  }

  /** Cumulative counters: groups.applied, groups.stale, groups.invalid, … */
  get stats(): Readonly<Record<string, number>> {
    return { ...this.counters };
  }

  get registry(): Registry {
    return this.metrics.registry;
  }

  private makeFeeder(state?: LearnerState): Feeder {
    return new Feeder({
      runId: this.runId,
      config: this.config,
      datasetSpec: this.opts.datasetSpec ?? this.config.dataset,
      ...(this.opts.samples ? { samples: this.opts.samples } : {}),
      ...(state ? { state: state.feeder, outstanding: state.outstanding } : {}),
    });
  }

  /**
   * The moving average of the weights (config.weightAverageDecay), as a new frozen policy the caller
   * disposes: the run's result. Undefined when no average is kept or before start().
   */
  averagedPolicy(): PointerPolicy | undefined {
    if (!this.average) return undefined;
    return new PointerPolicy(this.policy.config, { weights: this.average.weights(), frozen: true });
  }

  /**
   * The average as policy-file bytes (what checkpoints store as `policy-avg.svp`), with `metadata`
   * added to the step and decay it records.
   */
  averagedPolicyBytes(metadata: Record<string, unknown> = {}): Uint8Array | undefined {
    if (!this.average) return undefined;
    const meta = {
      step: this.stepCount,
      averageDecay: this.average.decay,
      averagedSteps: this.average.updates,
      ...metadata,
    };
    return encodePolicyFile(serializeWeights(this.policy.config, this.average.weights(), meta));
  }

  /**
   * Writes the run's result to `dir`: `policy.samv` (the weight average when one is kept, else the
   * trained weights) and, with an average, `policy-last.samv` (the trained weights). Each file is
   * written to a temporary name and renamed, so a reader never sees half a policy.
   */
  async writeResult(dir: string): Promise<{ policy: string; last?: string }> {
    const meta = { runId: this.runId, step: this.stepCount, version: this.currentVersion };
    const last = policyToBytes(this.policy, { ...meta, result: 'last iterate' });
    const average = this.averagedPolicyBytes({ ...meta, result: 'weight average' });
    await mkdir(dir, { recursive: true });
    const put = async (name: string, bytes: Uint8Array): Promise<string> => {
      const path = join(dir, name);
      await writePolicyBytes(path, bytes);
      return path;
    };
    if (!average) return { policy: await put('policy.samv', last) };
    return { policy: await put('policy.samv', average), last: await put('policy-last.samv', last) };
  }

  /** Resumes from the newest checkpoint (if any), publishes the current weights, starts consuming. */
  start(): Promise<void> {
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    this.setPhase('starting');
    await ensureTf();
    const ckpt = await latestCheckpoint(this.config.checkpointDir);
    if (ckpt) {
      const s = ckpt.state;
      if (s.runId !== this.runId) {
        this.log.warn(
          { checkpointRunId: s.runId, runId: this.runId },
          'checkpoint belongs to another run id; task ids will differ',
        );
      }
      this.policy.setWeights(weightsOf(decodePolicyFile(ckpt.policyBytes, `${ckpt.dir}/policy.svp`)));
      if (ckpt.optimizer) await this.policy.setOptimizerState(ckpt.optimizer);
      if (ckpt.averagedPolicyBytes && this.config.weightAverageDecay > 0) {
        const avg = weightsOf(decodePolicyFile(ckpt.averagedPolicyBytes, `${ckpt.dir}/policy-avg.svp`));
        this.average = new WeightAverage(this.config.weightAverageDecay, avg);
      }
      this.stepCount = s.step;
      this.currentVersion = s.version;
      this.lastCommitStep = s.step;
      for (const id of s.appliedGroupIds) this.remember(id);
      Object.assign(this.counters, s.counters);
      this.feeder = this.makeFeeder(s);
      // The in-process bus's queue died with the process that checkpointed: issue the restored
      // tasks again (JetStream keeps them, and redelivers those whose actor died).
      const republished = this.opts.bus.kind === 'memory' ? await this.feeder.republish(this.opts.bus) : 0;
      this.log.info(
        { dir: ckpt.dir, step: s.step, version: s.version, outstanding: s.outstanding.length, republished },
        'resumed from checkpoint',
      );
    }
    if (this.config.weightAverageDecay > 0 && !this.average) {
      // A fresh run (or a checkpoint without an average): the average starts at the current weights.
      this.average = new WeightAverage(this.config.weightAverageDecay, this.policy.getWeights());
    }
    if (this.config.stepThread === 'worker') {
      try {
        this.stepThread = await StepThread.start(this.policy, this.reference);
      } catch (err) {
        this.log.warn(
          { err: (err as Error).message },
          'step worker did not start; GRPO steps run on this thread',
        );
      }
    }
    await this.publishWeights();
    this.sub = this.bus.consumeGroups({ maxInFlight: this.maxUnacked });
    this.pumpDone = this.pump(this.sub);
    const hb = this.opts.heartbeatMs ?? 10_000;
    this.heartbeat = setInterval(() => this.beat(), hb);
    this.heartbeat.unref();
    await this.feed();
    this.metrics.version.set(this.currentVersion);
    this.metrics.step.set(this.stepCount);
    this.setPhase('ready');
  }

  /**
   * Trains until `untilSteps` (absolute step count; default config.totalSteps, 0 = forever) or until
   * stop() is called. Resolves after the last step; call stop() to checkpoint and release.
   */
  run(untilSteps?: number): Promise<void> {
    this.running ??= this.loop(untilSteps ?? this.config.totalSteps).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async loop(target: number): Promise<void> {
    await this.start();
    while (!this.stopRequested && (target === 0 || this.stepCount < target)) {
      const batch = await this.takeBatch();
      if (!batch) break;
      await this.applyStep(batch);
    }
  }

  /** Stops feeding, finishes the current step, checkpoints, and closes the consumer. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.stopRequested = true;
    this.wake?.();
    if (this.phase === 'new') {
      this.setPhase('stopped');
      return;
    }
    await this.startPromise?.catch(() => undefined);
    this.setPhase('draining');
    await this.running?.catch(() => undefined);
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.feedTimer) clearTimeout(this.feedTimer);
    try {
      await this.commit();
    } finally {
      await this.sub?.stop();
      await this.pumpDone?.catch(() => undefined);
      // Received but not applied: hand them back now rather than after their ack wait.
      for (const p of this.pending.splice(0)) for (const m of p.msgs) m.nak();
      this.pendingById.clear();
      for (const p of this.parked.values()) for (const m of p.msgs) m.nak();
      this.parked.clear();
      const thread = this.stepThread;
      this.stepThread = undefined;
      await thread?.close();
      this.setPhase('stopped');
    }
  }

  private setPhase(p: LearnerPhase): void {
    this.log.info(
      { from: this.phase, to: p, step: this.stepCount, version: this.currentVersion },
      'learner state',
    );
    this.phase = p;
  }

  private count(key: string, n = 1): void {
    this.counters[key] = (this.counters[key] ?? 0) + n;
  }

  private countGroup(result: GroupResult): void {
    this.count(`groups.${result}`);
    this.metrics.groups.inc({ result });
  }

  private remember(id: string): void {
    if (this.appliedSet.has(id)) return;
    this.appliedIds.push(id);
    this.appliedSet.add(id);
    const window = this.opts.appliedIdWindow ?? 64 * this.config.batchStates;
    while (this.appliedIds.length > window) this.appliedSet.delete(this.appliedIds.shift() as string);
  }

  // --- consuming -------------------------------------------------------------------------------

  private async pump(sub: Subscription<GroupMessage>): Promise<void> {
    try {
      for await (const msg of sub) {
        const t0 = performance.now();
        await this.receive(msg);
        this.partsSinceStep.decode += performance.now() - t0;
      }
    } catch (err) {
      if (!this.stopRequested) this.log.error({ err }, 'group consumer failed');
    }
  }

  private async receive(msg: GroupMessage): Promise<void> {
    let group: RolloutGroup;
    try {
      group = decodeRolloutGroup(msg.payload);
    } catch (err) {
      this.log.warn(
        { msgId: msg.id, seq: msg.seq, err: (err as Error).message },
        'undecodable group dropped',
      );
      this.countGroup('invalid');
      await msg.ack();
      return;
    }
    await this.accept(group, msg);
  }

  private async accept(
    group: RolloutGroup,
    msg: GroupMessage,
    parkedMsgs: GroupMessage[] = [],
  ): Promise<void> {
    const id = group.groupId;
    const msgs = [msg, ...parkedMsgs];
    const held = this.held.get(id);
    if (held) {
      // The same message again (its ack wait ran out): acked with the others at the next commit.
      held.push(...msgs);
      return;
    }
    const waiting = this.pendingById.get(id) ?? this.parked.get(id);
    if (waiting) {
      waiting.msgs.push(...msgs);
      return;
    }
    const ackAll = async (): Promise<void> => {
      await Promise.all(msgs.map((m) => m.ack()));
    };
    if (this.appliedSet.has(id)) {
      this.countGroup('duplicate');
      await ackAll();
      return;
    }
    const feeder = this.feeder;
    const task = feeder.get(group.taskId);
    if (!task) {
      if (this.isFutureTask(group.taskId)) {
        // Issued by this run before a restart, past the checkpoint: the feeder draws it again
        // (same id, same content), so keep the group until then instead of losing the work.
        this.parked.set(id, { group, msgs });
        return;
      }
      this.log.debug({ groupId: id, taskId: group.taskId }, 'group for an unknown or expired task dropped');
      this.countGroup('unknown');
      await ackAll();
      return;
    }
    if (this.currentVersion - group.policyVersion > this.config.maxStaleness) {
      this.countGroup('stale');
      feeder.settle(task.taskId);
      await ackAll();
      return;
    }
    let input: GroupInput;
    try {
      const sample = await feeder.sampleOf(task);
      input = buildGroupInput(group, task, sample, this.policy, this.config.groupSize);
    } catch (err) {
      this.log.warn({ groupId: id, err: (err as Error).message }, 'invalid group dropped');
      this.countGroup('invalid');
      feeder.settle(task.taskId);
      await ackAll();
      return;
    }
    const p: Pending = { input, taskId: task.taskId, msgs };
    this.pending.push(p);
    this.pendingById.set(id, p);
    if (this.pending.length >= this.config.batchStates) this.wake?.();
  }

  private isFutureTask(taskId: string): boolean {
    const prefix = `${this.runId}:`;
    if (!taskId.startsWith(prefix)) return false;
    const seq = Number(taskId.slice(prefix.length));
    const limit = this.feeder.nextSeq + this.maxUnacked;
    return (
      Number.isInteger(seq) &&
      seq >= this.feeder.nextSeq &&
      seq < limit &&
      this.parked.size < this.maxUnacked / 2
    );
  }

  /** Parked groups whose task has now been re-issued go through `accept` again. */
  private async unpark(): Promise<void> {
    for (const [id, p] of [...this.parked]) {
      if (!this.feeder.get(p.group.taskId)) continue;
      this.parked.delete(id);
      const [first, ...rest] = p.msgs;
      if (first) await this.accept(p.group, first, rest);
    }
  }

  /** Waits for batchStates fresh groups; null when stopping. */
  private async takeBatch(): Promise<Pending[] | null> {
    const B = this.config.batchStates;
    const t0 = performance.now();
    const maintenanceMs = this.opts.maintenanceMs ?? 1000;
    let lastMaintenance = performance.now();
    for (;;) {
      this.dropStalePending();
      if (this.stopRequested) return null;
      if (this.pending.length >= B) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => done(), maintenanceMs);
        const done = (): void => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
        this.wake = done;
      });
      if (performance.now() - lastMaintenance >= maintenanceMs) {
        lastMaintenance = performance.now();
        await this.maintain();
      }
    }
    const batch = this.pending.splice(0, B);
    for (const p of batch) this.pendingById.delete(p.input.groupId);
    this.partsSinceStep.wait += performance.now() - t0;
    return batch;
  }

  private dropStalePending(): void {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i] as Pending;
      if (this.currentVersion - p.input.policyVersion <= this.config.maxStaleness) continue;
      this.pending.splice(i, 1);
      this.pendingById.delete(p.input.groupId);
      this.feeder.settle(p.taskId);
      this.countGroup('stale');
      for (const m of p.msgs) void m.ack();
    }
  }

  /** Re-feeds, and forgets tasks the bus declared dead (so they stop counting as in flight). */
  private async maintain(): Promise<void> {
    try {
      const dead = await this.bus.deadTasks();
      const feeder = this.feeder;
      let n = 0;
      for (const d of dead) if (feeder.settle(d.id)) n++;
      if (n > 0) {
        this.count('tasks.dead', n);
        this.metrics.tasksExpired.inc(n);
        this.log.warn({ n }, 'tasks declared dead by the bus were given up');
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not list dead tasks');
    }
    await this.feed();
  }

  /** Tops up tasks; calls are serialized (a step and the rate-cap timer may both ask). */
  private feed(): Promise<void> {
    const run = (this.feeding ?? Promise.resolve()).catch(() => undefined).then(() => this.feedOnce());
    this.feeding = run;
    return run;
  }

  private async feedOnce(): Promise<void> {
    if (this.stopRequested) return;
    const t0 = performance.now();
    let failed = false;
    try {
      const n = await this.feeder.topUp(this.bus, this.currentVersion);
      if (n > 0) {
        this.count('tasks.published', n);
        this.metrics.tasksPublished.inc(n);
      }
    } catch (err) {
      failed = true;
      this.log.warn({ err: (err as Error).message }, 'publishing tasks failed; will retry');
    }
    await this.unpark();
    this.metrics.tasksInFlight.set(this.feeder.inFlight);
    this.partsSinceStep.feed += performance.now() - t0;
    // Under a rate cap, come back when the bucket has a token (steps alone may not call feed()). A
    // token may also have come while this call finished (wait 0 with room in flight): come back at
    // once then, or nothing would feed until the next step (after a failed publish, in a second).
    const f = this.feeder;
    const capped = this.config.maxTasksPerSecond > 0 && f.inFlight < f.limit;
    if (capped && !this.feedTimer && !this.stopRequested) {
      this.feedTimer = setTimeout(
        () => {
          this.feedTimer = undefined;
          void this.feed();
        },
        Math.max(failed ? 1000 : 1, f.rateWaitMs),
      );
      this.feedTimer.unref();
    }
  }

  private beat(): void {
    for (const msgs of this.held.values()) for (const m of msgs) m.working();
    for (const p of this.pending) for (const m of p.msgs) m.working();
    for (const p of this.parked.values()) for (const m of p.msgs) m.working();
  }

  // --- stepping --------------------------------------------------------------------------------

  private async applyStep(batch: Pending[]): Promise<void> {
    const G = this.config.groupSize;
    const staleness = batch.map((p) => this.currentVersion - p.input.policyVersion);
    const t0 = performance.now();
    const assembled = assembleBatch(
      batch.map((p) => p.input),
      G,
    );
    let result: GrpoStepResult | undefined;
    try {
      result = await this.computeStep(assembled);
      this.average?.update(this.policy.getWeights());
    } catch (err) {
      // A non-finite loss: these groups would fail again; drop them like invalid ones.
      this.log.error(
        { err: (err as Error).message, groups: batch.map((p) => p.input.groupId) },
        'GRPO step failed; batch dropped',
      );
    }
    const compute = performance.now() - t0;
    for (const p of batch) {
      this.held.set(p.input.groupId, p.msgs);
      this.remember(p.input.groupId);
      this.feeder.settle(p.taskId);
      this.countGroup(result ? 'applied' : 'failed');
    }
    if (!result) {
      this.count('steps.failed');
      if (this.held.size / this.config.batchStates >= this.commitEvery) await this.commit();
      await this.feed();
      return;
    }
    this.stepCount++;
    this.currentVersion++;
    this.partsSinceStep.compute = compute;
    const expired = this.feeder.expire(
      this.currentVersion,
      this.opts.taskExpiryVersions ?? 4 * (this.config.maxStaleness + 1),
    );
    if (expired.length > 0) {
      this.count('tasks.expired', expired.length);
      this.metrics.tasksExpired.inc(expired.length);
    }
    // Weights first: tasks issued at the new version should find its weights published.
    if (this.stepCount % this.config.publishEverySteps === 0) await this.publishWeights();
    await this.feed();
    if (this.stepCount - Math.max(0, this.lastCommitStep) >= this.commitEvery) await this.commit();
    this.report(batch, assembled.rewards, assembled.kinds, staleness, result);
  }

  /**
   * The update: the gradient from the step thread (at the current weights) and AdamW here, or the
   * whole step here. A step thread that has died is dropped and the step computed here instead, so
   * its batch is not lost; an error about the batch itself (a non-finite loss) is rethrown.
   */
  private async computeStep(batch: StepBatch): Promise<GrpoStepResult> {
    const thread = this.stepThread;
    if (thread) {
      try {
        const g = await thread.gradients(this.policy.getWeights(), batch, this.config);
        const { gradNorm } = this.policy.applyGradients(g.grads, g.loss);
        return grpoStepResult(batch, this.config, g, gradNorm);
      } catch (err) {
        if (!thread.failure) throw err;
        this.stepThread = undefined;
        this.count('stepThread.failed');
        this.log.error(
          { err: thread.failure.message },
          'step worker lost; GRPO steps continue on this thread',
        );
        void thread.close();
      }
    }
    return grpoStep(this.policy, this.reference, batch, this.config);
  }

  private report(
    batch: Pending[],
    rewards: Float64Array,
    kinds: TaskKind[],
    staleness: number[],
    r: GrpoStepResult,
  ): void {
    const now = performance.now();
    const parts = this.partsSinceStep;
    const total = now - this.lastStepEnd;
    this.lastStepEnd = now;
    const m: Record<string, number> = {
      step: this.stepCount,
      version: this.currentVersion,
      timeMs: Date.now(),
      loss: r.loss,
      policyLoss: r.policyLoss,
      kl: r.kl,
      gradNorm: r.gradNorm,
      clipFraction: r.clipFraction,
      'ratio.mean': r.ratioMean,
      'ratio.min': r.ratioMin,
      'ratio.max': r.ratioMax,
      tokens: r.tokens,
      'advantage.mean': r.advantageMean,
      'advantage.std': r.advantageStd,
      zeroVarianceGroups: r.zeroVarianceGroups,
      'stopProb.goodEnough': r.stopProbGoodEnough,
      'stopProb.needsRefinement': r.stopProbNeedsRefinement,
      'stopSupervision.loss': r.stopSupervisionLoss,
      groups: batch.length,
      'staleness.mean': staleness.reduce((a, b) => a + b, 0) / Math.max(1, staleness.length),
      'staleness.max': Math.max(0, ...staleness),
      inFlight: this.feeder.inFlight,
      'time.stepMs': total,
      'time.computeMs': parts.compute,
      'time.waitMs': parts.wait,
      'time.decodeMs': parts.decode,
      'time.publishMs': parts.publish,
      'time.checkpointMs': parts.checkpoint,
      'time.feedMs': parts.feed,
      'time.overheadMs': Math.max(0, total - parts.compute),
      groupsPerSec: total > 0 ? (1000 * batch.length) / total : 0,
    };
    if (Number.isFinite(r.stopRate)) m['stopRate'] = r.stopRate;
    for (let s = 0; s <= this.config.maxStaleness; s++)
      m[`staleness.${s}`] = staleness.filter((x) => x === s).length;
    let all = 0;
    for (const x of rewards) all += x;
    m['reward.mean'] = all / Math.max(1, rewards.length);
    for (const kind of TASK_KINDS) {
      let sum = 0;
      let n = 0;
      rewards.forEach((x, i) => {
        if (kinds[i] === kind) {
          sum += x;
          n++;
        }
      });
      if (n > 0) {
        m[`reward.${kind}`] = sum / n;
        m[`groups.${kind}`] = n / this.config.groupSize;
        this.metrics.reward.set({ kind }, sum / n);
      }
    }
    for (const [k, v] of Object.entries(this.counters)) m[`total.${k}`] = v;
    for (const s of staleness) this.metrics.staleness.observe(s);
    for (const [part, ms] of Object.entries(parts)) this.metrics.stepSeconds.observe({ part }, ms / 1000);
    this.metrics.kl.set(r.kl);
    this.metrics.step.set(this.stepCount);
    this.metrics.version.set(this.currentVersion);
    this.partsSinceStep = { compute: 0, wait: 0, decode: 0, publish: 0, checkpoint: 0, feed: 0 };
    this.log.debug(m, 'step');
    try {
      this.opts.onStep?.(m as LearnerStepMetrics);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'onStep callback failed');
    }
  }

  private async publishWeights(): Promise<void> {
    const t0 = performance.now();
    const version = this.currentVersion;
    const meta = { step: String(this.stepCount), runId: this.runId };
    const bytes = policyToBytes(this.policy, { step: this.stepCount, version, runId: this.runId });
    try {
      const info = await this.bus.putWeights(version, bytes, meta);
      await this.bus.setLatest({ version, digest: info.digest, size: info.size, meta });
      this.metrics.weightBytes.set(info.size);
      if (!this.published.includes(version)) this.published.push(version);
      const keep = this.opts.keepWeightVersions ?? this.config.maxStaleness + 3;
      while (this.published.length > keep) {
        const old = this.published.shift() as number;
        await this.bus.deleteWeights(old).catch(() => undefined);
      }
    } catch (err) {
      // Actors keep the previous version; the next publish carries the newer weights.
      this.count('publish.failed');
      this.log.warn({ version, err: (err as Error).message }, 'publishing weights failed');
    }
    this.partsSinceStep.publish += performance.now() - t0;
  }

  /** Writes a checkpoint of the current state, then acks the groups it covers. */
  private async commit(): Promise<void> {
    if (this.phase === 'new') return;
    const t0 = performance.now();
    const feeder = this.feeder;
    const state: LearnerState = {
      format: CHECKPOINT_FORMAT,
      runId: this.runId,
      step: this.stepCount,
      version: this.currentVersion,
      feeder: feeder.state(),
      outstanding: feeder.outstandingTasks(),
      appliedGroupIds: [...this.appliedIds],
      counters: { ...this.counters },
      createdAtMs: Date.now(),
    };
    const optimizer = await this.policy.getOptimizerState();
    let dir: string;
    try {
      dir = await writeCheckpoint(
        this.config.checkpointDir,
        {
          state,
          policyBytes: policyToBytes(this.policy, { step: this.stepCount, version: this.currentVersion }),
          optimizer,
          averagedPolicyBytes: this.averagedPolicyBytes(),
        },
        this.opts.keepCheckpoints ?? 2,
      );
    } catch (err) {
      throw new SamVeteranError(
        'INTERNAL',
        `checkpoint to ${JSON.stringify(this.config.checkpointDir)} failed: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    this.lastCommitStep = this.stepCount;
    const acks: Promise<void>[] = [];
    for (const msgs of this.held.values()) for (const m of msgs) acks.push(m.ack());
    this.held.clear();
    const results = await Promise.allSettled(acks);
    const failed = results.filter((r) => r.status === 'rejected').length;
    if (failed > 0)
      this.log.warn({ failed }, 'some acks failed; their groups will be redelivered and skipped');
    this.partsSinceStep.checkpoint += performance.now() - t0;
    this.log.info({ dir, step: this.stepCount, acked: acks.length }, 'checkpoint committed');
  }
}
