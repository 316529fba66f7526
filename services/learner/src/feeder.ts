/**
 * The task feeder: draws (task kind, sample) pairs from a seeded stream and publishes them as
 * `Task`s on the work queue, keeping the number of tasks in flight bounded twice:
 *   - by the cap `maxInFlight`, and
 *   - by staleness: a task issued at version v is useful until version v + maxStaleness, and the
 *     learner consumes `batchStates` groups per version, so more than (maxStaleness + 1)·batchStates
 *     tasks ahead of consumption would come back too stale to use.
 * A task stays "outstanding" from publication until the group answering it is applied (or dropped),
 * so groups waiting in the learner's next batch still count.
 *
 * Task ids are `<runId>:<seq>`: a learner restarted from a checkpoint re-issues the same ids with
 * the same content (same RNG position), which the bus de-duplicates, so no work is doubled.
 */
import type { Bus } from '../../../core/bus/index.ts';
import type { LearnerConfig } from '../../../core/config/index.ts';
import { datasetFromSpec, type Dataset, type Sample } from '../../../core/data/index.ts';
import { ValidationError } from '../../../core/errors/index.ts';
import { Rng } from '../../../core/rng/index.ts';
import {
  encodeTask,
  maskToRle,
  rgbDigest,
  TASK_KINDS,
  type Task,
  type TaskKind,
} from '../../../core/wire/index.ts';
import type { FeederState, OutstandingTask } from './checkpoint.ts';

export interface FeederOptions {
  readonly runId: string;
  readonly config: LearnerConfig;
  /** Dataset spec for new tasks. */
  readonly datasetSpec: string;
  /** Restored position (from a checkpoint); default: a fresh stream from config.seed. */
  readonly state?: FeederState;
  readonly outstanding?: readonly OutstandingTask[];
  /** Clock for createdAtMs (tests). */
  readonly now?: () => number;
  /**
   * Samples shared with the actors of the same process (the embedded job passes the actors'
   * resolver, so each sample is generated and hashed once, not once here and once per actor).
   * Default: this feeder's own datasets.
   */
  readonly samples?: SampleSource;
}

/** A cache of decoded samples and their image digests (the actors' SampleResolver is one). */
export interface SampleSource {
  resolve(spec: string, sampleId: string): Promise<{ readonly sample: Sample; readonly digest: string }>;
}

/** sha256 hex of an image's RGB bytes: the digest the learner puts in a task's observation. */
/** Weights of TASK_KINDS order from the config's task mix. */
function mixWeights(config: LearnerConfig): number[] {
  const m = config.taskMix;
  return [m.localization, m.maskUnderstanding, m.auxiliary];
}

export class Feeder {
  private seq: number;
  private rng: Rng;
  private readonly outstanding = new Map<string, OutstandingTask>();
  /** Decoded samples of outstanding tasks (regenerated on demand after a restart). */
  private readonly samples = new Map<string, Sample>();
  private readonly datasets = new Map<string, Promise<Dataset>>();
  /** A task built but not yet confirmed published: retried first (same id, same content). */
  private unpublished: { task: Task; entry: OutstandingTask & Internal; sample: Sample } | undefined;
  /** Position before the draw in progress (its sample is loading), if any. */
  private drawing: FeederState | undefined;
  private readonly weights: number[];
  private readonly now: () => number;
  /** Token bucket of the `maxTasksPerSecond` cap (unused when the cap is 0). */
  private tokens: number;
  private refilledAt: number;

  constructor(private readonly opts: FeederOptions) {
    this.seq = opts.state?.seq ?? 0;
    this.rng = opts.state ? Rng.fromState(opts.state.rng) : new Rng(`learner-feeder:${opts.config.seed}`);
    for (const t of opts.outstanding ?? []) this.outstanding.set(t.taskId, t);
    this.weights = mixWeights(opts.config);
    this.now = opts.now ?? Date.now;
    this.tokens = this.limit;
    this.refilledAt = this.now();
  }

  /** Most tasks in flight: min(maxInFlight, (maxStaleness + 1) · batchStates). */
  get limit(): number {
    const c = this.opts.config;
    return Math.max(1, Math.min(c.maxInFlight, (c.maxStaleness + 1) * c.batchStates));
  }

  /** Sequence number of the next task to be drawn. */
  get nextSeq(): number {
    return this.state().seq;
  }

  get inFlight(): number {
    return this.outstanding.size;
  }

  /** Position for a checkpoint. An unpublished task is re-drawn after a restore (same seq, same stream). */
  state(): FeederState {
    return this.unpublished?.entry.stateBefore ?? this.drawing ?? { seq: this.seq, rng: this.rng.state() };
  }

  outstandingTasks(): OutstandingTask[] {
    return [...this.outstanding.values()].map((t) => stripInternal(t));
  }

  get(taskId: string): OutstandingTask | undefined {
    return this.outstanding.get(taskId);
  }

  /** Forgets a task (its group was applied or dropped). */
  settle(taskId: string): boolean {
    this.samples.delete(taskId);
    return this.outstanding.delete(taskId);
  }

  /** Forgets tasks issued more than `maxAgeVersions` versions ago; returns their ids. */
  expire(version: number, maxAgeVersions: number): string[] {
    const gone: string[] = [];
    for (const t of this.outstanding.values()) {
      if (version - t.issuedVersion > maxAgeVersions) gone.push(t.taskId);
    }
    for (const id of gone) this.settle(id);
    return gone;
  }

  dataset(spec: string): Promise<Dataset> {
    let ds = this.datasets.get(spec);
    if (!ds) {
      ds = datasetFromSpec(spec);
      this.datasets.set(spec, ds);
      ds.catch(() => this.datasets.delete(spec));
    }
    return ds;
  }

