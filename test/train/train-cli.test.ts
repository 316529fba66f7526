import { describe, expect, it } from 'vitest';
import { registerTrainCommand } from '../../cli/commands/train.ts';
import { commandError } from '../helpers/command-error.ts';

const parseError = (args: string[]): Promise<string> => commandError(registerTrainCommand, 'train', args);

describe('sam-veteran train options', () => {
  it('names a bad --temperature and its value', async () => {
    for (const v of ['0', '-1', 'abc', 'Infinity']) {
      expect(await parseError(['--temperature', v])).toContain(
        `--temperature "${v}" must be a positive number`,
      );
    }
  });

  it('validates --rewards against the reward schema, naming the key and the value', async () => {
    expect(await parseError(['--rewards', '{"harmPenalty":-1}'])).toMatch(
      /--rewards: harmPenalty = -1: .*>=0/,
    );
    expect(await parseError(['--rewards', '{"neutralRefineCredit":"x"}'])).toMatch(
      /--rewards: neutralRefineCredit = "x"/,
    );
    expect(await parseError(['--rewards', '{"nope":1}'])).toContain('--rewards: unknown key "nope"');
    expect(await parseError(['--rewards', '{x'])).toContain('--rewards "{x" is not JSON');
  });

  it('names a malformed --task-mix', async () => {
    expect(await parseError(['--task-mix', '1:0'])).toContain(
      '--task-mix "1:0" must be three non-negative numbers',
    );
  });

  it('names a bad --stop-supervision-target and the targets there are', async () => {
    expect(await parseError(['--stop-supervision-target', 'oracle'])).toMatch(
      /--stop-supervision-target <target>.*'oracle' is invalid.*case, reference/,
    );
  });

  it('names a bad --advantage and the modes there are', async () => {
    expect(await parseError(['--advantage', 'ppo'])).toMatch(
      /--advantage <mode>.*'ppo' is invalid.*reinforce\+\+, group/,
    );
  });

  it('names a --follow-up-clicks that is not a positive integer', async () => {
    for (const v of ['0', '1.5', 'two'])
      expect(await parseError(['--follow-up-clicks', v])).toContain(
        `--follow-up-clicks "${v}" must be a positive integer`,
      );
  });

  it('names a --policy-box-probability outside [0, 1]', async () => {
    for (const v of ['1.5', '-0.1', 'half', ''])
      expect(await parseError(['--policy-box-probability', v])).toContain(
        `--policy-box-probability "${v}" must be a number in [0, 1]`,
      );
  });

  it('names a --stop-supervision that is not a non-negative number', async () => {
    for (const v of ['-0.1', 'lots', '', 'Infinity'])
      expect(await parseError(['--stop-supervision', v])).toContain(
        `--stop-supervision "${v}" must be a non-negative number`,
      );
  });

  it('refuses options that would change a resumed run, naming the flag and its value', async () => {
    expect(await parseError(['--resume', 'runs/x', '--steps', '50'])).toMatch(
      /--steps.*50.*cannot be changed when resuming/,
    );
    expect(await parseError(['--resume', 'runs/x', '--task-mix', '1:2:1'])).toMatch(
      /--task-mix.*cannot be changed when resuming/,
    );
  });
});
