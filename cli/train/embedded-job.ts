/**
 * The main job on the embedded default (`npm start` → `sam-veteran train`): the same learner and
 * actor classes as the cluster, wired in one process over the in-process bus, with GrabCut in
 * worker threads as the environment and the synthetic world as data. Evaluates the warm start on
 * id-val and ood-val, trains with GRPO under a step and time budget, evaluates again, and writes a
 * run folder (metrics JSONL, PNG plots, HTML report, before/after summary).
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
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
  type ActorConfig,
  type ActorConfigInput,
  type LearnerConfig,
} from '../../core/config/index.ts';
import { datasetFromSpec } from '../../core/data/index.ts';
import { ValidationError } from '../../core/errors/index.ts';
import { createLogger, type Logger } from '../../core/log/index.ts';
import { ensureTf, loadPolicyBytes, sha256Hex, type PointerPolicy } from '../../core/policy/index.ts';
import { RunFolder, renderTrainingReport } from '../../core/report/index.ts';
import { rewardConfig, type RewardConfig } from '../../core/reward/index.ts';
import { Actor, SampleResolver } from '../../services/actor/index.ts';
import { checkpointStep, Learner, type LearnerStepMetrics } from '../../services/learner/index.ts';
import { WorkerEnvPool } from '../../services/sam-env/index.ts';
import { createProgress } from '../progress.ts';
import {
  firstMismatch,
  readStoredEvaluation,
  VERIFY_SAMPLES,
  writeStoredEvaluation,
  type EvalKey,
  type StoredEvaluation,
} from './eval-cache.ts';

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
  /**
   * Reuse a stored evaluation of the warm start before training, after re-running its first
   * episodes to the same IoUs (`eval-cache.ts`). Default true; false evaluates (and stores the
   * result for later runs) in any case.
   */
  readonly evalCache?: boolean;
  readonly seed: number;
  readonly runsRoot: string;
  readonly name: string;
  readonly learner?: Partial<LearnerConfig>;
  readonly actor?: ActorConfigInput;
  /** Reward settings (core/reward RewardConfig); omitted keys take their defaults. */
  readonly rewards?: Partial<RewardConfig>;
  /** Show a progress bar (TTY). */
  readonly progress: boolean;
  /**
   * Aborting stops training after the current step, with a checkpoint; the job then returns
   * `interrupted: true` without the evaluation after (`resumeEmbeddedJob` continues the run).
   */
  readonly signal?: AbortSignal;
  /** Called with the run folder once it exists (before anything else happens in it). */
  readonly onRunDir?: (dir: string) => void;
  /** Called with each phase as it starts (the CLI decides what Ctrl-C does from it). */
  readonly onPhase?: (phase: JobPhase) => void;
  /** Called after every GRPO step with its metrics. */
  readonly onStep?: (m: LearnerStepMetrics) => void;
}

export type JobPhase = 'eval-before' | 'train' | 'eval-after' | 'report';

/** What a later `train --resume` needs: the options (all but display ones) and the warm start's digest. */
interface JobFile {
  readonly format: 'sam-veteran-train-job';
  readonly version: 1;
  /** SHA-256 of the warm-start file: the KL reference must be the same when the run resumes. */
  readonly warmStartSha256: string;
  readonly options: Omit<
    EmbeddedJobOptions,
    'progress' | 'signal' | 'onRunDir' | 'onPhase' | 'onStep' | 'evalWorkers'
  >;
}

const JOB_FILE = 'job.json';
const BEFORE_SCORES_FILE = 'eval-before-scores.json';
/** `{ result: { [split]: number[] }, last: { … } }`: per-sample final IoUs after training. */
const AFTER_SCORES_FILE = 'eval-after-scores.json';

