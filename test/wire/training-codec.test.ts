import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import {
  decodePolicyRelease,
  decodeRolloutGroup,
  decodeTask,
  encodePolicyRelease,
  encodeRolloutGroup,
  encodeTask,
  imageRefFromWire,
  logitsFromWire,
  logitsToWire,
  type PolicyRelease,
  type RolloutGroup,
  type Task,
} from '../../core/wire/index.ts';

const digest = createHash('sha256').update('img').digest('hex');

const observation = {
  image: { digest, source: { kind: 'store', key: 'images/abc' } },
  query: 'the red circle left of the square',
  currentMask: { height: 4, width: 3, counts: '52' },
  box: [1, 2, 30.5, 40.25],
  points: [
    { point: [3, 4], label: 1 },
    { point: [5.5, 6], label: 0 },
  ],
  step: 1,
} as const;

const task: Task = {
  taskId: 't-1',
  kind: 'mask_understanding',
  dataset: 'procedural',
  sampleId: 's-9',
  observation,
  gtMask: { height: 4, width: 3, counts: '5:1' },
  gtBox: [0, 0, 3, 4],
  groupSize: 8,
  seed: 2 ** 40 + 3,
  minPolicyVersion: 2,
  createdAtMs: 1_764_000_000_123,
};

const group: RolloutGroup = {
  groupId: 't-1/1',
  taskId: 't-1',
  kind: 'auxiliary',
  policyVersion: 7,
  actorId: 'actor-a',
  observation,
  rollouts: [
    {
      tokenIds: [5, 17, 3],
      behaviourLogprobs: [-0.5, -1.25, -0.0078125],
      actionText: '{"positive_point":[3,4],"negative_point":null}',
      action: { kind: 'refine', positive: [3, 4], negative: null },
      formatError: '',
      reward: 1.5,
      rewardBreakdown: { point: 1, closeness: 0.5 },
      resultMask: { height: 4, width: 3, counts: '39' },
      iou: 0.75,
      stats: { temperature: 1, topP: 0.95, topK: 0, meanEntropy: 0.25, sampleMs: 12.5, envMs: 3 },
      drawWeight: 1.12,
    },
    {
      tokenIds: [9],
      behaviourLogprobs: [-2],
      actionText: 'oops',
      formatError: 'no JSON object in the action text',
      reward: 0,
      rewardBreakdown: {},
      iou: 0,
      stats: { temperature: 1, topP: 1, topK: 0, meanEntropy: 0, sampleMs: 1, envMs: 0 },
    },
  ],
  samplesDrawn: 11,
  goodEnough: false,
  promptTokenIds: [],
  envModelId: 'grabcut@128',
  createdAtMs: 1_764_000_000_999,
  attempt: 1,
};

const release: PolicyRelease = {
  version: 3,
  digest,
  objectName: 'policy/v3',
  byteSize: 123_456,
  createdAtMs: 1_764_000_000_000,
  architecture: 'pointer-vlm/v1',
  step: 300,
};

