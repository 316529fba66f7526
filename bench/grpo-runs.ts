/**
 * Pools the gIoU change of several `train` runs from the same warm start (e.g. the same defaults
 * with different --seed): each run's per-sample change on id-val and ood-val, and the change of
 * the runs' mean, with paired bootstrap intervals over the samples. One run's interval answers
 * "did this run improve?"; the pooled one "does the recipe improve, over training's randomness?".
 *
 *   npm run bench:grpo-runs -- runs/A runs/B runs/C [--which result|last] [--n N] [--splits ood-val]
 *
 * With --n (more samples than the runs were evaluated on), the warm start and every run are
 * evaluated again on the first N samples: the way to narrow the sample noise, which pooling runs
 * does not.
 * Per-sample scores come from each run's eval-after-scores.json; runs made before that file
 * existed are evaluated again here (their policy.samv / policy-last.samv, exactly as `train` does:
 * greedy, ≤ 3 refinements, GrabCut workers, the run's eval n and seed), which takes ~2 min per split
 * and run on two cores. The limit is the evaluation samples: every run is scored on the same ones,
 * so pooling narrows the training noise, not the sample noise.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateFinalIous } from '../cli/train/embedded-job.ts';
import { pairedDifference } from '../core/agent/index.ts';
import { ValidationError } from '../core/errors/index.ts';
import { createLogger } from '../core/log/index.ts';
import { ensureTf, loadPolicyBytes } from '../core/policy/index.ts';

type Split = 'id-val' | 'ood-val';
const args = process.argv.slice(2);
const flags = new Map<string, string>();
const dirs: string[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i] as string;
  if (a.startsWith('--')) flags.set(a, args[++i] ?? '');
  else dirs.push(a);
}
const which = flags.get('--which') ?? 'result';
if (which !== 'result' && which !== 'last') {
  throw new ValidationError('--which', which, 'must be result or last');
}
const nFlag = flags.has('--n') ? Number(flags.get('--n')) : undefined;
if (nFlag !== undefined && !(Number.isInteger(nFlag) && nFlag > 0)) {
  throw new ValidationError('--n', flags.get('--n'), 'must be a positive integer');
}
const SPLITS = (flags.get('--splits') ?? 'id-val,ood-val').split(',') as Split[];
for (const sp of SPLITS) {
  if (sp !== 'id-val' && sp !== 'ood-val') {
    throw new ValidationError('--splits', sp, 'must be id-val and/or ood-val');
  }
}
if (dirs.length === 0) {
  console.error(
    'usage: npm run bench:grpo-runs -- <run-dir> [<run-dir> …] [--which result|last] [--n N] [--splits id-val,ood-val]',
  );
  process.exit(2);
}

const readJson = (dir: string, file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
const fmt = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;
const ci = (d: ReturnType<typeof pairedDifference>): string =>
  `${fmt(d.mean)} [${fmt(d.ci95.lo)}, ${fmt(d.ci95.hi)}]`;

await ensureTf();
const log = createLogger({ service: 'bench-grpo-runs', level: 'warn' });
let before: Record<string, number[]> | undefined;
const after: Record<string, number[][]> = { 'id-val': [], 'ood-val': [] };
type Job = { warmStartSha256: string; options: { seed: number; evalN: number; warmStart: string } };
const first = readJson(dirs[0] as string, 'job.json') as Job;
if (nFlag !== undefined) {
  // The warm start on the first N samples, as the runs' evaluation before training would be.
  const policy = loadPolicyBytes(
    new Uint8Array(readFileSync(first.options.warmStart)),
    first.options.warmStart,
  );
  before = {};
  for (const split of SPLITS) {
    console.log(`evaluating the warm start ${first.options.warmStart} on ${split}, n=${nFlag}`);
    before[split] = await evaluateFinalIous(
      policy,
      split,
      { evalN: nFlag, seed: first.options.seed, progress: false },
      log,
    );
  }
  policy.dispose();
  // The runs' own evaluation covered the first samples of the same datasets: they must agree.
  const stored = readJson(dirs[0] as string, 'eval-before-scores.json') as Record<string, number[]>;
  for (const split of SPLITS) {
    const own = stored[split] ?? [];
    const k = Math.min(own.length, nFlag);
    const same = own.slice(0, k).every((v, i) => Math.abs(v - (before?.[split]?.[i] as number)) <= 1e-9);
    console.log(
      `${split}: the first ${k} samples reproduce the runs' evaluation before training: ${same ? 'yes' : 'NO'}`,
    );
  }
}
for (const dir of dirs) {
  const job = readJson(dir, 'job.json') as Job;
  if (job.warmStartSha256 !== first.warmStartSha256) {
    throw new ValidationError(
      `${dir}/job.json warmStartSha256`,
      job.warmStartSha256,
      `differs from ${dirs[0]}'s`,
    );
  }
  const evalN = nFlag ?? job.options.evalN;
  const b =
    nFlag !== undefined
      ? (before as Record<string, number[]>)
      : (readJson(dir, 'eval-before-scores.json') as Record<string, number[]>);
  if (!before) before = b;
  for (const split of SPLITS) {
    const x = before[split] ?? [];
    const y = b[split] ?? [];
    if (x.length !== y.length || x.some((v, i) => Math.abs(v - (y[i] as number)) > 1e-9)) {
      throw new ValidationError(
        `${dir}/eval-before-scores.json`,
        split,
        `differs from ${dirs[0]}'s: not the same warm start and samples`,
      );
    }
  }
  const file = join(dir, 'eval-after-scores.json');
  const stored = existsSync(file)
    ? (readJson(dir, 'eval-after-scores.json')[which] as Record<string, number[]>)
    : undefined;
  const policyFile = join(dir, which === 'result' ? 'policy.samv' : 'policy-last.samv');
  for (const split of SPLITS) {
    let finals = stored?.[split];
    // With --n, stored scores count only if they cover the first N samples.
    if (finals && nFlag !== undefined) finals = finals.length >= nFlag ? finals.slice(0, nFlag) : undefined;
    if (!finals) {
      const why = stored?.[split]
        ? `stored scores cover ${stored[split].length} samples`
        : 'no stored scores';
      console.log(`${dir}: evaluating ${policyFile} on ${split}, n=${evalN} (${why})`);
      const policy = loadPolicyBytes(new Uint8Array(readFileSync(policyFile)), policyFile);
      finals = await evaluateFinalIous(
        policy,
        split,
        { evalN, seed: job.options.seed, progress: false },
        log,
      );
      policy.dispose();
    }
    after[split]?.push(finals);
  }
}

console.log(
  `\ngIoU change after − before (${which === 'result' ? "the runs' results (weight average)" : 'last weights'}), paired bootstrap 95%:`,
);
for (const split of SPLITS) {
  const b = (before as Record<string, number[]>)[split] as number[];
  const runs = after[split] as number[][];
  runs.forEach((a, k) =>
    console.log(`  ${split.padEnd(7)} ${dirs[k]}: ${ci(pairedDifference(b, a, 1000, 1))}`),
  );
  const pooled = b.map((_, i) => runs.reduce((s, a) => s + (a[i] as number), 0) / runs.length);
  const d = pairedDifference(b, pooled, 1000, 1);
  const positive = runs.filter((a) => pairedDifference(b, a, 1000, 1).mean > 0).length;
  console.log(
    `  ${split.padEnd(7)} mean of ${runs.length} runs: ${ci(d)} (n=${b.length}; ${positive} of ${runs.length} runs above 0)`,
  );
}
