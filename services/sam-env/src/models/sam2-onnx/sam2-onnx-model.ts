/**
 * The `sam2-onnx` environment model: an encoder + decoder ONNX pair of one of the public SAM export
 * families (families.ts), run with onnxruntime-node. `embed` preprocesses and runs the encoder once
 * per image; `decode` turns prompts into the family's point/label/mask-input tensors, runs the
 * decoder (several prompts per run where the family has a label batch dimension), picks the single
 * mask by the family's rule, upsamples (unless the graph did) and thresholds at 0.
 *
 * Prompt encoding (box as corner points 2/3, padding with (0,0)/−1) lives in prompt-encoding.ts.
 */
import { SamVeteranError, ValidationError } from '../../../../../core/errors/index.ts';
import type { BinaryMask } from '../../../../../core/mask/index.ts';
import type {
  EnvImage,
  EnvModel,
  ImageEmbedding,
  ModelInfo,
  TransitionOutput,
  TransitionPrompt,
} from '../../model.ts';
import {
  decoderInputSpecs,
  decoderOutputSpecs,
  detectFamily,
  encoderOutputSpecs,
  familySpec,
  isSam2OnnxFamily,
  SAM_ONNX_FAMILIES,
  type FamilySpec,
  type Sam2OnnxFamily,
} from './families.ts';
import { preprocessImage, SAM_INPUT_SIZE } from './image-transforms.ts';
import { encodePrompt, LOW_AREA, LOW_RES, promptFeeds, type EncodedPrompt } from './prompt-encoding.ts';
import { selectToken, stabilityScore, thresholdLogits, upsampleBilinear } from './mask-postprocess.ts';
import { loadModelBytes, summariseModel, type ProtoSummary } from './model-proto.ts';
import { ort, OrtSession, type ExecutionProviderName, type ModelSource } from './ort-session.ts';

/** SAM clamps fed-back logits to ±32. */
const LOGIT_CLAMP = 32;

export interface Sam2OnnxOptions {
  /** Encoder file (required for models with external `.onnx_data`), or `encoderBytes`. */
  readonly encoderPath?: string;
  readonly encoderBytes?: Uint8Array;
  /** Decoder file or `decoderBytes`. */
  readonly decoderPath?: string;
  readonly decoderBytes?: Uint8Array;
  /** Providers in priority order. Default `['cpu']`. */
  readonly executionProviders?: readonly ExecutionProviderName[];
  /** Export family; default: detected from the decoder's input names. */
  readonly family?: Sam2OnnxFamily;
  /** Model id for cache keys and metrics. Default `sam2-onnx:<family>:<sha8 of decoder>`. */
  readonly id?: string;
  /** Max prompts per decoder run for families with a label batch dim. Default 16. */
  readonly maxBatch?: number;
  /** Max clicks per prompt (box corners excluded). Default 32. */
  readonly maxPoints?: number;
  /** δ of the stability score count(>δ)/count(>−δ). Default 0.05 (SAM2). */
  readonly stabilityDelta?: number;
  /** Stability at or above which token 0 is taken by the stability rule. Default 0.98 (SAM2). */
  readonly stabilityThresh?: number;
  /**
   * Cap on the full-size mask output of one run for families whose graph upsamples (RectLabel returns
   * [L,4,H,W] float32): batches shrink so that L·4·H·W·4 bytes stays under it. Default 256 MiB.
   */
  readonly maxOutputBytes?: number;
  /** Run the encoder and decoder once in `init`. Default true. */
  readonly warmup?: boolean;
  /** onnxruntime intra-op threads. Default: onnxruntime's choice. */
  readonly intraOpNumThreads?: number;
}

/** Encoder outputs for one image, ready to feed to the decoder. */
export interface Sam2Embedding extends ImageEmbedding {
  readonly family: Sam2OnnxFamily;
  readonly width: number;
  readonly height: number;
  /** Decoder input name → tensor. */
  readonly feeds: Readonly<Record<string, ort.Tensor>>;
}

function positiveInt(field: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new ValidationError(field, v, 'must be a positive integer');
  return v;
}

