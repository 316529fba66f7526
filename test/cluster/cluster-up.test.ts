/**
 * `sam-veteran cluster up` end to end, as separate OS processes (nats-server, sam-env, actor,
 * learner): Ctrl-C stops the cluster with a checkpoint and says how to resume; `--resume` starts it
 * again on the same NATS store and the learner finishes the run, one metrics line per step.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerClusterCommand } from '../../cli/commands/cluster.ts';
import { cpusOf } from '../../deploy/local/index.ts';
import { runCli, type CliRunOptions } from '../helpers/cli-process.ts';
import { commandError } from '../helpers/command-error.ts';

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
/** The services on the last CPU, the replica on the first (the same CPU on a one-CPU machine). */
const SERVICE_CPU = availableParallelism() - 1;

/**
 * Pid of the running learner of `runDir` (its command line names the run folder), once it runs as
 * itself: before taskset has set the affinity and exec'd, the same pid is still `taskset -c …` with
 * the parent's CPUs.
 */
function learnerPid(runDir: string): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (basename(argv[0] ?? '') === 'taskset') continue;
      if (argv.includes('learner') && argv.includes(runDir)) return Number(name);
    } catch {
      // exited meanwhile
    }
  }
  return undefined;
}

describe('cluster up (real processes)', () => {
  it('stops on Ctrl-C with a checkpoint, and --resume finishes the run on the same NATS store', async () => {
    let runDir = '';
    let sent = false;
    let learnerCpus: number[] | undefined;
    const pin = ['--env-cpus', '0', '--service-cpus', String(SERVICE_CPU)];
    const first = await cli([...UP, ...pin, '--runs', root], async (out, interrupt) => {
      runDir ||= /run folder: +(\S+)/.exec(out)?.[1] ?? '';
      const pid = runDir && !learnerCpus ? learnerPid(runDir) : undefined;
      if (pid !== undefined) learnerCpus = cpusOf(pid);
      if (!sent && runDir && (await metricSteps(runDir)).length >= 4) {
        sent = true;
        interrupt();
      }
    });
    expect(sent, first.out + first.err).toBe(true);
    expect(first.code).toBe(130);
    expect(first.out).toContain(`cpus:        sam-env 0, services ${SERVICE_CPU}`);
    expect(learnerCpus).toEqual([SERVICE_CPU]);
    expect(first.err).toContain(`resume with: npx sam-veteran cluster up --resume ${runDir}`);
    const stepsAtStop = await metricSteps(runDir);
    expect(stepsAtStop.length).toBeLessThan(24);
    // The learner checkpointed on the way down (SIGTERM from the supervisor).
    const ckpts = (await readdir(join(runDir, 'checkpoints'))).filter((d) => /^step-\d+$/.test(d));
    expect(ckpts.length).toBeGreaterThan(0);

    const second = await cli(['cluster', 'up', '--resume', runDir, '--runs', root]);
    expect(second.code, second.out + second.err).toBe(0);
    expect(second.out).toContain(`run folder:  ${runDir} (resumed)`);
    // The pinning is part of the run's job: resumed without the flags, it is kept.
    expect(second.out).toContain(`cpus:        sam-env 0, services ${SERVICE_CPU}`);
    expect(second.out).toContain('learner exited with code 0');
    expect(await metricSteps(runDir)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    const learnerLog = await readFile(join(runDir, 'logs', 'learner.log'), 'utf8');
    expect(learnerLog).toContain('resumed from checkpoint');
    expect((await readdir(runDir)).includes('report.html')).toBe(true);
  }, 180_000);

  it('names the flag and the value of a CPU list this machine cannot have', async () => {
    const cpus = availableParallelism();
    const msg = await commandError(registerClusterCommand, 'cluster', ['up', '--env-cpus', `0-${cpus}`]);
    expect(msg).toContain(`--env-cpus "0-${cpus}"`);
    expect(msg).toContain(`CPU ${cpus}, but this machine has CPUs`);
    expect(await commandError(registerClusterCommand, 'cluster', ['up', '--service-cpus', 'x'])).toContain(
      '--service-cpus "x"',
    );
  });

  it('refuses to resume a folder that is not a cluster run, naming it', async () => {
    const r = await cli(['cluster', 'up', '--resume', root, '--runs', root]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--resume .*cluster\.json/);
  }, 30_000);
});
