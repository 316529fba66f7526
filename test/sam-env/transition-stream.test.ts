/**
 * TransitionStream, the client's default transport: many transitions over one bidirectional stream,
 * answered by id. Real servers on loopback; GrabCut is deterministic, so every stream answer is
 * checked against the same request made as a unary call.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvImage } from '../../core/env/index.ts';
import {
  imageRefFromWire,
  loadSamEnvDefinition,
  promptFromWire,
  transitionResultToWire,
  type EnvPrompt,
  type TransitionRequest__Output,
  type TransitionResponse,
  type TransitionStreamRequest,
  type TransitionStreamResponse__Output,
} from '../../core/wire/index.ts';
import { encodedImage, SamEnvClient, type ImagePayload } from '../../services/sam-env/src/client.ts';
import { SamEnvCallError } from '../../services/sam-env/src/errors.ts';
import type { TransitionPrompt } from '../../services/sam-env/src/model.ts';
import { GrabCutModel } from '../../services/sam-env/src/models/grabcut.ts';
import { SamEnvServer } from '../../services/sam-env/src/server.ts';
import { TransitionService } from '../../services/sam-env/src/transition-service.ts';
import { failure } from '../helpers/failure.ts';
import { startGrabCut } from './harness.ts';
import { makeScene, RED } from './scene.ts';

let server: SamEnvServer;
let img: ImagePayload;
const box = (i: number): EnvPrompt => ({ box: [14 + (i % 6), 16 + (i % 4), 78 - (i % 5), 80], points: [] });

/** GrabCut that waits `delayMs` before each decode. */
class SlowDecode extends GrabCutModel {
  delayMs = 0;
  override async decode(
    e: Parameters<GrabCutModel['decode']>[0],
    image: EnvImage,
    ps: readonly TransitionPrompt[],
  ) {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    return super.decode(e, image, ps);
  }
}

/** Images the server looked up (one per request it started). */
async function lookups(s: SamEnvServer): Promise<number> {
  return (await s.metrics.cacheLookups.get()).values
    .filter((v) => v.labels['cache'] === 'image')
    .reduce((x, v) => x + v.value, 0);
}

async function openStreams(s: SamEnvServer): Promise<number> {
  return (await s.metrics.openStreams.get()).values[0]?.value ?? 0;
}

beforeAll(async () => {
  const scene = await makeScene(96, 96, [{ cx: 46, cy: 48, r: 24, color: RED }], 3);
  img = encodedImage(scene.png);
  server = await startGrabCut({ maxGroupSize: 8 });
});

afterAll(async () => {
  await server.shutdown();
});