function source(field: string, path: string | undefined, bytes: Uint8Array | undefined): ModelSource {
  if (path !== undefined && bytes !== undefined)
    throw new ValidationError(field, path, 'is given twice: give a path or bytes, not both');
  if (bytes !== undefined) return { bytes };
  if (path !== undefined) return { path };
  throw new ValidationError(field, path, 'is missing: give a path or bytes');
}

interface RunResult {
  readonly masks: ort.Tensor;
  readonly iou: ort.Tensor;
  readonly lowRes: ort.Tensor;
}

export class Sam2OnnxModel implements EnvModel<Sam2Embedding> {
  readonly info: ModelInfo;
  readonly spec: FamilySpec;
  private readonly options: Sam2OnnxOptions;
  private readonly encoderSource: ModelSource;
  private readonly decoderSource: ModelSource;
  private readonly batchable: boolean;
  private readonly stabilityDelta: number;
  private readonly stabilityThresh: number;
  private encoder: OrtSession | undefined;
  private decoder: OrtSession | undefined;

  constructor(options: Sam2OnnxOptions) {
    this.options = options;
    this.encoderSource = source('encoderPath', options.encoderPath, options.encoderBytes);
    this.decoderSource = source('decoderPath', options.decoderPath, options.decoderBytes);
    const decoderBytes = loadModelBytes('decoderPath', options.decoderPath, options.decoderBytes);
    const summary: ProtoSummary = summariseModel(
      'decoderPath',
      options.decoderPath ?? '<bytes>',
      decoderBytes,
    );
    const names = summary.inputs.map((i) => i.name);
    if (options.family !== undefined && !isSam2OnnxFamily(options.family)) {
      throw new ValidationError('family', options.family, `is not one of ${SAM_ONNX_FAMILIES.join(', ')}`);
    }
    const family = options.family ?? detectFamily(names);
    this.spec = familySpec(family);
    // A label batch dim exists only if every per-prompt input has a symbolic first dim.
    const perPrompt = [this.spec.coords, this.spec.labels, this.spec.maskInput, this.spec.hasMaskInput].map(
      (s) => s.name,
    );
    this.batchable =
      this.spec.batch &&
      perPrompt.every((n) => typeof summary.inputs.find((i) => i.name === n)?.dims[0] === 'string');
    this.stabilityDelta = options.stabilityDelta ?? 0.05;
    this.stabilityThresh = options.stabilityThresh ?? 0.98;
    this.info = {
      id: options.id ?? `sam2-onnx:${family}:${summary.sha8}`,
      family,
      inputSize: SAM_INPUT_SIZE,
      supportsMaskInput: true,
      lowResSize: LOW_RES,
      maxPoints: positiveInt('maxPoints', options.maxPoints ?? 32),
      maxBatch: this.batchable ? positiveInt('maxBatch', options.maxBatch ?? 16) : 1,
    };
  }

