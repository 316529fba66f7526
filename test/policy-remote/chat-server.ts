/**
 * A local stand-in for a vLLM/SGLang OpenAI-compatible server: `POST /v1/chat/completions` on
 * 127.0.0.1 port 0. It validates requests the way such a server would for a VLM with log-probs
 * (JSON body, `model` it serves, a user message with an `image_url` PNG data URL and a text part,
 * `logprobs: true`, `top_logprobs` 0..20) and answers 400 with an OpenAI-style error otherwise.
 * Valid requests are answered by a scripted responder: a chat.completion whose
 * `choices[0].logprobs.content` splits the text into tokens with log-probs, or a raw status/body,
 * or no answer at all (to exercise timeouts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

export interface SeenRequest {
  readonly body: Record<string, unknown>;
  /** The decoded image of the request. */
  readonly image: { width: number; height: number; rgb: Buffer };
  /** The text part of the user message. */
  readonly prompt: string;
  readonly authorization: string | undefined;
}

export type Reply =
  | { kind: 'text'; text: string; delayMs?: number }
  | { kind: 'status'; status: number; body: string; headers?: Record<string, string> }
  | { kind: 'hang' };

export type Responder = (req: SeenRequest, index: number) => Reply;

export interface ChatServer {
  readonly baseUrl: string;
  readonly seen: SeenRequest[];
  /** Requests that got any answer, valid or not. */
  readonly received: () => number;
  readonly maxInFlight: () => number;
  setResponder(r: Responder): void;
  close(): Promise<void>;
}

/** Splits text into 1–4 character tokens with deterministic log-probs in (−2, 0). */
export function tokensOf(
  text: string,
): { token: string; logprob: number; bytes: number[]; top_logprobs: [] }[] {
  const out: { token: string; logprob: number; bytes: number[]; top_logprobs: [] }[] = [];
  for (let i = 0, k = 0; i < text.length; k++) {
    const len = 1 + (k % 4);
    const token = text.slice(i, i + len);
    out.push({
      token,
      logprob: -((k * 37) % 200) / 100 - 0.001,
      bytes: [...Buffer.from(token)],
      top_logprobs: [],
    });
    i += len;
  }
  return out;
}

function error(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ object: 'error', message, type: 'BadRequestError', param: null, code: status }));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Checks the request shape; returns the problem or the parsed parts. */
async function validate(
  raw: string,
  model: string,
): Promise<
  { problem: string } | { body: Record<string, unknown>; image: SeenRequest['image']; prompt: string }
> {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return { problem: 'body is not JSON' };
  }
  if (body['model'] !== model) return { problem: `The model \`${String(body['model'])}\` does not exist.` };
  if (body['logprobs'] !== true) return { problem: 'logprobs must be true' };
  const top = body['top_logprobs'];
  if (top !== undefined && (typeof top !== 'number' || top < 0 || top > 20))
    return { problem: 'top_logprobs must be in 0..20' };
  const messages = body['messages'];
  if (!Array.isArray(messages) || messages.length === 0)
    return { problem: 'messages must be a non-empty list' };
  const user = messages.filter((m: { role?: unknown }) => m.role === 'user');
  if (user.length !== 1) return { problem: 'expected exactly one user message' };
  const content = (user[0] as { content?: unknown }).content;
  if (!Array.isArray(content)) return { problem: 'user content must be a list of parts' };
  const img = content.find((p: { type?: unknown }) => p.type === 'image_url') as
    { image_url?: { url?: unknown } } | undefined;
  const txt = content.find((p: { type?: unknown }) => p.type === 'text') as { text?: unknown } | undefined;
  if (!img || typeof img.image_url?.url !== 'string') return { problem: 'missing image_url part' };
  if (!txt || typeof txt.text !== 'string') return { problem: 'missing text part' };
  const m = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/.exec(img.image_url.url);
  if (!m) return { problem: 'image_url must be a base64 PNG data URL' };
  const png = Buffer.from(m[1] as string, 'base64');
  if (png.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') return { problem: 'image is not a PNG' };
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { body, image: { width: info.width, height: info.height, rgb: data }, prompt: txt.text };
}

export async function startChatServer(model: string): Promise<ChatServer> {
  let responder: Responder = () => ({ kind: 'status', status: 500, body: 'no responder' });
  const seen: SeenRequest[] = [];
  let received = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    void (async () => {
      received++;
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions')
        return error(res, 404, `no route ${req.method} ${req.url}`);
      if (!String(req.headers['content-type']).startsWith('application/json'))
        return error(res, 400, 'content-type must be JSON');
      const v = await validate(await readBody(req), model);
      if ('problem' in v) return error(res, 400, v.problem);
      const seenReq: SeenRequest = { ...v, authorization: req.headers.authorization };
      seen.push(seenReq);
      const reply = responder(seenReq, seen.length - 1);
      if (reply.kind === 'hang') {
        hanging.add(res);
        return;
      }
      if (reply.kind === 'status') {
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        return res.end(reply.body);
      }
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
      inFlight--;
      const tokens = tokensOf(reply.text);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: `chatcmpl-${seen.length}`,
          object: 'chat.completion',
          created: 1_764_000_000,
          model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: reply.text, tool_calls: [] },
              logprobs: { content: tokens },
              finish_reason: 'stop',
              stop_reason: null,
            },
          ],
          usage: { prompt_tokens: 900, total_tokens: 900 + tokens.length, completion_tokens: tokens.length },
        }),
      );
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    seen,
    received: () => received,
    maxInFlight: () => maxInFlight,
    setResponder: (r) => {
      responder = r;
    },
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
