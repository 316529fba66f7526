/**
 * `sam-veteran train`: the main job on the embedded default (in-process bus, GrabCut in worker
 * threads, synthetic data, the shipped warm start). `npm start` runs it with the defaults.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { RewardConfigSchema, type RewardConfig } from '../../core/reward/index.ts';
import { runEmbeddedJob } from '../train/embedded-job.ts';
import { DEFAULT_WARM_START } from '../train/paths.ts';

function int(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} "${v}" must be a non-negative integer`);
    return n;
  };
}

function positive(name: string) {
  return (v: string): number => {
    const x = Number(v);
    if (!(x > 0) || !Number.isFinite(x))
      throw new InvalidArgumentError(`--${name} "${v}" must be a positive number`);
    return x;
  };
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('GRPO training on the embedded default: no servers, one process (the main job)')
    .option('--init <path>', 'warm-start policy checkpoint', DEFAULT_WARM_START)
    .option('--steps <n>', 'GRPO steps at most', int('steps'), 300)
    .option('--budget-minutes <m>', 'stop training after this many minutes', Number, 8)
    .option('--actors <n>', 'in-process actors', int('actors'), 2)
    .option('--env-workers <n>', 'GrabCut worker threads while training', int('env-workers'), 1)
    .option(
      '--eval-workers <n>',
      'GrabCut worker threads for the evaluations (default: one per core)',
      int('eval-workers'),
    )
    .option('--eval-n <n>', 'samples per evaluation split before and after (0 skips)', int('eval-n'), 3000)
    .option('--seed <n>', 'seed of everything random', int('seed'), 1)
    .option('--runs <dir>', 'where run folders go', 'runs')
    .option('--name <name>', 'run name suffix', 'embedded')
    .option('--batch-states <n>', 'groups per GRPO step', int('batch-states'), 16)
    .option('--group-size <n>', 'rollouts per group', int('group-size'), 8)
    .option('--lr <x>', 'AdamW learning rate', Number, 5e-5)
    .option('--kl <x>', 'KL coefficient to the frozen warm start (k3)', Number, 0.005)
    .option('--temperature <x>', "sampling temperature of the actors' rollouts", positive('temperature'), 0.7)
    .option(
      '--task-mix <l:m:a>',
      'relative frequency of localization : mask understanding : auxiliary tasks',
      taskMix,
      taskMix('1:1:1'),
    )
    .option(
      '--rewards <json>',
      'reward settings as a JSON object, e.g. \'{"harmPenalty":2}\' (keys: core/reward/reward-config.ts)',
      rewardsJson,
    )
    .option('--no-progress', 'plain log lines instead of progress bars')
    .action(async (o: Record<string, unknown>) => {
      // Progress bars own the terminal; service logs stay at warnings unless LOG_LEVEL says otherwise.
      process.env['LOG_LEVEL'] ??= 'warn';
      const result = await runEmbeddedJob({
        warmStart: o['init'] as string,
        steps: o['steps'] as number,
        budgetMinutes: o['budgetMinutes'] as number,
        actors: o['actors'] as number,
        envWorkers: o['envWorkers'] as number,
        ...(o['evalWorkers'] !== undefined ? { evalWorkers: o['evalWorkers'] as number } : {}),
        evalN: o['evalN'] as number,
        seed: o['seed'] as number,
        runsRoot: o['runs'] as string,
        name: o['name'] as string,
        progress: (o['progress'] as boolean) && process.stderr.isTTY === true,
        learner: {
          batchStates: o['batchStates'] as number,
          groupSize: o['groupSize'] as number,
          ...(typeof o['lr'] === 'number' ? { learningRate: o['lr'] } : {}),
          ...(typeof o['kl'] === 'number' ? { klCoef: o['kl'] } : {}),
          taskMix: o['taskMix'] as TaskMix,
        },
        actor: {
          groupSize: o['groupSize'] as number,
          sampling: { temperature: o['temperature'] as number },
        },
        ...(o['rewards'] ? { rewards: o['rewards'] as Partial<RewardConfig> } : {}),
      });
      console.log(`run folder: ${result.runDir}`);
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
