import { describe, expect, it } from 'vitest';
import { pointActionType, type PointActionType } from '../../core/actions/index.ts';
import { ValidationError } from '../../core/errors/index.ts';
import type { Box, Point } from '../../core/geometry/index.ts';
import type { SampledAction } from '../../core/policy/index.ts';
import {
  dynamicSample,
  sampleBoxGroup,
  sampleRefineGroup,
  typeDrawWeights,
  type ActionSampler,
} from '../../services/actor/index.ts';

function boxAction(box: Box): SampledAction {
  return {
    tokens: { kind: 'box', ids: [0, 0, 0, 0] },
    logprobs: new Float32Array(4),
    action: { kind: 'box', box },
  };
}

const P: Point = [5, 5];
function pointAction(type: PointActionType): SampledAction {
  const positive = type === 'positive' || type === 'both' ? P : null;
  const negative = type === 'negative' || type === 'both' ? P : null;
  return {
    tokens: { kind: 'refine', ids: [0] },
    logprobs: new Float32Array(1),
    action: { kind: 'points', positive, negative },
  };
}

/** A sampler that replays a fixed script and records the batch sizes it was asked for. */
function scripted(script: readonly SampledAction[]): ActionSampler & { calls: number[] } {
  let pos = 0;
  const calls: number[] = [];
  const f: ActionSampler = (n: number) => {
    calls.push(n);
    const out: SampledAction[] = [];
    for (let i = 0; i < n; i++) out.push(script[(pos + i) % script.length] as SampledAction);
    pos += n;
    return out;
  };
  return Object.assign(f, { calls });
}

const typeOf = (a: SampledAction): PointActionType => {
  if (a.action.kind !== 'points') throw new Error('not a point action');
  return pointActionType(a.action);
};

describe('sampleBoxGroup (localization de-duplication)', () => {
  it('draws all candidates in one call and drops near-duplicates of kept boxes', () => {
    // Four distinct boxes, each followed by a near copy (IoU > 0.9) of itself.
    const base: Box[] = [
      [0, 0, 10, 10],
      [20, 20, 40, 40],
      [50, 0, 60, 30],
      [0, 50, 30, 60],
    ];
    const script = base.flatMap((b) => [boxAction(b), boxAction([b[0], b[1], b[2] + 0.2, b[3]])]);
    const draw = scripted(script);
    const r = sampleBoxGroup(draw, { groupSize: 4, candidates: 8, duplicateBoxIou: 0.9 });
    expect(draw.calls).toEqual([8]);
    expect(r.samplesDrawn).toBe(8);
    expect(r.distinct).toBe(4);
    expect(r.indices).toEqual([0, 2, 4, 6]);
    expect(r.chosen.map((a) => (a.action.kind === 'box' ? a.action.box : null))).toEqual(base);
  });

  it('fills the group with duplicates in draw order when fewer than G boxes are distinct', () => {
    const a: Box = [0, 0, 10, 10];
    const b: Box = [30, 30, 50, 50];
    const draw = scripted([
      boxAction(a),
      boxAction(a),
      boxAction(b),
      boxAction(a),
      boxAction(b),
      boxAction(a),
    ]);
    const r = sampleBoxGroup(draw, { groupSize: 4, candidates: 6, duplicateBoxIou: 0.9 });
    expect(r.distinct).toBe(2);
    // kept: 0 (a), 2 (b); duplicates in draw order: 1, 3.
    expect(r.indices).toEqual([0, 1, 2, 3]);
    expect(r.chosen).toHaveLength(4);
  });

  it('draws at least G candidates even when configured with fewer', () => {
    const draw = scripted([boxAction([0, 0, 5, 5]), boxAction([10, 10, 20, 20])]);
    const r = sampleBoxGroup(draw, { groupSize: 4, candidates: 2, duplicateBoxIou: 0.9 });
    expect(draw.calls).toEqual([4]);
    expect(r.chosen).toHaveLength(4);
  });
});

