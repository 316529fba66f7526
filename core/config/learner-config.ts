/** Configuration of the learner (env section `SAMV_LEARNER__*`). Defaults follow the paper. */
import { z } from 'zod';
import { TaskMixSchema } from './actor-config.ts';
import { MetricsPortSchema } from './bus-config.ts';

export const LearnerConfigSchema = z.strictObject({
  /** `memory` for the in-process bus, or a NATS URL. Default memory. */
  busUrl: z.string().min(1).default('memory'),
  /** States (groups) per GRPO step. Default 16 (the paper). */
  batchStates: z.number().int().min(1).default(16),
  /** Rollouts per group G. Default 8 (the paper). */
  groupSize: z.number().int().min(2).default(8),
  /**
   * AdamW learning rate. Default 1e-4, for the small embedded policy; the paper uses 1e-6 for
   * Qwen2.5-VL-7B.
   */
  learningRate: z.number().positive().default(1e-4),
  /** AdamW decoupled weight decay. Default 0.01 (the paper). */
  weightDecay: z.number().nonnegative().default(0.01),
  /** KL coefficient β (k3 estimator, to the frozen reference). Default 0.005 (the paper). */
  klCoef: z.number().nonnegative().default(0.005),
  /** Clip range ε of the surrogate. Default 0.2. */
  clipEps: z.number().positive().max(1).default(0.2),
  /** Advantage estimator. Default reinforce++ (group-mean baseline, batch whitening; the paper). */
  advantageMode: z.enum(['reinforce++', 'group']).default('reinforce++'),
  /**
   * Weight each rollout's advantage (and its group's baseline) by dynamic sampling's draw weight: its
   * action type's share of all draws over its share of the group. Dynamic sampling puts one rollout
   * of every type it drew into the group, so rare types are over-represented (three clicks in a
   * group on a state the policy stops on 85% of the time); weighting restores the on-policy gradient
   * while every type is still scored. Default false (the paper's plain group).
   */
  drawWeights: z.boolean().default(false),
  /**
   * Weight λ of a supervised term on the stop decision of mask-understanding states: the cross-entropy
   * of π(stop) against the state's case as the actor settled it (stop iff GOOD ENOUGH), once per group
   * that drew a stop, added to the GRPO loss. Counters GRPO's drift towards stopping on states of both
   * cases (bench:mask-groups) with the label the warm start was trained on. 0 = off (the paper).
   */
  stopSupervision: z.number().min(0).default(0),
  /**
   * What the stop term pulls π(stop) towards:
   * - `case`: the state's case as the actor settled it (1 if GOOD ENOUGH, else 0).
   * - `reference`: the frozen warm start's own π(stop) on that state (a soft label, i.e. a binary KL
   *   anchor on the stop decision alone): keeps the stop behaviour the warm start learned from the
   *   oracle while GRPO trains the boxes and clicks. The global KL (`klCoef`) weighs the stop token
   *   like every other token and, even 10× larger, did not hold it.
   */
  stopSupervisionTarget: z.enum(['case', 'reference']).default('case'),
  /** ε in the advantage denominators. Default 1e-6. */
  advantageEps: z.number().positive().default(1e-6),
  /** Drop groups sampled with a policy more than this many versions old. Default 2. */
  maxStaleness: z.number().int().nonnegative().default(2),
  /** Tasks published but not yet returned as groups. Default 64. */
  maxInFlight: z.number().int().positive().default(64),
  /**
   * Cap on tasks issued per second (a token bucket holding up to the in-flight limit); 0 = no cap.
   * Protects an env pool shared with other jobs, and paces short test runs. Default 0.
   */
  maxTasksPerSecond: z.number().nonnegative().default(0),
  /** GRPO steps to run; 0 = until stopped. Default 200. */
  totalSteps: z.number().int().nonnegative().default(200),
  /** Directory for checkpoints. Default runs/checkpoints. */
  checkpointDir: z.string().min(1).default('runs/checkpoints'),
  /** Save a checkpoint every this many steps. Default 50. */
  checkpointEverySteps: z.number().int().positive().default(50),
  /**
   * Decay of the exponential moving average of the weights kept beside the trained ones (the run's
   * result; actors sample from the trained weights). 0 = no average. Default 0.99.
   */
  weightAverageDecay: z.number().min(0).lt(1).default(0.99),
  /**
   * Where a step's forward and backward passes run: `worker`, a worker thread (the learner's event
   * loop keeps pumping groups, heartbeats and, in the embedded job, the in-process actors while it
   * computes; AdamW still runs on the learner's thread, so the weights are the same), or `main`,
   * the learner's own thread. A worker that fails to start or dies falls back to `main`.
   * Default worker.
   */
  stepThread: z.enum(['worker', 'main']).default('worker'),
  /** Publish new weights every this many steps. Default 1. */
  publishEverySteps: z.number().int().positive().default(1),
  /** Prometheus `/metrics` port; null = none, 0 = any free port. Default null. */
  metricsPort: MetricsPortSchema,
  /** Seed of every random choice the learner makes (task order, initialisation). Default 1. */
  seed: z.number().int().default(1),
  /** Dataset spec the feeder draws task samples from (core/data `datasetFromSpec`). Default synthetic:train. */
  dataset: z.string().min(1).default('synthetic:train'),
  /** Relative frequency of the three GRPO tasks among issued tasks. Default 1:1:1. */
  taskMix: TaskMixSchema.prefault({}),
});

export type LearnerConfig = z.infer<typeof LearnerConfigSchema>;
