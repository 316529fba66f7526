/**
 * Cluster benchmark (`npm run bench:cluster`), one run, four figures:
 *
 *  1. Env-bound limit: transitions/s of two real `sam-env` processes (`env serve --model grabcut`)
 *     driven through GrpcEnvPort (the actors' env adapter) with groups of 8 prompts on synthetic
 *     images and enough concurrent group calls to keep both replicas busy. Median of rounds.
 *  2. Cluster: the same two replicas + a real nats-server (JetStream) + two Actors and the Learner
 *     (in this process, each on its own JetStream connection) running GRPO steps. Transitions/s is
 *     read from the actors' counters over fixed windows; ratio vs (1), target ≥ 0.8.
 *  3. Weight broadcast latency: learner `setLatest` (pointer `publishedAtMs`) → every actor has
 *     swapped that version (max over actors of the swap record's latency), p50/p99 over the run.
 *  4. Learner step time split into compute (GRPO forward/backward + AdamW) and overhead (waiting
 *     for groups, decoding, feeding tasks, publishing weights), from the learner's onStep metrics.
 *
 * The policy is a small freshly created PointerPolicy (no shipped checkpoint needed).
 * Limits: one machine; the sam-env processes, nats-server and this process (actors' sampling and
 * the learner's steps) share the same cores, so (2) is bounded by CPU contention, not only by env.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance as perf } from 'node:perf_hooks';
import { JetStreamBus } from '../core/bus/index.ts';
import { ActorConfigSchema, LearnerConfigSchema } from '../core/config/index.ts';
import { datasetFromSpec, type Sample } from '../core/data/index.ts';
import type { EnvImage, TransitionPrompt } from '../core/env/index.ts';
import { PointerPolicy, ensureTf, type PolicyConfig } from '../core/policy/index.ts';
import { Rng } from '../core/rng/index.ts';
import { rgbDigest } from '../core/wire/index.ts';
import {
  allocateLocalPorts,
  buildLocalTopology,
  ProcessSupervisor,
  startNatsServer,
  toProcessSpec,
} from '../deploy/local/index.ts';
import { Actor, GrpcEnvPort } from '../services/actor/index.ts';
import { Learner, type LearnerStepMetrics } from '../services/learner/index.ts';

/** Same images for the env-only limit and for the cluster's tasks. */
const DATASET = 'synthetic:train?n=4096&size=128';
const GROUP = 8;
const REPLICAS = 2;
const ACTORS = 2;
/** Tasks per actor at once (2 actors × 4 = 8 group calls in flight, as in the env-only phase). */
const ACTOR_CONCURRENCY = 4;
const ENV_CONCURRENCY = ACTORS * ACTOR_CONCURRENCY;
const ENV_ROUNDS = 4;
const ENV_ROUND_MS = 4_000;
const CLUSTER_WARMUP_MS = 8_000;
const CLUSTER_WINDOWS = 8;
const CLUSTER_WINDOW_MS = 5_000;

/** A small policy: quick steps and loads, still every head. */
const POLICY: Partial<PolicyConfig> = {
  viewSize: 32,
  patchSize: 4,
  dModel: 32,
  mlpHidden: 64,
  mixerLayers: 1,
  mixHidden: 32,
};

function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

/** CPU seconds (user + system) used so far by `pid` (and its descendants if `tree`), from /proc (Linux). */
function cpuSeconds(pid: number, tree = true): number {
  const children = new Map<number, number[]>();
  const own = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the ")" that closes the command name: state ppid … utime(14) stime(15).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(f[1]);
    own.set(Number(name), (Number(f[11]) + Number(f[12])) / 100);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  let total = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    total += own.get(p) ?? 0;
    if (tree) stack.push(...(children.get(p) ?? []));
  }
  return total;
}

/** Cores used per role between two calls of `sample()`. */
class CpuMeter {
  private last = new Map<string, number>();
  private lastT = performance.now();
  /** `roles`: role → pids; a negative pid means that process alone (without its children). */
  constructor(private readonly roles: () => Record<string, number[]>) {
    this.sample();
  }
  sample(): Record<string, number> {
    const now = performance.now();
    const dt = (now - this.lastT) / 1000;
    const out: Record<string, number> = {};
    const next = new Map<string, number>();
    for (const [role, pids] of Object.entries(this.roles())) {
      const s = pids.reduce((n, p) => n + cpuSeconds(Math.abs(p), p > 0), 0);
      next.set(role, s);
      out[role] = dt > 0 ? (s - (this.last.get(role) ?? s)) / dt : 0;
    }
    this.last = next;
    this.lastT = now;
    return out;
  }
}

