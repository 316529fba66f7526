/**
 * What GRPO's mask-understanding groups say about stopping (`npm run bench:mask-groups -- [options]`).
 *
 * Runs N mask-understanding tasks of the training split exactly as an actor does (`runActorTask`,
 * GrabCut at 128 in this thread, the actor's default state options and dynamic sampling), and prints,
 * per case (GOOD ENOUGH / NEEDS REFINEMENT, after the oracle probe) and per action (stop / click):
 * rollouts, mean reward, mean advantage against the group mean, and mean IoU change; then the
 * policy's own stop probability per case (64 draws per state at temperature 1). Run it on the warm
 * start and on a trained policy to see where training moved the decision to stop.
 *
 *   --policy <file>      policy checkpoint (default: the shipped warm start)
 *   --n <n>              tasks (default 300)
 *   --temperature <x>    rollout temperature (default 0.7, the train default)
 *   --rewards <json>     reward settings (keys of core/reward/reward-config.ts)
 *   --seed <n>           task seeds start here (default 1000)
 *
 * Limits: one process, GrabCut's OpenCV RNG makes env-derived figures vary slightly between runs; 300
 * tasks take about a minute on 2 cores.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ActorConfigSchema } from '../core/config/index.ts';
import { datasetFromSpec } from '../core/data/index.ts';
import { ensureTf, loadPolicyBytes, repeatRows } from '../core/policy/index.ts';
import { rewardConfig } from '../core/reward/index.ts';
import { Rng } from '../core/rng/index.ts';
import { maskToRle, rgbDigest, type Task } from '../core/wire/index.ts';
import { runActorTask, SampleResolver } from '../services/actor/index.ts';
import { LocalEnv } from '../services/sam-env/src/local-env.ts';
import { createGrabCutModel } from '../services/sam-env/src/models/grabcut.ts';

const { values: args } = parseArgs({
  options: {
    policy: { type: 'string', default: 'artifacts/policy/warm-start.samv' },
    n: { type: 'string', default: '300' },
    temperature: { type: 'string', default: '0.7' },
    rewards: { type: 'string', default: '{}' },
    seed: { type: 'string', default: '1000' },
  },
});
const n = Number(args.n);
const seed0 = Number(args.seed);
if (!Number.isInteger(n) || n < 1) throw new Error(`--n "${args.n}" must be a positive integer`);
if (!Number.isInteger(seed0)) throw new Error(`--seed "${args.seed}" must be an integer`);

await ensureTf();
const policy = loadPolicyBytes(new Uint8Array(await readFile(args.policy)), args.policy);
const rewards = rewardConfig(JSON.parse(args.rewards) as object);
const sampling = ActorConfigSchema.parse({ sampling: { temperature: Number(args.temperature) } }).sampling;
const env = new LocalEnv(createGrabCutModel());
const spec = 'synthetic:train?seed=1';
const dataset = await datasetFromSpec(spec);
const resolver = new SampleResolver();

type Case = 'GOOD ENOUGH' | 'NEEDS REFINEMENT';
type Cell = { rollouts: number; reward: number; advantage: number; iouChange: number };
const cells = new Map<string, Cell>();
const stopProbability = new Map<Case, { sum: number; states: number }>();
let zeroVariance = 0;

for (let i = 0; i < n; i++) {
  const s = await dataset.get(i);
  const task: Task = {
    taskId: `mask-groups-${i}-${randomUUID().slice(0, 8)}`,
    kind: 'mask_understanding',
    dataset: spec,
    sampleId: String(i),
    observation: { image: { digest: rgbDigest(s.image.rgb) }, query: s.query, points: [], step: 0 },
    gtMask: maskToRle(s.gtMask),
    gtBox: s.gtBox,
    groupSize: 8,
    seed: seed0 + i,
    minPolicyVersion: 0,
    createdAtMs: Date.now(),
  };
  const { group, state } = await runActorTask(task, {
    actorId: 'bench',
    env,
    weights: { current: () => ({ policy, version: 0 }) },
    resolver,
    rewards,
    sampling,
    envModelId: 'grabcut@128',
    attempt: 1,
  });
  const rs = group.rollouts;
  const mean = rs.reduce((a, r) => a + r.reward, 0) / rs.length;
  if (rs.every((r) => r.reward === rs[0]?.reward)) zeroVariance++;
  const kase: Case = group.goodEnough ? 'GOOD ENOUGH' : 'NEEDS REFINEMENT';
  for (const r of rs) {
    const a = r.action;
    const stop = a?.kind === 'refine' && a.positive === null && a.negative === null;
    const key = `${kase.padEnd(17)} ${stop ? 'stop ' : 'click'}`;
    const c = cells.get(key) ?? { rollouts: 0, reward: 0, advantage: 0, iouChange: 0 };
    c.rollouts++;
    c.reward += r.reward;
    c.advantage += r.reward - mean;
    c.iouChange += r.iou - state.iouBefore;
    cells.set(key, c);
  }
  const draws = policy.sample(repeatRows(policy.prepare([state.policyInput]), [64]), {
    kind: 'refine',
    rng: new Rng(`stop-probability-${seed0 + i}`),
    temperature: 1,
  });
  const stops = draws.filter(
    (d) => d.action.kind === 'points' && d.action.positive === null && d.action.negative === null,
  ).length;
  const p = stopProbability.get(kase) ?? { sum: 0, states: 0 };
  p.sum += stops / draws.length;
  p.states++;
  stopProbability.set(kase, p);
}
await env.close();

console.log(
  `mask-understanding groups: ${n} states, ${args.policy}, rollout temperature ${args.temperature}, ` +
    `${zeroVariance} groups with no reward variance`,
);
console.log(`${'case'.padEnd(17)} action  rollouts  reward  advantage  IoU change`);
for (const [key, c] of [...cells].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(
    `${key}  ${String(c.rollouts).padStart(8)}  ${(c.reward / c.rollouts).toFixed(3).padStart(6)}  ` +
      `${(c.advantage / c.rollouts).toFixed(3).padStart(9)}  ${(c.iouChange / c.rollouts).toFixed(4).padStart(10)}`,
  );
}
for (const [kase, p] of stopProbability) {
  console.log(
    `policy's stop probability on ${kase} states (temperature 1): ${(p.sum / p.states).toFixed(3)} (${p.states} states)`,
  );
}
