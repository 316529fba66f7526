/**
 * `sam-veteran train` as a user runs it, in a child process: Ctrl-C (SIGINT) while training finishes
 * the step, checkpoints and prints how to resume (exit 130); `--resume` completes the run.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as cli } from '../helpers/cli-process.ts';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'samv-train-int-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const JOB = ['--steps', '30', '--eval-n', '0', '--batch-states', '2', '--group-size', '4', '--actors', '1'];

describe('train: Ctrl-C and --resume (child process)', () => {
  it('checkpoints on SIGINT, tells how to resume, and --resume completes every step once', async () => {
    let sent = false;
    const first = await cli(['train', ...JOB, '--runs', root, '--no-progress'], {
      watch: (out, interrupt) => {
        if (!sent && out.includes('train step 5/30')) {
          sent = true;
          interrupt();
        }
      },
    });
    expect(sent).toBe(true);
    expect(first.err).toContain('finishing the current step and checkpointing');
    expect(first.code).toBe(130);
    const m =
      /interrupted at step (\d+) \(checkpoint saved\); resume with: npx sam-veteran train --resume (\S+)/.exec(
        first.out,
      );
    expect(m, first.out).not.toBeNull();
    const [, stepText, runDir] = m as RegExpExecArray;
    expect(Number(stepText)).toBeGreaterThanOrEqual(5);
    expect(Number(stepText)).toBeLessThan(30);

    // Changing the run's options on resume is refused, naming the flag.
    const refused = await cli(['train', '--resume', runDir!, '--steps', '50']);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/--steps.*50.*cannot be changed when resuming/);

    const second = await cli(['train', '--resume', runDir!, '--no-progress']);
    expect(second.code, second.err).toBe(0);
    expect(second.out).toContain(`run folder: ${runDir}`);
    const steps = (await readFile(join(runDir!, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { step: number }).step);
    expect(steps).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  }, 180_000);
});
