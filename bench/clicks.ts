/**
 * Where a policy's first click goes (`npm run bench:clicks -- --policy <file> …`): on N samples of a
 * synthetic split, the policy's greedy box goes through the embedded GrabCut environment, then on
 * that mask both the policy's greedy refinement and the oracle's are applied (one step each, the
 * same state), and the IoU after each is compared with the IoU before. It says how much of the gap
 * between the agent's clicks and the oracle's is the choice to click and how much is the place.
 *
 *   --policy <file>   checkpoint (repeatable; default the shipped warm start)
 *   --split <name>    synthetic split (default id-val)
 *   --n <n>           samples (default 300)
 *   --workers <n>     GrabCut worker threads (default 2)
 *   --box-decode <how> tokens (default) | mean: the box read at its tokens' cells or at its heads'
 *                     means (`eval --box-decode`); a tighter box changes which masks the click sees
 *   --oracle <how>    centre (default) | far: the oracle's negative click at its region's centre or
 *                     at its `far` point (the warm start's targets since 2026-12-05)
 *   --joint <k>       also decode each refinement as the most probable whole action among the
 *                     greedy one and k drawn at temperature 1 (an approximate joint mode of the
 *                     type, patch and offset tokens; seeded), reported as a second row per policy
 *
 * Prints per policy: the mean IoU after the box, after its click, after the oracle's click; on the
 * states where both click negative only, the share of its negative clicks in the oracle's patch
 * and its and the oracle's gain there and elsewhere, the share on no extra region (error regions as
 * the oracle sees them), the median distance to the oracle's point; the same for positive clicks.
 * Then per band of the IoU after the box (< 0.3, 0.3–0.7, 0.7–0.9, ≥ 0.9): states, its mean gain
 * and the oracle's, and the share of its negative clicks that land on the object itself.
 * Limits: GrabCut (~10–20 ms a call, three calls per sample) dominates; 300 samples take ~1 min
 * (`--joint 32` adds 32 refinement draws per state and a second pass: ~2 min more).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pointActionType, type BoxAction, type PointAction } from '../core/actions/index.ts';
import {
  episodeInputOf,
  jointPolicy,
  observationOf,
  oracleDecision,
  farNegativePoint,
  oracleErrorRegions,
  toEnvImage,
  type EpisodeInput,
} from '../core/agent/index.ts';
import { datasetFromSpec, isSyntheticSplit } from '../core/data/index.ts';
import type { PromptPoint, TransitionOutput } from '../core/env/index.ts';
import type { Point } from '../core/geometry/index.ts';
import { iouFromCounts, maskIntersectionUnion, type BinaryMask } from '../core/mask/index.ts';
import { ensureTf, loadPolicyBytes, type PointerPolicy } from '../core/policy/index.ts';
import { WorkerEnvPool } from '../services/sam-env/index.ts';
import { DEFAULT_WARM_START } from '../cli/train/paths.ts';

const { values: args } = parseArgs({
  options: {
    policy: { type: 'string', multiple: true },
    split: { type: 'string', default: 'id-val' },
    n: { type: 'string', default: '300' },
    workers: { type: 'string', default: '2' },
    joint: { type: 'string', default: '0' },
    'box-decode': { type: 'string', default: 'tokens' },
    oracle: { type: 'string', default: 'centre' },
  },
});
const n = Number(args.n);
if (!Number.isInteger(n) || n < 1) throw new Error(`--n "${args.n}" must be a positive integer`);
const workers = Number(args.workers);
if (!Number.isInteger(workers) || workers < 1)
  throw new Error(`--workers "${args.workers}" must be a positive integer`);
const joint = Number(args.joint);
if (!Number.isInteger(joint) || joint < 0) throw new Error(`--joint "${args.joint}" must be an integer >= 0`);
const split = args.split as string;
if (!isSyntheticSplit(split)) throw new Error(`--split "${split}" must be train, id-val or ood-val`);
const files = args.policy ?? [DEFAULT_WARM_START];
const boxDecodeArg = args['box-decode'] as string;
if (boxDecodeArg !== 'tokens' && boxDecodeArg !== 'mean')
  throw new Error(`--box-decode "${boxDecodeArg}" must be tokens or mean`);
const boxDecode: 'tokens' | 'mean' = boxDecodeArg;
const oracleMode = args.oracle as string;
if (oracleMode !== 'centre' && oracleMode !== 'far')
  throw new Error(`--oracle "${oracleMode}" must be centre or far`);

interface Placement {
  readonly samePatch: boolean;
  readonly onRegion: boolean;
  /** A negative click outside the current mask, a positive one inside it: it can change nothing. */
  readonly pointless: boolean;
  readonly distance: number;
}

