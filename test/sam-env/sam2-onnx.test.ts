/**
 * The sam2-onnx plugin end to end through onnxruntime-node, on the fixture ONNX pairs of every
 * supported export family: family detection, preprocessing, coordinate transform (non-square
 * image), label codes and padding, mask feedback, single-mask selection, batching, post-processing.
 * The fixture decoders compute a known function of the prompt; `fixtureReference` restates it
 * independently, and outputs must match it exactly.
 */
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildFixtureModels,
  createSam2OnnxModel,
  detectFamily,
  FIXTURE,
  fixtureReference,
  SAM_ONNX_FAMILIES,
  type Sam2Embedding,
  type Sam2OnnxFamily,
  type Sam2OnnxModel,
} from '../../services/sam-env/src/models/sam2-onnx/index.ts';
import type { EnvImage, TransitionOutput, TransitionPrompt } from '../../services/sam-env/src/model.ts';

const W = 200;
const H = 120;

/** Left half red, right half blue. */
function twoColourImage(): EnvImage {
  const rgb = new Uint8Array(W * H * 3);
  for (let i = 0; i < W * H; i++) {
    const left = i % W < W / 2;
    rgb[i * 3] = left ? 255 : 0;
    rgb[i * 3 + 2] = left ? 0 : 255;
  }
  return { digest: 'two-colour', width: W, height: H, rgb };
}

/** Exact names from reference/sam2-onnx.md (§1A, §1C, §1D, §2A), written out literally. */
const CONTRACT: Record<Sam2OnnxFamily, { inputs: string[]; outputs: string[]; encoderOutputs: string[] }> = {
  'sam2-samexporter': {
    inputs: [
      'image_embed',
      'high_res_feats_0',
      'high_res_feats_1',
      'point_coords',
      'point_labels',
      'mask_input',
      'has_mask_input',
    ],
    outputs: ['masks', 'iou_predictions'],
    encoderOutputs: ['high_res_feats_0', 'high_res_feats_1', 'image_embed'],
  },
  'sam2-rectlabel': {
    inputs: [
      'image_embeddings',
      'high_res_features1',
      'high_res_features2',
      'point_coords',
      'point_labels',
      'mask_input',
      'has_mask_input',
      'orig_im_size',
    ],
    outputs: ['masks', 'iou_predictions', 'low_res_masks'],
    encoderOutputs: ['image_embeddings', 'high_res_features1', 'high_res_features2'],
  },
  'sam2-ort': {
    inputs: [
      'image_features_0',
      'image_features_1',
      'image_embeddings',
      'point_coords',
      'point_labels',
      'input_masks',
      'has_input_masks',
      'original_image_size',
    ],
    outputs: ['masks', 'iou_predictions', 'low_res_masks'],
    encoderOutputs: ['image_features_0', 'image_features_1', 'image_embeddings'],
  },
  'sam1-meta': {
    inputs: [
      'image_embeddings',
      'point_coords',
      'point_labels',
      'mask_input',
      'has_mask_input',
      'orig_im_size',
    ],
    outputs: ['masks', 'iou_predictions', 'low_res_masks'],
    encoderOutputs: ['image_embeddings'],
  },
};
const LABEL_TYPE: Record<Sam2OnnxFamily, string> = {
  'sam2-samexporter': 'float32',
  'sam2-rectlabel': 'float32',
  'sam2-ort': 'int32',
  'sam1-meta': 'float32',
};
const SIZE_TYPE: Record<Sam2OnnxFamily, string | undefined> = {
  'sam2-samexporter': undefined,
  'sam2-rectlabel': 'int64',
  'sam2-ort': 'int32',
  'sam1-meta': 'float32',
};

const BOX = [30, 20, 150, 90] as const;