  async init(): Promise<void> {
    if (this.encoder && this.decoder) return;
    const common = {
      executionProviders: this.options.executionProviders ?? ['cpu'],
      ...(this.options.intraOpNumThreads !== undefined
        ? { intraOpNumThreads: this.options.intraOpNumThreads }
        : {}),
    };
    const settled = await Promise.allSettled([
      OrtSession.create({ role: 'encoder', source: this.encoderSource, ...common }),
      OrtSession.create({ role: 'decoder', source: this.decoderSource, ...common }),
    ]);
    const [enc, dec] = settled;
    if (enc.status === 'rejected' || dec.status === 'rejected') {
      // Release whichever session did load before reporting the (first) failure.
      await Promise.all(settled.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
      throw enc.status === 'rejected' ? enc.reason : (dec as PromiseRejectedResult).reason;
    }
    const encoder = enc.value;
    const decoder = dec.value;
    try {
      const context = `family ${this.spec.family}`;
      decoder.requireInputs(decoderInputSpecs(this.spec), context);
      decoder.requireOutputs(decoderOutputSpecs(this.spec), context);
      encoder.requireOutputs(encoderOutputSpecs(this.spec), context);
      if (encoder.inputNames.length !== 1) {
        throw new ValidationError(
          'encoder.inputs',
          [...encoder.inputNames],
          'must be exactly one image input [1,3,1024,1024]',
        );
      }
      encoder.requireInputs(
        [{ name: encoder.inputNames[0]!, type: 'float32', shape: [null, 3, SAM_INPUT_SIZE, SAM_INPUT_SIZE] }],
        context,
      );
    } catch (err) {
      await Promise.all([encoder.close(), decoder.close()]);
      throw err;
    }
    this.encoder = encoder;
    this.decoder = decoder;
    if (this.options.warmup ?? true) {
      const image: EnvImage = {
        digest: 'warmup',
        width: 32,
        height: 32,
        rgb: new Uint8Array(32 * 32 * 3).fill(128),
      };
      const e = await this.embed(image);
      await this.decode(e, image, [{ box: [4, 4, 28, 28], points: [{ point: [16, 16], label: 1 }] }]);
    }
  }

  private sessions(): { encoder: OrtSession; decoder: OrtSession } {
    if (!this.encoder || !this.decoder) {
      throw new SamVeteranError(
        'FAILED_PRECONDITION',
        `model ${this.info.id} is not initialised: call init() first`,
      );
    }
    return { encoder: this.encoder, decoder: this.decoder };
  }

  async embed(image: EnvImage): Promise<Sam2Embedding> {
    const { encoder } = this.sessions();
    validateImage(image);
    const input = preprocessImage(this.spec.preprocess, image);
    const out = await encoder.run({
      [encoder.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, SAM_INPUT_SIZE, SAM_INPUT_SIZE]),
    });
    const e = this.spec.encoderOutputs;
    const d = this.spec.decoderEmbedInputs;
    const feeds: Record<string, ort.Tensor> = {};
    let byteSize = 0;
    const take = (from: string, to: string | undefined): void => {
      const tensor = out[from];
      if (!tensor || to === undefined) return;
      feeds[to] = tensor;
      byteSize += (tensor.data as Float32Array).byteLength;
    };
    take(e.embed.name, d.embed);
    if (e.feat0) take(e.feat0.name, d.feat0);
    if (e.feat1) take(e.feat1.name, d.feat1);
    return { family: this.spec.family, width: image.width, height: image.height, feeds, byteSize };
  }

  async decode(
    embedding: Sam2Embedding,
    image: EnvImage,
    prompts: readonly TransitionPrompt[],
  ): Promise<TransitionOutput[]> {
    const { decoder } = this.sessions();
    if (embedding.family !== this.spec.family) {
      throw new ValidationError(
        'embedding.family',
        embedding.family,
        `does not match model family ${this.spec.family}`,
      );
    }
    if (embedding.width !== image.width || embedding.height !== image.height) {
      throw new ValidationError(
        'image',
        `${image.width}x${image.height}`,
        `does not match the embedded ${embedding.width}x${embedding.height} image`,
      );
    }
    const encoded = prompts.map((p, i) => encodePrompt(this.spec, p, i, image, this.info.maxPoints));
    const results: TransitionOutput[] = [];
    const step = this.batchSize(image);
    for (let start = 0; start < encoded.length; start += step) {
      const chunk = encoded.slice(start, start + step);
      const run = await this.runDecoder(decoder, embedding, image, chunk);
      chunk.forEach((p, l) => results.push(this.output(run, l, p.numPoints, image)));
    }
    return results;
  }

  /** Prompts per decoder run: maxBatch, shrunk so full-size outputs stay under maxOutputBytes. */
  private batchSize(image: EnvImage): number {
    if (!this.batchable) return 1;
    if (!this.spec.origSize) return this.info.maxBatch;
    const perPrompt = 4 * 4 * image.width * image.height; // up to 4 tokens of float32
    const budget = this.options.maxOutputBytes ?? 256 * 1024 * 1024;
    return Math.max(1, Math.min(this.info.maxBatch, Math.floor(budget / perPrompt)));
  }