const showCpu = (c: Record<string, number>): string =>
  Object.entries(c)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');

const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A group of 8 prompts like the actors send: a third box-only (localization), the rest a box plus
 * one or two clicks and the previous mask (mask understanding / auxiliary refinements).
 */
function groupPrompts(s: Sample, rng: Rng): TransitionPrompt[] {
  const [x1, y1, x2, y2] = s.gtBox;
  const w = s.image.width;
  const h = s.image.height;
  const refine = rng.float() >= 1 / 3;
  return Array.from({ length: GROUP }, () => {
    const j = (v: number, lim: number): number => Math.max(0, Math.min(lim, v + rng.uniform(-6, 6)));
    const box: [number, number, number, number] = [j(x1, w - 2), j(y1, h - 2), j(x2, w), j(y2, h)];
    if (box[2] <= box[0] + 1) box[2] = Math.min(w, box[0] + 2);
    if (box[3] <= box[1] + 1) box[3] = Math.min(h, box[1] + 2);
    if (!refine) return { box, points: [] };
    const pts = Array.from({ length: 1 + rng.int(2) }, (_, k) => ({
      point: [rng.uniform(x1, Math.max(x1 + 1, x2 - 1)), rng.uniform(y1, Math.max(y1 + 1, y2 - 1))] as [
        number,
        number,
      ],
      label: (k === 0 ? 1 : 0) as 0 | 1,
    }));
    return { box, points: pts, prevMask: s.gtMask };
  });
}

/** Section 1: transitions/s of the replicas alone, ENV_CONCURRENCY group calls kept in flight. */
async function envLimit(
  targets: string[],
  samples: Sample[],
  onMeasureStart: () => void,
): Promise<{ rates: number[]; callMs: number[] }> {
  const port = new GrpcEnvPort({ addresses: targets, deadlineMs: 30_000 });
  const images: EnvImage[] = samples.map((s) => ({
    digest: rgbDigest(s.image.rgb),
    width: s.image.width,
    height: s.image.height,
    rgb: s.image.rgb,
  }));
  const rng = new Rng('bench-cluster/env');
  const prompts = samples.map((s) => groupPrompts(s, rng));
  let next = 0;
  let done = 0;
  const callMs: number[] = [];
  let stopAt = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < stopAt) {
      const i = next++ % samples.length;
      const t0 = performance.now();
      const out = await port.transitionGroup(images[i] as EnvImage, prompts[i] as TransitionPrompt[]);
      callMs.push(performance.now() - t0);
      done += out.length;
    }
  };
  try {
    // Warm: info, JIT, images sent once to each replica.
    stopAt = performance.now() + 1_500;
    await Promise.all(Array.from({ length: ENV_CONCURRENCY }, worker));
    callMs.length = 0;
    onMeasureStart();
    const rates: number[] = [];
    for (let r = 0; r < ENV_ROUNDS; r++) {
      done = 0;
      const t0 = performance.now();
      stopAt = t0 + ENV_ROUND_MS;
      await Promise.all(Array.from({ length: ENV_CONCURRENCY }, worker));
      rates.push((done * 1000) / (performance.now() - t0));
    }
    return { rates, callMs };
  } finally {
    await port.close();
  }
}