function diffCount(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

/** Asserts that an output equals the fixture reference exactly, and that the reference is robust. */
function expectReference(
  family: Sam2OnnxFamily,
  prompt: TransitionPrompt,
  out: TransitionOutput | undefined,
): void {
  const ref = fixtureReference(family, { width: W, height: H }, prompt);
  expect(out).toBeDefined();
  expect(ref.margin).toBeGreaterThan(1e-4); // no pixel so close to 0 that rounding order could flip it
  expect(out!.mask.width).toBe(W);
  expect(out!.mask.height).toBe(H);
  expect(diffCount(out!.mask.data, ref.mask)).toBe(0);
  expect(Array.from(out!.lowResLogits!.data)).toEqual(Array.from(ref.lowRes));
  expect(out!.predictedIou).toBeCloseTo(Math.min(1, ref.iou), 6); // the plugin clamps to [0, 1]
  expect(out!.stability).toBeCloseTo(ref.stability, 9);
}

const at = (out: TransitionOutput | undefined, x: number, y: number): number => out!.mask.data[y * W + x]!;

describe.each(SAM_ONNX_FAMILIES)('sam2-onnx fixture family %s', (family) => {
  const image = twoColourImage();
  let model: Sam2OnnxModel;
  let embedding: Sam2Embedding;
  const models = buildFixtureModels(family);

  beforeAll(async () => {
    model = createSam2OnnxModel({
      encoderBytes: models.encoder,
      decoderBytes: models.decoder,
      maxBatch: 4,
      intraOpNumThreads: 1, // a good neighbour on the shared 2-core test box
    });
    await model.init();
    embedding = await model.embed(image);
  });
  afterAll(async () => {
    await model.close();
  });

  it('writes the exact names and dtypes of the family and is detected from them', async () => {
    const dec = await ort.InferenceSession.create(models.decoder);
    const enc = await ort.InferenceSession.create(models.encoder);
    try {
      expect(dec.inputNames).toEqual(CONTRACT[family].inputs);
      expect(dec.outputNames).toEqual(CONTRACT[family].outputs);
      expect(enc.outputNames).toEqual(CONTRACT[family].encoderOutputs);
      const type = (name: string): string | undefined => {
        const m = dec.inputMetadata.find((v) => v.name === name);
        return m?.isTensor ? m.type : undefined;
      };
      expect(type('point_labels')).toBe(LABEL_TYPE[family]);
      const sizeName = CONTRACT[family].inputs.find((n) => /orig|original/.test(n));
      expect(sizeName === undefined ? undefined : type(sizeName)).toBe(SIZE_TYPE[family]);
      expect(detectFamily(dec.inputNames)).toBe(family);
    } finally {
      await Promise.all([dec.release(), enc.release()]);
    }
    expect(model.info.family).toBe(family);
    expect(model.info.id).toMatch(new RegExp(`^sam2-onnx:${family}:[0-9a-f]{8}$`));
    expect(model.info).toMatchObject({
      inputSize: 1024,
      lowResSize: 256,
      supportsMaskInput: true,
      maxPoints: 32,
    });
    // The Microsoft ORT decoder "does not support batch mode" and Meta's has batch 1: they loop.
    expect(model.info.maxBatch).toBe(family === 'sam2-ort' || family === 'sam1-meta' ? 1 : 4);
  });

  it('preprocesses with the family rule (SAM2 squash + ImageNet stats; SAM1 longest side + pad)', () => {
    const spec = model.spec;
    const embed = embedding.feeds[spec.decoderEmbedInputs.embed]!;
    expect(embed.dims).toEqual([1, 256, 64, 64]);
    const red = (row: number, col: number): number => (embed.data as Float32Array)[row * 64 + col]!; // channel 0 = pooled R
    if (family === 'sam1-meta') {
      const v = (255 - 123.675) / 58.395;
      expect(red(10, 5)).toBeCloseTo(v, 4);
      expect(red(30, 5)).toBeCloseTo(v, 4); // 120 rows → 614 of 1024: cell rows 0..37 are image
      expect(red(45, 5)).toBe(0); // zero padding below
      expect(red(10, 50)).toBeCloseTo((0 - 123.675) / 58.395, 4);
    } else {
      const v = (1 - 0.485) / 0.229;
      expect(red(10, 5)).toBeCloseTo(v, 4);
      expect(red(60, 5)).toBeCloseTo(v, 4); // squash: the image fills all 64 rows
      expect(red(10, 50)).toBeCloseTo((0 - 0.485) / 0.229, 4);
      expect(embedding.feeds[spec.decoderEmbedInputs.feat0!]!.dims).toEqual([1, 32, 256, 256]);
      expect(embedding.feeds[spec.decoderEmbedInputs.feat1!]!.dims).toEqual([1, 64, 128, 128]);
    }
  });

  it('decodes a box on a non-square image to exactly the analytic mask', async () => {
    const prompt: TransitionPrompt = { box: BOX, points: [] };
    const [out] = await model.decode(embedding, image, [prompt]);
    expectReference(family, prompt, out);
    expect(at(out, 40, 30)).toBe(1);
    expect(at(out, 20, 30)).toBe(0);
    expect(at(out, 170, 50)).toBe(0);
    // The same box in another family's frame gives another mask: the transform is really tested.
    const other = family === 'sam1-meta' ? 'sam2-samexporter' : 'sam1-meta';
    expect(diffCount(out!.mask.data, fixtureReference(other, image, prompt).mask)).toBeGreaterThan(100);
  });

  it('adds the region around a positive click and removes it around a negative click', async () => {
    const pos: TransitionPrompt = { box: BOX, points: [{ point: [170, 55], label: 1 }] };
    const neg: TransitionPrompt = { box: BOX, points: [{ point: [90, 55], label: 0 }] };
    const [boxOnly, p, n] = await model.decode(embedding, image, [{ box: BOX, points: [] }, pos, neg]);
    expect(at(boxOnly, 170, 55)).toBe(0);
    expect(at(p, 170, 55)).toBe(1);
    expect(at(boxOnly, 90, 55)).toBe(1);
    expect(at(n, 90, 55)).toBe(0);
    expectReference(family, pos, p);
    expectReference(family, neg, n);
  });

  it('feeds previous low-res logits back as mask input', async () => {
    const first: TransitionPrompt = { box: BOX, points: [{ point: [100, 60], label: 1 }] };
    const [a] = await model.decode(embedding, image, [first]);
    const again: TransitionPrompt = { ...first, prevLogits: a!.lowResLogits! };
    const [b] = await model.decode(embedding, image, [again]);
    expectReference(family, again, b);
    // A synthetic mask input: +20 on the left 48 low-res columns lifts the outside (−4) by 10 there.
    const data = new Float32Array(256 * 256).map((_, i) => (i % 256 < 48 ? 20 : 0));
    const lifted: TransitionPrompt = {
      box: BOX,
      points: [{ point: [100, 60], label: 1 }],
      prevLogits: { width: 256, height: 256, data },
    };
    const [c] = await model.decode(embedding, image, [lifted]);
    expectReference(family, lifted, c);
    expect(at(a, 10, 40)).toBe(0);
    expect(at(c, 10, 40)).toBe(1);
  });

  it('picks the single mask by the family rule', async () => {
    const boxOnly: TransitionPrompt = { box: BOX, points: [] };
    const twoPos: TransitionPrompt = {
      box: BOX,
      points: [
        { point: [170, 55], label: 1 },
        { point: [100, 60], label: 1 },
      ],
    };
    const [o1, o2] = await model.decode(embedding, image, [boxOnly, twoPos]);
    // Tokens: 0 single-mask, 1..3 multimask; IoUs [0.9, 0.7, 0.3, 0.4 + 0.2·#positive].
    const expected: Record<Sam2OnnxFamily, [number, number]> = {
      'sam2-samexporter': [1, 3], // best IoU of the 3 multimask tokens
      'sam2-rectlabel': [1, 0], // token 0 unstable for a bare box, stable with clicks
      'sam2-ort': [0, 0], // single-mask file: its only output
      'sam1-meta': [1, 0], // Meta select_masks: ≥ 3 points → token 0
    };
    const [t1, t2] = expected[family];
    const iouOf = (t: number, nPos: number): number =>
      t === 3
        ? Math.fround(Math.fround(nPos * Math.fround(0.2)) + Math.fround(0.4))
        : Math.fround(FIXTURE.iou[t as 0 | 1 | 2]);
    expect(fixtureReference(family, image, boxOnly).token).toBe(t1);
    expect(fixtureReference(family, image, twoPos).token).toBe(t2);
    expect(o1!.predictedIou).toBeCloseTo(iouOf(t1, 0), 6);
    expect(o2!.predictedIou).toBeCloseTo(iouOf(t2, 2), 6);
    expectReference(family, boxOnly, o1);
    expectReference(family, twoPos, o2);
  });

  it('decodes 8 mixed prompts in batch exactly as one by one (padding points are label −1)', async () => {
    const prompts: TransitionPrompt[] = [];
    for (let i = 0; i < 8; i++) {
      // Boxes touching the (0,0) corner and away from it, 0..7 clicks, some with feedback:
      // a padding point read as a click would carve or add a disk at the corner.
      const box =
        i % 2 === 0 ? ([0, 0, 110 + i * 5, 70 + i * 3] as const) : ([40 + i, 30, 190, 110 - i] as const);
      const points = Array.from({ length: i }, (_, k) => ({
        point: [15 + ((k * 37 + i * 11) % 170), 10 + ((k * 23 + i * 7) % 100)] as const,
        label: ((k + i) % 3 === 0 ? 0 : 1) as 0 | 1,
      }));
      prompts.push({ box, points });
    }
    const firstPass = await model.decode(embedding, image, prompts);
    prompts[3] = { ...prompts[3]!, prevLogits: firstPass[5]!.lowResLogits! };
    prompts[6] = { ...prompts[6]!, prevLogits: firstPass[1]!.lowResLogits! };
    const batched = await model.decode(embedding, image, prompts);
    for (const [i, p] of prompts.entries()) {
      const [single] = await model.decode(embedding, image, [p]);
      expect(diffCount(batched[i]!.mask.data, single!.mask.data)).toBe(0);
      expect(batched[i]!.predictedIou).toBe(single!.predictedIou);
      expectReference(family, p, batched[i]);
    }
  });
});
