/**
 * The sam2-onnx plugin's failure paths: models that do not fit a family contract, bad prompts,
 * misuse of the lifecycle, loading from files, and the CUDA provider on a machine without it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResourceExhaustedError, SamVeteranError, ValidationError } from '../../core/errors/index.ts';
import {
  buildFixtureModels,
  createSam2OnnxModel,
  detectFamily,
  selectToken,
  type Sam2Embedding,
  type Sam2OnnxModel,
} from '../../services/sam-env/src/models/sam2-onnx/index.ts';
import type { EnvImage } from '../../services/sam-env/src/model.ts';

const { onnx } = onnxProto;

/** Re-encodes a model after `edit` changed its proto. */
function mutate(bytes: Uint8Array, edit: (g: onnxProto.onnx.GraphProto) => void): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  if (!model.graph) throw new Error('fixture without a graph');
  edit(model.graph as onnxProto.onnx.GraphProto);
  return onnx.ModelProto.encode(model).finish();
}

/** Renames a graph input everywhere it is used. */
function renameInput(bytes: Uint8Array, from: string, to: string): Uint8Array {
  return mutate(bytes, (g) => {
    for (const v of g.input) if (v.name === from) v.name = to;
    for (const n of g.node) n.input = (n.input ?? []).map((i) => (i === from ? to : i));
  });
}