  private async runDecoder(
    decoder: OrtSession,
    embedding: Sam2Embedding,
    image: EnvImage,
    chunk: readonly EncodedPrompt[],
  ): Promise<RunResult> {
    const s = this.spec;
    const L = chunk.length;
    const feeds: Record<string, ort.Tensor> = { ...embedding.feeds, ...promptFeeds(s, chunk, image) };
    const out = await decoder.run(feeds);
    const masksOut = out[s.masks.name];
    const iou = out[s.iou.name];
    const lowRes = s.lowRes ? out[s.lowRes.name] : masksOut;
    if (!masksOut || !iou || !lowRes)
      throw new SamVeteranError('INTERNAL', `decoder returned outputs [${Object.keys(out).join(', ')}]`);
    const M = iou.dims[1] ?? 0;
    const expectMask = s.origSize ? [L, M, image.height, image.width] : [L, M, LOW_RES, LOW_RES];
    const checks: [string, readonly number[], readonly number[]][] = [
      [s.iou.name, iou.dims, [L, M]],
      [s.masks.name, masksOut.dims, expectMask],
      [s.lowRes?.name ?? s.masks.name, lowRes.dims, [L, M, LOW_RES, LOW_RES]],
    ];
    for (const [name, got, want] of checks) {
      if (M < 1 || got.length !== want.length || got.some((d, i) => d !== want[i])) {
        throw new SamVeteranError(
          'INTERNAL',
          `decoder output ${name} has dims [${got.join(',')}], expected [${want.join(',')}]`,
        );
      }
    }
    return { masks: masksOut, iou, lowRes };
  }

  /** Picks prompt l's single mask and post-processes it. */
  private output(run: RunResult, l: number, numPoints: number, image: EnvImage): TransitionOutput {
    const M = run.iou.dims[1]!;
    const iouData = run.iou.data as Float32Array;
    const ious = Array.from(iouData.subarray(l * M, (l + 1) * M));
    const low = run.lowRes.data as Float32Array;
    const lowOf = (m: number): Float32Array =>
      low.subarray((l * M + m) * LOW_AREA, (l * M + m + 1) * LOW_AREA);
    const k = selectToken(this.spec.selection, {
      ious,
      token0: () => clamp(lowOf(0)),
      numPoints,
      stabilityDelta: this.stabilityDelta,
      stabilityThresh: this.stabilityThresh,
    });
    const lowRes = clamp(lowOf(k));
    const { width: W, height: H } = image;
    let mask: BinaryMask;
    if (!this.spec.origSize) {
      mask = thresholdLogits(upsampleBilinear(lowRes, LOW_RES, LOW_RES, W, H), W, H);
    } else {
      const area = W * H;
      const full = (run.masks.data as Float32Array | Uint8Array).subarray(
        (l * M + k) * area,
        (l * M + k + 1) * area,
      );
      mask = thresholdLogits(full, W, H); // bool masks arrive as 0/1 bytes, so `> 0` works for both
    }
    return {
      mask,
      lowResLogits: { width: LOW_RES, height: LOW_RES, data: lowRes },
      predictedIou: Math.min(1, Math.max(0, ious[k] ?? 0)),
      stability: stabilityScore(lowRes, this.stabilityDelta),
    };
  }

  async close(): Promise<void> {
    const { encoder, decoder } = this;
    this.encoder = undefined;
    this.decoder = undefined;
    await Promise.all([encoder?.close(), decoder?.close()]);
  }
}

/** A copy of low-res logits clamped to ±32 (what SAM returns for feedback). */
function clamp(src: Float32Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = Math.min(LOGIT_CLAMP, Math.max(-LOGIT_CLAMP, src[i]!));
  return out;
}

function validateImage(image: EnvImage): void {
  if (!Number.isInteger(image.width) || image.width < 1)
    throw new ValidationError('image.width', image.width, 'must be a positive integer');
  if (!Number.isInteger(image.height) || image.height < 1)
    throw new ValidationError('image.height', image.height, 'must be a positive integer');
  if (image.rgb.length !== image.width * image.height * 3) {
    throw new ValidationError(
      'image.rgb',
      image.rgb,
      `has ${image.rgb.length} bytes, expected ${image.width}x${image.height}x3`,
    );
  }
}

/** Creates the plugin; sessions are created in `init()`. */
export function createSam2OnnxModel(options: Sam2OnnxOptions): Sam2OnnxModel {
  return new Sam2OnnxModel(options);
}
