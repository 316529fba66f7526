/**
 * `sam-veteran train`: the main job on the embedded default (in-process bus, GrabCut in worker
 * threads, synthetic data, the shipped warm start). `npm start` runs it with the defaults.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { RewardConfigSchema, type RewardConfig } from '../../core/reward/index.ts';
import { ValidationError } from '../../core/errors/index.ts';
import {
  resumeEmbeddedJob,
  runEmbeddedJob,
  type EmbeddedJobResult,
  type JobPhase,
} from '../train/embedded-job.ts';
import { DEFAULT_WARM_START } from '../train/paths.ts';
import { intOption, numberOption } from '../options.ts';

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('GRPO training on the embedded default: no servers, one process (the main job)')
    .option('--init <path>', 'warm-start policy checkpoint', DEFAULT_WARM_START)
    .option('--steps <n>', 'GRPO steps at most', intOption('--steps'), 300)
    .option('--budget-minutes <m>', 'stop training after this many minutes', Number, 8)
    .option('--actors <n>', 'in-process actors', intOption('--actors'), 2)
    .option('--env-workers <n>', 'GrabCut worker threads while training', intOption('--env-workers'), 1)
    .option(
      '--eval-workers <n>',
      'GrabCut worker threads for the evaluations (default: one per core)',
      intOption('--eval-workers'),
    )
    .option(
      '--eval-n <n>',
      'samples per evaluation split before and after (0 skips)',
      intOption('--eval-n'),
      3000,
    )
    .option(
      '--no-eval-cache',
      "evaluate the warm start before training even when an earlier run's evaluation of it is stored " +
        '(<runs>/.eval-cache, refreshed by this; otherwise reused once its first 128 episodes re-run to the same IoUs)',
    )
    .option('--seed <n>', 'seed of everything random', intOption('--seed'), 1)
    .option('--runs <dir>', 'where run folders go', 'runs')
    .option('--name <name>', 'run name suffix', 'embedded')
    .option('--batch-states <n>', 'groups per GRPO step', intOption('--batch-states'), 16)
    .option('--group-size <n>', 'rollouts per group', intOption('--group-size'), 8)
    .option('--lr <x>', 'AdamW learning rate', Number, 5e-5)
    .option('--kl <x>', 'KL coefficient to the frozen warm start (k3)', Number, 0.005)
    .addOption(
      new Option(
        '--advantage <mode>',
        'advantages: reinforce++ (group-mean baseline, batch whitening; the paper) or group (per-group std, GRPO)',
      )
        .choices(['reinforce++', 'group'])
        .default('reinforce++'),
    )
    .option(
      '--stop-supervision <lambda>',
      "weight of a cross-entropy term on mask-understanding states' π(stop), towards --stop-supervision-target; " +
        '0 = off (the paper). Default 1 with target reference: GRPO from the shipped warm start otherwise spends its gain on stopping earlier',
      numberOption('--stop-supervision', 'non-negative'),
      1,
    )
    .addOption(
      new Option(
        '--stop-supervision-target <target>',
        "what --stop-supervision pulls π(stop) towards: case (stop iff GOOD ENOUGH) or reference (the warm start's own π(stop): anchors the stop decision)",
      )
        .choices(['case', 'reference'])
        .default('reference'),
    )
    .addOption(
      new Option(
        '--step-thread <thread>',
        "where the learner's forward and backward passes run: worker (a worker thread, while this thread's actors keep sampling) or main",
      )
        .choices(['worker', 'main'])
        .default('worker'),
    )
    .option(
      '--draw-weights',
      "weight each rollout by dynamic sampling's draw weight (its action type's share of the draws over its share of the group), so groups give the on-policy gradient",
    )
    .option(
      '--temperature <x>',
      "sampling temperature of the actors' rollouts",
      numberOption('--temperature', 'positive'),
      0.7,
    )
    .option(
      '--policy-box-probability <p>',
      "share of mask-understanding states whose mask comes from the policy's own box (else a jittered GT box)",
      numberOption('--policy-box-probability', 'probability'),
      0.3,
    )
    .option(
      '--follow-up-clicks <n>',
      'mask-understanding states up to n policy clicks past the box mask (1: evaluation steps 1-2; 2: also step 3)',
      intOption('--follow-up-clicks', 1),
      1,
    )
    .option(
      '--task-mix <l:m:a>',
      'relative frequency of localization : mask understanding : auxiliary tasks (the paper: 1:1:1)',
      taskMix,
      taskMix('1:1:0'),
    )
    .option(
      '--rewards <json>',
      'reward settings as a JSON object, e.g. \'{"harmPenalty":2}\' (keys: core/reward/reward-config.ts)',
      rewardsJson,
    )
    .option('--no-progress', 'plain log lines instead of progress bars')
    .option(
      '--resume <run-dir>',
      'continue an interrupted or killed run from its last checkpoint, with its own options ' +
        '(only --budget-minutes, --eval-workers and --no-progress may be given with it)',
    )
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      // Progress bars own the terminal; service logs stay at warnings unless LOG_LEVEL says otherwise.
      process.env['LOG_LEVEL'] ??= 'warn';
      const progress = (o['progress'] as boolean) && process.stderr.isTTY === true;
      // Ctrl-C while training: finish the step, checkpoint, say how to resume (exit 130). Elsewhere,
      // or a second Ctrl-C: exit at once (the last checkpoint stays; evaluations are redone).
      const abort = new AbortController();
      let phase: JobPhase | undefined;
      let runDir: string | undefined;
      const hint = (): string =>
        runDir ? `resume with: npx sam-veteran train --resume ${runDir}` : 'nothing to resume yet';
      const onSignal = (): void => {
        if (phase === 'train' && !abort.signal.aborted) {
          console.error(
            `\ninterrupted: finishing the current step and checkpointing (Ctrl-C again to quit now)`,
          );
          abort.abort();
          return;
        }
        console.error(`\ninterrupted; ${hint()}`);
        process.exit(130);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const hooks = {
        signal: abort.signal,
        onPhase: (p: JobPhase) => {
          phase = p;
        },
      };
      let result: EmbeddedJobResult;
      try {
        if (o['resume'] !== undefined) {
          const allowed = new Set(['resume', 'budgetMinutes', 'evalWorkers', 'progress']);
          const given = Object.keys(o).filter(
            (k) => cmd.getOptionValueSource(k) === 'cli' && !allowed.has(k),
          );
          if (given.length > 0) {
            const flag = `--${given[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
            throw new ValidationError(
              flag,
              o[given[0]!],
              'cannot be changed when resuming: a resumed run keeps the options in its job.json',
            );
          }
          runDir = o['resume'] as string;
          result = await resumeEmbeddedJob(runDir, {
            progress,
            ...hooks,
            ...(cmd.getOptionValueSource('budgetMinutes') === 'cli'
              ? { budgetMinutes: o['budgetMinutes'] as number }
              : {}),
            ...(o['evalWorkers'] !== undefined ? { evalWorkers: o['evalWorkers'] as number } : {}),
          });
        } else {
          result = await runEmbeddedJob({
            ...hooks,
            warmStart: o['init'] as string,
            steps: o['steps'] as number,
            budgetMinutes: o['budgetMinutes'] as number,
            actors: o['actors'] as number,
            envWorkers: o['envWorkers'] as number,
            ...(o['evalWorkers'] !== undefined ? { evalWorkers: o['evalWorkers'] as number } : {}),
            evalN: o['evalN'] as number,
            evalCache: o['evalCache'] as boolean,
            seed: o['seed'] as number,
            runsRoot: o['runs'] as string,
            name: o['name'] as string,
            progress,
            onRunDir: (dir: string) => {
              runDir = dir;
            },
            learner: {
              batchStates: o['batchStates'] as number,
              groupSize: o['groupSize'] as number,
              ...(typeof o['lr'] === 'number' ? { learningRate: o['lr'] } : {}),
              ...(typeof o['kl'] === 'number' ? { klCoef: o['kl'] } : {}),
              advantageMode: o['advantage'] as 'reinforce++' | 'group',
              drawWeights: o['drawWeights'] === true,
              ...(typeof o['stopSupervision'] === 'number' ? { stopSupervision: o['stopSupervision'] } : {}),
              stopSupervisionTarget: o['stopSupervisionTarget'] as 'case' | 'reference',
              stepThread: o['stepThread'] as 'worker' | 'main',
              taskMix: o['taskMix'] as TaskMix,
            },
            actor: {
              groupSize: o['groupSize'] as number,
              sampling: {
                temperature: o['temperature'] as number,
                followUpClicks: o['followUpClicks'] as number,
                policyBoxProbability: o['policyBoxProbability'] as number,
              },
            },
            ...(o['rewards'] ? { rewards: o['rewards'] as Partial<RewardConfig> } : {}),
          });
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      console.log(`run folder: ${result.runDir}`);
      if (result.interrupted) {
        console.log(`interrupted at step ${result.steps} (checkpoint saved); ${hint()}`);
        process.exitCode = 130;
        return;
      }
      console.log(`report:     ${result.reportPath}`);
    });
}

type TaskMix = { localization: number; maskUnderstanding: number; auxiliary: number };

/** `l:m:a` → the learner's task mix; three non-negative numbers, not all zero. */
function taskMix(v: string): TaskMix {
  const parts = v.split(':').map(Number);
  const [localization, maskUnderstanding, auxiliary] = parts;
  if (
    parts.length !== 3 ||
    !parts.every((x) => Number.isFinite(x) && x >= 0) ||
    parts.every((x) => x === 0) ||
    localization === undefined ||
    maskUnderstanding === undefined ||
    auxiliary === undefined
  ) {
    throw new InvalidArgumentError(
      `--task-mix ${JSON.stringify(v)} must be three non-negative numbers l:m:a, not all 0 (e.g. 1:1:1)`,
    );
  }
  return { localization, maskUnderstanding, auxiliary };
}

/** `--rewards` → a validated partial RewardConfig; an unknown key or bad value names itself. */
function rewardsJson(v: string): Partial<RewardConfig> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch (err) {
    throw new InvalidArgumentError(`--rewards ${JSON.stringify(v)} is not JSON: ${(err as Error).message}`);
  }
  const r = RewardConfigSchema.safeParse(parsed);
  if (!r.success) {
    const issue = r.error.issues[0];
    if (issue?.code === 'unrecognized_keys') {
      throw new InvalidArgumentError(
        `--rewards: unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`,
      );
    }
    const key = issue?.path.join('.') || '(top level)';
    const value =
      issue && issue.path.length > 0 ? (parsed as Record<string, unknown>)[String(issue.path[0])] : parsed;
    throw new InvalidArgumentError(
      `--rewards: ${key} = ${JSON.stringify(value)}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed as Partial<RewardConfig>;
}
