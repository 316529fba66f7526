/**
 * The main job on the embedded default (`npm start` → `sam-veteran train`): the same learner and
 * actor classes as the cluster, wired in one process over the in-process bus, with GrabCut in
 * worker threads as the environment and the synthetic world as data. Evaluates the warm start on
 * id-val and ood-val, trains with GRPO under a step and time budget, evaluates again, and writes a
 * run folder (metrics JSONL, PNG plots, HTML report, before/after summary).
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { SingleBar, Presets } from 'cli-progress';
import { Registry } from 'prom-client';
import {
  evaluatePolicy,
  greedyPolicy,
  formatSummary,
  pairedDifference,
  type EpisodeSummary,
  type EvaluationResult,
  type PairedDifference,
} from '../../core/agent/index.ts';
import { createBus } from '../../core/bus/index.ts';
import {
  ActorConfigSchema,
  LearnerConfigSchema,
  type ActorConfigInput,
  type LearnerConfig,
} from '../../core/config/index.ts';
import { datasetFromSpec } from '../../core/data/index.ts';
import { ValidationError } from '../../core/errors/index.ts';
import { createLogger, type Logger } from '../../core/log/index.ts';
import { ensureTf, loadPolicyBytes, type PointerPolicy } from '../../core/policy/index.ts';
import { RunFolder, renderTrainingReport } from '../../core/report/index.ts';
import { rewardConfig, type RewardConfig } from '../../core/reward/index.ts';
import { Actor, SampleResolver } from '../../services/actor/index.ts';
import { Learner, type LearnerStepMetrics } from '../../services/learner/index.ts';
import { WorkerEnvPool } from '../../services/sam-env/index.ts';

export interface EmbeddedJobOptions {
  /** Warm-start checkpoint (policy file). */
  readonly warmStart: string;
  /** GRPO steps at most. */
  readonly steps: number;
  /** Stop training after this many minutes even if steps remain (evaluation not included). */
  readonly budgetMinutes: number;
  /** In-process actors. */
  readonly actors: number;
  /** GrabCut worker threads while training (actors and learner need the other cores). */
  readonly envWorkers: number;
  /**
   * GrabCut worker threads for the evaluations before and after training, when nothing else runs.
   * Default: the number of cores. Results do not depend on it (GrabCut reseeds per call).
   */
  readonly evalWorkers?: number;
  /** Samples per evaluation split (before and after). 0 skips evaluation. */
  readonly evalN: number;
  readonly seed: number;
  readonly runsRoot: string;
  readonly name: string;
  readonly learner?: Partial<LearnerConfig>;
  readonly actor?: ActorConfigInput;
  /** Reward settings (core/reward RewardConfig); omitted keys take their defaults. */
  readonly rewards?: Partial<RewardConfig>;
  /** Show a progress bar (TTY). */
  readonly progress: boolean;
}

export interface EmbeddedJobResult {
  readonly runDir: string;
  readonly steps: number;
  readonly before: Record<string, EpisodeSummary>;
  readonly after: Record<string, EpisodeSummary>;
  /** Per split: mean per-sample IoU change after − before, paired bootstrap 95% interval. */
  readonly change: Record<string, PairedDifference>;
  /**
   * When the result is the weight average: the last trained weights evaluated the same way (`after`
   * and `change` above are the average's).
   */
  readonly lastIterate?: {
    readonly after: Record<string, EpisodeSummary>;
    readonly change: Record<string, PairedDifference>;
  };
  readonly reportPath: string;
}

const EVAL_SPLITS = ['id-val', 'ood-val'] as const;

