import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ActionFormatError } from '../../core/actions/index.ts';
import { episodeInputOf, evaluatePolicy, observationOf, runEpisodes } from '../../core/agent/index.ts';
import { generateSample, syntheticDataset } from '../../core/data/index.ts';
import { UnavailableError, ValidationError } from '../../core/errors/index.ts';
import { BinaryMask } from '../../core/mask/index.ts';
import {
  ChatClient,
  ChatProtocolError,
  parseRemotePolicySpec,
  RemotePolicy,
} from '../../core/policy-remote/index.ts';
import { LocalEnv } from '../../services/sam-env/src/local-env.ts';
import { createGrabCutModel } from '../../services/sam-env/src/models/grabcut.ts';
import { startChatServer, tokensOf, type ChatServer } from './chat-server.ts';

const MODEL = 'Qwen/Qwen2.5-VL-7B-Instruct';
let server: ChatServer;

beforeAll(async () => {
  server = await startChatServer(MODEL);
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  server.seen.length = 0;
});

const W = 80;
const H = 60;
function image(): { width: number; height: number; rgb: Uint8Array } {
  return { width: W, height: H, rgb: new Uint8Array(W * H * 3).fill(100) };
}

function policy(extra: Partial<ConstructorParameters<typeof RemotePolicy>[0]> = {}): RemotePolicy {
  return new RemotePolicy({
    baseUrl: server.baseUrl,
    model: MODEL,
    initialBackoffMs: 5,
    timeoutMs: 5000,
    ...extra,
  });
}

