import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateWarmStart } from '../../cli/train/embedded-job.ts';
import { evalCacheFile, firstMismatch, readStoredEvaluation } from '../../cli/train/eval-cache.ts';
import { createLogger } from '../../core/log/index.ts';
import { PointerPolicy, ensureTf, savePolicyFile } from '../../core/policy/index.ts';
import { WorkerEnvPool } from '../../services/sam-env/index.ts';

let dir: string;
let policy: PointerPolicy;
let env: WorkerEnvPool;
const log = createLogger({ service: 'test', level: 'silent' });

beforeAll(async () => {
  await ensureTf();
  dir = await mkdtemp(join(tmpdir(), 'samv-evalcache-'));
  policy = await PointerPolicy.create({}, { seed: 3 });
  await mkdir(join(dir, 'ckpt'), { recursive: true });
  await savePolicyFile(policy, join(dir, 'ckpt', 'warm.samv'));
  env = new WorkerEnvPool({ workers: 1 });
});

afterAll(async () => {
  policy.dispose();
  await env.close();
  await rm(dir, { recursive: true, force: true });
});

const SHA = 'ab'.repeat(32);

describe('the evaluation before training, kept across runs', () => {
  it('is stored, reused only while its first episodes reproduce, and read from beside the warm start', async () => {
    const runsRoot = join(dir, 'runs');
    const opts = { evalN: 5, seed: 4, runsRoot, warmStart: join(dir, 'ckpt', 'warm.samv'), progress: false };
    const first = await evaluateWarmStart(policy, SHA, 'id-val', env, opts, log);
    const file = join(
      runsRoot,
      '.eval-cache',
      evalCacheFile({ policySha256: SHA, split: 'id-val', n: 5, seed: 4, maxRefinements: 3 }),
    );
    const stored = JSON.parse(await readFile(file, 'utf8')) as {
      summary: { gIoU: number };
      finals: number[];
    };
    expect(stored.finals).toEqual(first.finals);
    expect(stored.summary.gIoU).toBe(first.summary.gIoU);

    // A mark only the stored file carries (the summary is not re-checked) shows that it was reused.
    const marked = (finals: number[], gIoU: number) =>
      JSON.stringify({ ...stored, finals, summary: { ...stored.summary, gIoU } });
    await writeFile(file, marked(stored.finals, 0.987));
    expect((await evaluateWarmStart(policy, SHA, 'id-val', env, opts, log)).summary.gIoU).toBe(0.987);
    // Not when asked not to (the stored one is then refreshed), nor for another seed, sample count or
    // checkpoint.
    expect(
      (await evaluateWarmStart(policy, SHA, 'id-val', env, { ...opts, evalCache: false }, log)).summary.gIoU,
    ).toBe(first.summary.gIoU);
    expect((JSON.parse(await readFile(file, 'utf8')) as { summary: { gIoU: number } }).summary.gIoU).toBe(
      first.summary.gIoU,
    );
    expect((await evaluateWarmStart(policy, 'cd'.repeat(32), 'id-val', env, opts, log)).summary.gIoU).toBe(
      first.summary.gIoU,
    );
    expect((await evaluateWarmStart(policy, SHA, 'id-val', env, { ...opts, seed: 5 }, log)).summary.n).toBe(
      5,
    );
    expect((await evaluateWarmStart(policy, SHA, 'id-val', env, { ...opts, evalN: 4 }, log)).summary.n).toBe(
      4,
    );

    // A checked episode that no longer reproduces: evaluated again, and the file rewritten.
    const off = [...stored.finals];
    off[0] = (off[0] ?? 0) + 0.25;
    await writeFile(file, marked(off, 0.987));
    expect((await evaluateWarmStart(policy, SHA, 'id-val', env, opts, log)).summary.gIoU).toBe(
      first.summary.gIoU,
    );
    expect((JSON.parse(await readFile(file, 'utf8')) as { finals: number[] }).finals).toEqual(stored.finals);

    // A broken file is passed over; the copy shipped beside the warm start is read after it.
    await writeFile(file, '{ not json');
    const shipped = join(dir, 'ckpt', 'eval-cache');
    await mkdir(shipped, { recursive: true });
    await writeFile(
      join(shipped, evalCacheFile({ policySha256: SHA, split: 'id-val', n: 5, seed: 4, maxRefinements: 3 })),
      marked(stored.finals, 0.654),
    );
    expect((await evaluateWarmStart(policy, SHA, 'id-val', env, opts, log)).summary.gIoU).toBe(0.654);
    expect((await readdir(shipped)).length).toBe(1); // read only: nothing written there
  }, 120_000);
});

describe('an evaluation that cannot be stored', () => {
  it('is still returned (storing it is only an optimisation)', async () => {
    const notADir = join(dir, 'runs-file');
    await writeFile(notADir, 'a file where the runs folder would be');
    const opts = {
      evalN: 2,
      seed: 4,
      runsRoot: notADir,
      warmStart: join(dir, 'ckpt', 'warm.samv'),
      progress: false,
    };
    const r = await evaluateWarmStart(policy, SHA, 'ood-val', env, opts, log);
    expect(r.finals).toHaveLength(2);
  });
});

describe('readStoredEvaluation', () => {
  it('says why a file is passed over', async () => {
    const d = join(dir, 'skip');
    await mkdir(d, { recursive: true });
    const key = { policySha256: SHA, split: 'ood-val', n: 3, seed: 1, maxRefinements: 3 };
    const why: string[] = [];
    const onSkip = (_f: string, w: string) => why.push(w);
    const body = { format: 'sam-veteran-eval-cache', version: 1, key, summary: {}, finals: [0.1, 0.2, 0.3] };
    await writeFile(join(d, evalCacheFile(key)), JSON.stringify({ ...body, version: 99 }));
    expect(readStoredEvaluation([d], key, onSkip)).toBeUndefined();
    await writeFile(join(d, evalCacheFile(key)), JSON.stringify({ ...body, key: { ...key, seed: 2 } }));
    expect(readStoredEvaluation([d], key, onSkip)).toBeUndefined();
    await writeFile(join(d, evalCacheFile(key)), JSON.stringify({ ...body, finals: [0.1, 0.2] }));
    expect(readStoredEvaluation([d], key, onSkip)).toBeUndefined();
    await writeFile(join(d, evalCacheFile(key)), JSON.stringify(body));
    expect(readStoredEvaluation([join(d, 'absent'), d], key, onSkip)?.stored.finals).toEqual([0.1, 0.2, 0.3]);
    expect(why).toEqual([
      'format sam-veteran-eval-cache version 99 is not this one',
      'holds another evaluation',
      'has 2 per-sample IoUs, needs 3',
    ]);
    expect(firstMismatch([0.1, 0.2, 0.3], [0.1, 0.2])).toBe(-1);
    expect(firstMismatch([0.1, 0.2, 0.3], [0.1, 0.25])).toBe(1);
  });
});