describe('TransitionStream', () => {
  it('answers interleaved requests by id, each exactly as its unary call does, on one stream', async () => {
    const stream = new SamEnvClient({ addresses: [server.address], firstContact: 'send' });
    const unary = new SamEnvClient({ addresses: [server.address], firstContact: 'send', transport: 'unary' });
    await stream.transition(img, box(0)); // carries the bytes: unary; afterwards digest-only, streamed
    const before = await openStreams(server);
    const singles = Array.from({ length: 12 }, (_, i) => box(i));
    const groups = [singles.slice(0, 5), singles.slice(5, 8)];
    const [viaStream, viaStreamGroups] = await Promise.all([
      Promise.all(singles.map((p) => stream.transition(img, p))),
      Promise.all(groups.map((g) => stream.transitionGroup(img, g))),
    ]);
    expect(await openStreams(server)).toBe(before + 1);
    for (const [i, p] of singles.entries()) {
      const u = await unary.transition(img, p);
      expect(viaStream[i]!.result.mask).toEqual(u.result.mask);
      expect(viaStream[i]!.result.lowResLogits?.data).toEqual(u.result.lowResLogits?.data);
    }
    for (const [i, g] of groups.entries()) {
      const u = await unary.transitionGroup(img, g);
      expect(viaStreamGroups[i]!.results.map((r) => r.mask)).toEqual(u.results.map((r) => r.mask));
    }
    expect(await openStreams(server)).toBe(before + 1); // unary calls open no stream
    stream.close();
    unary.close();
    for (let t = 0; (await openStreams(server)) !== before; t++) {
      if (t > 200) throw new Error('the closed stream stayed open on the server');
      await new Promise((r) => setTimeout(r, 10));
    }
  });

  it('a bad request fails alone with the field and value; the stream and the requests around it carry on', async () => {
    const c = new SamEnvClient({ addresses: [server.address], firstContact: 'send', maxAttempts: 1 });
    await c.transition(img, box(1));
    await c.transition(img, box(2)); // the stream is open now
    const before = await openStreams(server);
    const calls = Array.from({ length: 30 }, (_, i) => {
      if (i % 3 === 1) return c.transition(img, { box: [Number.NaN, 1, 20, 20], points: [] });
      if (i % 3 === 2)
        return c.transitionGroup(
          img,
          Array.from({ length: 9 }, (_, k) => box(k)),
        );
      return c.transition(img, box(i));
    });
    const settled = await Promise.allSettled(calls);
    for (const [i, s] of settled.entries()) {
      if (i % 3 === 0) {
        expect(s.status).toBe('fulfilled');
        continue;
      }
      expect(s.status).toBe('rejected');
      const err = (s as PromiseRejectedResult).reason as SamEnvCallError;
      if (i % 3 === 1) {
        expect(err.code).toBe('INVALID_ARGUMENT');
        expect(err.message).toContain('prompt.box [NaN, 1, 20, 20] must be finite numbers');
      } else {
        expect(err.code).toBe('RESOURCE_EXHAUSTED');
        expect(err.message).toMatch(/prompts.*9/);
      }
    }
    expect(await openStreams(server)).toBe(before); // the same stream served all of them
    c.close();
  });

  it('a malformed stream message gets an error naming the field, and the stream keeps answering', async () => {
    const model = new SlowDecode();
    const s = await SamEnvServer.start({ model, host: '127.0.0.1', port: 0 });
    const known = new SamEnvClient({ addresses: [s.address], firstContact: 'send' });
    await known.transition(img, box(0)); // the server has the image now
    known.close();
    model.delayMs = 300; // the first id 7 is still unanswered when the second arrives
    const { proto } = loadSamEnvDefinition();
    const raw = new proto.samveteran.v1.SamEnv(s.address, grpc.credentials.createInsecure());
    const call = raw.TransitionStream();
    const answers: TransitionStreamResponse__Output[] = [];
    call.on('data', (r: TransitionStreamResponse__Output) => answers.push(r));
    const transition = {
      model: '',
      image: { digest: img.digest },
      prompt: { box: { x1: 14, y1: 16, x2: 78, y2: 80 }, points: [] },
      returnLogits: false,
    };
    const send = (m: TransitionStreamRequest) => call.write(m);
    send({ id: 0, transition });
    send({ id: 5 });
    send({ id: 7, transition });
    send({ id: 7, transition }); // same id while the first is unanswered
    send({ id: 9, transition });
    for (let t = 0; answers.length < 5; t++) {
      if (t > 500) throw new Error(`only ${answers.length} answers arrived`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const byId = (id: number) => answers.filter((a) => a.id === id);
    expect(byId(0)[0]?.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(byId(0)[0]?.error?.message).toContain('id 0 must be a positive integer');
    expect(byId(5)[0]?.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(byId(5)[0]?.error?.message).toContain('call null must be "transition" or "group"');
    const sevens = byId(7);
    expect(sevens).toHaveLength(2);
    expect(sevens.filter((a) => a.outcome === 'transition')).toHaveLength(1);
    expect(sevens.find((a) => a.outcome === 'error')?.error?.message).toContain('id 7 is already in use');
    expect(byId(9)[0]?.outcome).toBe('transition');
    expect(byId(9)[0]?.transition?.result?.mask?.counts).toBe(
      byId(7).find((a) => a.outcome === 'transition')?.transition?.result?.mask?.counts,
    );
    call.end();
    raw.close();
    await s.shutdown();
  });

  it('a request whose time runs out fails DEADLINE_EXCEEDED at once; the next one on the stream succeeds', async () => {
    const model = new SlowDecode();
    const s = await SamEnvServer.start({ model, host: '127.0.0.1', port: 0 });
    const c = new SamEnvClient({ addresses: [s.address], firstContact: 'send', maxAttempts: 1 });
    await c.transition(img, box(3));
    await c.transition(img, box(4));
    model.delayMs = 600;
    const t0 = performance.now();
    const err = await failure(c.transition(img, box(5), { deadlineMs: 150 }));
    const waited = performance.now() - t0;
    expect(err).toBeInstanceOf(SamEnvCallError);
    expect((err as SamEnvCallError).grpcCode).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(waited).toBeLessThan(500);
    model.delayMs = 0;
    const ok = await c.transition(img, box(5));
    expect(ok.result.mask.width).toBe(96);
    c.close();
    await s.shutdown();
  });

  it('drains: requests in flight are answered, then the stream ends and shutdown does not wait out the grace period', async () => {
    const s = await startGrabCut({ drainTimeoutMs: 30_000 });
    const c = new SamEnvClient({ addresses: [s.address], firstContact: 'send', maxAttempts: 1 });
    await c.transition(img, box(0));
    await c.transition(img, box(1));
    expect(await openStreams(s)).toBe(1);
    const started = await lookups(s);
    const inflight = Array.from({ length: 6 }, (_, i) => c.transition(img, box(i + 2)));
    // Shut down once all six are on the server (a request still in transit when the stream ends
    // fails UNAVAILABLE, for the client to retry on another replica).
    for (let t = 0; (await lookups(s)) < started + 6; t++) {
      if (t > 1000) throw new Error('the requests never reached the server');
      await new Promise((r) => setTimeout(r, 2));
    }
    const t0 = performance.now();
    const stopping = s.shutdown();
    const results = await Promise.all(inflight);
    expect(results.map((r) => r.result.mask.width)).toEqual(Array(6).fill(96));
    await stopping;
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(s.state).toBe('stopped');
    expect(await openStreams(s)).toBe(0);
    // The client's next call finds no server: UNAVAILABLE, not a hang.
    const err = await failure(c.transition(img, box(3), { deadlineMs: 3000 }));
    expect(err.code).toBe('UNAVAILABLE');
    c.close();
  });

  it('falls back to unary calls on a server without TransitionStream', async () => {
    const service = new TransitionService({ model: new GrabCutModel() });
    await service.model.init();
    let unaryCalls = 0;
    const old = new grpc.Server();
    const { proto } = loadSamEnvDefinition();
    const { TransitionStream: _absent, ...methods } = proto.samveteran.v1.SamEnv.service;
    old.addService(methods, {
      Transition: (
        call: grpc.ServerUnaryCall<TransitionRequest__Output, TransitionResponse>,
        cb: grpc.sendUnaryData<TransitionResponse>,
      ) => {
        unaryCalls++;
        service
          .run({
            model: '',
            image: imageRefFromWire(call.request.image, 'image'),
            prompts: [promptFromWire(call.request.prompt, 'prompt')],
            returnLogits: true,
            promptField: 'prompt',
          })
          .then(
            (out) => cb(null, { result: transitionResultToWire(out.results[0]!), modelId: out.modelId }),
            (err: Error) => cb({ code: grpc.status.INTERNAL, details: err.message }),
          );
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      old.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const c = new SamEnvClient({ addresses: [`127.0.0.1:${port}`], firstContact: 'send', maxAttempts: 1 });
    const reference = new SamEnvClient({ addresses: [server.address], firstContact: 'send' });
    for (let i = 0; i < 4; i++) {
      const r = await c.transition(img, box(i));
      expect(r.result.mask).toEqual((await reference.transition(img, box(i))).result.mask);
    }
    expect(unaryCalls).toBe(4);
    c.close();
    reference.close();
    old.forceShutdown();
    await service.model.close();
  });
});