async function main(): Promise<void> {
  const t00 = performance.now();
  const runDir = await mkdtemp(join(tmpdir(), 'bench-cluster-'));
  const supervisor = new ProcessSupervisor({ runDir });
  supervisor.handleSignals();
  const cleanups: (() => Promise<void>)[] = [];
  try {
    console.log(
      `cluster bench: ${REPLICAS} sam-env (grabcut) processes, ${ACTORS} actors × ${ACTOR_CONCURRENCY} tasks, ` +
        `group ${GROUP}, ${DATASET}, ${availableParallelism()} CPUs`,
    );
    const ports = await allocateLocalPorts({ samEnv: REPLICAS, actors: 0 });
    const topo = buildLocalTopology({ runDir, ports, env: { LOG_LEVEL: 'warn' } });
    const envSpecs = topo.entries.filter((e) => e.group === 'sam-env').map((e) => toProcessSpec(e));
    await Promise.all(envSpecs.map((s) => supervisor.start(s)));
    const nats = await startNatsServer({ supervisor, storeDir: join(runDir, 'nats-store') });

    const ds = await datasetFromSpec(DATASET);
    const samples = await Promise.all(Array.from({ length: 128 }, (_, i) => ds.get(i)));

    // --- 1. env alone -----------------------------------------------------------------------
    const meter = new CpuMeter(() => ({
      'sam-env×2': supervisor
        .status()
        .filter((p) => p.group === 'sam-env' && p.pid !== undefined)
        .map((p) => p.pid as number),
      'nats-server': nats.status()?.pid !== undefined ? [nats.status()?.pid as number] : [],
      'this process': [-process.pid],
    }));
    const env = await envLimit(topo.samEnvTargets, samples, () => meter.sample());
    const envCpu = meter.sample();
    const limit = median(env.rates);
    console.log('\n[1] sam-env alone (2 replicas, GrpcEnvPort, 8 group calls in flight)');
    console.log(
      `    transitions/s median ${f1(limit)} (rounds ${env.rates.map(f1).join(', ')}); ` +
        `group call p50 ${f1(median(env.callMs))} ms, p99 ${f1(quantile(env.callMs, 0.99))} ms`,
    );
    console.log(`    CPU cores used: ${showCpu(envCpu)} (this process = the gRPC driver)`);

    // --- 2. the cluster ---------------------------------------------------------------------
    await ensureTf();
    const warm = await PointerPolicy.create(POLICY, { seed: 7 });
    const prefix = `bench_${process.pid}`;
    const busL = await JetStreamBus.connect(nats.url, { prefix });
    cleanups.push(() => busL.close());
    const config = LearnerConfigSchema.parse({
      batchStates: 16,
      groupSize: GROUP,
      maxStaleness: 2,
      maxInFlight: 64,
      totalSteps: 0,
      checkpointDir: join(runDir, 'checkpoints'),
      checkpointEverySteps: 1000,
      publishEverySteps: 1,
      dataset: DATASET,
    });
    const steps: LearnerStepMetrics[] = [];
    const learner = new Learner({
      bus: busL,
      config,
      policy: warm.clone({ frozen: false }),
      reference: warm.clone(),
      runId: 'bench',
      onStep: (m) => steps.push(m),
    });
    const actors: Actor[] = [];
    for (let i = 1; i <= ACTORS; i++) {
      const bus = await JetStreamBus.connect(nats.url, { prefix });
      const envPort = new GrpcEnvPort({ addresses: topo.samEnvTargets, deadlineMs: 30_000 });
      cleanups.push(async () => {
        await envPort.close();
        await bus.close();
      });
      actors.push(
        new Actor({
          id: `actor-${i}`,
          bus,
          env: envPort,
          config: ActorConfigSchema.parse({ concurrency: ACTOR_CONCURRENCY, groupSize: GROUP }),
          seed: i,
        }),
      );
    }
    // Per version: each actor's publish → swap latency (the actors keep only their last swap).
    const swaps = new Map<number, Map<string, number>>();
    const poll = setInterval(() => {
      for (const a of actors) {
        const s = a.stats.lastSwap;
        if (!s) continue;
        let m = swaps.get(s.version);
        if (!m) swaps.set(s.version, (m = new Map()));
        if (!m.has(a.id)) m.set(a.id, s.latencyMs);
      }
    }, 5);
    cleanups.push(async () => clearInterval(poll));

    await learner.start();
    for (const a of actors) await a.start();
    const running = learner.run(0);
    cleanups.push(async () => {
      await Promise.all(actors.map((a) => a.stop()));
      await learner.stop();
      await running.catch(() => undefined);
    });

    const transitions = (): number => actors.reduce((n, a) => n + a.stats.transitions, 0);
    await sleep(CLUSTER_WARMUP_MS);
    meter.sample();
    const elu0 = perf.eventLoopUtilization();
    const firstStep = steps.length;
    const rates: number[] = [];
    const t0 = performance.now();
    let prevN = transitions();
    let prevT = t0;
    for (let w = 0; w < CLUSTER_WINDOWS; w++) {
      await sleep(CLUSTER_WINDOW_MS);
      const n = transitions();
      const t = performance.now();
      rates.push(((n - prevN) * 1000) / (t - prevT));
      prevN = n;
      prevT = t;
    }
    clearInterval(poll);
    const clusterCpu = meter.sample();
    const elu = perf.eventLoopUtilization(elu0).utilization;
    const measured = steps.slice(firstStep);
    const clusterRate = median(rates);
    const overall = (transitions() * 1000) / (performance.now() - t0 + CLUSTER_WARMUP_MS);
    const stats = actors.map((a) => a.stats);
    console.log(
      `\n[2] cluster (nats-server + ${REPLICAS} sam-env + ${ACTORS} actors + learner, ` +
        `${((CLUSTER_WINDOWS * CLUSTER_WINDOW_MS) / 1000).toFixed(0)} s after ${CLUSTER_WARMUP_MS / 1000} s warm-up)`,
    );
    console.log(
      `    transitions/s median ${f1(clusterRate)} (windows ${rates.map(f1).join(', ')}; incl. warm-up ${f1(overall)})`,
    );
    console.log(
      `    ratio vs env alone: ${(clusterRate / limit).toFixed(2)} (target ≥ 0.80)  ` +
        `steps ${learner.step}, groups published ${stats.reduce((n, s) => n + s.groupsPublished, 0)}, ` +
        `stale dropped ${learner.stats['groups.stale'] ?? 0}, task failures ${stats.reduce((n, s) => n + s.tasksFailed, 0)}`,
    );
    console.log(`    CPU cores used: ${showCpu(clusterCpu)} (this process = 2 actors + learner); its event loop busy ${(100 * elu).toFixed(0)}%`);

    // --- 3. broadcast latency ---------------------------------------------------------------
    const allSwapped: number[] = [];
    for (const [version, m] of swaps) {
      if (version <= 1 || m.size < ACTORS) continue; // version 1 was published before the actors started
      allSwapped.push(Math.max(...m.values()));
    }
    console.log('\n[3] weight broadcast latency, setLatest → all actors swapped');
    console.log(
      `    p50 ${f1(median(allSwapped))} ms, p99 ${f1(quantile(allSwapped, 0.99))} ms, max ${f1(Math.max(...allSwapped))} ms ` +
        `over ${allSwapped.length} versions (swaps per actor: ${stats.map((s) => s.weightSwaps).join(', ')})`,
    );

    // --- 4. learner step time ---------------------------------------------------------------
    const pick = (k: string): number[] => measured.map((m) => m[k] ?? NaN).filter(Number.isFinite);
    const stepMs = median(pick('time.stepMs'));
    const computeMs = median(pick('time.computeMs'));
    const overheadMs = median(pick('time.overheadMs'));
    console.log(`\n[4] learner step (${measured.length} steps measured, 16 states × ${GROUP} rollouts)`);
    console.log(
      `    step ${f1(stepMs)} ms = compute ${f1(computeMs)} ms + overhead ${f1(overheadMs)} ms ` +
        `(of which wait for groups ${f1(median(pick('time.waitMs')))}, decode ${f1(median(pick('time.decodeMs')))}, ` +
        `feed ${f1(median(pick('time.feedMs')))}, publish ${f1(median(pick('time.publishMs')))}) — medians`,
    );
    console.log(
      `    staleness mean ${f1(median(pick('staleness.mean')))}, groups/s ${f1(median(pick('groupsPerSec')))}`,
    );

    const verdict = clusterRate / limit >= 0.8 ? 'meets' : 'misses';
    console.log(
      `\nWhat limits it: the cluster ${verdict} the 0.8 target (${(clusterRate / limit).toFixed(2)}). With ` +
        `${availableParallelism()} cores, the two GrabCut replicas alone can keep both cores busy, so ` +
        `everything else in the cluster run — this process's policy sampling for ${ACTORS} actors, ` +
        `protobuf/RLE coding, the learner's GRPO step (${f1(computeMs)} ms compute per step, ` +
        `synchronous on the event loop) and nats-server — takes CPU time away from the env. ` +
        `The learner mostly waits for groups (overhead ≈ wait), i.e. it is env/actor-bound, not ` +
        `compute-bound; broadcast latency is dominated by how long the event loop is busy ` +
        `(a step or a sampling burst) before the actors' watch can fetch and load the weights.`,
    );
    console.log(`total bench time ${((performance.now() - t00) / 1000).toFixed(0)} s`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await supervisor.stopAll();
    await rm(runDir, { recursive: true, force: true });
  }
}

await main();
