import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import {
  ProcessSupervisor,
  allocateLocalPorts,
  actorEntry,
  buildLocalTopology,
  cpusOf,
  formatCpuList,
  parseCpuList,
  pinProcess,
  pinnedSpec,
  toProcessSpec,
} from '../../deploy/local/index.ts';

const cores = availableParallelism();
const IDLE = 'console.log("up"); setInterval(() => {}, 1000);';

const dirs: string[] = [];
const supervisors: ProcessSupervisor[] = [];
afterEach(async () => {
  for (const s of supervisors.splice(0)) await s.stopAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('CPU lists', () => {
  it('parses single CPUs, ranges and lists into sorted distinct numbers', () => {
    expect(parseCpuList('f', '0', 8)).toEqual([0]);
    expect(parseCpuList('f', '1-3', 8)).toEqual([1, 2, 3]);
    expect(parseCpuList('f', '5, 0-1,1', 8)).toEqual([0, 1, 5]);
  });

  it('formats them back as taskset writes them', () => {
    expect(formatCpuList([5, 0, 1, 2])).toBe('0-2,5');
    expect(formatCpuList([3])).toBe('3');
    expect(formatCpuList([0, 2, 4, 5, 6])).toBe('0,2,4-6');
    expect(parseCpuList('f', formatCpuList([0, 2, 4, 5, 6]), 8)).toEqual([0, 2, 4, 5, 6]);
  });

  it.each([
    ['', 'must be a CPU list'],
    ['a', '"a"'],
    ['1-', '"1-"'],
    ['3-1', 'runs backwards'],
    ['0,9', 'CPU 9, but this machine has CPUs 0-7'],
  ])('rejects %j naming the field and the value', (text, why) => {
    const err = (() => {
      try {
        parseCpuList('--env-cpus', text, 8);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('--env-cpus');
    expect((err as Error).message).toContain('--env-cpus');
    expect((err as Error).message).toContain(why);
  });
});

describe('pinning processes (taskset)', () => {
  it('starts a pinned spec on exactly its CPUs, under the command’s own pid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpu-pin-'));
    dirs.push(dir);
    const sup = new ProcessSupervisor({ runDir: dir });
    supervisors.push(sup);
    const last = cores - 1;
    const spec = pinnedSpec({ name: 'idle', command: process.execPath, args: ['-e', IDLE] }, [last]);
    await sup.start({ ...spec, readiness: { kind: 'log', pattern: 'up' } });
    const pid = sup.status().find((p) => p.name === 'idle')?.pid as number;
    expect(cpusOf(pid)).toEqual([last]);
    // taskset execs node: the supervised pid is node itself, so stopping it stops the program.
    expect(cpusOf(process.pid).length).toBe(cores);
    await sup.stop('idle');
    expect(sup.status().find((p) => p.name === 'idle')?.state).not.toBe('running');
  });

  it('moves a running process and its threads, and its later children follow', async () => {
    const child = spawn(
      process.execPath,
      [
        '-e',
        `process.stdin.once('data', () => { const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); console.log(c.pid); }); setInterval(() => {}, 1000);`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    try {
      await new Promise((r) => setTimeout(r, 200));
      pinProcess(child.pid as number, [0]);
      expect(cpusOf(child.pid as number)).toEqual([0]);
      child.stdin.write('go\n');
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      const grandchild = Number(line.toString().trim());
      expect(cpusOf(grandchild)).toEqual([0]);
      process.kill(grandchild);
    } finally {
      child.kill();
    }
  });

  it('rejects an empty CPU set naming the field', () => {
    expect(() => pinnedSpec({ name: 'x', command: 'true' }, [], '--env-cpus')).toThrow(/--env-cpus/);
  });
});

describe('pinned local topology', () => {
  it('pins the replicas to the env CPUs and nats, learner and actors (also added ones) to the service CPUs', async () => {
    const ports = await allocateLocalPorts();
    const t = buildLocalTopology({
      runDir: '/tmp/run-cpus',
      ports,
      cpus: { samEnv: [0], services: [1, 2, 3] },
    });
    const cpusByName = Object.fromEntries(t.entries.map((e) => [e.name, e.cpus]));
    expect(cpusByName).toEqual({
      nats: [1, 2, 3],
      'sam-env-1': [0],
      'sam-env-2': [0],
      learner: [1, 2, 3],
      'actor-1': [1, 2, 3],
      'actor-2': [1, 2, 3],
    });
    expect(actorEntry(t, 3, 9999).cpus).toEqual([1, 2, 3]);
    const env = toProcessSpec(t.entries[1]!);
    expect(env.command).toBe('taskset');
    expect(env.args?.slice(0, 3)).toEqual(['-c', '0', process.execPath]);
    expect(env.args).toContain('serve');
    const nats = toProcessSpec(t.entries[0]!);
    expect(nats.args?.slice(0, 3)).toEqual(['-c', '1-3', 'nats-server']);
  });

  it('leaves everything unpinned without the option', async () => {
    const t = buildLocalTopology({ runDir: '/tmp/run-cpus', ports: await allocateLocalPorts() });
    expect(t.entries.every((e) => e.cpus === undefined)).toBe(true);
    expect(t.entries.map((e) => toProcessSpec(e).command)).not.toContain('taskset');
  });
});