/** Options a resumed run may change: they do not change its results. */
export interface ResumeOptions {
  readonly progress: boolean;
  readonly evalWorkers?: number;
  /** A fresh time budget for the remaining steps; default the run's. */
  readonly budgetMinutes?: number;
  readonly signal?: AbortSignal;
  readonly onPhase?: (phase: JobPhase) => void;
  readonly onStep?: (m: LearnerStepMetrics) => void;
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
  /** Training was stopped by the abort signal: no evaluation after, the run can be resumed. */
  readonly interrupted: boolean;
}

const EVAL_SPLITS = ['id-val', 'ood-val'] as const;
const EVAL_MAX_REFINEMENTS = 3;

/** What the evaluations read of a job's options. */
type EvalOptions = Pick<
  EmbeddedJobOptions,
  'evalN' | 'seed' | 'evalCache' | 'runsRoot' | 'warmStart' | 'progress'
>;

/** Starts a new run folder and runs the job in it. */
export async function runEmbeddedJob(opts: EmbeddedJobOptions): Promise<EmbeddedJobResult> {
  const warmBytes = await readWarmStart(opts.warmStart);
  const run = RunFolder.create(opts.runsRoot, opts.name);
  opts.onRunDir?.(run.dir);
  const { progress: _p, signal: _s, onRunDir: _r, onPhase: _o, onStep: _t, evalWorkers: _e, ...saved } = opts;
  const job: JobFile = {
    format: 'sam-veteran-train-job',
    version: 1,
    warmStartSha256: sha256Hex(warmBytes),
    options: { ...saved, warmStart: resolve(opts.warmStart) },
  };
  run.writeJson(JOB_FILE, job);
  return runJob(run, opts, warmBytes, false);
}

/**
 * Continues the run in `runDir` (interrupted, killed, or finished) with its own options: the
 * evaluation before is reused, training resumes from the newest checkpoint (the metrics of steps
 * after it are dropped, since they are taken again), a run whose training finished is only
 * evaluated and reported again. Not bit-identical to an uninterrupted run: tasks in flight at the
 * interruption are re-issued and the actors' sampling streams restart.
 * @throws ValidationError when `runDir` is not a `train` run folder or its warm start has changed.
 */
export async function resumeEmbeddedJob(runDir: string, o: ResumeOptions): Promise<EmbeddedJobResult> {
  const run = RunFolder.open(runDir);
  if (!run.has(JOB_FILE)) {
    throw new ValidationError('--resume', runDir, `is not a run folder of \`train\` (it has no ${JOB_FILE})`);
  }
  const job = run.readJson<JobFile>(JOB_FILE);
  if (job.format !== 'sam-veteran-train-job' || job.version !== 1) {
    throw new ValidationError(`${run.path(JOB_FILE)}`, job.format, 'is not a train job file of version 1');
  }
  const opts: EmbeddedJobOptions = {
    ...job.options,
    progress: o.progress,
    ...(o.evalWorkers !== undefined ? { evalWorkers: o.evalWorkers } : {}),
    ...(o.budgetMinutes !== undefined ? { budgetMinutes: o.budgetMinutes } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onPhase ? { onPhase: o.onPhase } : {}),
    ...(o.onStep ? { onStep: o.onStep } : {}),
  };
  const warmBytes = await readWarmStart(opts.warmStart);
  if (sha256Hex(warmBytes) !== job.warmStartSha256) {
    throw new ValidationError(
      '--init',
      opts.warmStart,
      `has changed since run ${run.id} started (SHA-256 ${sha256Hex(warmBytes)}, was ${job.warmStartSha256}); ` +
        'the KL reference of a resumed run must be the same warm start',
    );
  }
  return runJob(run, opts, warmBytes, true);
}

function readWarmStart(path: string): Promise<Uint8Array> {
  return readFile(path).then(
    (b) => new Uint8Array(b),
    (err: unknown) => {
      throw new ValidationError(
        '--init',
        path,
        'cannot be read: build the warm start with `npm run pretrain` or pass another checkpoint',
        { cause: err },
      );
    },
  );
}

