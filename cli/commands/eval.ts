/**
 * `sam-veteran eval` — runs the agent loop of a policy on a dataset and reports gIoU, cIoU and box
 * IoU (95% bootstrap CIs) and the termination rate per refinement step; writes DIR/summary.json and
 * DIR/episodes.png (the first 16 episodes, one row each).
 *
 * Policies: a checkpoint file (greedy), `oracle` and `gt-box` (ground-truth baselines), or
 * `remote:<baseUrl>#<model>` (an OpenAI-compatible endpoint serving a VLM).
 * Environments: `grabcut` (worker threads, the default) or `host:port[,host:port…]` (sam-env gRPC).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import {
  episodeSheetPng,
  evaluatePolicy,
  formatSummary,
  greedyPolicy,
  jointPolicy,
  gtBoxPolicyFor,
  oraclePolicyFor,
  type EvalPolicy,
} from '../../core/agent/index.ts';
import { datasetFromSpec } from '../../core/data/index.ts';
import type { EnvPort } from '../../core/env/index.ts';
import { ValidationError } from '../../core/errors/index.ts';
import { loadPolicyFile, type PositionDecode } from '../../core/policy/index.ts';
import { parseRemotePolicySpec, RemotePolicy } from '../../core/policy-remote/index.ts';
import { GrpcEnvPort } from '../../services/actor/index.ts';
import { SamEnvClient, WorkerEnvPool } from '../../services/sam-env/index.ts';
import { createProgress } from '../progress.ts';
import { intOption } from '../options.ts';

interface EvalOptions {
  policy: string;
  data: string;
  n: number;
  env: string;
  workers: number;
  maxRefinements: number;
  batch: number;
  out?: string;
  seed: number;
  sheet: number;
  concurrency: number;
  timeoutMs: number;
  joint: number;
  boxDecode: PositionDecode;
  clickDecode: PositionDecode;
}

function parseDecode(flag: string): (v: string) => PositionDecode {
  return (v) => {
    if (v !== 'tokens' && v !== 'mean') throw new InvalidArgumentError(`${flag} must be tokens or mean`);
    return v;
  };
}

async function resolvePolicy(
  opts: EvalOptions,
): Promise<{ policy: EvalPolicy; name: string; remote?: RemotePolicy }> {
  if (opts.policy === 'oracle' || opts.policy === 'gt-box' || parseRemotePolicySpec(opts.policy)) {
    if (opts.joint > 0)
      throw new ValidationError('--joint', opts.joint, `applies to a checkpoint policy, not ${opts.policy}`);
    for (const [flag, v] of [
      ['--box-decode', opts.boxDecode],
      ['--click-decode', opts.clickDecode],
    ] as const) {
      if (v !== 'tokens')
        throw new ValidationError(flag, v, `applies to a checkpoint policy, not ${opts.policy}`);
    }
  }
  const decode = { box: opts.boxDecode, refine: opts.clickDecode };
  const decodeNote =
    opts.boxDecode === 'mean' || opts.clickDecode === 'mean'
      ? ` (positions at the heads' means: box ${opts.boxDecode}, clicks ${opts.clickDecode})`
      : '';
  if (opts.policy === 'oracle') return { policy: (inputs) => oraclePolicyFor(inputs), name: 'oracle' };
  if (opts.policy === 'gt-box') return { policy: gtBoxPolicyFor, name: 'gt-box' };
  const remote = parseRemotePolicySpec(opts.policy);
  if (remote) {
    const policy = new RemotePolicy({
      ...remote,
      concurrency: opts.concurrency,
      timeoutMs: opts.timeoutMs,
      seed: opts.seed,
    });
    return { policy, name: `${remote.model} @ ${remote.baseUrl}`, remote: policy };
  }
  const policy = await loadPolicyFile(opts.policy, { frozen: true });
  if (opts.joint > 0) {
    return {
      policy: jointPolicy(policy, opts.joint, `eval:${opts.seed}`, decode),
      name: `${opts.policy} (clicks decoded jointly over ${opts.joint} draws)${decodeNote}`,
    };
  }
  return { policy: greedyPolicy(policy, decode), name: `${opts.policy}${decodeNote}` };
}

function checkEnvSpec(env: string): void {
  if (env !== 'grabcut' && !/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/.test(env) && !env.startsWith('dns:///')) {
    throw new ValidationError('--env', env, 'must be "grabcut" or host:port[,host:port...]');
  }
}

function createEnv(opts: EvalOptions): EnvPort {
  if (opts.env === 'grabcut') return new WorkerEnvPool({ workers: opts.workers });
  return new GrpcEnvPort(new SamEnvClient({ addresses: opts.env }));
}

async function evalCommand(opts: EvalOptions): Promise<void> {
  checkEnvSpec(opts.env);
  const dataset = await datasetFromSpec(opts.data, { n: opts.n, seed: opts.seed });
  const n = Math.min(opts.n, dataset.size);
  const { policy, name, remote } = await resolvePolicy(opts);
  const env = createEnv(opts);
  const bar = createProgress({ label: `eval ${name}` });
  bar.start(n, 0);
  let result;
  try {
    result = await evaluatePolicy({
      policy,
      dataset,
      env,
      n,
      batch: opts.batch,
      maxRefinements: opts.maxRefinements,
      seed: opts.seed,
      keepInputs: opts.sheet,
      onProgress: (done) => bar.update(done),
    });
  } finally {
    bar.stop();
    await env.close();
  }
  console.log(formatSummary(`${name} on ${dataset.name}`, result.summary));
  console.log(
    `${n} episodes in ${result.seconds.toFixed(1)} s (${(n / result.seconds).toFixed(1)} episodes/s)`,
  );
  if (remote) {
    const s = remote.stats;
    console.log(
      `remote: ${s.actions} actions, ${s.formatErrors} format errors, ${s.retries} retries, ${s.failures} failures`,
    );
  }
  if (opts.out !== undefined) {
    await mkdir(opts.out, { recursive: true });
    const summary = {
      policy: opts.policy,
      data: opts.data,
      dataset: dataset.name,
      env: opts.env,
      maxRefinements: opts.maxRefinements,
      seed: opts.seed,
      seconds: result.seconds,
      ...result.summary,
      ...(remote ? { remote: remote.stats } : {}),
    };
    await writeFile(join(opts.out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    if (result.inputs.length > 0) {
      await writeFile(
        join(opts.out, 'episodes.png'),
        await episodeSheetPng(result.episodes, result.inputs, { maxEpisodes: opts.sheet }),
      );
    }
    console.log(
      `wrote ${join(opts.out, 'summary.json')}${result.inputs.length > 0 ? ` and ${join(opts.out, 'episodes.png')}` : ''}`,
    );
  }
}

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description(
      'Evaluate a policy with the agent loop: gIoU, cIoU, box IoU, termination rate per refinement step.',
    )
    .requiredOption('--policy <spec>', "checkpoint path | 'oracle' | 'gt-box' | remote:<baseUrl>#<model>")
    .requiredOption(
      '--data <spec>',
      'dataset spec, e.g. synthetic:id-val, reasonseg:<dir>, refcoco:<dir>:val',
    )
    .option('--n <count>', 'episodes (the first n samples)', intOption('--n', 1), 500)
    .option('--env <env>', "'grabcut' (worker threads) or sam-env host:port[,host:port...]", 'grabcut')
    .option('--workers <count>', 'GrabCut worker threads', intOption('--workers', 1), 2)
    .option(
      '--max-refinements <count>',
      'refinement steps after the box',
      intOption('--max-refinements', 0),
      3,
    )
    .option('--batch <count>', 'episodes per agent-loop batch', intOption('--batch', 1), 32)
    .option('--out <dir>', 'write summary.json and episodes.png here')
    .option(
      '--seed <seed>',
      'synthetic data seed (unless the spec sets one) and bootstrap seed',
      intOption('--seed', 0),
      0,
    )
    .option('--sheet <count>', 'episodes drawn in episodes.png', intOption('--sheet', 0), 16)
    .option(
      '--joint <draws>',
      'checkpoint policy: decode each refinement as the most probable whole action among the greedy one and this many drawn at temperature 1 (seeded by --seed); 0 = greedy',
      intOption('--joint', 0),
      0,
    )
    .option(
      '--box-decode <how>',
      "checkpoint policy: the box's position and size at the tokens' cells (tokens) or at each head's mean (mean)",
      parseDecode('--box-decode'),
      'tokens',
    )
    .option(
      '--click-decode <how>',
      "checkpoint policy: each click's offset at the token's cell (tokens) or at the offset head's mean (mean)",
      parseDecode('--click-decode'),
      'tokens',
    )
    .option('--concurrency <count>', 'remote policy: requests in flight', intOption('--concurrency', 1), 8)
    .option('--timeout-ms <ms>', 'remote policy: timeout per request', intOption('--timeout-ms', 1), 120_000)
    .action(evalCommand);
}
