import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../core/errors/index.ts';
import type { EnvPrompt } from '../../core/wire/index.ts';
import { encodedImage, SamEnvClient, type ImagePayload } from '../../services/sam-env/src/client.ts';
import { SamEnvCallError } from '../../services/sam-env/src/errors.ts';
import type { SamEnvServer } from '../../services/sam-env/src/server.ts';
import { startGrabCut } from './harness.ts';
import { makeScene, RED, type Scene } from './scene.ts';
import { failure } from '../helpers/failure.ts';

let server: SamEnvServer;
let client: SamEnvClient;
let scene: Scene;
let img: ImagePayload;
const good: EnvPrompt = { box: [20, 20, 76, 76], points: [] };

beforeAll(async () => {
  scene = await makeScene(96, 96, [{ cx: 48, cy: 48, r: 22, color: RED }], 7);
  img = encodedImage(scene.png);
  server = await startGrabCut({ maxImageBytes: 200_000, maxImageSide: 1024, maxGroupSize: 8 });
  client = new SamEnvClient({
    addresses: [server.address],
    firstContact: 'send',
    maxAttempts: 1,
    deadlineMs: 20_000,
  });
});

afterAll(async () => {
  client.close();
  await server.shutdown();
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('bad input gets a status naming the field and value', () => {
  it('malformed image bytes → INVALID_ARGUMENT', async () => {
    const junk = new Uint8Array(300).fill(7);
    const err = await failure(client.transition(encodedImage(junk), good));
    expect(err).toBeInstanceOf(SamEnvCallError);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('image.encoded <Buffer length 300> is not a decodable PNG/JPEG image');
  });

  it('oversized image bytes and sides → RESOURCE_EXHAUSTED', async () => {
    const bigBytes = new Uint8Array(250_000);
    bigBytes.set(scene.png);
    let err = await failure(client.transition(encodedImage(bigBytes), good));
    expect(err.code).toBe('RESOURCE_EXHAUSTED');
    expect(err.message).toContain('image.encoded <Buffer length 250000> exceeds the limit of 200000 bytes');
    const wide = await sharp({ create: { width: 2000, height: 10, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    err = await failure(client.transition(encodedImage(wide), good));
    expect(err.code).toBe('RESOURCE_EXHAUSTED');
    expect(err.message).toContain('image.encoded "2000x10" exceeds the max side of 1024 px');
  });

  it('a gRPC message over the server limit → RESOURCE_EXHAUSTED', async () => {
    const small = await startGrabCut({ maxMessageBytes: 64 * 1024 });
    const c = new SamEnvClient({ addresses: [small.address], firstContact: 'send', maxAttempts: 1 });
    const err = await failure(c.transition(encodedImage(new Uint8Array(100_000).fill(1)), good));
    expect(err.code).toBe('RESOURCE_EXHAUSTED');
    expect(err.message).toMatch(/larger than max/);
    c.close();
    await small.shutdown();
  });

  it.each([
    [
      'NaN box',
      { box: [Number.NaN, 1, 20, 20], points: [] },
      'prompt.box [NaN, 1, 20, 20] must be finite numbers',
    ],
    ['x2 < x1', { box: [40, 5, 3, 60], points: [] }, 'prompt.box [40, 5, 3, 60] has x2 < x1'],
    [
      'box outside',
      { box: [0, 0, 97, 50], points: [] },
      'prompt.box [0, 0, 97, 50] is outside the 96x96 image',
    ],
    [
      'point outside',
      { box: [10, 10, 50, 50], points: [{ point: [30, 96], label: 1 }] },
      'prompt.points[0].point [30, 96] is outside the 96x96 image',
    ],
    [
      'infinite point',
      { box: [10, 10, 50, 50], points: [{ point: [Number.POSITIVE_INFINITY, 3], label: 0 }] },
      'prompt.points[0].point [Infinity, 3] must be finite numbers',
    ],
    [
      'too many points',
      { box: [10, 10, 50, 50], points: Array.from({ length: 17 }, () => ({ point: [20, 20], label: 1 })) },
      'prompt.points 17 has more than the limit of 16 points',
    ],
    [
      'logits of the wrong size',
      {
        box: [10, 10, 50, 50],
        points: [],
        prevLogits: { width: 32, height: 32, data: new Float32Array(1024) },
      },
      'prompt.prevLogits "32x32" has the wrong size; grabcut@128 takes 64x64 logits',
    ],
    [
      'previous mask of the wrong size',
      { box: [10, 10, 50, 50], points: [], prevMask: { height: 4, width: 4, counts: '0`0' } },
      'prompt.prevMask "4x4" does not match the 96x96 image',
    ],
  ] as const)('%s → INVALID_ARGUMENT', async (_name, prompt, message) => {
    const err = await failure(client.transition(img, prompt as unknown as EnvPrompt));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain(message);
  });

  it('an unknown model → INVALID_ARGUMENT naming it', async () => {
    const c = new SamEnvClient({ addresses: [server.address], model: 'sam2-hiera-large', maxAttempts: 1 });
    const err = await failure(c.transition(img, good));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain(
      'model "sam2-hiera-large" is not served here (this server runs grabcut@128',
    );
    c.close();
  });

  it('a digest that does not match the bytes → INVALID_ARGUMENT', async () => {
    const wrong = sha(new Uint8Array([1, 2, 3]));
    const err = await failure(
      client.transition({ digest: wrong, source: { kind: 'encoded', bytes: scene.png } }, good),
    );
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain(
      `image.digest "${wrong}" does not match the SHA-256 of the image bytes (${scene.digest})`,
    );
    const malformed = await failure(client.transition({ digest: 'abc' }, good));
    expect(malformed.message).toContain('image.digest "abc" must be a lowercase hex SHA-256');
  });

  it('an unknown digest without bytes → NOT_FOUND saying what to send', async () => {
    const unknown = sha(new Uint8Array([9, 9, 9]));
    const err = await failure(client.transition({ digest: unknown }, good));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain(`send image bytes for digest ${unknown}`);
  });

  it('group limits: empty → INVALID_ARGUMENT, too large → RESOURCE_EXHAUSTED', async () => {
    let err = await failure(client.transitionGroup(img, []));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('prompts [] must contain at least one prompt');
    err = await failure(
      client.transitionGroup(
        img,
        Array.from({ length: 9 }, () => good),
      ),
    );
    expect(err.code).toBe('RESOURCE_EXHAUSTED');
    expect(err.message).toContain('prompts 9 exceeds the max group size of 8 prompts');
    err = await failure(client.transitionGroup(img, [good, { box: [5, 5, 1, 9], points: [] }]));
    expect(err.message).toContain('prompts[1].box [5, 5, 1, 9] has x2 < x1');
  });

  it('hundreds of bad calls interleaved with good ones: every good call succeeds', async () => {
    const bad: EnvPrompt[] = [
      { box: [Number.NaN, 0, 1, 1], points: [] },
      { box: [50, 0, 10, 10], points: [] },
      { box: [0, 0, 10, 10], points: [{ point: [-1, 5], label: 1 }] },
      { box: [0, 0, 10, 10], points: [], prevLogits: { width: 3, height: 3, data: new Float32Array(9) } },
    ];
    const junk = encodedImage(new Uint8Array(64).fill(3));
    const calls: Promise<'ok' | 'bad'>[] = [];
    for (let i = 0; i < 400; i++) {
      if (i % 10 === 0) {
        calls.push(
          client.transition(img, { box: [20 + (i % 7), 20, 76, 76], points: [] }).then(() => 'ok' as const),
        );
      } else {
        const p = i % 13 === 0 ? client.transition(junk, good) : client.transition(img, bad[i % bad.length]!);
        calls.push(
          p.then(
            () => 'ok' as const,
            (e: unknown) => {
              if (!(e instanceof SamEnvCallError) || e.code !== 'INVALID_ARGUMENT') throw e;
              return 'bad' as const;
            },
          ),
        );
      }
    }
    const results = await Promise.all(calls);
    expect(results.filter((r) => r === 'ok')).toHaveLength(40);
    expect(results.filter((r) => r === 'bad')).toHaveLength(360);
    const info = await client.info();
    expect(info.modelId).toBe('grabcut@128');
  });
});
