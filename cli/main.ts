/**
 * `sam-veteran` — the single command-line entry point. Each subcommand lives in cli/commands/ and
 * registers itself on the root program; this file only wires them.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { SamVeteranError } from '../core/errors/index.ts';
import { registerActorCommand } from './commands/actor.ts';
import { registerClusterCommand } from './commands/cluster.ts';
import { registerDataCommand } from './commands/data.ts';
import { registerPretrainCommand } from './commands/pretrain.ts';
import { registerTrainCommand } from './commands/train.ts';
import { registerEnvCommand } from './commands/env.ts';
import { registerEvalCommand } from './commands/eval.ts';
import { registerLearnerCommand } from './commands/learner.ts';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export function buildProgram(): Command {
  const program = new Command('sam-veteran')
    .description(
      'Train agents to use Segment Anything like a seasoned human (multi-task GRPO, SAM in the loop).',
    )
    .version(pkg.version, '-v, --version')
    .showHelpAfterError();
  registerActorCommand(program);
  registerDataCommand(program);
  registerClusterCommand(program);
  registerPretrainCommand(program);
  registerTrainCommand(program);
  registerEnvCommand(program);
  registerEvalCommand(program);
  registerLearnerCommand(program);
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    if (err instanceof SamVeteranError) {
      console.error(`sam-veteran: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
}

await main();