describe('training codec', () => {
  it('round-trips Task, RolloutGroup and PolicyRelease exactly', () => {
    expect(decodeTask(encodeTask(task))).toEqual(task);
    const back = decodeRolloutGroup(encodeRolloutGroup(group));
    expect(back).toEqual(group);
    expect(back.rollouts[1]?.action).toBeUndefined();
    expect(decodePolicyRelease(encodePolicyRelease(release))).toEqual(release);
  });

  it('rejects a rollout whose log-probs do not match its tokens, naming the field', () => {
    const bad = { ...group, rollouts: [{ ...group.rollouts[0]!, behaviourLogprobs: [-1] }] };
    expect(() => encodeRolloutGroup(bad)).toThrow(ValidationError);
    expect(() => encodeRolloutGroup(bad)).toThrow(
      'rollouts[0].behaviourLogprobs 1 must have one log-prob per token',
    );
  });

  it('keeps an absent draw weight absent, and names a bad one', () => {
    const back = decodeRolloutGroup(encodeRolloutGroup(group));
    expect(back.rollouts[0]?.drawWeight).toBe(1.12);
    expect(back.rollouts[1]).not.toHaveProperty('drawWeight');
    for (const w of [0, -1, Number.NaN]) {
      const bad = { ...group, rollouts: [{ ...group.rollouts[0]!, drawWeight: w }] };
      expect(() => encodeRolloutGroup(bad)).toThrow(
        `rollouts[0].drawWeight ${Number.isNaN(w) ? 'NaN' : w} must be a finite number > 0`,
      );
    }
  });

  it('rejects positive log-probs and NaN rewards', () => {
    const pos = { ...group, rollouts: [{ ...group.rollouts[0]!, behaviourLogprobs: [-1, 0.5, -1] }] };
    expect(() => encodeRolloutGroup(pos)).toThrow(
      'rollouts[0].behaviourLogprobs[1] 0.5 must be a finite log-probability',
    );
    const nan = { ...group, rollouts: [{ ...group.rollouts[0]!, reward: Number.NaN }] };
    expect(() => encodeRolloutGroup(nan)).toThrow('rollouts[0].reward NaN must be a finite number');
  });

  it('decoding an empty message names the first missing required field', () => {
    expect(() => decodeTask(new Uint8Array())).toThrow('taskId "" is required');
    expect(() => decodePolicyRelease(new Uint8Array())).toThrow('version 0 must be ≥ 1');
    expect(() => decodeRolloutGroup(new Uint8Array())).toThrow(
      'rollouts [] must contain at least one rollout',
    );
  });

  it('turns garbage bytes into a ValidationError', () => {
    const junk = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    expect(() => decodeTask(junk)).toThrow(ValidationError);
    expect(() => decodeTask(junk)).toThrow(/Task .* is not a valid protobuf Task/);
  });

  it('rejects an unknown task kind and a bad digest', () => {
    expect(() => encodeTask({ ...task, kind: 'segment' as never })).toThrow(
      'kind "segment" must be localization',
    );
    const badImage = { ...task, observation: { ...observation, image: { digest: 'ABC' } } };
    expect(() => decodeTask(encodeTask(badImage))).toThrow(
      'observation.image.digest "ABC" must be a lowercase hex SHA-256',
    );
  });
});

describe('value codec', () => {
  it('round-trips logits as float32 little-endian', () => {
    const data = new Float32Array([1.5, -32, 0.25, 7]);
    const wire = logitsToWire({ width: 2, height: 2, data });
    expect(wire.data).toHaveLength(16);
    const back = logitsFromWire({ width: 2, height: 2, data: wire.data as Buffer }, 'prevLogits');
    expect(Array.from(back.data)).toEqual([1.5, -32, 0.25, 7]);
  });

  it('rejects logits of the wrong byte length with the expected size', () => {
    expect(() =>
      logitsFromWire({ width: 4, height: 4, data: Buffer.alloc(12) }, 'prompt.prevLogits'),
    ).toThrow('prompt.prevLogits.data <Buffer length 12> has 12 bytes, expected 4x4 float32 = 64');
  });

  it('reads the image oneof', () => {
    const ref = imageRefFromWire(
      { digest, source: 'encoded', encoded: Buffer.from([1, 2]), raw: null, storeKey: '' } as never,
      'image',
    );
    expect(ref.source).toEqual({ kind: 'encoded', bytes: Buffer.from([1, 2]) });
    expect(imageRefFromWire({ digest } as never, 'image')).toEqual({ digest });
  });
});

describe('generated types', () => {
  it('are up to date with proto/ (npm run proto:check)', () => {
    const out = execFileSync(process.execPath, ['bin/gen-proto.js', '--check'], { encoding: 'utf8' });
    expect(out).toContain('up to date');
  });
});
