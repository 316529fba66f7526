/**
 * EnvPort over the sam-env gRPC client: what the actor sees of a remote env pool. Images go as raw
 * RGB with their digest (the client sends bytes only to replicas that lack them), masks travel as
 * COCO RLE, and a group larger than the server's `maxGroupSize` is split into several calls.
 */
import type {
  EnvImage,
  EnvPort,
  ModelInfo,
  TransitionOutput,
  TransitionPrompt,
} from '../../../core/env/index.ts';
import type { EnvInfo, EnvPrompt } from '../../../core/wire/index.ts';
import { SamEnvClient, type SamEnvClientOptions } from '../../sam-env/src/client.ts';
import { rleToMask as maskFromWire, maskToRle as maskToWire } from '../../../core/wire/index.ts';

export class GrpcEnvPort implements EnvPort {
  readonly client: SamEnvClient;
  private infoP: Promise<EnvInfo> | undefined;

  constructor(opts: SamEnvClientOptions | SamEnvClient) {
    this.client = opts instanceof SamEnvClient ? opts : new SamEnvClient(opts);
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
    const payload = {
      digest: image.digest,
      source: { kind: 'raw' as const, width: image.width, height: image.height, rgb: image.rgb },
    };
    const out: TransitionOutput[] = [];
    for (let i = 0; i < prompts.length; i += chunk) {
      const reply = await this.client.transitionGroup(payload, prompts.slice(i, i + chunk).map(toEnvPrompt));
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

function toEnvPrompt(p: TransitionPrompt): EnvPrompt {
  return {
    box: p.box,
    points: p.points.map((q) => ({ point: q.point, label: q.label })),
    ...(p.prevLogits ? { prevLogits: p.prevLogits } : {}),
    ...(p.prevMask ? { prevMask: maskToWire(p.prevMask) } : {}),
  };
}