interface Row {
  readonly before: number;
  readonly policy: number;
  readonly oracle: number;
  readonly policyType: string;
  readonly oracleType: string;
  /** Per click kind the policy and the oracle both chose: same patch?, on any region of that kind?, distance. */
  readonly neg?: Placement;
  readonly pos?: Placement;
  /** The policy's negative click is on the object itself. */
  readonly negOnObject?: boolean;
}

const clicks = (a: PointAction): PromptPoint[] => [
  ...(a.positive ? [{ point: a.positive, label: 1 as const }] : []),
  ...(a.negative ? [{ point: a.negative, label: 0 as const }] : []),
];

async function rowsFor(
  policy: PointerPolicy,
  inputs: readonly EpisodeInput[],
  env: WorkerEnvPool,
  draws = 0,
): Promise<Row[]> {
  const rows: Row[] = [];
  const iou = (m: BinaryMask, input: EpisodeInput): number => {
    const { intersection, union } = maskIntersectionUnion(m, input.gtMask, input.ignore);
    return iouFromCounts(intersection, union);
  };
  for (let start = 0; start < inputs.length; start += 32) {
    const batch = inputs.slice(start, start + 32);
    const boxes = policy
      .greedy(
        batch.map((s) => observationOf(s.image, s.query, null)),
        'box',
        boxDecode,
      )
      .map((a) => (a.action as BoxAction).box);
    const firsts = await Promise.all(
      batch.map((s, i) =>
        env
          .transitionGroup(toEnvImage(s.image, s.digest), [{ box: boxes[i] as BoxAction['box'], points: [] }])
          .then((o) => o[0] as TransitionOutput),
      ),
    );
    const obs = batch.map((s, i) => observationOf(s.image, s.query, (firsts[i] as TransitionOutput).mask));
    const acts = (await jointPolicy(policy, draws, `clicks-joint:${start}`).act(obs, 'refine')).map(
      (a) => a.action as PointAction,
    );
    const step = async (s: EpisodeInput, i: number, a: PointAction): Promise<number> => {
      const first = firsts[i] as TransitionOutput;
      if (clicks(a).length === 0) return iou(first.mask, s);
      const [out] = await env.transitionGroup(toEnvImage(s.image, s.digest), [
        {
          box: boxes[i] as BoxAction['box'],
          points: clicks(a),
          prevMask: first.mask,
          ...(first.lowResLogits ? { prevLogits: first.lowResLogits } : {}),
        },
      ]);
      return iou((out as TransitionOutput).mask, s);
    };
    const done = await Promise.all(
      batch.map(async (s, i) => {
        const mask = (firsts[i] as TransitionOutput).mask;
        const p = acts[i] as PointAction;
        const d = oracleDecision(mask, s.gtMask);
        const o =
          oracleMode === 'far' && d.negativeRegion
            ? { ...d.action, negative: farNegativePoint(d.negativeRegion, s.gtMask) }
            : d.action;
        const [after, oracleAfter] = await Promise.all([step(s, i, p), step(s, i, o)]);
        const { missed, extra } = oracleErrorRegions(mask, s.gtMask);
        const inMask = (q: Point): boolean => mask.get(...pixelOf(q, mask)) > 0;
        const compare = (
          mine: Point | null,
          theirs: Point | null,
          regions: typeof extra,
          label: 0 | 1,
        ): Placement | undefined =>
          mine && theirs
            ? {
                samePatch:
                  policy.codec.encodePoint(mine, s.image)[0] === policy.codec.encodePoint(theirs, s.image)[0],
                onRegion: regions.some((r) => r.contains(mine)),
                pointless: inMask(mine) !== (label === 0),
                distance: Math.hypot(mine[0] - theirs[0], mine[1] - theirs[1]),
              }
            : undefined;
        const neg = compare(p.negative, o.negative, extra, 0);
        const pos = compare(p.positive, o.positive, missed, 1);
        return {
          before: iou(mask, s),
          policy: after,
          oracle: oracleAfter,
          policyType: pointActionType(p),
          oracleType: pointActionType(o),
          ...(neg ? { neg } : {}),
          ...(pos ? { pos } : {}),
          ...(p.negative ? { negOnObject: s.gtMask.get(...pixelOf(p.negative, mask)) > 0 } : {}),
        } satisfies Row;
      }),
    );
    rows.push(...done);
  }
  return rows;
}

