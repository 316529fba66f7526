/**
 * `sam-veteran pretrain --init`: a short run from a small checkpoint, through the command itself
 * (real GrabCut worker, real pools): the result keeps the checkpoint's architecture, its weights
 * moved from the checkpoint's, and the manifest records where it started. `--average-decay`: the
 * checkpoint holds the moving average of the weights and the last weights are saved beside it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerPretrainCommand } from '../../cli/commands/pretrain.ts';
import { PointerPolicy, decodePolicyFile, initTf, savePolicyFile } from '../../core/policy/index.ts';
import { TINY } from '../policy/fixtures.ts';
import { commandError } from '../helpers/command-error.ts';

let dir: string;

beforeAll(async () => {
  await initTf('wasm');
  dir = await mkdtemp(join(tmpdir(), 'pretrain-init-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sam-veteran pretrain --init', () => {
  it('continues from the checkpoint with its architecture', async () => {
    const init = join(dir, 'init.samv');
    const out = join(dir, 'out.samv');
    const start = await PointerPolicy.create({ ...TINY, localLayers: 1 }, { seed: 4 });
    await savePolicyFile(start, init);
    start.dispose();
    const program = new Command('sam-veteran').exitOverride();
    registerPretrainCommand(program);
    await program.parseAsync(
      [
        'pretrain',
        '--init',
        init,
        '--out',
        out,
        '--steps',
        '3',
        '--batch',
        '8',
        '--samples',
        '24',
        '--refine-examples',
        '8',
        '--aux-examples',
        '8',
        '--refresh',
        '1',
        '--workers',
        '1',
        '--train-workers',
        '1',
        '--dagger',
        '0.5',
        '--tail',
        '1:0.25,0.75',
        '--eval-n',
        '0',
        '--seed',
        '5',
      ],
      { from: 'user' },
    );
    const before = decodePolicyFile(new Uint8Array(await readFile(init)));
    const after = decodePolicyFile(new Uint8Array(await readFile(out)));
    expect(after.manifest.config).toEqual(before.manifest.config);
    expect(after.manifest.tensors.map((t) => [t.name, t.shape])).toEqual(
      before.manifest.tensors.map((t) => [t.name, t.shape]),
    );
    expect(after.manifest.sha256).not.toBe(before.manifest.sha256);
    expect(after.manifest.metadata?.['pretrain']).toMatchObject({
      init,
      dagger: 0.5,
      steps: 3,
      tail: { steps: 1, mix: [0.25, 0.75] },
    });
    const records = (await readFile(out.replace(/\.samv$/, '.loss.jsonl'), 'utf8')).trim().split('\n');
    expect(records).toHaveLength(3);
  }, 120_000);

  it('saves the moving average with --average-decay, and the last weights beside it', async () => {
    const out = join(dir, 'avg.samv');
    const program = new Command('sam-veteran').exitOverride();
    registerPretrainCommand(program);
    const small = ['--steps', '2', '--batch', '8', '--samples', '24', '--refine-examples', '8'];
    const rest = ['--aux-examples', '8', '--refresh', '1', '--workers', '1', '--train-workers', '1'];
    await program.parseAsync(
      [
        'pretrain',
        '--out',
        out,
        ...small,
        ...rest,
        '--eval-n',
        '0',
        '--average-decay',
        '0.5',
        // The width options reach the network, the clearance the manifest.
        '--d-model',
        '24',
        '--mlp-hidden',
        '40',
        '--negative-clearance',
        '0.02',
      ],
      { from: 'user' },
    );
    const avg = decodePolicyFile(new Uint8Array(await readFile(out)));
    const last = decodePolicyFile(new Uint8Array(await readFile(join(dir, 'avg.last.samv'))));
    expect(last.manifest.config).toEqual(avg.manifest.config);
    expect(last.manifest.sha256).not.toBe(avg.manifest.sha256);
    expect(avg.manifest.metadata?.['pretrain']).toMatchObject({
      averageDecay: 0.5,
      steps: 2,
      negativeClearance: 0.02,
    });
    expect(avg.manifest.config).toMatchObject({ dModel: 24, mlpHidden: 40 });
    for (const bad of ['1', '-0.5', 'x']) {
      expect(await commandError(registerPretrainCommand, 'pretrain', ['--average-decay', bad])).toContain(
        `--average-decay "${bad}"`,
      );
    }
  }, 120_000);
});
