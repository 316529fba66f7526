/** cli/options.ts: the numeric option parsers every subcommand shares, and how commands use them. */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import { registerPretrainCommand } from '../../cli/commands/pretrain.ts';
import { intOption, numberOption, optionalInt } from '../../cli/options.ts';
import { commandError } from '../helpers/command-error.ts';

describe('numeric option parsers', () => {
  it('accept integers from their minimum and name the flag and value otherwise', () => {
    expect(intOption('--steps')('0')).toBe(0);
    expect(() => intOption('--steps')('x')).toThrow(ValidationError);
    expect(intOption('--workers', 1)('3')).toBe(3);
    expect(intOption('--size', 32)('32')).toBe(32);
    for (const v of ['-1', '1.5', 'abc', '', ' '])
      expect(() => intOption('--steps')(v)).toThrow(`--steps "${v}" must be a non-negative integer`);
    expect(() => intOption('--workers', 1)('0')).toThrow('--workers "0" must be a positive integer');
    expect(() => intOption('--size', 32)('16')).toThrow('--size "16" must be an integer >= 32');
  });

  it('leave an absent optional integer absent, and check a given one', () => {
    expect(optionalInt('--port', undefined)).toBeUndefined();
    expect(optionalInt('--port', '-5')).toBe(-5);
    expect(() => optionalInt('--port', 'x')).toThrow('--port "x" must be an integer');
    expect(() => optionalInt('--concurrency', '0', 1)).toThrow(
      '--concurrency "0" must be a positive integer',
    );
  });

  it('accept finite numbers in their range', () => {
    expect(numberOption('--lr', 'positive')('4e-3')).toBe(0.004);
    expect(numberOption('--kl', 'non-negative')('0')).toBe(0);
    expect(numberOption('--p', 'probability')('1')).toBe(1);
    for (const v of ['0', '-1', 'Infinity', 'x', ''])
      expect(() => numberOption('--lr', 'positive')(v)).toThrow(`--lr "${v}" must be a positive number`);
    for (const v of ['-0.1', 'NaN', ''])
      expect(() => numberOption('--kl', 'non-negative')(v)).toThrow(
        `--kl "${v}" must be a non-negative number`,
      );
    for (const v of ['1.01', '-0.5'])
      expect(() => numberOption('--p', 'probability')(v)).toThrow(`--p "${v}" must be a number in [0, 1]`);
  });
});

const pretrainError = (args: string[]): Promise<string> =>
  commandError(registerPretrainCommand, 'pretrain', args);

describe('sam-veteran pretrain options', () => {
  it('name a bad value before anything runs', async () => {
    expect(await pretrainError(['--steps', 'many'])).toContain('--steps "many" must be a positive integer');
    expect(await pretrainError(['--dense-weight', '-1'])).toContain(
      '--dense-weight "-1" must be a non-negative number',
    );
    expect(await pretrainError(['--wrong-box', '2'])).toContain('--wrong-box "2" must be a number in [0, 1]');
    expect(await pretrainError(['--lr', '0'])).toContain('--lr "0" must be a positive number');
    expect(await pretrainError(['--view-size', '2'])).toContain('--view-size "2" must be an integer >= 4');
    expect(await pretrainError(['--offset-bins', '0'])).toContain(
      '--offset-bins "0" must be a positive integer',
    );
    expect(await pretrainError(['--size-bins', '1'])).toContain('--size-bins "1" must be an integer >= 2');
    expect(await pretrainError(['--d-model', '1'])).toContain('--d-model "1" must be an integer >= 2');
    expect(await pretrainError(['--mlp-hidden', '0'])).toContain(
      '--mlp-hidden "0" must be a positive integer',
    );
    expect(await pretrainError(['--negative-clearance', '2'])).toContain(
      '--negative-clearance "2" must be a number in [0, 1]',
    );
    expect(await pretrainError(['--direction-channels', '-2'])).toContain(
      '--direction-channels "-2" must be a non-negative integer',
    );
    expect(await pretrainError(['--point-targets', 'foo'])).toContain(
      '--point-targets must be one of centre, depth, depth-sampled, far (got "foo")',
    );
    expect(await pretrainError(['--detint', 'bar'])).toContain(
      '--detint must be none, edges or all (got "bar")',
    );
    expect(await pretrainError(['--dagger', '1.5'])).toContain('--dagger "1.5" must be a number in [0, 1]');
    expect(await pretrainError(['--tail', '600'])).toContain('expected "steps:box,refine", e.g. 600:0.3,0.6');
    expect(await pretrainError(['--tail', '600:0.8,0.4'])).toContain('two fractions in [0, 1] with sum <= 1');
  });

  it('take the network from --init and refuse architecture options beside it', async () => {
    expect(await pretrainError(['--init', 'a.samv', '--edge-bins', '4'])).toContain(
      '--edge-bins 4 cannot be given with --init',
    );
    expect(await pretrainError(['--init', 'a.samv', '--d-model', '96'])).toContain(
      '--d-model 96 cannot be given with --init',
    );
    expect(await pretrainError(['--init', 'a.samv', '--no-max-pool'])).toContain(
      '--no-max-pool false cannot be given',
    );
    expect(await pretrainError(['--init', '/nonexistent/a.samv', '--steps', '1'])).toContain(
      'policy checkpoint "/nonexistent/a.samv" cannot be read',
    );
  });
});
