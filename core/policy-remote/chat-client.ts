/**
 * A small client for the OpenAI-compatible `POST /v1/chat/completions` endpoint that vLLM and
 * SGLang serve (https://platform.openai.com/docs/api-reference/chat/create). It speaks only what
 * the remote policy needs: a multimodal user message (text + `image_url` data URL), sampling
 * settings, and `logprobs: true` so the reply carries one log-probability per generated token in
 * `choices[0].logprobs.content[i].logprob`.
 *
 * Robustness: a timeout per attempt (AbortSignal), retries with exponential backoff on 429, 5xx,
 * timeouts and connection errors (honouring a `Retry-After` in seconds), a cap on requests in
 * flight, and errors that say which status and body came back.
 */
import { SamVeteranError, UnavailableError, ValidationError } from '../errors/index.ts';

export type ChatContentPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image_url'; readonly image_url: { readonly url: string } };

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string | readonly ChatContentPart[];
}

export interface ChatRequest {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly max_tokens: number;
  readonly temperature: number;
  readonly logprobs: boolean;
  readonly top_logprobs: number;
  readonly seed?: number;
}

export interface TokenLogprob {
  readonly token: string;
  readonly logprob: number;
}

export interface ChatReply {
  /** The assistant text of choices[0]. */
  readonly text: string;
  /** Per generated token, in order (empty when the server sent none). */
  readonly tokens: readonly TokenLogprob[];
  readonly finishReason: string | null;
  /** Attempts this reply took (1 = no retry). */
  readonly attempts: number;
}