describe('RemotePolicy over an OpenAI-compatible endpoint', () => {
  it('sends the localization prompt with the image and returns the parsed box with per-token log-probs', async () => {
    const text =
      '<think>The red square is at the top left.</think>\n<answer>{"bbox_2d": [10, 12, 50, 58]}</answer>';
    server.setResponder(() => ({ kind: 'text', text }));
    const p = policy({ apiKey: 'secret-key' });
    const [r] = await p.act([observationOf(image(), 'the red square', null)], 'box');
    expect(r?.action).toEqual({ kind: 'box', box: [10, 12, 50, 58] });
    expect(r?.formatError).toBeUndefined();
    const expected = tokensOf(text).map((t) => t.logprob);
    expect(Array.from(r?.logprobs ?? [])).toEqual(Array.from(Float32Array.from(expected)));
    const req = server.seen[0];
    expect(req?.authorization).toBe('Bearer secret-key');
    expect(req?.body).toMatchObject({ model: MODEL, logprobs: true, top_logprobs: 0, temperature: 0 });
    expect(req?.prompt).toContain('"the red square"');
    expect(req?.prompt).toContain('bbox_2d');
    expect(req?.prompt).toContain('80 pixels wide and 60 pixels high');
    expect([req?.image.width, req?.image.height]).toEqual([W, H]);
    expect(p.stats).toMatchObject({ actions: 1, formatErrors: 0, requests: 1, retries: 0 });
  });

  it('shows the current mask as the green overlay in the refinement request and parses the point pair', async () => {
    server.setResponder(() => ({
      kind: 'text',
      text: '<answer>{"positive_point": [30, 20], "negative_point": None}</answer>',
    }));
    const mask = new BinaryMask(W, H);
    for (let y = 10; y < 30; y++) for (let x = 10; x < 40; x++) mask.data[y * W + x] = 1;
    const [r] = await policy().act([observationOf(image(), 'the red square', mask)], 'refine');
    expect(r?.action).toEqual({ kind: 'points', positive: [30, 20], negative: null });
    const req = server.seen[0];
    expect(req?.prompt).toContain('positive_point');
    const px = (x: number, y: number): number[] =>
      Array.from(req?.image.rgb.subarray((y * W + x) * 3, (y * W + x) * 3 + 3) ?? []);
    const [r1, g1, b1] = px(25, 20) as [number, number, number];
    expect(g1).toBeGreaterThan(r1 + 50);
    expect(g1).toBeGreaterThan(b1 + 50);
    expect(px(60, 50)).toEqual([100, 100, 100]);
  });

  it('turns malformed replies into the fallback actions and counts them', async () => {
    const replies = [
      'I cannot find it.',
      '<answer>{"bbox_2d": [10, 12, 500, 58]}</answer>',
      '{"positive_point": [1, 2, 3]}',
      'stop',
    ];
    // Keyed by the query (requests of one batch run concurrently, so arrival order is not fixed).
    const byQuery: Record<string, string> = {
      a: replies[0] as string,
      b: replies[1] as string,
      c: replies[2] as string,
      d: replies[3] as string,
    };
    server.setResponder((req) => ({
      kind: 'text',
      text: byQuery[/"([a-d])"/.exec(req.prompt)?.[1] ?? ''] ?? 'unexpected',
    }));
    const p = policy();
    const boxes = await p.act([observationOf(image(), 'a', null), observationOf(image(), 'b', null)], 'box');
    expect(boxes.map((b) => b.action)).toEqual([
      { kind: 'box', box: [0, 0, W, H] },
      { kind: 'box', box: [0, 0, W, H] },
    ]);
    expect(boxes[0]?.formatError).toBeInstanceOf(ActionFormatError);
    expect(boxes[0]?.formatError?.reason).toBe('no_json');
    expect(boxes[1]?.formatError?.field).toBe('bbox_2d');
    expect(boxes[1]?.logprobs.length).toBe(tokensOf(replies[1] as string).length);
    const mask = new BinaryMask(W, H);
    const refs = [];
    for (const q of ['c', 'd']) refs.push(...(await p.act([observationOf(image(), q, mask)], 'refine')));
    expect(refs.map((r) => r.action)).toEqual([
      { kind: 'points', positive: null, negative: null },
      { kind: 'points', positive: null, negative: null },
    ]);
    expect(refs[0]?.formatError?.message).toBe('positive_point [1, 2, 3] must be [x, y] or null');
    expect(p.stats).toMatchObject({ actions: 4, formatErrors: 4 });
  });

  it('retries 500 and 429 (honouring Retry-After) and then succeeds', async () => {
    const answers = [
      { kind: 'status' as const, status: 500, body: '{"message":"CUDA out of memory"}' },
      {
        kind: 'status' as const,
        status: 429,
        body: '{"message":"too many requests"}',
        headers: { 'retry-after': '0' },
      },
      { kind: 'text' as const, text: '{"bbox_2d": [1, 2, 3, 4]}' },
    ];
    server.setResponder((_, i) => answers[i] ?? { kind: 'status', status: 500, body: 'unexpected' });
    const p = policy();
    const [r] = await p.act([observationOf(image(), 'x', null)], 'box');
    expect(r?.action).toEqual({ kind: 'box', box: [1, 2, 3, 4] });
    expect(server.seen).toHaveLength(3);
    expect(p.stats).toMatchObject({ requests: 3, retries: 2, failures: 0 });
  });

  it('gives up with UnavailableError after its attempts when the server keeps failing', async () => {
    server.setResponder(() => ({ kind: 'status', status: 503, body: 'loading model' }));
    const p = policy({ maxAttempts: 3 });
    const err = await p.act([observationOf(image(), 'x', null)], 'box').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toBe(
      `chat endpoint ${server.baseUrl}/v1/chat/completions failed after 3 attempts: HTTP 503 loading model`,
    );
    expect(server.seen).toHaveLength(3);
  });

  it('times out a request that gets no answer and retries it', async () => {
    server.setResponder(() => ({ kind: 'hang' }));
    const p = policy({ timeoutMs: 150, maxAttempts: 2 });
    const t0 = performance.now();
    const err = await p.act([observationOf(image(), 'x', null)], 'box').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toContain('failed after 2 attempts: timed out after 150 ms');
    expect(server.seen).toHaveLength(2);
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  it('does not retry a request the server rejects as invalid', async () => {
    const p = new RemotePolicy({
      baseUrl: `${server.baseUrl}/v1`,
      model: 'no-such-model',
      initialBackoffMs: 5,
    });
    const before = server.received();
    const err = await p.act([observationOf(image(), 'x', null)], 'box').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChatProtocolError);
    expect((err as ChatProtocolError).status).toBe(400);
    expect((err as Error).message).toContain('answered HTTP 400');
    expect((err as Error).message).toContain('The model `no-such-model` does not exist.');
    expect(server.received() - before).toBe(1);
  });

  it('reports a 200 reply that is not a chat completion without retrying it', async () => {
    server.setResponder(() => ({ kind: 'status', status: 200, body: '{"choices": []}' }));
    const err = await policy()
      .act([observationOf(image(), 'x', null)], 'box')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChatProtocolError);
    expect((err as Error).message).toBe(
      `chat endpoint ${server.baseUrl}/v1/chat/completions sent a reply that is not a chat completion: body has no choices ({"choices":[]})`,
    );
    expect(server.seen).toHaveLength(1);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    server.setResponder(() => ({ kind: 'text', text: '{"bbox_2d": [1, 2, 3, 4]}', delayMs: 40 }));
    const p = policy({ concurrency: 2 });
    const out = await p.act(
      Array.from({ length: 6 }, (_, i) => observationOf(image(), `q${i}`, null)),
      'box',
    );
    expect(out).toHaveLength(6);
    expect(server.maxInFlight()).toBe(2);
    expect(server.seen.map((s) => /"(q\d)"/.exec(s.prompt)?.[1]).sort()).toEqual([
      'q0',
      'q1',
      'q2',
      'q3',
      'q4',
      'q5',
    ]);
  });

  it('drives the agent loop with GrabCut: a box, then a stop', async () => {
    const sample = generateSample('id-val', 0, { seed: 3, size: 96 });
    const [x1, y1, x2, y2] = sample.gtBox;
    server.setResponder((req) =>
      req.prompt.includes('bbox_2d')
        ? { kind: 'text', text: `<answer>{"bbox_2d": [${x1}, ${y1}, ${x2}, ${y2}]}</answer>` }
        : { kind: 'text', text: '<answer>{"positive_point": null, "negative_point": null}</answer>' },
    );
    const env = new LocalEnv(createGrabCutModel());
    try {
      const [e] = await runEpisodes([episodeInputOf(sample)], policy(), env, { maxRefinements: 3 });
      expect(e?.boxIou).toBeCloseTo(1, 9);
      expect(e?.steps.map((s) => s.type)).toEqual(['box', 'stop']);
      expect(e?.stopStep).toBe(1);
      const r = await evaluatePolicy({
        policy: policy(),
        dataset: syntheticDataset('id-val', 2, { seed: 3, size: 96 }),
        env,
        maxRefinements: 1,
      });
      expect(r.summary.n).toBe(2);
      expect(r.summary.perStep[1]?.terminationRate).toBe(1);
    } finally {
      await env.close();
    }
  });
});

