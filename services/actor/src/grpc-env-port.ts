/**
 * EnvPort over the sam-env gRPC client: what the actor sees of a remote env pool. Images go as raw
 * RGB with their digest (the client sends bytes only to replicas that lack them) or, with an image
 * store, as a store key (`uploader`: the image is put in the store once and replicas fetch it from
 * there); masks travel as COCO RLE, and a group larger than the server's `maxGroupSize` is split
 * into several calls.
 */
import type {
  EnvImage,
  EnvPort,
  ModelInfo,
  TransitionOutput,
  TransitionPrompt,
} from '../../../core/env/index.ts';
import { NotFoundError } from '../../../core/errors/index.ts';
import type { EnvInfo, EnvPrompt } from '../../../core/wire/index.ts';
import { rleToMask as maskFromWire, maskToRle as maskToWire } from '../../../core/wire/index.ts';
import { SamEnvClient, type ImagePayload, type SamEnvClientOptions } from '../../sam-env/src/client.ts';
import type { StoreImageUploader } from './image-uploader.ts';

export interface GrpcEnvPortOptions {
  /**
   * Send images as keys in a shared image store (the replicas must open the same store with
   * `--image-store`). When a put fails, that call sends the bytes instead. Default: send bytes.
   */
  readonly uploader?: StoreImageUploader;
  /** Called when a put failed and the bytes were sent instead (for logs). */
  readonly onStoreFallback?: (err: unknown) => void;
}

export class GrpcEnvPort implements EnvPort {
  readonly client: SamEnvClient;
  private infoP: Promise<EnvInfo> | undefined;

  constructor(
    opts: SamEnvClientOptions | SamEnvClient,
    private readonly portOpts: GrpcEnvPortOptions = {},
  ) {
    this.client = opts instanceof SamEnvClient ? opts : new SamEnvClient(opts);
  }

  /** The image as a store key when an uploader is set and the put succeeds, else as raw RGB. */
  private async payload(image: EnvImage): Promise<ImagePayload> {
    const uploader = this.portOpts.uploader;
    if (uploader) {
      try {
        const ref = await uploader.ref(image);
        return { digest: ref.digest, source: { kind: 'store', key: ref.key } };
      } catch (err) {
        this.portOpts.onStoreFallback?.(err);
      }
    }
    return rawPayload(image);
  }

  /**
   * One group call. A store key the replica cannot use (NOT_FOUND: it has no store, or not this
   * one) is retried once with the bytes, so a misconfigured replica slows calls down instead of
   * failing every task; `onStoreFallback` reports it.
   */
  private async call(image: EnvImage, payload: ImagePayload, prompts: readonly TransitionPrompt[]) {
    const wire = prompts.map(toEnvPrompt);
    try {
      return await this.client.transitionGroup(payload, wire);
    } catch (err) {
      if (payload.source?.kind !== 'store' || !(err instanceof NotFoundError)) throw err;
      this.portOpts.onStoreFallback?.(err);
      return this.client.transitionGroup(rawPayload(image), wire);
    }
  }

  private envInfo(): Promise<EnvInfo> {
    if (!this.infoP) {
      this.infoP = this.client.info();
      // Do not cache a failure: the next call asks again.
      this.infoP.catch(() => (this.infoP = undefined));
    }
    return this.infoP;
  }

  async info(): Promise<ModelInfo> {
    const i = await this.envInfo();
    return {
      id: i.modelId,
      family: i.family,
      inputSize: i.inputSize,
      supportsMaskInput: i.supportsMaskInput,
      lowResSize: i.lowResSize,
      maxPoints: i.limits.maxPoints,
      maxBatch: i.limits.maxBatch,
    };
  }

  async transitionGroup(image: EnvImage, prompts: readonly TransitionPrompt[]): Promise<TransitionOutput[]> {
    if (prompts.length === 0) return [];
    const info = await this.envInfo();
    const chunk = Math.max(1, info.limits.maxGroupSize || prompts.length);
    const payload = await this.payload(image);
    const out: TransitionOutput[] = [];
    for (let i = 0; i < prompts.length; i += chunk) {
      const reply = await this.call(image, payload, prompts.slice(i, i + chunk));
      reply.results.forEach((r, k) => {
        out.push({
          mask: maskFromWire(r.mask, `results[${i + k}].mask`),
          ...(r.lowResLogits ? { lowResLogits: r.lowResLogits } : {}),
          predictedIou: r.predictedIou,
          stability: r.stability,
        });
      });
    }
    return out;
  }

  close(): Promise<void> {
    this.client.close();
    return Promise.resolve();
  }
}

function rawPayload(image: EnvImage): ImagePayload {
  return {
    digest: image.digest,
    source: { kind: 'raw', width: image.width, height: image.height, rgb: image.rgb },
  };
}

function toEnvPrompt(p: TransitionPrompt): EnvPrompt {
  return {
    box: p.box,
    points: p.points.map((q) => ({ point: q.point, label: q.label })),
    ...(p.prevLogits ? { prevLogits: p.prevLogits } : {}),
    ...(p.prevMask ? { prevMask: maskToWire(p.prevMask) } : {}),
  };
}