export interface ChatClientOptions {
  /** Server root, e.g. `http://127.0.0.1:8000` or `http://host:8000/v1` (the `/v1` is added if absent). */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer …` when set (vLLM `--api-key`). */
  readonly apiKey?: string;
  /** Timeout of one attempt in ms. Default 60000. */
  readonly timeoutMs?: number;
  /** Attempts per request (≥ 1) on 429/5xx/timeouts/connection errors. Default 4. */
  readonly maxAttempts?: number;
  /** First retry delay in ms, doubled per retry. Default 250. */
  readonly initialBackoffMs?: number;
  /** Retry delay cap in ms (also caps Retry-After). Default 10000. */
  readonly maxBackoffMs?: number;
  /** Requests in flight at most. Default 8. */
  readonly concurrency?: number;
}

export interface ChatClientStats {
  requests: number;
  retries: number;
  failures: number;
}

/** A non-retryable HTTP answer (4xx other than 429) or a reply that is not a chat completion. */
export class ChatProtocolError extends SamVeteranError {
  override name = 'ChatProtocolError';
  constructor(
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(status >= 400 && status < 500 ? 'INVALID_ARGUMENT' : 'INTERNAL', message, options);
  }
}

export class ChatClient {
  readonly stats: ChatClientStats = { requests: 0, retries: 0, failures: 0 };
  private readonly url: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly concurrency: number;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly opts: ChatClientOptions) {
    let base: URL;
    try {
      base = new URL(opts.baseUrl);
    } catch (err) {
      throw new ValidationError('baseUrl', opts.baseUrl, 'must be an http(s) URL', { cause: err });
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new ValidationError('baseUrl', opts.baseUrl, 'must be an http(s) URL');
    }
    const path = base.pathname.replace(/\/+$/, '');
    this.url = `${base.origin}${path.endsWith('/v1') ? path : `${path}/v1`}/chat/completions`;
    this.timeoutMs = positive('timeoutMs', opts.timeoutMs ?? 60_000);
    this.maxAttempts = Math.max(1, Math.floor(opts.maxAttempts ?? 4));
    this.initialBackoffMs = opts.initialBackoffMs ?? 250;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.concurrency = Math.max(1, Math.floor(opts.concurrency ?? 8));
  }

  get endpoint(): string {
    return this.url;
  }

  /** Sends one chat completion request (waiting for a free slot first). */
  async complete(request: ChatRequest): Promise<ChatReply> {
    await this.acquire();
    try {
      return await this.withRetries(request);
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.inFlight < this.concurrency) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight--;
  }

  private async withRetries(request: ChatRequest): Promise<ChatReply> {
    const body = JSON.stringify(request);
    let lastProblem = '';
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) this.stats.retries++;
      this.stats.requests++;
      const outcome = await this.attempt(body);
      if (outcome.kind === 'reply') return { ...outcome.reply, attempts: attempt };
      lastProblem = outcome.problem;
      if (outcome.kind === 'fatal') {
        this.stats.failures++;
        throw outcome.error;
      }
      if (attempt < this.maxAttempts) {
        const backoff = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** (attempt - 1));
        const wait =
          outcome.retryAfterMs !== undefined ? Math.min(this.maxBackoffMs, outcome.retryAfterMs) : backoff;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    this.stats.failures++;
    throw new UnavailableError(
      `chat endpoint ${this.url} failed after ${this.maxAttempts} attempts: ${lastProblem}`,
    );
  }

  private async attempt(
    body: string,
  ): Promise<
    | { kind: 'reply'; reply: Omit<ChatReply, 'attempts'> }
    | { kind: 'retry'; problem: string; retryAfterMs?: number }
    | { kind: 'fatal'; problem: string; error: Error }
  > {
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {}),
        },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      const e = err as Error;
      const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
      return {
        kind: 'retry',
        problem: timedOut ? `timed out after ${this.timeoutMs} ms` : `request failed (${e.message})`,
      };
    }
    if (res.status === 429 || res.status >= 500) {
      const ra = Number(res.headers.get('retry-after'));
      return {
        kind: 'retry',
        problem: `HTTP ${res.status} ${clip(text)}`,
        ...(Number.isFinite(ra) && ra >= 0 && res.headers.has('retry-after')
          ? { retryAfterMs: ra * 1000 }
          : {}),
      };
    }
    if (res.status !== 200) {
      const problem = `HTTP ${res.status} ${clip(text)}`;
      return {
        kind: 'fatal',
        problem,
        error: new ChatProtocolError(`chat endpoint ${this.url} answered ${problem}`, res.status),
      };
    }
    try {
      return { kind: 'reply', reply: parseChatCompletion(JSON.parse(text) as unknown) };
    } catch (err) {
      const problem = err instanceof Error ? err.message : String(err);
      return {
        kind: 'fatal',
        problem,
        error: new ChatProtocolError(
          `chat endpoint ${this.url} sent a reply that is not a chat completion: ${problem}`,
          502,
          {
            cause: err,
          },
        ),
      };
    }
  }
}

/** Reads choices[0] of a chat.completion object; throws naming the missing part. */
export function parseChatCompletion(json: unknown): Omit<ChatReply, 'attempts'> {
  const choices = (json as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices) || choices.length === 0)
    throw new Error(`body has no choices (${clip(JSON.stringify(json))})`);
  const choice = choices[0] as {
    message?: { content?: unknown };
    logprobs?: { content?: unknown } | null;
    finish_reason?: unknown;
  };
  const content = choice.message?.content;
  if (typeof content !== 'string' && content !== null)
    throw new Error('choices[0].message.content is not a string');
  const tokens: TokenLogprob[] = [];
  const lp = choice.logprobs?.content;
  if (Array.isArray(lp)) {
    for (const [i, t] of lp.entries()) {
      const entry = t as { token?: unknown; logprob?: unknown };
      if (typeof entry.logprob !== 'number')
        throw new Error(`choices[0].logprobs.content[${i}].logprob is not a number`);
      tokens.push({ token: typeof entry.token === 'string' ? entry.token : '', logprob: entry.logprob });
    }
  }
  return {
    text: content ?? '',
    tokens,
    finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null,
  };
}

function positive(field: string, v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) throw new ValidationError(field, v, 'must be a positive number');
  return v;
}

function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}
