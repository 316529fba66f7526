/**
 * Where a policy's box goes, per query template (`npm run bench:grounding -- --policy <file> …`):
 * the greedy box on N samples of a synthetic split, scored against the target's box, and against
 * the box of whichever object of the scene it fits best. The first says how good the box is; the
 * two together say why it is not better: the share of boxes on the right object (IoU > 0.5 with the
 * target) is grounding, the IoU with the best-fitting object is precision. Several policies are
 * scored on the same samples, the first one as the baseline of the paired differences.
 *
 *   --policy <file>   checkpoint (repeatable; default the shipped warm start)
 *   --split <name>    synthetic split (default id-val)
 *   --n <n>           samples (default 1000)
 *
 * Prints per template and overall: samples, box IoU, hit rate, best-object IoU, and for every
 * policy after the first the paired change of box IoU with its 95% bootstrap interval. Limits: one
 * thread, policy inference only (no environment); 1000 samples take about 20 s per policy.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { observationOf, pairedDifference } from '../core/agent/index.ts';
import { generateSynthetic, isSyntheticSplit } from '../core/data/index.ts';
import { boxIou, type Box } from '../core/geometry/index.ts';
import type { BoxAction } from '../core/actions/index.ts';
import { ensureTf, loadPolicyBytes } from '../core/policy/index.ts';
import { DEFAULT_WARM_START } from '../cli/train/paths.ts';

const { values: args } = parseArgs({
  options: {
    policy: { type: 'string', multiple: true },
    split: { type: 'string', default: 'id-val' },
    n: { type: 'string', default: '1000' },
  },
});
const n = Number(args.n);
if (!Number.isInteger(n) || n < 1) throw new Error(`--n "${args.n}" must be a positive integer`);
const split = args.split as string;
if (!isSyntheticSplit(split)) throw new Error(`--split "${split}" must be train, id-val or ood-val`);
const files = args.policy ?? [DEFAULT_WARM_START];

await ensureTf();
const policies = await Promise.all(
  files.map(async (f) => loadPolicyBytes(new Uint8Array(await readFile(f)), f)),
);

interface Row {
  readonly template: string;
  /** Per policy: IoU with the target's box, IoU with the best-fitting object's box. */
  readonly target: number[];
  readonly best: number[];
}
const rows: Row[] = [];
const batch = 32;
for (let start = 0; start < n; start += batch) {
  const items = Array.from({ length: Math.min(batch, n - start) }, (_, k) =>
    generateSynthetic(split, start + k),
  );
  const obs = items.map(({ sample: s }) => observationOf(s.image, s.query, null));
  const boxes = policies.map((p) => p.greedy(obs, 'box').map((a) => (a.action as BoxAction).box));
  items.forEach(({ sample, scene }, b) => {
    const objectBoxes: Box[] = scene.objects.map((o) => {
      const xs = o.polygon.map((q) => q[0]);
      const ys = o.polygon.map((q) => q[1]);
      return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
    });
    const target: number[] = [];
    const best: number[] = [];
    for (const bs of boxes) {
      const box = bs[b] as Box;
      target.push(boxIou(box, sample.gtBox));
      best.push(Math.max(...objectBoxes.map((o) => boxIou(box, o))));
    }
    rows.push({ template: String(sample.meta['template']), target, best });
  });
}

const mean = (xs: readonly number[]): number => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length);
const templates = [...new Set(rows.map((r) => r.template))].sort();
console.log(`synthetic:${split}, ${n} samples; policies: ${files.map((f, i) => `[${i}] ${f}`).join(', ')}`);
console.log(
  `${'template'.padEnd(22)} ${'n'.padStart(5)}  ` +
    files.map((_, i) => `[${i}] box   hit   best`).join('  ') +
    (files.length > 1 ? '   box change vs [0] (95% CI)' : ''),
);
for (const t of [...templates, 'all']) {
  const sel = t === 'all' ? rows : rows.filter((r) => r.template === t);
  const cols = files.map((_, i) => {
    const box = mean(sel.map((r) => r.target[i] as number));
    const hit = mean(sel.map((r) => ((r.target[i] as number) > 0.5 ? 1 : 0)));
    const best = mean(sel.map((r) => r.best[i] as number));
    return `    ${box.toFixed(3)} ${hit.toFixed(3)} ${best.toFixed(3)}`;
  });
  const changes = files.slice(1).map((_, j) => {
    const d = pairedDifference(
      sel.map((r) => r.target[0] as number),
      sel.map((r) => r.target[j + 1] as number),
      1000,
      1,
    );
    const sign = d.mean >= 0 ? '+' : '';
    return `[${j + 1}] ${sign}${d.mean.toFixed(3)} [${d.ci95.lo.toFixed(3)}, ${d.ci95.hi.toFixed(3)}]`;
  });
  console.log(
    `${t.padEnd(22)} ${String(sel.length).padStart(5)}  ${cols.join('  ')}   ${changes.join('  ')}`,
  );
}
for (const p of policies) p.dispose();
