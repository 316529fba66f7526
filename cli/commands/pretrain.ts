/**
 * `sam-veteran pretrain`: the supervised warm start of the embedded policy (the reference policy of
 * GRPO), with GrabCut in worker threads supplying real environment masks for the refinement targets.
 * Writes the checkpoint, the loss curve (PNG) and the records (JSONL), then evaluates the result.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { evaluatePolicy, formatSummary, greedyPolicy } from '../../core/agent/index.ts';
import { datasetFromSpec } from '../../core/data/index.ts';
import { ValidationError } from '../../core/errors/index.ts';
import {
  DEFAULT_POLICY_CONFIG,
  PointerPolicy,
  ensureTf,
  loadPolicyFile,
  savePolicyFile,
  type PolicyConfig,
} from '../../core/policy/index.ts';
import {
  DEFAULT_PRETRAIN,
  DEFAULT_PRETRAIN_POLICY,
  DENSE_CLASSES,
  POINT_TARGET_MODES,
  type PointTargetMode,
  type PretrainOptions,
  type RefineJitter,
  pretrain,
} from '../../core/pretrain/index.ts';
import { lossCurvePng } from '../../core/report/index.ts';
import { WorkerEnvPool } from '../../services/sam-env/index.ts';
import { intOption, numberOption } from '../options.ts';
import { createProgress, type Progress } from '../progress.ts';
import { DEFAULT_WARM_START } from '../train/paths.ts';

/** `--mix 0.6,0.2` → [box, refine]; both in [0, 1] with a sum of at most 1. */
function parseMix(v: string): [number, number] {
  const parts = v.split(',').map(Number);
  const [box, refine] = parts as [number, number];
  if (parts.length !== 2 || !parts.every((x) => x >= 0 && x <= 1) || box + refine > 1) {
    throw new InvalidArgumentError('expected "box,refine": two fractions in [0, 1] with sum <= 1');
  }
  return [box, refine];
}

function parseJitter(v: string): RefineJitter {
  const parts = v.split(',');
  const [lo, hi] = parts.slice(0, 2).map(Number) as [number, number];
  const scale = parts[2] ?? 'uniform';
  const ok =
    (parts.length === 2 || parts.length === 3) &&
    [lo, hi].every((x) => Number.isFinite(x) && x >= 0 && x <= 1) &&
    lo <= hi &&
    (scale === 'uniform' || (scale === 'log' && lo > 0));
  if (!ok) {
    throw new InvalidArgumentError(
      'expected "lo,hi[,uniform|log]": two fractions with 0 <= lo <= hi <= 1 (lo > 0 for log)',
    );
  }
  return { lo, hi, log: scale === 'log' };
}

function formatJitter(j: RefineJitter): string {
  return `${j.lo},${j.hi},${j.log ? 'log' : 'uniform'}`;
}

/** Options that shape the network (commander key → flag); a run from `--init` takes the checkpoint's. */
const ARCHITECTURE_OPTIONS: Readonly<Record<string, string>> = {
  patchMargin: '--patch-margin',
  crossAttn: '--cross-attn',
  convStem: '--conv-stem',
  edgeBins: '--edge-bins',
  edgeCells: '--edge-cells',
  edgeScale: '--edge-scale',
  localLayers: '--local-layers',
  localChannels: '--local-channels',
  dModel: '--d-model',
  mlpHidden: '--mlp-hidden',
  directionChannels: '--direction-channels',
  boxPositionBias: '--no-box-position-bias',
  boxPositionWords: '--no-box-position-words',
  wordFilm: '--word-film',
  boxDetail: '--box-detail',
  pointDetail: '--point-detail',
  detint: '--detint',
  maxPool: '--no-max-pool',
  viewSize: '--view-size',
  patchSize: '--patch-size',
  offsetBins: '--offset-bins',
  sizeBins: '--size-bins',
  denseBox: '--dense-box',
};

/** `--tail 600:0.3,0.6` → the last 600 steps with mix [0.3, 0.6]. */
function parseTail(v: string): { steps: number; mix: [number, number] } {
  const [n, mix, ...rest] = v.split(':');
  const steps = Number(n);
  if (rest.length > 0 || mix === undefined || !Number.isInteger(steps) || steps < 1) {
    throw new InvalidArgumentError('expected "steps:box,refine", e.g. 600:0.3,0.6');
  }
  return { steps, mix: parseMix(mix) };
}