const image: EnvImage = { digest: 'grey', width: 64, height: 48, rgb: new Uint8Array(64 * 48 * 3).fill(90) };

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('sam2-onnx model contract errors', () => {
  const sx = buildFixtureModels('sam2-samexporter');

  it('rejects a decoder that matches no family, naming its inputs', () => {
    const decoder = renameInput(sx.decoder, 'high_res_feats_0', 'feats_a');
    let err: unknown;
    try {
      createSam2OnnxModel({ encoderBytes: sx.encoder, decoderBytes: decoder });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('decoder.inputs');
    expect((err as Error).message).toMatch(
      /^decoder\.inputs \["image_embed", "feats_a", .*match no supported SAM export family/,
    );
    expect(() => detectFamily(['input_points', 'input_labels', 'input_boxes'])).toThrow(
      /transformers\.js export, which has no mask input/,
    );
    expect(() =>
      detectFamily(['image_embed', 'high_res_feats_0', 'high_res_feats_1', 'orig_im_size']),
    ).toThrow(/ibaiGorordo/);
  });

  it('rejects a decoder missing one input of its family at init', async () => {
    const decoder = renameInput(sx.decoder, 'mask_input', 'mask_prompt');
    const model = createSam2OnnxModel({ encoderBytes: sx.encoder, decoderBytes: decoder });
    expect(model.info.family).toBe('sam2-samexporter');
    const err = await rejection(model.init());
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(
      /^decoder\.inputs \[.*"mask_prompt".*\] lack "mask_input", which family sam2-samexporter needs$/,
    );
  });

  it('rejects an input of the wrong dtype at init', async () => {
    const ortModels = buildFixtureModels('sam2-ort');
    // int64 labels (the graph casts them, so the model itself is valid) where the ORT export has int32.
    const decoder = mutate(ortModels.decoder, (g) => {
      for (const v of g.input)
        if (v.name === 'point_labels' && v.type?.tensorType) v.type.tensorType.elemType = 7;
    });
    const err = await rejection(
      createSam2OnnxModel({ encoderBytes: ortModels.encoder, decoderBytes: decoder }).init(),
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toBe(
      'decoder.inputs.point_labels.type "int64" is not the int32 that family sam2-ort expects',
    );
  });

  it('rejects a forced family whose names the decoder lacks', async () => {
    const err = await rejection(
      createSam2OnnxModel({
        encoderBytes: sx.encoder,
        decoderBytes: sx.decoder,
        family: 'sam2-rectlabel',
      }).init(),
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(/lack "image_embeddings", which family sam2-rectlabel needs/);
    expect(() =>
      createSam2OnnxModel({ encoderBytes: sx.encoder, decoderBytes: sx.decoder, family: 'sam3' as never }),
    ).toThrow('family "sam3" is not one of sam2-samexporter, sam2-rectlabel, sam2-ort, sam1-meta');
  });

  it('rejects bytes that are not ONNX and paths that do not exist', () => {
    expect(() =>
      createSam2OnnxModel({ encoderBytes: sx.encoder, decoderBytes: new Uint8Array([1, 2, 3, 4, 5]) }),
    ).toThrow(/^decoderPath "<bytes>" is not an ONNX model/);
    expect(() =>
      createSam2OnnxModel({ encoderBytes: sx.encoder, decoderPath: '/nonexistent/decoder.onnx' }),
    ).toThrow(/^decoderPath "\/nonexistent\/decoder\.onnx" cannot be read/);
    expect(() => createSam2OnnxModel({ decoderBytes: sx.decoder })).toThrow(
      'encoderPath undefined is missing: give a path or bytes',
    );
  });

  it('gives a clear error when the CUDA provider cannot be loaded', async () => {
    const model = createSam2OnnxModel({
      encoderBytes: sx.encoder,
      decoderBytes: sx.decoder,
      executionProviders: ['cuda'],
    });
    const err = await rejection(model.init());
    expect(err).toBeInstanceOf(SamVeteranError);
    expect((err as SamVeteranError).code).toBe('FAILED_PRECONDITION');
    expect(err.message).toMatch(
      /^execution provider cuda could not be loaded for the (en|de)coder: .+; install the CUDA provider \(ONNXRUNTIME_NODE_INSTALL=1.*\) or use provider cpu$/,
    );
    const bad = createSam2OnnxModel({
      encoderBytes: sx.encoder,
      decoderBytes: sx.decoder,
      executionProviders: ['tpu' as never],
    });
    await expect(bad.init()).rejects.toThrow(
      'executionProviders[0] "tpu" is not a supported execution provider; use cpu or cuda',
    );
  });

  it('loads models from files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sam2-onnx-'));
    try {
      writeFileSync(join(dir, 'e.onnx'), sx.encoder);
      writeFileSync(join(dir, 'd.onnx'), sx.decoder);
      const model = createSam2OnnxModel({
        encoderPath: join(dir, 'e.onnx'),
        decoderPath: join(dir, 'd.onnx'),
        warmup: false,
        id: 'fx',
      });
      await model.init();
      expect(model.info.id).toBe('fx');
      const [out] = await model.decode(await model.embed(image), image, [
        { box: [8, 8, 40, 30], points: [] },
      ]);
      expect(out!.mask.data[20 * 64 + 20]).toBe(1);
      await model.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sam2-onnx prompt errors', () => {
  const rl = buildFixtureModels('sam2-rectlabel');
  let model: Sam2OnnxModel;
  let embedding: Sam2Embedding;

  beforeAll(async () => {
    model = createSam2OnnxModel({
      encoderBytes: rl.encoder,
      decoderBytes: rl.decoder,
      maxPoints: 3,
      intraOpNumThreads: 1,
      warmup: false,
    });
    await expect(model.embed(image)).rejects.toThrow('is not initialised: call init() first');
    await model.init();
    embedding = await model.embed(image);
  });
  afterAll(async () => {
    await model.close();
  });

  it('rejects low-res logits of the wrong size or with NaN', async () => {
    const prevLogits = { width: 128, height: 128, data: new Float32Array(128 * 128) };
    const err = await rejection(
      model.decode(embedding, image, [{ box: [1, 1, 30, 30], points: [], prevLogits }]),
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toBe(
      'prompts[0].prevLogits "128x128 (16384 values)" must be 256x256 low-res logits from the previous step',
    );
    const nan = new Float32Array(256 * 256);
    nan[777] = NaN;
    await expect(
      model.decode(embedding, image, [
        { box: [1, 1, 30, 30], points: [] },
        { box: [1, 1, 30, 30], points: [], prevLogits: { width: 256, height: 256, data: nan } },
      ]),
    ).rejects.toThrow('prompts[1].prevLogits.data[777] NaN must be finite');
  });

  it('rejects too many points, bad boxes, points and labels with the field named', async () => {
    const four = [0, 1, 2, 3].map((i) => ({ point: [5 + i, 5] as const, label: 1 as const }));
    const err = await rejection(model.decode(embedding, image, [{ box: [1, 1, 30, 30], points: four }]));
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect(err.message).toBe('prompts[0].points 4 exceeds the limit of 3 points per prompt');
    await expect(model.decode(embedding, image, [{ box: [30, 1, 10, 30], points: [] }])).rejects.toThrow(
      /^prompts\[0\]\.box /,
    );
    await expect(
      model.decode(embedding, image, [{ box: [1, 1, 30, 30], points: [{ point: [NaN, 3], label: 1 }] }]),
    ).rejects.toThrow(/^prompts\[0\]\.points\[0\]\.point/);
    await expect(
      model.decode(embedding, image, [{ box: [1, 1, 30, 30], points: [{ point: [3, 3], label: 2 as 1 }] }]),
    ).rejects.toThrow('prompts[0].points[0].label 2 must be 0 or 1');
  });

  it('rejects an image that is not the embedded one, and a malformed image', async () => {
    const other: EnvImage = { digest: 'x', width: 48, height: 64, rgb: new Uint8Array(48 * 64 * 3) };
    await expect(model.decode(embedding, other, [{ box: [1, 1, 30, 30], points: [] }])).rejects.toThrow(
      'image "48x64" does not match the embedded 64x48 image',
    );
    await expect(model.embed({ ...image, rgb: new Uint8Array(10) })).rejects.toThrow(
      'image.rgb <Uint8Array length 10> has 10 bytes, expected 64x48x3',
    );
  });
});

describe('single-mask selection rules', () => {
  const base = {
    token0: () => new Float32Array([1, 1, 1, 0.01]),
    numPoints: 2,
    stabilityDelta: 0.05,
    stabilityThresh: 0.98,
  };
  it('applies best IoU, the SAM2 stability rule and Meta select_masks', () => {
    expect(selectToken('best-iou', { ...base, ious: [0.2, 0.9, 0.5] })).toBe(1);
    expect(selectToken('stability', { ...base, ious: [0.99, 0.2, 0.9, 0.5] })).toBe(2); // stability 3/4 < 0.98
    expect(
      selectToken('stability', {
        ...base,
        ious: [0.1, 0.2, 0.9, 0.5],
        token0: () => new Float32Array([1, -1]),
      }),
    ).toBe(0);
    expect(selectToken('sam1-points', { ...base, ious: [0.1, 0.2, 0.9, 0.5], numPoints: 3 })).toBe(0);
    expect(selectToken('sam1-points', { ...base, ious: [0.99, 0.2, 0.9, 0.5], numPoints: 2 })).toBe(2);
    expect(selectToken('stability', { ...base, ious: [0.4] })).toBe(0);
  });
});