  /** The sample behind an outstanding task (cached while it is outstanding). */
  async sampleOf(task: OutstandingTask): Promise<Sample> {
    const cached = this.samples.get(task.taskId);
    if (cached) return cached;
    const ds = await this.dataset(task.dataset);
    const index = Number(task.sampleId);
    if (!Number.isInteger(index))
      throw new ValidationError('sampleId', task.sampleId, 'must be a decimal index');
    return ds.get(index);
  }

  /**
   * Milliseconds until the rate cap lets another task out while there is room in flight; 0 when a
   * task may go now, when there is no room (the next settle makes room), or when there is no cap.
   */
  get rateWaitMs(): number {
    const rate = this.opts.config.maxTasksPerSecond;
    if (rate <= 0 || this.outstanding.size >= this.limit) return 0;
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / rate) * 1000);
  }

  private refill(): void {
    const rate = this.opts.config.maxTasksPerSecond;
    const now = this.now();
    if (rate > 0) this.tokens = Math.min(this.limit, this.tokens + ((now - this.refilledAt) / 1000) * rate);
    this.refilledAt = now;
  }

  /**
   * Publishes tasks until `inFlight` reaches the limit, `max` were published, or the rate cap's
   * bucket is empty. Returns how many were published. A publish failure propagates; the task is
   * retried on the next call.
   *
   * One call publishes at most the in-flight limit: with an in-process bus, a task can be answered,
   * dropped (stale) and settled before the next one is drawn, so "until in flight reaches the limit"
   * alone could loop forever without yielding to timers.
   */
  async topUp(bus: Bus, version: number, max = Infinity): Promise<number> {
    const capped = this.opts.config.maxTasksPerSecond > 0;
    max = Math.min(max, this.limit);
    let n = 0;
    this.refill();
    while (this.outstanding.size < this.limit && n < max && (!capped || this.tokens >= 1)) {
      const next = this.unpublished ?? (await this.draw(version));
      this.unpublished = next;
      await bus.publishTask(next.task.taskId, encodeTask(next.task));
      this.unpublished = undefined;
      this.outstanding.set(next.task.taskId, next.entry);
      this.samples.set(next.task.taskId, next.sample);
      if (capped) this.tokens -= 1;
      n++;
    }
    return n;
  }

  private async draw(
    version: number,
  ): Promise<{ task: Task; entry: OutstandingTask & Internal; sample: Sample }> {
    const stateBefore: FeederState = { seq: this.seq, rng: this.rng.state() };
    // A checkpoint taken while the sample loads must not count this task as drawn.
    this.drawing = stateBefore;
    try {
      return await this.drawFrom(stateBefore, version);
    } finally {
      this.drawing = undefined;
    }
  }

  private async drawFrom(
    stateBefore: FeederState,
    version: number,
  ): Promise<{ task: Task; entry: OutstandingTask & Internal; sample: Sample }> {
    const kind = TASK_KINDS[this.rng.categorical(this.weights)] as TaskKind;
    const ds = await this.dataset(this.opts.datasetSpec);
    const index = this.rng.int(ds.size);
    const seed = this.rng.int(0x7fffffff);
    const taskId = `${this.opts.runId}:${this.seq}`;
    this.seq++;
    const { sample, digest } = this.opts.samples
      ? await this.opts.samples.resolve(this.opts.datasetSpec, String(index))
      : await ds.get(index).then((s) => ({ sample: s, digest: rgbDigest(s.image.rgb) }));
    const entry: OutstandingTask & Internal = {
      taskId,
      kind,
      dataset: this.opts.datasetSpec,
      sampleId: String(index),
      seed,
      issuedVersion: version,
      imageDigest: digest,
      stateBefore,
    };
    return { task: this.taskOf(entry, sample), entry, sample };
  }

  /** The task message of an outstanding entry (what was published for it). */
  private taskOf(entry: OutstandingTask, sample: Sample): Task {
    return {
      taskId: entry.taskId,
      kind: entry.kind,
      dataset: entry.dataset,
      sampleId: entry.sampleId,
      observation: { image: { digest: entry.imageDigest }, query: sample.query, points: [], step: 0 },
      gtMask: maskToRle(sample.gtMask),
      gtBox: sample.gtBox,
      groupSize: this.opts.config.groupSize,
      seed: entry.seed,
      minPolicyVersion: entry.issuedVersion,
      createdAtMs: this.now(),
      ...(sample.ignore ? { ignoreMask: maskToRle(sample.ignore) } : {}),
    };
  }

  /**
   * Publishes every outstanding task again, under its own id (the bus de-duplicates a copy that is
   * still queued; the learner applies one group per task in any case). For a restart on a bus whose
   * queue did not survive it (the in-process bus): without this, the restored tasks would count as
   * in flight forever and no new task would be issued. Returns how many were published.
   */
  async republish(bus: Bus): Promise<number> {
    let n = 0;
    for (const entry of [...this.outstanding.values()]) {
      const sample = await this.sampleOf(entry);
      this.samples.set(entry.taskId, sample);
      await bus.publishTask(entry.taskId, encodeTask(this.taskOf(entry, sample)));
      n++;
    }
    return n;
  }
}

interface Internal {
  readonly stateBefore: FeederState;
}

function stripInternal(t: OutstandingTask): OutstandingTask {
  const { taskId, kind, dataset, sampleId, seed, issuedVersion, imageDigest } = t;
  return { taskId, kind, dataset, sampleId, seed, issuedVersion, imageDigest };
}