export function registerPretrainCommand(program: Command): void {
  program
    .command('pretrain')
    .description('supervised warm start of the embedded policy (writes the reference checkpoint)')
    .option('--out <path>', 'checkpoint to write', DEFAULT_WARM_START)
    .option('--steps <n>', 'optimiser steps', intOption('--steps', 1), DEFAULT_PRETRAIN.steps)
    .option('--batch <n>', 'batch size', intOption('--batch', 1), DEFAULT_PRETRAIN.batchSize)
    .option(
      '--samples <n>',
      'initial pool of training samples',
      intOption('--samples', 1),
      DEFAULT_PRETRAIN.samples,
    )
    .option(
      '--refine-examples <n>',
      'refinement states from GrabCut masks',
      intOption('--refine-examples'),
      DEFAULT_PRETRAIN.refineExamples,
    )
    .option(
      '--aux-examples <n>',
      'auxiliary states from corrupted masks',
      intOption('--aux-examples'),
      DEFAULT_PRETRAIN.auxExamples,
    )
    .option(
      '--lr <x>',
      'peak learning rate (cosine decay)',
      numberOption('--lr', 'positive'),
      DEFAULT_PRETRAIN.learningRate,
    )
    .option(
      '--refresh <n>',
      'fresh samples per step',
      intOption('--refresh'),
      DEFAULT_PRETRAIN.refreshPerStep,
    )
    .option(
      '--aux-refresh <n>',
      'of the fresh samples of a step, how many also replace an auxiliary example (default: all)',
      intOption('--aux-refresh'),
    )
    .option(
      '--refine-refresh <n>',
      'fresh samples per step whose GrabCut refinement states replace random ones of the refinement pool',
      intOption('--refine-refresh'),
      DEFAULT_PRETRAIN.refineRefreshPerStep,
    )
    .option(
      '--mix <box,refine>',
      'fractions of each batch for box and refinement examples (the rest auxiliary)',
      parseMix,
      DEFAULT_PRETRAIN.mix,
    )
    .option(
      '--refine-jitter <lo,hi[,scale]>',
      "the jitter j of the refinement states' GT boxes (each side moved by N(0, j × side)), drawn per state from [lo, hi], uniformly or (log) uniformly in log j",
      parseJitter,
      DEFAULT_PRETRAIN.refineJitter,
    )
    .option(
      '--tail <steps:box,refine>',
      'the last steps draw their batches with another mix, e.g. 600:0.3,0.6',
      parseTail,
    )
    .option(
      '--patch-margin <px>',
      'policy architecture: context margin of each patch token in view pixels (0 = plain patches)',
      intOption('--patch-margin'),
      DEFAULT_PRETRAIN_POLICY.patchMargin,
    )
    .option(
      '--cross-attn <n>',
      'policy architecture: blocks where every patch attends to the query words (0 = pooled query only)',
      intOption('--cross-attn'),
      0,
    )
    .option(
      '--conv-stem <c>',
      'policy architecture: base channels of the convolutional stem under the patch tokens (0 = linear patches only)',
      intOption('--conv-stem'),
      DEFAULT_PRETRAIN_POLICY.convStem,
    )
    .option(
      '--edge-bins <n>',
      'policy architecture: orientation bins of the oriented edge energy added to each patch token (0 = pixels only)',
      intOption('--edge-bins'),
      DEFAULT_PRETRAIN_POLICY.edgeBins,
    )
    .option(
      '--edge-cells <n>',
      'policy architecture: cells per patch side of the edge histograms',
      intOption('--edge-cells', 1),
      DEFAULT_PRETRAIN_POLICY.edgeCells,
    )
    .option(
      '--edge-scale <n>',
      "policy architecture: the edges are measured at n times the view's resolution",
      intOption('--edge-scale', 1),
      DEFAULT_PRETRAIN_POLICY.edgeScale,
    )
    .option(
      '--local-layers <n>',
      'policy architecture: 3×3 convolution blocks over the patch grid (0 = none)',
      intOption('--local-layers'),
      DEFAULT_PRETRAIN_POLICY.localLayers,
    )
    .option(
      '--local-channels <n>',
      'policy architecture: bottleneck channels of each local block',
      intOption('--local-channels', 1),
      DEFAULT_PRETRAIN_POLICY.localChannels,
    )
    .option(
      '--d-model <n>',
      'policy architecture: width of the patch and query tokens',
      intOption('--d-model', 2),
      DEFAULT_POLICY_CONFIG.dModel,
    )
    .option(
      '--mlp-hidden <n>',
      'policy architecture: hidden width of the mixer blocks',
      intOption('--mlp-hidden', 1),
      DEFAULT_POLICY_CONFIG.mlpHidden,
    )
    .option(
      '--direction-channels <n>',
      'policy architecture: presence channels summed over what lies beyond each patch, per side (0 = none)',
      intOption('--direction-channels'),
      DEFAULT_PRETRAIN_POLICY.directionChannels,
    )
    .option(
      '--no-box-position-bias',
      'policy architecture: no position slope on the box centre (by default the query sets one, for "the leftmost …")',
    )
    .option(
      '--no-box-position-words',
      'policy architecture: the box position slope from the global context only (by default each query word also sets its own: "leftmost" by itself)',
    )
    .option(
      '--word-film',
      'policy architecture: each query word also modulates the patch features (FiLM) by its own row',
    )
    .option(
      '--box-detail',
      "policy architecture: the box's offset and size heads also read the raw pixels and edges around the chosen centre patch",
    )
    .option(
      '--point-detail',
      "policy architecture: the refinement points' offset heads also read the raw pixels, mask and edges around their chosen patch",
    )
    .option(
      '--detint <what>',
      "policy architecture: what reads the image under the mask's green tint instead of the overlay: none | edges (the edge features) | all (the pixel view too)",
      (v: string) => {
        if (!['none', 'edges', 'all'].includes(v)) {
          throw new InvalidArgumentError(`--detint must be none, edges or all (got ${JSON.stringify(v)})`);
        }
        return v;
      },
      DEFAULT_POLICY_CONFIG.detint,
    )
    .option(
      '--no-max-pool',
      'policy architecture: global context from the mean of the patches only (no max pooling)',
    )
    .option(
      '--view-size <px>',
      'policy architecture: side of the view the image is resized to',
      intOption('--view-size', 4),
      DEFAULT_POLICY_CONFIG.viewSize,
    )
    .option(
      '--patch-size <px>',
      'policy architecture: side of a patch token in view pixels',
      intOption('--patch-size', 1),
      DEFAULT_POLICY_CONFIG.patchSize,
    )
    .option(
      '--offset-bins <n>',
      'policy architecture: offset bins per axis inside a patch (positions are quantised to patch/n)',
      intOption('--offset-bins', 1),
      DEFAULT_PRETRAIN_POLICY.offsetBins,
    )
    .option(
      '--size-bins <n>',
      'policy architecture: log-spaced bins of the box width and height',
      intOption('--size-bins', 2),
      DEFAULT_PRETRAIN_POLICY.sizeBins,
    )
    .option(
      '--wrong-box <fraction>',
      'refinement episodes that start from another object’s box (the oracle then clicks the target)',
      numberOption('--wrong-box', 'probability'),
      DEFAULT_PRETRAIN.wrongBoxFraction,
    )
    .option(
      '--average-decay <d>',
      'save the moving average of the weights with this decay per step (Polyak averaging; the last weights go to <out>.last.samv); 0 = the last weights',
      (v: string) => {
        const x = numberOption('--average-decay', 'probability')(v);
        if (x === 1) throw new ValidationError('--average-decay', v, 'must be 0 (off) or below 1');
        return x;
      },
      DEFAULT_PRETRAIN.averageDecay,
    )
    .option(
      '--type-weight <x>',
      'loss weight of the refinement type token (stop / positive / negative / both)',
      numberOption('--type-weight', 'positive'),
      DEFAULT_PRETRAIN.typeWeight,
    )
    .option(
      '--point-targets <mode>',
      `targets of the clicks' patch tokens: ${POINT_TARGET_MODES.join(' | ')} (centre: the oracle's click; depth: spread over the clicked region's patches by depth; depth-sampled: also condition the offset on a patch drawn from that spread; far: a negative click at the extra region's pixel farthest from the object)`,
      (v: string) => {
        if (!(POINT_TARGET_MODES as readonly string[]).includes(v)) {
          throw new InvalidArgumentError(
            `--point-targets must be one of ${POINT_TARGET_MODES.join(', ')} (got ${JSON.stringify(v)})`,
          );
        }
        return v;
      },
      DEFAULT_PRETRAIN.pointTargets,
    )
    .option(
      '--negative-clearance <f>',
      "the oracle skips an extra region whose safest negative click is closer to the object than f × the image's long side (a click is a disk; one that close cuts the object's edge away); 0 = off",
      numberOption('--negative-clearance', 'probability'),
      DEFAULT_PRETRAIN.negativeClearance,
    )
    .option(
      '--dense-weight <x>',
      'loss weight of per-patch heads (target coverage and shape class of every patch; 0 = no dense heads)',
      numberOption('--dense-weight', 'non-negative'),
      DEFAULT_PRETRAIN.denseWeight,
    )
    .option(
      '--dense-box',
      'policy architecture: the box centre also reads the dense coverage head (needs --dense-weight > 0)',
    )
    .option(
      '--init <checkpoint>',
      'start from this checkpoint (its architecture and weights; the architecture options cannot be given) instead of a fresh network',
    )
    .option(
      '--dagger <fraction>',
      'fraction of the refinement states visited by the policy itself (its greedy box and clicks, labelled by the oracle); for --init',
      numberOption('--dagger', 'probability'),
      DEFAULT_PRETRAIN.daggerFraction,
    )
    .option('--seed <n>', 'seed', intOption('--seed'), DEFAULT_PRETRAIN.seed)
    .option('--workers <n>', 'GrabCut worker threads', intOption('--workers', 1), 2)
    .option(
      '--train-workers <n>',
      'threads that share each training step (data-parallel; 1 = this thread; results depend on it)',
      intOption('--train-workers', 1),
      DEFAULT_PRETRAIN.trainWorkers,
    )
    .option(
      '--no-fresh-worker',
      'make the fresh examples of each step on the training thread (same weights; for one-core machines)',
    )
    .option('--eval-n <n>', 'samples per split evaluated at the end (0 skips)', intOption('--eval-n'), 200)
    .action(
      async (o: Record<string, number | string | boolean | readonly [number, number]>, cmd: Command) => {
        const seed = o['seed'] as number;
        const mix = o['mix'] as readonly [number, number];
        const init = o['init'] as string | undefined;
        if (init !== undefined) {
          const given = Object.keys(ARCHITECTURE_OPTIONS).find((k) => cmd.getOptionValueSource(k) === 'cli');
          if (given !== undefined) {
            throw new ValidationError(
              ARCHITECTURE_OPTIONS[given] as string,
              o[given],
              `cannot be given with --init: the network is the checkpoint's (${init})`,
            );
          }
        }
        await ensureTf();
        const policy =
          init !== undefined
            ? await loadPolicyFile(init)
            : await PointerPolicy.create(
                {
                  ...DEFAULT_PRETRAIN_POLICY,
                  patchMargin: o['patchMargin'] as number,
                  crossAttnLayers: o['crossAttn'] as number,
                  convStem: o['convStem'] as number,
                  localLayers: o['localLayers'] as number,
                  edgeBins: o['edgeBins'] as number,
                  edgeCells: o['edgeCells'] as number,
                  edgeScale: o['edgeScale'] as number,
                  boxPositionBias: o['boxPositionBias'] !== false,
                  boxPositionWords: o['boxPositionBias'] !== false && o['boxPositionWords'] !== false,
                  wordFilm: o['wordFilm'] === true,
                  boxDetail: o['boxDetail'] === true,
                  pointDetail: o['pointDetail'] === true,
                  detint: o['detint'] as PolicyConfig['detint'],
                  localChannels: o['localChannels'] as number,
                  dModel: o['dModel'] as number,
                  mlpHidden: o['mlpHidden'] as number,
                  directionChannels: o['directionChannels'] as number,
                  globalMaxPool: o['maxPool'] as boolean,
                  viewSize: o['viewSize'] as number,
                  patchSize: o['patchSize'] as number,
                  offsetBins: o['offsetBins'] as number,
                  sizeBins: o['sizeBins'] as number,
                  denseClasses: (o['denseWeight'] as number) > 0 ? DENSE_CLASSES : 0,
                  denseBox: o['denseBox'] === true,
                },
                { seed },
              );
        if ((o['denseWeight'] as number) > 0 && policy.config.denseClasses === 0) {
          throw new ValidationError(
            '--dense-weight',
            o['denseWeight'],
            `needs dense heads, which ${init} has none of`,
          );
        }
        const env = new WorkerEnvPool({ workers: o['workers'] as number });
        const out = o['out'] as string;
        let bar: Progress | undefined;
        let phase = '';
        const t0 = Date.now();
        try {
          const { records, lastWeights } = await pretrain(policy, env, {
            ...DEFAULT_PRETRAIN,
            seed,
            steps: o['steps'] as number,
            batchSize: o['batch'] as number,
            samples: o['samples'] as number,
            refineExamples: o['refineExamples'] as number,
            refineJitter: o['refineJitter'] as unknown as RefineJitter,
            auxExamples: o['auxExamples'] as number,
            learningRate: o['lr'] as number,
            refreshPerStep: o['refresh'] as number,
            ...(o['auxRefresh'] !== undefined ? { auxRefreshPerStep: o['auxRefresh'] as number } : {}),
            refineRefreshPerStep: o['refineRefresh'] as number,
            wrongBoxFraction: o['wrongBox'] as number,
            daggerFraction: o['dagger'] as number,
            typeWeight: o['typeWeight'] as number,
            denseWeight: o['denseWeight'] as number,
            trainWorkers: o['trainWorkers'] as number,
            freshWorker: o['freshWorker'] as boolean,
            pointTargets: o['pointTargets'] as PointTargetMode,
            negativeClearance: o['negativeClearance'] as number,
            averageDecay: o['averageDecay'] as number,
            mix,
            ...(o['tail'] !== undefined
              ? { tail: o['tail'] as unknown as NonNullable<PretrainOptions['tail']> }
              : {}),
            onProgress: (p, done, total, info) => {
              if (p !== phase) {
                bar?.stop();
                phase = p;
                bar = createProgress({ label: `pretrain ${p}`, fields: ['loss'] });
                bar.start(total, done);
              }
              const loss = info?.['loss'];
              bar?.update(done, { loss: loss !== undefined ? `loss ${loss.toFixed(3)}` : '' });
            },
          });
          bar?.stop();
          await mkdir(dirname(out), { recursive: true });
          await savePolicyFile(policy, out, {
            pretrain: {
              seed,
              steps: records.length,
              batch: o['batch'],
              lr: o['lr'],
              refresh: o['refresh'],
              ...(o['auxRefresh'] !== undefined ? { auxRefresh: o['auxRefresh'] } : {}),
              refineRefresh: o['refineRefresh'],
              trainWorkers: o['trainWorkers'],
              wrongBox: o['wrongBox'],
              ...(init !== undefined ? { init } : {}),
              dagger: o['dagger'],
              typeWeight: o['typeWeight'],
              denseWeight: o['denseWeight'],
              pointTargets: o['pointTargets'],
              negativeClearance: o['negativeClearance'],
              averageDecay: o['averageDecay'],
              refineJitter: formatJitter(o['refineJitter'] as unknown as RefineJitter),
              mix,
              ...(o['tail'] !== undefined ? { tail: o['tail'] } : {}),
              minutes: (Date.now() - t0) / 60000,
            },
          });
          const base = out.replace(/\.samv$/, '');
          if (lastWeights) {
            // The last iterate, for comparison with the average (same manifest otherwise).
            const last = policy.clone();
            last.setWeights(lastWeights);
            await savePolicyFile(last, `${base}.last.samv`, { pretrain: { seed, averaged: false } });
            last.dispose();
            console.log(`last weights: ${base}.last.samv (the checkpoint holds their moving average)`);
          }
          await writeFile(`${base}.loss.jsonl`, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
          await lossCurvePng(records, ['loss', 'loss.box', 'loss.refine', 'loss.aux'], `${base}.loss.png`);
          console.log(`checkpoint: ${out} (${((Date.now() - t0) / 60000).toFixed(1)} min)`);
          console.log(`loss curve: ${base}.loss.png`);
          const n = o['evalN'] as number;
          if (n > 0) {
            for (const split of ['id-val', 'ood-val']) {
              const dataset = await datasetFromSpec(`synthetic:${split}?n=${n}`);
              const r = await evaluatePolicy({ policy: greedyPolicy(policy), dataset, env, n, batch: 64 });
              console.log(formatSummary(split, r.summary));
              await writeFile(
                join(dirname(out), `warm-start.eval.${split}.json`),
                JSON.stringify(r.summary, null, 2),
              );
            }
          }
        } finally {
          await env.close();
        }
      },
    );
}