async function runJob(
  run: RunFolder,
  opts: EmbeddedJobOptions,
  warmBytes: Uint8Array,
  resumed: boolean,
): Promise<EmbeddedJobResult> {
  const unlock = run.lock();
  try {
    return await runLocked(run, opts, warmBytes, resumed);
  } finally {
    unlock();
  }
}

async function runLocked(
  run: RunFolder,
  opts: EmbeddedJobOptions,
  warmBytes: Uint8Array,
  resumed: boolean,
): Promise<EmbeddedJobResult> {
  const runId = run.id;
  const log = createLogger({ service: 'train', runId });
  log.info({ runDir: run.dir, resumed, opts }, resumed ? 'training job resuming' : 'training job starting');
  await ensureTf();
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
    opts.onPhase?.('eval-before');
    if (opts.evalN > 0) {
      if (resumed && run.has('eval-before.json') && run.has(BEFORE_SCORES_FILE)) {
        // Deterministic for the run's seed and warm start: reuse what the first attempt measured.
        Object.assign(before, run.readJson<Record<string, EpisodeSummary>>('eval-before.json'));
        const scores = run.readJson<Record<string, number[]>>(BEFORE_SCORES_FILE);
        for (const [split, finals] of Object.entries(scores)) finalsBefore.set(split, finals);
        log.info('evaluation before training reused from the run folder');
      } else {
        const warmSha256 = sha256Hex(warmBytes);
        await withEvalEnv(opts, async (evalEnv) => {
          for (const split of EVAL_SPLITS) {
            const r = await evaluateWarmStart(policy, warmSha256, split, evalEnv, opts, log);
            before[split] = r.summary;
            finalsBefore.set(split, [...r.finals]);
          }
        });
        run.writeJson(BEFORE_SCORES_FILE, Object.fromEntries(finalsBefore));
        run.writeJson('eval-before.json', before);
      }
    }

    // A finished training phase leaves policy.samv; a resumed finished run is only evaluated again.
    const trained = resumed && run.has('policy.samv');
    let steps: number;
    let interrupted = false;
    if (trained) {
      steps = await checkpointStep(learnerConfig.checkpointDir);
      log.info({ steps }, 'training finished before; evaluating and reporting again');
    } else {
      opts.onPhase?.('train');
      const r = await train(run, opts, {
        policy,
        reference,
        env,
        registry,
        learnerConfig,
        actorConfig,
        rewards,
        resumed,
        log,
      });
      steps = r.steps;
      interrupted = r.interrupted;
    }
    const outcome = (extra: Partial<EmbeddedJobResult> = {}): EmbeddedJobResult => ({
      runDir: run.dir,
      steps,
      before,
      after,
      change,
      reportPath: run.path('report.html'),
      interrupted,
      ...extra,
    });
    if (interrupted) return outcome();
    // The run's result: the moving average of the weights when the learner keeps one (the default;
    // the last weights are then in policy-last.samv and evaluated too, for comparison), else the last
    // weights. Read back from the files the learner wrote, so a resumed run evaluates the same bytes.
    const result = loadPolicyBytes(new Uint8Array(await readFile(run.path('policy.samv'))), 'policy.samv');
    const last = run.has('policy-last.samv')
      ? loadPolicyBytes(new Uint8Array(await readFile(run.path('policy-last.samv'))), 'policy-last.samv')
      : undefined;

    opts.onPhase?.('eval-after');
    if (opts.evalN > 0) {
      // Per-sample final IoUs, so runs can be pooled later (npm run bench:grpo-runs).
      const afterScores: Record<string, Record<string, number[]>> = { result: {}, last: {} };
      await withEvalEnv(opts, async (evalEnv) => {
        for (const split of EVAL_SPLITS) {
          const r = await evaluate(result, split, evalEnv, opts, log, 'after');
          after[split] = r.summary;
          (afterScores['result'] as Record<string, number[]>)[split] = finalIous(r);
          change[split] = pairedDifference(finalsBefore.get(split) ?? [], finalIous(r), 1000, opts.seed);
          if (last) {
            const l = await evaluate(last, split, evalEnv, opts, log, 'after, last iterate');
            afterLast[split] = l.summary;
            (afterScores['last'] as Record<string, number[]>)[split] = finalIous(l);
            changeLast[split] = pairedDifference(
              finalsBefore.get(split) ?? [],
              finalIous(l),
              1000,
              opts.seed,
            );
          }
        }
      });
      run.writeJson('eval-after.json', after);
      run.writeJson(AFTER_SCORES_FILE, afterScores);
      run.writeJson('eval-change.json', change);
      if (last) {
        run.writeJson('eval-after-last-iterate.json', afterLast);
        run.writeJson('eval-change-last-iterate.json', changeLast);
      }
    }
    result.dispose();
    last?.dispose();
    opts.onPhase?.('report');
    const records = run.readMetrics();
    await renderTrainingReport({
      runDir: run.dir,
      title: `SAM-Veteran training — ${run.id}`,
      config: { learner: learnerConfig, actor: actorConfig, rewards, job: jobSummary(opts) },
      metrics: records,
      ...(opts.evalN > 0 ? { evalBefore: before, evalAfter: after } : {}),
    });
    for (const split of Object.keys(after)) {
      const b = before[split];
      const a = after[split];
      if (b && a) {
        console.log(formatSummary(`${split} before`, b));
        console.log(formatSummary(`${split} after `, a));
      }
    }
    const f = (x: number): string => (x >= 0 ? '+' : '') + x.toFixed(3);
    const what = last ? ` (weight average, decay ${learnerConfig.weightAverageDecay})` : '';
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
    return outcome(last && opts.evalN > 0 ? { lastIterate: { after: afterLast, change: changeLast } } : {});
  } finally {
    policy.dispose();
    reference.dispose();
    await env.close();
  }
}