describe('sampleRefineGroup (action-type coverage)', () => {
  it('keeps drawing batches until all four types appeared, then covers each type once', () => {
    // The rare types show up only in the third batch of 4.
    const script = [
      ...Array<PointActionType>(8).fill('positive'),
      'positive',
      'stop',
      'negative',
      'both',
    ].map((t) => pointAction(t as PointActionType));
    const draw = scripted(script);
    const r = sampleRefineGroup(draw, { groupSize: 4, maxDraws: 64 });
    expect(draw.calls).toEqual([4, 4, 4]);
    expect(r.samplesDrawn).toBe(12);
    expect(r.distinct).toBe(4);
    expect(new Set(r.chosen.map(typeOf))).toEqual(new Set(['stop', 'positive', 'negative', 'both']));
    // First positive (0) plus the first draw of each rare type.
    expect(r.indices).toEqual([0, 9, 10, 11]);
    // 9 of 12 draws were positive but it holds 1 of 4 slots: (9/12)/(1/4) = 3; each rare type
    // (1/12)/(1/4) = 1/3. The weights average 1 over the group.
    expect(r.drawWeights[0]).toBeCloseTo(3, 12);
    for (const w of r.drawWeights.slice(1)) expect(w).toBeCloseTo(1 / 3, 12);
  });

  it('draw weights: the type shares of the draws over those of the group, mean 1', () => {
    const script = (
      ['stop', 'stop', 'stop', 'stop', 'stop', 'positive', 'stop', 'negative', 'stop', 'both'] as const
    ).map(pointAction);
    const r = sampleRefineGroup(scripted(script), { groupSize: 8, maxDraws: 64, batchSize: 10 });
    expect(r.chosen.map(typeOf)).toEqual([
      'stop',
      'stop',
      'stop',
      'stop',
      'stop',
      'positive',
      'negative',
      'both',
    ]);
    // stop: 7 of 10 draws, 5 of 8 slots → 0.7/0.625 = 1.12; each click type 0.1/0.125 = 0.8.
    expect(r.drawWeights.map((w) => Number(w.toFixed(12)))).toEqual([
      1.12, 1.12, 1.12, 1.12, 1.12, 0.8, 0.8, 0.8,
    ]);
    expect(r.drawWeights.reduce((a, b) => a + b, 0)).toBeCloseTo(8, 12);
    // A group that is the draws themselves is unweighted.
    const plain = sampleRefineGroup(
      scripted((['both', 'stop', 'negative', 'positive'] as const).map(pointAction)),
      {
        groupSize: 4,
        maxDraws: 64,
      },
    );
    expect(plain.drawWeights).toEqual([1, 1, 1, 1]);
  });

  it('typeDrawWeights rejects a chosen type that was never drawn', () => {
    expect(() => typeDrawWeights(['stop'], ['both'])).toThrow('chosen "both" must be among the draws');
  });

  it('stops at the draw cap and covers the types it saw, filling the rest in draw order', () => {
    const draw = scripted([pointAction('stop'), pointAction('stop'), pointAction('negative')]);
    const r = sampleRefineGroup(draw, { groupSize: 4, maxDraws: 10 });
    expect(r.samplesDrawn).toBe(10);
    expect(draw.calls).toEqual([4, 4, 2]);
    expect(r.typesSeen).toEqual(['stop', 'negative']);
    expect(r.indices).toEqual([0, 1, 2, 3]);
    expect(r.chosen.map(typeOf)).toEqual(['stop', 'stop', 'negative', 'stop']);
  });

  it('needs only one batch when the first already covers every type', () => {
    const draw = scripted((['both', 'stop', 'negative', 'positive'] as const).map(pointAction));
    const r = dynamicSample(draw, { kind: 'refine', groupSize: 8, maxDraws: 64 });
    expect(draw.calls).toEqual([8]);
    expect(r.indices).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(r.drawWeights).toEqual(Array(8).fill(1));
  });

  it('prefers covering types over draw order when the first G draws miss one', () => {
    const script = (['stop', 'stop', 'stop', 'positive', 'negative', 'both'] as const).map(pointAction);
    const r = sampleRefineGroup(scripted(script), { groupSize: 3, maxDraws: 6, batchSize: 6 });
    // Three slots, four types seen: the earliest three types' first draws.
    expect(r.indices).toEqual([0, 3, 4]);
    expect(r.distinct).toBe(4);
  });

  it('rejects a sampler that returns the wrong number of actions', () => {
    const bad: ActionSampler = () => [pointAction('stop')];
    expect(() => sampleRefineGroup(bad, { groupSize: 4, maxDraws: 8 })).toThrow(ValidationError);
    expect(() => sampleRefineGroup(bad, { groupSize: 4, maxDraws: 8 })).toThrow(
      'sampler "1 actions" must return the 4 requested',
    );
  });
});
