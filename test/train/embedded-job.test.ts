import { appendFile, copyFile, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateFinalIous, resumeEmbeddedJob, runEmbeddedJob } from '../../cli/train/embedded-job.ts';
import { silentLogger } from '../../core/log/index.ts';
import { ValidationError } from '../../core/errors/index.ts';
import { RunFolder } from '../../core/report/index.ts';
import {
  PointerPolicy,
  decodePolicyFile,
  ensureTf,
  loadPolicyBytes,
  savePolicyFile,
} from '../../core/policy/index.ts';

let dir: string;
let init: string;

beforeAll(async () => {
  await ensureTf();
  dir = await mkdtemp(join(tmpdir(), 'samv-train-'));
  init = join(dir, 'init.samv');
  const policy = await PointerPolicy.create({}, { seed: 3 });
  await savePolicyFile(policy, init);
  policy.dispose();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = {
  budgetMinutes: 5,
  actors: 1,
  envWorkers: 1,
  seed: 2,
  name: 'test',
  progress: false,
  learner: { batchStates: 2, groupSize: 4, checkpointEverySteps: 1 },
  actor: { groupSize: 4 },
};

describe('embedded training job', () => {
  it('evaluates, trains, evaluates again and writes a complete run folder', async () => {
    const result = await runEmbeddedJob({ ...base, warmStart: init, steps: 2, evalN: 6, runsRoot: dir });
    expect(result.steps).toBe(2);
    const lines = (await readFile(join(result.runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { step: number }).step)).toEqual([1, 2]);
    for (const split of ['id-val', 'ood-val']) {
      expect(result.before[split]?.n).toBe(6);
      expect(result.after[split]?.n).toBe(6);
      // The paired change is the difference of the two gIoUs (same samples, same order).
      const c = result.change[split];
      expect(c?.n).toBe(6);
      expect(c?.mean).toBeCloseTo(
        (result.after[split]?.gIoU ?? NaN) - (result.before[split]?.gIoU ?? NaN),
        9,
      );
      expect(c?.ci95.lo).toBeLessThanOrEqual(c?.mean ?? NaN);
    }
    // The result is the weight average; the last iterate is written and evaluated beside it.
    const avg = decodePolicyFile(new Uint8Array(await readFile(join(result.runDir, 'policy.samv'))));
    const last = decodePolicyFile(new Uint8Array(await readFile(join(result.runDir, 'policy-last.samv'))));
    expect(avg.manifest.metadata?.['result']).toBe('weight average');
    expect(avg.manifest.sha256).not.toBe(last.manifest.sha256);
    expect(result.lastIterate?.after['ood-val']?.n).toBe(6);
    expect(result.lastIterate?.change['id-val']?.n).toBe(6);
    const html = await readFile(result.reportPath, 'utf8');
    expect(html).toContain('<img');
    expect((await stat(join(result.runDir, 'eval-after.json'))).size).toBeGreaterThan(0);
    expect((await stat(join(result.runDir, 'eval-change.json'))).size).toBeGreaterThan(0);
    // Per-sample scores after training (for pooling runs: bench/grpo-runs.ts) match the change, and
    // evaluating the result again the way that script does for older runs gives them exactly.
    const scores = JSON.parse(
      await readFile(join(result.runDir, 'eval-after-scores.json'), 'utf8'),
    ) as Record<'result' | 'last', Record<string, number[]>>;
    const beforeScores = JSON.parse(
      await readFile(join(result.runDir, 'eval-before-scores.json'), 'utf8'),
    ) as Record<string, number[]>;
    const meanOf = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    for (const split of ['id-val', 'ood-val']) {
      expect(scores.result[split]).toHaveLength(6);
      expect(scores.last[split]).toHaveLength(6);
      expect(meanOf(scores.result[split] ?? []) - meanOf(beforeScores[split] ?? [])).toBeCloseTo(
        result.change[split]?.mean ?? NaN,
        9,
      );
    }
    const again = await evaluateFinalIous(
      loadPolicyBytes(new Uint8Array(await readFile(join(result.runDir, 'policy.samv')))),
      'ood-val',
      { evalN: 6, seed: base.seed, progress: false },
      silentLogger,
    );
    expect(again).toEqual(scores.result['ood-val']);
    // The evaluation before is kept for later runs of the same warm start (test/train/eval-cache).
    expect((await readdir(join(dir, '.eval-cache'))).filter((f) => f.endsWith('.json'))).toHaveLength(2);
  }, 240_000);

  it('names the missing warm-start checkpoint and how to build it', async () => {
    const missing = join(dir, 'nope.samv');
    await expect(
      runEmbeddedJob({ ...base, warmStart: missing, steps: 1, evalN: 0, runsRoot: dir }),
    ).rejects.toThrow(ValidationError);
    await expect(
      runEmbeddedJob({ ...base, warmStart: missing, steps: 1, evalN: 0, runsRoot: dir }),
    ).rejects.toThrow(/--init .*nope\.samv.*npm run pretrain/);
  });

  it('stops on abort with a checkpoint, and --resume finishes the run: each step once, evaluation before reused', async () => {
    const warm = join(dir, 'warm-resume.samv');
    await copyFile(init, warm);
    const abort = new AbortController();
    const first = await runEmbeddedJob({
      ...base,
      warmStart: warm,
      steps: 4,
      evalN: 6,
      runsRoot: dir,
      name: 'resume',
      signal: abort.signal,
      onStep: (m) => {
        if (m.step === 2) abort.abort();
      },
    });
    expect(first.interrupted).toBe(true);
    expect(first.steps).toBeGreaterThanOrEqual(2);
    expect(first.steps).toBeLessThan(4);
    const runDir = first.runDir;
    const files = await readdir(runDir);
    expect(files).toContain('job.json');
    expect(files).not.toContain('eval-after.json');
    expect(files).not.toContain('policy.samv');
    expect(files).not.toContain('run.lock'); // released when the job returned
    expect((await readdir(join(runDir, 'checkpoints'))).length).toBeGreaterThan(0);

    // What a crash between a checkpoint and the next leaves: steps past it, a torn last line.
    await appendFile(join(runDir, 'metrics.jsonl'), '{"step":99}\n{"step":1');
    const beforeMtime = (await stat(join(runDir, 'eval-before.json'))).mtimeMs;

    // Never two jobs on one run: a resume while the folder is held is refused, naming the holder.
    const held = RunFolder.open(runDir).lock();
    await expect(resumeEmbeddedJob(runDir, { progress: false })).rejects.toThrow(/in use by pid/);
    held();

    const resumed = await resumeEmbeddedJob(runDir, { progress: false });
    expect(resumed.interrupted).toBe(false);
    expect(resumed.runDir).toBe(runDir);
    expect(resumed.steps).toBe(4);
    const steps = (await readFile(join(runDir, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { step: number }).step);
    expect(steps).toEqual([1, 2, 3, 4]);
    expect((await stat(join(runDir, 'eval-before.json'))).mtimeMs).toBe(beforeMtime);
    expect(resumed.before).toEqual(first.before);
    for (const split of ['id-val', 'ood-val']) expect(resumed.change[split]?.n).toBe(6);
    expect(files.length).toBeLessThan((await readdir(runDir)).length); // result, evaluations, report

    // Resuming a finished run trains nothing and evaluates the same result again, identically.
    const again = await resumeEmbeddedJob(runDir, { progress: false });
    expect(again.steps).toBe(4);
    expect(again.after).toEqual(resumed.after);
    expect((await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(4);

    // The KL reference must not change under a resumed run.
    const other = await PointerPolicy.create({}, { seed: 4 });
    await savePolicyFile(other, warm);
    other.dispose();
    await expect(resumeEmbeddedJob(runDir, { progress: false })).rejects.toThrow(
      /--init .*warm-resume\.samv.*has changed since run/,
    );
  }, 240_000);

  it('refuses to resume a folder that is not a train run', async () => {
    await expect(resumeEmbeddedJob(dir, { progress: false })).rejects.toThrow(/--resume .*job\.json/);
    await expect(resumeEmbeddedJob(join(dir, 'missing'), { progress: false })).rejects.toThrow(
      /does not exist/,
    );
  });
});