/** The job's options as the report shows them (no callbacks or signals). */
function jobSummary(opts: EmbeddedJobOptions): Record<string, unknown> {
  const { signal: _s, onRunDir: _r, onPhase: _p, onStep: _t, ...rest } = opts;
  return rest;
}

interface TrainParts {
  readonly policy: PointerPolicy;
  readonly reference: PointerPolicy;
  readonly env: WorkerEnvPool;
  readonly registry: Registry;
  readonly learnerConfig: LearnerConfig;
  readonly actorConfig: ActorConfig;
  readonly rewards: RewardConfig;
  readonly resumed: boolean;
  readonly log: Logger;
}

/**
 * The training phase: learner and actors over an in-process bus until the step target, the time
 * budget or the abort signal; writes the result files (policy.samv, policy-last.samv) unless
 * interrupted. A resumed run first drops the metrics lines of steps after its newest checkpoint.
 */
async function train(
  run: RunFolder,
  opts: EmbeddedJobOptions,
  p: TrainParts,
): Promise<{ steps: number; interrupted: boolean }> {
  const { policy, learnerConfig, log } = p;
  if (p.resumed) {
    const at = await checkpointStep(learnerConfig.checkpointDir);
    const dropped = run.dropMetricsAfter(at);
    log.info({ checkpointStep: at, droppedMetricLines: dropped }, 'resuming training');
  }
  const bus = await createBus(`memory://${run.id}`);
  // One sample cache for the learner and the actors: a task's sample is generated and hashed once
  // (when issued), then read from memory by the actor that runs it. Sized above the in-flight cap.
  const samples = new SampleResolver({ cacheSamples: 2 * learnerConfig.maxInFlight + 16 });
  const learner = new Learner({
    bus,
    config: learnerConfig,
    policy,
    reference: p.reference,
    runId: run.id,
    logger: log.child({ service: 'learner' }),
    metrics: p.registry,
    datasetSpec: `synthetic:train?seed=${opts.seed}`,
    samples,
    onStep: (m) => {
      run.appendMetrics(m);
      onStep(m);
      opts.onStep?.(m);
    },
  });
  const actors: Actor[] = [];
  for (let i = 0; i < opts.actors; i++) {
    actors.push(
      new Actor({
        id: `actor-${i + 1}`,
        bus,
        env: p.env,
        config: p.actorConfig,
        policy: policy.clone(),
        logger: log.child({ service: 'actor', actorId: `actor-${i + 1}` }),
        metrics: p.registry,
        rewards: p.rewards,
        resolver: samples,
        seed: opts.seed * 1000 + i,
      }),
    );
  }

  // On a terminal a bar; otherwise a line every 5 steps on stdout (the run's log).
  const bar = opts.progress
    ? createProgress({ label: 'train', fields: ['reward', 'kl'], bar: true })
    : undefined;
  let lastLogged = 0;
  function onStep(m: LearnerStepMetrics): void {
    const reward = typeof m['reward.mean'] === 'number' ? (m['reward.mean'] as number).toFixed(2) : '-';
    const kl = typeof m['kl'] === 'number' ? (m['kl'] as number).toExponential(1) : '-';
    bar?.update(m.step, { reward: `reward ${reward}`, kl: `kl ${kl}` });
    if (!bar && m.step - lastLogged >= 5) {
      lastLogged = m.step;
      console.log(`train step ${m.step}/${opts.steps}  reward ${reward}  kl ${kl}`);
    }
  }

  let interrupted = false;
  const onAbort = (): void => {
    interrupted = true;
    log.warn({ step: learner.step }, 'interrupted: finishing the current step and checkpointing');
    void learner.stop();
  };
  await learner.start();
  bar?.start(opts.steps, learner.step, { reward: 'reward -', kl: 'kl -' });
  lastLogged = learner.step;
  await Promise.all(actors.map((a) => a.start()));
  const budget = setTimeout(() => {
    log.info({ budgetMinutes: opts.budgetMinutes }, 'time budget reached; stopping training');
    void learner.stop();
  }, opts.budgetMinutes * 60_000);
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await learner.run(opts.steps);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    clearTimeout(budget);
    bar?.stop();
    await Promise.all(actors.map((a) => a.stop()));
    await learner.stop();
    await bus.close();
  }
  if (!interrupted) await learner.writeResult(run.dir);
  return { steps: learner.step, interrupted };
}

