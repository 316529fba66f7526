/**
 * What a policy's dense heads see (`npm run bench:dense-heads -- --policy <file> [options]`): on N
 * samples of a synthetic split (box observations: the image and the query, no mask), how well each
 * patch's shape is recognised and where the referred object is found, against the per-patch targets
 * the warm start trains them on (core/pretrain/dense-targets.ts). The heads read the same patch
 * features as the action heads, so this shows how far the trunk tells shapes apart, which is what
 * limits the box (README, "Warm start").
 *
 *   --policy <file>   checkpoint with dense heads (pretrain --dense-weight > 0)
 *   --split <name>    synthetic split (default id-val)
 *   --n <n>           samples (default 300)
 *
 * Prints: shape accuracy over patches that are ≥ 30% one shape (chance 1/7 among shapes), per-shape
 * recall and the share of such patches called background, and the patch-level IoU of "covers ≥ 30%
 * of the patch" between the coverage head (p > 0.5) and the target. Limits: one thread; 300 samples
 * take a few seconds.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { observationOf } from '../core/agent/index.ts';
import { SHAPES, generateSynthetic, isSyntheticSplit } from '../core/data/index.ts';
import { ensureTf, loadPolicyBytes } from '../core/policy/index.ts';
import { DENSE_CLASSES, denseTargetsOf } from '../core/pretrain/index.ts';

const { values: args } = parseArgs({
  options: {
    policy: { type: 'string' },
    split: { type: 'string', default: 'id-val' },
    n: { type: 'string', default: '300' },
  },
});
if (!args.policy) throw new Error('--policy <file> is required (a checkpoint with dense heads)');
const n = Number(args.n);
if (!Number.isInteger(n) || n < 1) throw new Error(`--n "${args.n}" must be a positive integer`);
const split = args.split as string;
if (!isSyntheticSplit(split)) throw new Error(`--split "${split}" must be train, id-val or ood-val`);

await ensureTf();
const policy = loadPolicyBytes(new Uint8Array(await readFile(args.policy)), args.policy);
const C = DENSE_CLASSES;
if (policy.config.denseClasses !== C) {
  throw new Error(`--policy ${args.policy} has denseClasses ${policy.config.denseClasses}, expected ${C}`);
}
const grid = policy.codec.grid;
const P = grid * grid;
const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
let tp = 0;
let fp = 0;
let fn = 0;
const batch = 32;
for (let start = 0; start < n; start += batch) {
  const items = Array.from({ length: Math.min(batch, n - start) }, (_, k) =>
    generateSynthetic(split, start + k),
  );
  const pred = policy.densePredictions(items.map(({ sample: s }) => observationOf(s.image, s.query, null)));
  items.forEach(({ sample, scene }, b) => {
    const t = denseTargetsOf(scene, sample.gtMask, grid);
    for (let p = 0; p < P; p++) {
      const row = (a: Float32Array, off: number): number => {
        let best = 0;
        for (let c = 1; c < C; c++) if ((a[off + c] as number) > (a[off + best] as number)) best = c;
        return best;
      };
      const truth = row(t.classes, p * C);
      if (truth !== 0 && (t.classes[p * C + truth] as number) >= 0.3) {
        const guess = row(pred.classes, (b * P + p) * C);
        (confusion[truth] as number[])[guess] = ((confusion[truth] as number[])[guess] as number) + 1;
      }
      const isTarget = (t.coverage[p] as number) >= 0.3;
      const called = (pred.coverage[b * P + p] as number) > 0.5;
      if (isTarget && called) tp++;
      else if (called) fp++;
      else if (isTarget) fn++;
    }
  });
}
let right = 0;
let total = 0;
console.log(`${args.policy} on synthetic:${split}, ${n} samples, ${grid}×${grid} patches`);
console.log('shape      patches  recall  called background');
SHAPES.forEach((shape, i) => {
  const r = confusion[i + 1] as number[];
  const all = r.reduce((a, v) => a + v, 0);
  right += r[i + 1] as number;
  total += all;
  console.log(
    `${shape.padEnd(10)} ${String(all).padStart(7)}  ${((r[i + 1] as number) / Math.max(1, all)).toFixed(3)}  ${((r[0] as number) / Math.max(1, all)).toFixed(3)}`,
  );
});
console.log(
  `shape accuracy over ${total} patches ≥ 30% one shape: ${(right / Math.max(1, total)).toFixed(3)} (chance ${(1 / SHAPES.length).toFixed(3)})`,
);
console.log(
  `target patches (≥ 30% covered) found by the coverage head: IoU ${(tp / Math.max(1, tp + fp + fn)).toFixed(3)} (tp ${tp}, fp ${fp}, fn ${fn})`,
);
policy.dispose();