const pixelOf = (q: Point, m: BinaryMask): [number, number] => [
  Math.min(m.width - 1, Math.floor(q[0])),
  Math.min(m.height - 1, Math.floor(q[1])),
];

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '–');
const pct = (k: number, of: number): string => (of > 0 ? `${((100 * k) / of).toFixed(0)}%` : '–');

function report(name: string, rows: readonly Row[]): void {
  console.log(
    `\n${name}: ${rows.length} states (its greedy box's GrabCut mask; box ${boxDecode}, oracle ${oracleMode})`,
  );
  console.log(
    `  IoU after the box ${f3(mean(rows.map((r) => r.before)))} → its click ${f3(mean(rows.map((r) => r.policy)))}, the oracle's ${f3(mean(rows.map((r) => r.oracle)))}`,
  );
  const agree = rows.filter((r) => r.policyType === r.oracleType).length;
  const stopsWrong = rows.filter((r) => r.policyType === 'stop' && r.oracleType !== 'stop').length;
  console.log(
    `  action type as the oracle's: ${pct(agree, rows.length)}; stops where the oracle clicks: ${stopsWrong}`,
  );
  for (const kind of ['neg', 'pos'] as const) {
    const both = rows.filter((r) => r[kind] !== undefined);
    const label = kind === 'neg' ? 'negative' : 'positive';
    if (both.length === 0) {
      console.log(`  ${label} clicks: none where both click ${label}`);
      continue;
    }
    const same = both.filter((r) => r[kind]?.samePatch);
    const other = both.filter((r) => !r[kind]?.samePatch);
    const gain = (rs: readonly Row[], who: 'policy' | 'oracle'): string =>
      f3(mean(rs.map((r) => r[who] - r.before)));
    console.log(
      `  ${label} clicks, ${both.length} states where both click ${label}: in the oracle's patch ${pct(same.length, both.length)} ` +
        `(gain ${gain(same, 'policy')} vs the oracle's ${gain(same, 'oracle')}), elsewhere gain ${gain(other, 'policy')} vs ${gain(other, 'oracle')}; ` +
        `on no ${kind === 'neg' ? 'extra' : 'missed'} region ${pct(both.filter((r) => !r[kind]?.onRegion).length, both.length)} ` +
        `(${kind === 'neg' ? 'outside' : 'inside'} the mask ${pct(both.filter((r) => r[kind]?.pointless).length, both.length)}); ` +
        `median distance to the oracle's point ${median(both.map((r) => r[kind]?.distance ?? NaN)).toFixed(1)} px`,
    );
  }
  console.log(
    "  by the IoU after the box: states, gain of its click / the oracle's, its negative clicks on the object",
  );
  for (const [lo, hi] of [
    [0, 0.3],
    [0.3, 0.7],
    [0.7, 0.9],
    [0.9, 1.01],
  ] as const) {
    const rs = rows.filter((r) => r.before >= lo && r.before < hi);
    const negs = rs.filter((r) => r.negOnObject !== undefined);
    console.log(
      `    [${lo}, ${Math.min(1, hi)}): ${rs.length} states, ${f3(mean(rs.map((r) => r.policy - r.before)))} / ${f3(mean(rs.map((r) => r.oracle - r.before)))}, ` +
        `${pct(negs.filter((r) => r.negOnObject).length, negs.length)} of ${negs.length}`,
    );
  }
}

await ensureTf();
const dataset = await datasetFromSpec(`synthetic:${split}?n=${n}`);
const inputs: EpisodeInput[] = [];
for (let i = 0; i < n; i++) inputs.push(episodeInputOf(await dataset.get(i)));
const env = new WorkerEnvPool({ workers });
try {
  for (const file of files) {
    const policy = loadPolicyBytes(new Uint8Array(await readFile(file)), file);
    try {
      report(file, await rowsFor(policy, inputs, env));
      if (joint > 0) {
        report(
          `${file}, clicks decoded jointly (greedy + ${joint} draws)`,
          await rowsFor(policy, inputs, env, joint),
        );
      }
    } finally {
      policy.dispose();
    }
  }
} finally {
  await env.close();
}