/**
 * Runs `body` with a GrabCut pool of `evalWorkers` threads (default: one per core), closed after.
 * Evaluation is bound by GrabCut and runs alone, so it gets every core; training keeps its own
 * smaller pool.
 */
async function withEvalEnv(
  opts: Pick<EmbeddedJobOptions, 'evalWorkers'>,
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

/**
 * Per-sample final IoUs of `policy` on the first `evalN` samples of an evaluation split, exactly as
 * a run evaluates its result (greedy, ≤ 3 refinements, GrabCut in worker threads): for pooling the
 * runs of several seeds (bench/grpo-runs.ts).
 */
export async function evaluateFinalIous(
  policy: PointerPolicy,
  split: (typeof EVAL_SPLITS)[number],
  opts: Pick<EmbeddedJobOptions, 'evalN' | 'seed' | 'progress' | 'evalWorkers'>,
  log: Logger,
): Promise<number[]> {
  let finals: number[] = [];
  await withEvalEnv(opts, async (env) => {
    finals = finalIous(await evaluate(policy, split, env, opts, log, 'pooled'));
  });
  return finals;
}

/**
 * The warm start's evaluation before training on one split: stored from an earlier run when that
 * reproduces (and `opts.evalCache` is not false), else run now and stored (anew) for later runs.
 */
export async function evaluateWarmStart(
  policy: PointerPolicy,
  policySha256: string,
  split: (typeof EVAL_SPLITS)[number],
  env: WorkerEnvPool,
  opts: EvalOptions,
  log: Logger,
): Promise<{ summary: EpisodeSummary; finals: readonly number[] }> {
  const key: EvalKey = {
    policySha256,
    split,
    n: opts.evalN,
    seed: opts.seed,
    maxRefinements: EVAL_MAX_REFINEMENTS,
  };
  const reused = opts.evalCache === false ? undefined : await reuseEvaluation(policy, key, env, opts, log);
  if (reused) return reused;
  const r = await evaluate(policy, split, env, opts, log, 'before');
  const finals = finalIous(r);
  try {
    const file = writeStoredEvaluation(evalCacheDirs(opts)[0]!, key, r.summary, finals);
    log.info({ split, file }, 'evaluation before training stored for later runs');
  } catch (err) {
    // Only an optimisation: the run goes on without it.
    log.warn({ split, err }, 'evaluation before training could not be stored for later runs');
  }
  return { summary: r.summary, finals };
}

/**
 * Where evaluations before training are kept: the runs folder's `.eval-cache` (read and written),
 * then `eval-cache` beside the warm start (read only: shipped with it).
 */
function evalCacheDirs(opts: EvalOptions): string[] {
  return [join(opts.runsRoot, '.eval-cache'), join(dirname(resolve(opts.warmStart)), 'eval-cache')];
}

/** The stored evaluation for `key` when its first episodes re-run to the same IoUs, else undefined. */
async function reuseEvaluation(
  policy: PointerPolicy,
  key: EvalKey,
  env: WorkerEnvPool,
  opts: EvalOptions,
  log: Logger,
): Promise<StoredEvaluation | undefined> {
  const found = readStoredEvaluation(evalCacheDirs(opts), key, (file, why) =>
    log.warn({ file, why }, 'stored evaluation not used'),
  );
  if (!found) return undefined;
  const n = Math.min(VERIFY_SAMPLES, key.n);
  const check = await evaluate(policy, key.split as (typeof EVAL_SPLITS)[number], env, opts, log, 'check', n);
  const rerun = finalIous(check);
  const bad = firstMismatch(found.stored.finals, rerun);
  if (bad >= 0) {
    log.warn(
      { file: found.file, sample: bad, stored: found.stored.finals[bad], now: rerun[bad] },
      'stored evaluation does not reproduce (environment, agent loop or data changed): evaluating again',
    );
    return undefined;
  }
  log.info(
    { split: key.split, file: found.file, checked: n },
    'evaluation before training reused: its first episodes reproduce exactly',
  );
  return found.stored;
}

async function evaluate(
  policy: PointerPolicy,
  split: (typeof EVAL_SPLITS)[number],
  env: WorkerEnvPool,
  opts: Pick<EvalOptions, 'evalN' | 'seed' | 'progress'>,
  log: Logger,
  when: string,
  n = opts.evalN,
): Promise<EvaluationResult> {
  const dataset = await datasetFromSpec(`synthetic:${split}?n=${opts.evalN}`);
  const bar = createProgress({ label: `eval ${when} ${split}`, bar: opts.progress });
  bar.start(n, 0);
  const result = await evaluatePolicy({
    policy: greedyPolicy(policy),
    dataset,
    env,
    n,
    maxRefinements: EVAL_MAX_REFINEMENTS,
    batch: 64,
    seed: opts.seed,
    keepEpisodes: 0, // only scores: 3000 episodes' masks would take ~1 GB
    onProgress: (done) => bar.update(done),
  });
  bar.stop();
  log.info({ split, when, gIoU: result.summary.gIoU, seconds: result.seconds }, 'evaluation done');
  return result;
}

/** Per-sample final IoU, in dataset order. */
function finalIous(r: EvaluationResult): number[] {
  return r.scores.map((e) => e.finalIou);
}
