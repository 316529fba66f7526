/** Parses one subcommand in-process and returns the error its option parsing raises (the action never runs). */
import { Command } from 'commander';
import { expect } from 'vitest';

export async function commandError(
  register: (program: Command) => void,
  command: string,
  args: readonly string[],
): Promise<string> {
  const program = new Command('sam-veteran').exitOverride().configureOutput({ writeErr: () => {} });
  register(program);
  const err = await program.parseAsync([command, ...args], { from: 'user' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Error);
  return (err as Error).message;
}