export async function runEmbeddedJob(opts: EmbeddedJobOptions): Promise<EmbeddedJobResult> {
  const run = await RunFolder.create(opts.runsRoot, opts.name);
  const runId = run.id;
  const log = createLogger({ service: 'train', runId });
  log.info({ runDir: run.dir, opts }, 'training job starting');
  await ensureTf();

  const warmBytes = await readFile(opts.warmStart).then(
    (b) => new Uint8Array(b),
    (err: unknown) => {
      throw new ValidationError(
        '--init',
        opts.warmStart,
        'cannot be read: build the warm start with `npm run pretrain` or pass another checkpoint',
        { cause: err },
      );
    },
  );
  const policy = loadPolicyBytes(warmBytes, opts.warmStart);
  const reference = policy.clone({ frozen: true });
  const env = new WorkerEnvPool({ workers: opts.envWorkers });
  const registry = new Registry();

  const learnerConfig = LearnerConfigSchema.parse({
    ...opts.learner,
    totalSteps: opts.steps,
    seed: opts.seed,
    checkpointDir: run.path('checkpoints'),
  });
  const actorConfig = ActorConfigSchema.parse({ ...opts.actor });
  const rewards = rewardConfig(opts.rewards);

  const before: Record<string, EpisodeSummary> = {};
  const after: Record<string, EpisodeSummary> = {};
  const change: Record<string, PairedDifference> = {};
  const finalsBefore = new Map<string, number[]>();
  const afterLast: Record<string, EpisodeSummary> = {};
  const changeLast: Record<string, PairedDifference> = {};
  try {
    if (opts.evalN > 0) {
      await withEvalEnv(opts, async (evalEnv) => {
        for (const split of EVAL_SPLITS) {
          const r = await evaluate(policy, split, evalEnv, opts, log, 'before');
          before[split] = r.summary;
          finalsBefore.set(split, finalIous(r));
        }
      });
      await run.writeJson('eval-before.json', before);
    }

    const bus = await createBus(`memory://${runId}`);
    // One sample cache for the learner and the actors: a task's sample is generated and hashed once
    // (when issued), then read from memory by the actor that runs it. Sized above the in-flight cap.
    const samples = new SampleResolver({ cacheSamples: 2 * learnerConfig.maxInFlight + 16 });
    const learner = new Learner({
      bus,
      config: learnerConfig,
      policy,
      reference,
      runId,
      logger: log.child({ service: 'learner' }),
      metrics: registry,
      datasetSpec: `synthetic:train?seed=${opts.seed}`,
      samples,
      onStep: (m) => {
        void run.appendMetrics(m);
        onStep(m);
      },
    });
    const actors: Actor[] = [];
    for (let i = 0; i < opts.actors; i++) {
      actors.push(
        new Actor({
          id: `actor-${i + 1}`,
          bus,
          env,
          config: actorConfig,
          policy: policy.clone(),
          logger: log.child({ service: 'actor', actorId: `actor-${i + 1}` }),
          metrics: registry,
          rewards,
          resolver: samples,
          seed: opts.seed * 1000 + i,
        }),
      );
    }

    const bar = opts.progress
      ? new SingleBar(
          {
            format: 'train |{bar}| {value}/{total} steps | reward {reward} | kl {kl} | {eta_formatted} left',
            etaBuffer: 10,
          },
          Presets.shades_classic,
        )
      : undefined;
    bar?.start(opts.steps, 0, { reward: '-', kl: '-' });
    let lastLogged = 0;
    function onStep(m: LearnerStepMetrics): void {
      const reward = typeof m['reward.mean'] === 'number' ? (m['reward.mean'] as number).toFixed(2) : '-';
      const kl = typeof m['kl'] === 'number' ? (m['kl'] as number).toExponential(1) : '-';
      bar?.update(m.step, { reward, kl });
      if (!bar && m.step - lastLogged >= 5) {
        lastLogged = m.step;
        console.log(`train step ${m.step}/${opts.steps}  reward ${reward}  kl ${kl}`);
      }
    }

    await learner.start();
    await Promise.all(actors.map((a) => a.start()));
    const budget = setTimeout(() => {
      log.info({ budgetMinutes: opts.budgetMinutes }, 'time budget reached; stopping training');
      void learner.stop();
    }, opts.budgetMinutes * 60_000);
    try {
      await learner.run(opts.steps);
    } finally {
      clearTimeout(budget);
      bar?.stop();
      await Promise.all(actors.map((a) => a.stop()));
      await learner.stop();
      await bus.close();
    }
    const steps = learner.step;
    // The run's result: the moving average of the weights when the learner keeps one (the default),
    // else the last weights. Both are written; the last iterate is evaluated too, for comparison.
    const averaged = learner.averagedPolicy();
    const result = averaged ?? policy;
    await learner.writeResult(run.dir);

    if (opts.evalN > 0) {
      await withEvalEnv(opts, async (evalEnv) => {
        for (const split of EVAL_SPLITS) {
          const r = await evaluate(result, split, evalEnv, opts, log, 'after');
          after[split] = r.summary;
          change[split] = pairedDifference(finalsBefore.get(split) ?? [], finalIous(r), 1000, opts.seed);
          if (averaged) {
            const l = await evaluate(policy, split, evalEnv, opts, log, 'after, last iterate');
            afterLast[split] = l.summary;
            changeLast[split] = pairedDifference(
              finalsBefore.get(split) ?? [],
              finalIous(l),
              1000,
              opts.seed,
            );
          }
        }
      });
      await run.writeJson('eval-after.json', after);
      await run.writeJson('eval-change.json', change);
      if (averaged) {
        await run.writeJson('eval-after-last-iterate.json', afterLast);
        await run.writeJson('eval-change-last-iterate.json', changeLast);
      }
    }
    averaged?.dispose();
    const records = await run.readMetrics();
    const { html } = await renderTrainingReport({
      runDir: run.dir,
      title: `SAM-Veteran training — ${run.id}`,
      config: { learner: learnerConfig, actor: actorConfig, rewards, job: { ...opts } },
      metrics: records,
      ...(opts.evalN > 0 ? { evalBefore: before, evalAfter: after } : {}),
    });
    void html;
    for (const split of Object.keys(after)) {
      const b = before[split];
      const a = after[split];
      if (b && a) {
        console.log(formatSummary(`${split} before`, b));
        console.log(formatSummary(`${split} after `, a));
      }
    }
    const f = (x: number): string => (x >= 0 ? '+' : '') + x.toFixed(3);
    const what = averaged ? ` (weight average, decay ${learnerConfig.weightAverageDecay})` : '';
    for (const [split, c] of Object.entries(change)) {
      console.log(
        `${split} gIoU change after − before${what}: ${f(c.mean)} [${f(c.ci95.lo)}, ${f(c.ci95.hi)}] (paired bootstrap 95%, n=${c.n})`,
      );
    }
    for (const [split, c] of Object.entries(changeLast)) {
      console.log(
        `${split} gIoU change, last iterate instead: ${f(c.mean)} [${f(c.ci95.lo)}, ${f(c.ci95.hi)}] (gIoU ${afterLast[split]?.gIoU.toFixed(3)})`,
      );
    }
    return {
      runDir: run.dir,
      steps,
      before,
      after,
      change,
      ...(averaged && opts.evalN > 0 ? { lastIterate: { after: afterLast, change: changeLast } } : {}),
      reportPath: run.path('report.html'),
    };
  } finally {
    await env.close();
  }
}

