/**
 * Where a warm-start training step's time goes, kernel by kernel (`npm run bench:kernels -- [--batch 32]
 * [--policy <file>]`): the gradient computation of one data-parallel half-batch (the pretrain recipe's
 * default architecture, or a checkpoint's) on synthetic training samples, half box examples and half
 * refinement examples (corrupted GT masks with the oracle's action), profiled with tf.profile.
 *
 * Prints the step's median wall time without the profiler (the baseline, 9 runs), the median time of
 * applying a gradient (clipping and AdamW, the other half of a data-parallel worker's step), the profiled run's
 * kernel time as a ratio of it, the kernels by total time (calls, ms), and the matrix products by
 * shape with their rate in GFLOP/s (2·M·K·N per call), so a slow shape stands out against the fast ones
 * of the same run. Limits: one thread; the WASM backend's per-kernel timer includes its dispatch cost,
 * so thousands of tiny kernels show as their real cost, not zero.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { observationOf, oracleDecision } from '../core/agent/index.ts';
import { generateSynthetic } from '../core/data/index.ts';
import { corruptMask } from '../core/mask/index.ts';
import { PointerPolicy, ensureTf, loadPolicyBytes, tf, type ActionTokens } from '../core/policy/index.ts';
import { DEFAULT_PRETRAIN, DEFAULT_PRETRAIN_POLICY } from '../core/pretrain/index.ts';
import { Rng } from '../core/rng/index.ts';

const { values } = parseArgs({
  options: { batch: { type: 'string', default: '32' }, policy: { type: 'string' } },
});
const batch = Number(values.batch);
if (!Number.isInteger(batch) || batch < 2)
  throw new Error(`--batch must be an integer >= 2 (got ${values.batch})`);

await ensureTf();
const policy = values.policy
  ? loadPolicyBytes(new Uint8Array(await readFile(values.policy)), values.policy)
  : await PointerPolicy.create(DEFAULT_PRETRAIN_POLICY, { seed: 1 });
const rng = new Rng('bench-kernels');
const observations = [];
const targets: ActionTokens[] = [];
for (let i = 0; i < batch; i++) {
  const { sample: s } = generateSynthetic('train', i, { seed: 1 });
  if (i % 2 === 0) {
    observations.push(observationOf(s.image, s.query, null));
    targets.push(policy.codec.encodeAction({ kind: 'box', box: s.gtBox }, s.image));
  } else {
    const { mask } = corruptMask(s.gtMask, rng, { cleanProbability: 0.2, operations: [1, 3] });
    observations.push(observationOf(s.image, s.query, mask));
    targets.push(policy.codec.encodeAction(oracleDecision(mask, s.gtMask).action, s.image));
  }
}
const prepared = policy.prepare(observations);
const loss = () =>
  policy.supervisedLoss(prepared, targets, {
    smoothing: DEFAULT_PRETRAIN.smoothing,
    typeWeight: DEFAULT_PRETRAIN.typeWeight,
  });
const step = (): void => {
  const { grads } = policy.computeGradients(loss);
  if (grads.size === 0) throw new Error('no gradients');
};
for (let i = 0; i < 3; i++) step();
const times: number[] = [];
for (let i = 0; i < 9; i++) {
  const t = performance.now();
  step();
  times.push(performance.now() - t);
}
const wall = [...times].sort((a, b) => a - b)[4] as number;
// The other half of a data-parallel step on each worker: clip and apply a gradient (AdamW).
const { grads: sampleGrads } = policy.computeGradients(loss);
const applyTimes: number[] = [];
for (let i = 0; i < 12; i++) {
  const t = performance.now();
  policy.applyGradients(sampleGrads);
  applyTimes.push(performance.now() - t);
}
const applyMs = applyTimes.slice(3).sort((a, b) => a - b)[4] as number;
const info = await tf.profile(() => step());

type Row = { ms: number; calls: number };
const add = (m: Map<string, Row>, key: string, ms: number): void => {
  const r = m.get(key) ?? { ms: 0, calls: 0 };
  r.ms += ms;
  r.calls++;
  m.set(key, r);
};
const byKernel = new Map<string, Row>();
const byShape = new Map<string, Row & { flops: number }>();
let total = 0;
for (const k of info.kernels) {
  const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  total += ms;
  add(byKernel, k.name, ms);
  if (k.name === 'BatchMatMul' || k.name === '_FusedMatMul') {
    const [a, b] = k.inputShapes as number[][];
    const key = JSON.stringify([a, b]);
    const flops = 2 * (a ?? []).reduce((x, y) => x * y, 1) * ((b ?? []).at(-1) ?? 0);
    const r = byShape.get(key) ?? { ms: 0, calls: 0, flops };
    r.ms += ms;
    r.calls++;
    byShape.set(key, r);
  }
}
console.log(`batch ${batch}: computeGradients median ${wall.toFixed(1)} ms (9 runs, no profiler)`);
console.log(
  `applyGradients (clip + AdamW, ${sampleGrads.size} weights) median ${applyMs.toFixed(1)} ms (9 runs)`,
);
console.log(
  `profiled: ${info.kernels.length} kernels, ${total.toFixed(1)} ms of kernel time = ${(total / wall).toFixed(2)} of the median step`,
);
console.log('\nkernel                       ms  calls  share');
for (const [name, r] of [...byKernel].sort((x, y) => y[1].ms - x[1].ms).slice(0, 20)) {
  console.log(
    `${name.padEnd(24)} ${r.ms.toFixed(1).padStart(7)} ${String(r.calls).padStart(6)}  ${((100 * r.ms) / total).toFixed(0)}%`,
  );
}
console.log('\nmatrix product [A shape, B shape]          ms  calls  GFLOP/s');
for (const [shape, r] of [...byShape].sort((x, y) => y[1].ms - x[1].ms).slice(0, 15)) {
  const rate = r.ms > 0 ? (r.flops * r.calls) / (r.ms * 1e6) : 0;
  console.log(
    `${shape.padEnd(38)} ${r.ms.toFixed(1).padStart(7)} ${String(r.calls).padStart(6)}  ${rate.toFixed(1).padStart(7)}`,
  );
}
policy.dispose();
