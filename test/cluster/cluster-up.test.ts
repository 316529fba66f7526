/**
 * `sam-veteran cluster up` end to end, as separate OS processes (nats-server, sam-env, actor,
 * learner): Ctrl-C stops the cluster with a checkpoint and says how to resume; `--resume` starts it
 * again on the same NATS store and the learner finishes the run, one metrics line per step.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliRunOptions } from '../helpers/cli-process.ts';

/** The services' log files show the resume. */
const cli = (args: string[], watch?: CliRunOptions['watch']) =>
  runCli(args, { logLevel: 'info', ...(watch ? { watch } : {}) });

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'samv-cluster-up-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function metricSteps(runDir: string): Promise<number[]> {
  const text = await readFile(join(runDir, 'metrics.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.endsWith('}'))
    .map((l) => (JSON.parse(l) as { step: number }).step);
}

const UP = ['cluster', 'up', '--actors', '1', '--env-replicas', '1', '--steps', '24'];

describe('cluster up (real processes)', () => {
  it('stops on Ctrl-C with a checkpoint, and --resume finishes the run on the same NATS store', async () => {
    let runDir = '';
    let sent = false;
    const first = await cli([...UP, '--runs', root], async (out, interrupt) => {
      runDir ||= /run folder: +(\S+)/.exec(out)?.[1] ?? '';
      if (!sent && runDir && (await metricSteps(runDir)).length >= 4) {
        sent = true;
        interrupt();
      }
    });
    expect(sent, first.out + first.err).toBe(true);
    expect(first.code).toBe(130);
    expect(first.err).toContain(`resume with: npx sam-veteran cluster up --resume ${runDir}`);
    const stepsAtStop = await metricSteps(runDir);
    expect(stepsAtStop.length).toBeLessThan(24);
    // The learner checkpointed on the way down (SIGTERM from the supervisor).
    const ckpts = (await readdir(join(runDir, 'checkpoints'))).filter((d) => /^step-\d+$/.test(d));
    expect(ckpts.length).toBeGreaterThan(0);

    const second = await cli(['cluster', 'up', '--resume', runDir, '--runs', root]);
    expect(second.code, second.out + second.err).toBe(0);
    expect(second.out).toContain(`run folder:  ${runDir} (resumed)`);
    expect(second.out).toContain('learner exited with code 0');
    expect(await metricSteps(runDir)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    const learnerLog = await readFile(join(runDir, 'logs', 'learner.log'), 'utf8');
    expect(learnerLog).toContain('resumed from checkpoint');
    expect((await readdir(runDir)).includes('report.html')).toBe(true);
  }, 180_000);

  it('refuses to resume a folder that is not a cluster run, naming it', async () => {
    const r = await cli(['cluster', 'up', '--resume', root, '--runs', root]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--resume .*cluster\.json/);
  }, 30_000);
});
