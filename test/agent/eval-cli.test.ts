import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import sharp from 'sharp';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { registerEvalCommand } from '../../cli/commands/eval.ts';
import { ValidationError } from '../../core/errors/index.ts';

const run = promisify(execFile);
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Runs `eval` in-process with `args` on synthetic:id-val and returns what it printed. */
async function evalOutput(args: string[]): Promise<string> {
  const program = new Command('sam-veteran').exitOverride().configureOutput({ writeErr: () => {} });
  registerEvalCommand(program);
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    await program.parseAsync(['eval', '--data', 'synthetic:id-val', ...args], { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  return lines.join('\n');
}

describe('sam-veteran eval', () => {
  it('evaluates the gt-box baseline end to end and writes summary.json and episodes.png', async () => {
    const out = await mkdtemp(join(tmpdir(), 'sv-eval-'));
    dirs.push(out);
    const { stdout } = await run(
      process.execPath,
      [
        'bin/sam-veteran.js',
        'eval',
        '--policy',
        'gt-box',
        '--data',
        'synthetic:id-val?size=128',
        '--n',
        '8',
        '--batch',
        '4',
        '--workers',
        '1',
        '--out',
        out,
      ],
      { cwd: process.cwd(), timeout: 50_000 },
    );
    expect(stdout).toMatch(/gt-box on synthetic:id-val: n=8 {2}gIoU \d\.\d{3} \[/);
    expect(stdout).toContain('step  gIoU   cIoU   terminated');
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(summary).toMatchObject({
      policy: 'gt-box',
      n: 8,
      maxRefinements: 3,
      boxIou: 1,
      terminationRate: 1,
    });
    for (const k of ['gIoU', 'cIoU']) {
      expect(summary[k]).toBeGreaterThan(0);
      expect(summary[k]).toBeLessThanOrEqual(1);
    }
    const ci = summary['gIoUCi95'] as { lo: number; hi: number };
    expect(ci.lo).toBeLessThanOrEqual(summary['gIoU'] as number);
    expect(ci.hi).toBeGreaterThanOrEqual(summary['gIoU'] as number);
    const perStep = summary['perStep'] as { step: number; terminationRate: number; gIoU: number }[];
    expect(perStep.map((p) => p.terminationRate)).toEqual([0, 1, 1, 1]);
    // gt-box stops after the box: every step keeps the box step's mask.
    expect(new Set(perStep.map((p) => p.gIoU)).size).toBe(1);
    expect((await stat(join(out, 'episodes.png'))).size).toBeGreaterThan(1000);
    const meta = await sharp(join(out, 'episodes.png')).metadata();
    expect(meta.format).toBe('png');
    expect(meta.height).toBeGreaterThan(8 * 160);
  });

  it('decodes the clicks jointly with --joint, for checkpoints only', async () => {
    const common = ['--n', '4', '--batch', '4', '--workers', '1', '--sheet', '0'];
    const out = await evalOutput(['--policy', 'artifacts/policy/warm-start.samv', '--joint', '4', ...common]);
    expect(out).toMatch(
      /warm-start\.samv \(clicks decoded jointly over 4 draws\) on synthetic:id-val: n=4 {2}gIoU \d\.\d{3}/,
    );
    await expect(evalOutput(['--policy', 'gt-box', '--joint', '4', ...common])).rejects.toThrow(
      '--joint 4 applies to a checkpoint policy, not gt-box',
    );
    await expect(evalOutput(['--policy', 'gt-box', '--joint', '-1'])).rejects.toThrow('--joint "-1"');
  }, 60_000);

  it("reads the box at its heads' means with --box-decode mean, for checkpoints only", async () => {
    const common = ['--n', '8', '--batch', '8', '--workers', '1', '--sheet', '0', '--max-refinements', '0'];
    const policy = ['--policy', 'artifacts/policy/warm-start.samv'];
    const boxIou = (out: string): number => Number(/box IoU (\d\.\d+)/.exec(out)?.[1]);
    const tokens = await evalOutput([...policy, ...common]);
    const mean = await evalOutput([...policy, '--box-decode', 'mean', ...common]);
    expect(mean).toContain("(positions at the heads' means: box mean, clicks tokens)");
    expect(boxIou(tokens)).toBeGreaterThan(0);
    expect(boxIou(mean)).not.toBe(boxIou(tokens));
    await expect(evalOutput(['--policy', 'gt-box', '--click-decode', 'mean', ...common])).rejects.toThrow(
      '--click-decode "mean" applies to a checkpoint policy, not gt-box',
    );
    await expect(evalOutput([...policy, '--box-decode', 'median'])).rejects.toThrow(
      '--box-decode must be tokens or mean',
    );
  }, 60_000);

  it('names a bad --env value before loading anything', async () => {
    // In-process: the action validates --env first, so no dataset, policy or worker is created.
    const program = new Command('sam-veteran').exitOverride();
    registerEvalCommand(program);
    const err = await program
      .parseAsync(['eval', '--policy', 'gt-box', '--data', 'synthetic:id-val', '--env', 'not an address'], {
        from: 'user',
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toBe(
      '--env "not an address" must be "grabcut" or host:port[,host:port...]',
    );
  });
});
