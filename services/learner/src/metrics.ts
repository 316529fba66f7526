/**
 * Prometheus metrics of the learner (prom-client), registered on the caller's registry (one
 * process may hold the learner and actors) or a registry of its own. Groups/s is
 * `rate(learner_groups_total{result="applied"}[1m])`; step time splits into compute and the
 * overhead parts (waiting for groups, publishing weights, checkpointing).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type StepPart = 'compute' | 'wait' | 'decode' | 'publish' | 'checkpoint' | 'feed';
export type GroupResult = 'applied' | 'stale' | 'invalid' | 'duplicate' | 'unknown' | 'failed';

export class LearnerMetrics {
  readonly registry: Registry;
  readonly stepSeconds: Histogram<'part'>;
  readonly groups: Counter<'result'>;
  readonly tasksPublished: Counter;
  readonly tasksExpired: Counter;
  readonly tasksInFlight: Gauge;
  readonly version: Gauge;
  readonly step: Gauge;
  readonly staleness: Histogram;
  readonly reward: Gauge<'kind'>;
  readonly kl: Gauge;
  readonly weightBytes: Gauge;

  constructor(registry?: Registry) {
    this.registry = registry ?? new Registry();
    const registers = [this.registry];
    this.stepSeconds = new Histogram({
      name: 'learner_step_part_seconds',
      help: 'Time per GRPO step by part: compute (forward/backward/AdamW) and overhead (wait, decode, publish, checkpoint, feed)',
      labelNames: ['part'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    this.groups = new Counter({
      name: 'learner_groups_total',
      help: 'Rollout groups received, by result (applied, stale, invalid, duplicate, unknown, failed)',
      labelNames: ['result'],
      registers,
    });
    this.tasksPublished = new Counter({
      name: 'learner_tasks_published_total',
      help: 'Tasks published by the feeder',
      registers,
    });
    this.tasksExpired = new Counter({
      name: 'learner_tasks_expired_total',
      help: 'Outstanding tasks given up on (too old, or dead on the task queue)',
      registers,
    });
    this.tasksInFlight = new Gauge({
      name: 'learner_tasks_in_flight',
      help: 'Tasks issued and not yet applied',
      registers,
    });
    this.version = new Gauge({ name: 'learner_policy_version', help: 'Current policy version', registers });
    this.step = new Gauge({ name: 'learner_step', help: 'GRPO steps taken', registers });
    this.staleness = new Histogram({
      name: 'learner_group_staleness_versions',
      help: 'Learner version minus the version that sampled an applied group',
      buckets: [0, 1, 2, 3, 4, 6, 8, 16],
      registers,
    });
    this.reward = new Gauge({
      name: 'learner_reward_mean',
      help: 'Mean reward of the last step by task kind',
      labelNames: ['kind'],
      registers,
    });
    this.kl = new Gauge({
      name: 'learner_kl',
      help: 'Mean k3 KL to the reference policy in the last step',
      registers,
    });
    this.weightBytes = new Gauge({
      name: 'learner_weights_bytes',
      help: 'Size of the published weights',
      registers,
    });
  }
}

/** Serves GET /metrics of `registry` on `port` (0 = any free port); returns the server and its port. */

export { serveMetrics } from '../../../core/log/index.ts';
