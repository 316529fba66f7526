/**
 * CPU affinity for local processes (Linux, util-linux `taskset`): keeps the sam-env replicas on
 * their own cores so the actors' sampling and the learner's steps do not take the env's CPU, as
 * separate GPU nodes would in a real cluster. Lists use taskset's syntax: `0`, `0-3`, `0,2,4-5`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ValidationError } from '../../core/errors/index.ts';
import type { ProcessSpec } from './managed-process.ts';

/**
 * Parses a CPU list (`0`, `1-3`, `0,2,4-5`) into sorted distinct CPU numbers below `cpuCount`.
 * ValidationError naming `field` and the value for anything else.
 */
export function parseCpuList(field: string, text: string, cpuCount = availableParallelism()): number[] {
  const fail = (why: string): never => {
    throw new ValidationError(field, text, why);
  };
  if (typeof text !== 'string' || text.trim() === '') fail('must be a CPU list such as 0, 1-3 or 0,2-3');
  const cpus = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) fail(`has "${part}", which is not a CPU number or range (use e.g. 0, 1-3 or 0,2-3)`);
    const lo = Number(m?.[1]);
    const hi = m?.[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) fail(`has the range ${lo}-${hi}, which runs backwards`);
    if (hi >= cpuCount) fail(`names CPU ${hi}, but this machine has CPUs 0-${cpuCount - 1}`);
    for (let c = lo; c <= hi; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** taskset's form of a CPU set: `[0, 1, 2, 5]` → `0-2,5`. */
export function formatCpuList(cpus: readonly number[]): string {
  const s = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && (s[j + 1] as number) === (s[j] as number) + 1) j++;
    parts.push(j === i ? String(s[i]) : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

let tasksetChecked: boolean | undefined;

/** Whether `taskset` runs here (Linux with util-linux). */
export function hasTaskset(): boolean {
  if (tasksetChecked === undefined) {
    try {
      execFileSync('taskset', ['-V'], { stdio: 'ignore' });
      tasksetChecked = true;
    } catch {
      tasksetChecked = false;
    }
  }
  return tasksetChecked;
}

/** A CPU set taskset can pin to: at least one CPU, and taskset on PATH. */
function checkPinnable(field: string, cpus: readonly number[]): void {
  if (cpus.length === 0) throw new ValidationError(field, '', 'must name at least one CPU');
  if (!hasTaskset()) {
    throw new ValidationError(
      field,
      formatCpuList(cpus),
      'needs `taskset` (util-linux; apt-get install -y util-linux) to pin processes, and it is not on PATH',
    );
  }
}

/**
 * The same process spec started under `taskset -c <cpus>`: taskset sets the affinity and execs the
 * command, so the supervised pid is the command's own and every thread it starts stays on `cpus`.
 */
export function pinnedSpec(spec: ProcessSpec, cpus: readonly number[], field = 'cpus'): ProcessSpec {
  checkPinnable(field, cpus);
  return {
    ...spec,
    command: 'taskset',
    args: ['-c', formatCpuList(cpus), spec.command, ...(spec.args ?? [])],
  };
}

/** Moves every thread of running process `pid` (and threads it starts later) onto `cpus`. */
export function pinProcess(pid: number, cpus: readonly number[], field = 'cpus'): void {
  checkPinnable(field, cpus);
  execFileSync('taskset', ['-a', '-p', '-c', formatCpuList(cpus), String(pid)], { stdio: 'ignore' });
}

/** The CPUs process `pid` may run on (Linux: /proc/<pid>/status `Cpus_allowed_list`). */
export function cpusOf(pid: number): number[] {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(status);
  if (!line) throw new Error(`/proc/${pid}/status has no Cpus_allowed_list`);
  return parseCpuList('Cpus_allowed_list', (line[1] as string).trim(), Number.MAX_SAFE_INTEGER);
}
