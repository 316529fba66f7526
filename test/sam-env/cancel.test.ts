import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import type { EnvImage } from '../../core/env/index.ts';
import { encodedImage } from '../../services/sam-env/src/client.ts';
import { SamEnvCallError } from '../../services/sam-env/src/errors.ts';
import type { TransitionPrompt } from '../../services/sam-env/src/model.ts';
import { GrabCutModel } from '../../services/sam-env/src/models/grabcut.ts';
import { SamEnvServer } from '../../services/sam-env/src/server.ts';
import { clientFor } from './harness.ts';
import { makeScene, RED } from './scene.ts';

/** GrabCut whose embedding takes `embedMs` longer, counting the decodes it runs. */
class SlowEmbedGrabCut extends GrabCutModel {
  decodes = 0;
  embedsStarted = 0;
  embedsDone = 0;
  constructor(private readonly embedMs: number) {
    super();
  }
  override async embed(image: EnvImage) {
    this.embedsStarted++;
    await new Promise((r) => setTimeout(r, this.embedMs));
    const e = await super.embed(image);
    this.embedsDone++;
    return e;
  }
  override async decode(
    e: Parameters<GrabCutModel['decode']>[0],
    image: EnvImage,
    ps: readonly TransitionPrompt[],
  ) {
    this.decodes++;
    return super.decode(e, image, ps);
  }
}

describe('SamEnvServer cancellation', () => {
  const servers: SamEnvServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
  });

  it('stops work for a call whose client gave up, and cancels nothing once a call has answered', async () => {
    const model = new SlowEmbedGrabCut(300);
    const server = await SamEnvServer.start({ model, host: '127.0.0.1', port: 0 });
    servers.push(server);
    model.decodes = 0; // init() warms up with one embed and decode
    model.embedsStarted = 0;
    model.embedsDone = 0;
    const client = clientFor(server);
    const scene = await makeScene(64, 64, [{ cx: 32, cy: 32, r: 14, color: RED }], 5);
    const img = encodedImage(scene.png);
    const prompt = { box: [14, 14, 50, 50] as [number, number, number, number], points: [] };

    await client.info(); // connected: the deadline below is not spent on connecting
    // The client's deadline passes while the embedding is computed: no decode runs for it.
    const err = await client.transition(img, prompt, { deadlineMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SamEnvCallError);
    expect((err as SamEnvCallError).grpcCode).toBe(grpc.status.DEADLINE_EXCEEDED);
    // Any embedding started for it finishes server-side (waited for, not timed: on a loaded machine
    // the deadline may even pass before the server starts embedding, and then it starts none).
    await new Promise((r) => setTimeout(r, 100));
    for (let t = 0; model.embedsDone < model.embedsStarted; t++) {
      if (t > 200) throw new Error('the embedding never finished');
      await new Promise((r) => setTimeout(r, 25));
    }
    await new Promise((r) => setTimeout(r, 50)); // the server stores it and would decode now
    expect(model.decodes).toBe(0);
    const cancelledCallEmbedded = model.embedsDone === 1;

    // Answered calls are not cancelled afterwards (grpc-js emits 'cancelled' after every status):
    // the next calls decode and succeed, the embedding cached from the first that completed it.
    for (let i = 0; i < 3; i++) {
      const r = await client.transition(img, prompt);
      if (i > 0 || cancelledCallEmbedded) expect(r.embeddingCached).toBe(true);
    }
    expect(model.decodes).toBe(3);
    client.close();
  });
});