describe('remote policy options', () => {
  it('parses remote:<baseUrl>#<model>', () => {
    expect(parseRemotePolicySpec('remote:http://10.0.0.5:8000#Qwen/Qwen2.5-VL-7B-Instruct')).toEqual({
      baseUrl: 'http://10.0.0.5:8000',
      model: 'Qwen/Qwen2.5-VL-7B-Instruct',
    });
    expect(parseRemotePolicySpec('oracle')).toBeNull();
    expect(() => parseRemotePolicySpec('remote:http://10.0.0.5:8000')).toThrow(ValidationError);
    expect(() => parseRemotePolicySpec('remote:http://10.0.0.5:8000')).toThrow(
      'policy "remote:http://10.0.0.5:8000" must be remote:<baseUrl>#<model>',
    );
  });

  it('rejects a base URL that is not http(s) and builds the /v1 endpoint once', () => {
    expect(() => new ChatClient({ baseUrl: 'ftp://x' })).toThrow('baseUrl "ftp://x" must be an http(s) URL');
    expect(new ChatClient({ baseUrl: 'http://h:1/' }).endpoint).toBe('http://h:1/v1/chat/completions');
    expect(new ChatClient({ baseUrl: 'http://h:1/v1' }).endpoint).toBe('http://h:1/v1/chat/completions');
  });
});