/**
 * Runs `body` with a GrabCut pool of `evalWorkers` threads (default: one per core), closed after.
 * Evaluation is bound by GrabCut and runs alone, so it gets every core; training keeps its own
 * smaller pool.
 */
async function withEvalEnv(
  opts: EmbeddedJobOptions,
  body: (env: WorkerEnvPool) => Promise<void>,
): Promise<void> {
  // Each image is seen in one batch of 64 only: a small embedding cache suffices (the default
  // 256 MiB per worker filled up over 3000 images and held ~0.5 GB).
  const env = new WorkerEnvPool({
    workers: opts.evalWorkers ?? availableParallelism(),
    cacheBytes: 32 * 1024 * 1024,
  });
  try {
    await body(env);
  } finally {
    await env.close();
  }
}

async function evaluate(
  policy: PointerPolicy,
  split: (typeof EVAL_SPLITS)[number],
  env: WorkerEnvPool,
  opts: EmbeddedJobOptions,
  log: Logger,
  when: string,
): Promise<EvaluationResult> {
  const dataset = await datasetFromSpec(`synthetic:${split}?n=${opts.evalN}`);
  const bar = opts.progress
    ? new SingleBar({ format: `eval ${when} ${split} |{bar}| {value}/{total}` }, Presets.shades_classic)
    : undefined;
  bar?.start(opts.evalN, 0);
  const result = await evaluatePolicy({
    policy: greedyPolicy(policy),
    dataset,
    env,
    n: opts.evalN,
    batch: 64,
    seed: opts.seed,
    keepEpisodes: 0, // only scores: 3000 episodes' masks would take ~1 GB
    onProgress: (done) => bar?.update(done),
  });
  bar?.stop();
  log.info({ split, when, gIoU: result.summary.gIoU, seconds: result.seconds }, 'evaluation done');
  return result;
}

/** Per-sample final IoU, in dataset order. */
function finalIous(r: EvaluationResult): number[] {
  return r.scores.map((e) => e.finalIou);
}
