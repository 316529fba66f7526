/**
 * The remote MLLM policy (ARCHITECTURE.md, "Remote MLLM policy"): Qwen2.5-VL behind an
 * OpenAI-compatible endpoint (vLLM, SGLang) acting in SAM-Veteran's MDP. For each observation it
 * sends the paper-style prompt — Q_B (localization) for the box step, Q_P (refinement) with the
 * current mask drawn as the green overlay — and the image as a base64 PNG data URL, asks for token
 * log-probabilities, and parses the answer with core/actions' tolerant parsers.
 *
 * A reply that does not parse is not an error of the episode: as in the paper's format reward, it
 * is a bad action. It becomes a fallback — the full-image box for localization, stop for
 * refinement — and is counted in `stats.formatErrors` and flagged on the result.
 */
import type { ActionFormatError, BoxAction, PointAction } from '../actions/index.ts';
import { localizationPrompt, parseBoxAction, parsePointAction, refinementPrompt } from '../actions/index.ts';
import { ValidationError } from '../errors/index.ts';
import type { ActingPolicy } from '../agent/index.ts';
import type { PolicyObservation } from '../policy/index.ts';
import { ChatClient, type ChatClientOptions, type ChatClientStats, type ChatRequest } from './chat-client.ts';

export interface RemotePolicyOptions extends ChatClientOptions {
  /** Served model name, e.g. `Qwen/Qwen2.5-VL-7B-Instruct`. */
  readonly model: string;
  /** Sampling temperature; 0 = greedy (evaluation). Default 0. */
  readonly temperature?: number;
  /** Generated tokens at most (reasoning + answer). Default 512. */
  readonly maxTokens?: number;
  /** Optional system message. Default none. */
  readonly systemPrompt?: string;
  /** Clamp coordinates outside the image onto it instead of treating them as format errors. Default false. */
  readonly clamp?: boolean;
  /** Seed sent with each request (vLLM honours it per request). Default none. */
  readonly seed?: number;
}

export interface RemoteAction {
  readonly action: BoxAction | PointAction;
  /** log π(token | prefix) per generated token, as the server reported them. */
  readonly logprobs: Float32Array;
  /** The generated text. */
  readonly text: string;
  /** Set when the text did not parse and `action` is the fallback. */
  readonly formatError?: ActionFormatError;
}

export interface RemotePolicyStats extends ChatClientStats {
  /** Replies whose action did not parse (the fallback was used). */
  formatErrors: number;
  /** Actions returned. */
  actions: number;
}

/** Encodes RGB bytes as a `data:image/png;base64,…` URL. */
export async function pngDataUrl(width: number, height: number, rgb: Uint8Array): Promise<string> {
  const { default: sharp } = await import('sharp');
  const png = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

export class RemotePolicy implements ActingPolicy {
  readonly client: ChatClient;
  private readonly counts = { formatErrors: 0, actions: 0 };

  constructor(private readonly opts: RemotePolicyOptions) {
    this.client = new ChatClient(opts);
  }

  get stats(): RemotePolicyStats {
    return { ...this.client.stats, ...this.counts };
  }

  /** One chat request per observation, concurrently (bounded by the client's concurrency). */
  act(batch: readonly PolicyObservation[], kind: 'box' | 'refine'): Promise<RemoteAction[]> {
    return Promise.all(batch.map((obs) => this.actOne(obs, kind)));
  }

  /** The request the policy sends for one observation (exposed for inspection and tests). */
  async buildRequest(obs: PolicyObservation, kind: 'box' | 'refine'): Promise<ChatRequest> {
    const size = { width: obs.width, height: obs.height };
    const prompt = kind === 'box' ? localizationPrompt(obs.query, size) : refinementPrompt(obs.query, size);
    // obs.rgb already carries the green overlay of the current mask (observationOf).
    const url = await pngDataUrl(obs.width, obs.height, obs.rgb);
    return {
      model: this.opts.model,
      messages: [
        ...(this.opts.systemPrompt ? [{ role: 'system' as const, content: this.opts.systemPrompt }] : []),
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url } },
            { type: 'text', text: prompt },
          ],
        },
      ],
      max_tokens: this.opts.maxTokens ?? 512,
      temperature: this.opts.temperature ?? 0,
      logprobs: true,
      top_logprobs: 0,
      ...(this.opts.seed !== undefined ? { seed: this.opts.seed } : {}),
    };
  }

  private async actOne(obs: PolicyObservation, kind: 'box' | 'refine'): Promise<RemoteAction> {
    const reply = await this.client.complete(await this.buildRequest(obs, kind));
    const size = { width: obs.width, height: obs.height };
    const parseOpts = { clamp: this.opts.clamp ?? false };
    const parsed =
      kind === 'box'
        ? parseBoxAction(reply.text, size, parseOpts)
        : parsePointAction(reply.text, size, parseOpts);
    const logprobs = Float32Array.from(reply.tokens, (t) => t.logprob);
    this.counts.actions++;
    if (parsed.ok) return { action: parsed.action, logprobs, text: reply.text };
    this.counts.formatErrors++;
    const fallback: BoxAction | PointAction =
      kind === 'box'
        ? { kind: 'box', box: [0, 0, obs.width, obs.height] }
        : { kind: 'points', positive: null, negative: null };
    return { action: fallback, logprobs, text: reply.text, formatError: parsed.error };
  }
}

/**
 * Parses `remote:<baseUrl>#<model>` (the eval CLI's policy spec); returns null for other specs.
 * Example: `remote:http://127.0.0.1:8000#Qwen/Qwen2.5-VL-7B-Instruct`.
 */
export function parseRemotePolicySpec(spec: string): { baseUrl: string; model: string } | null {
  if (!spec.startsWith('remote:')) return null;
  const rest = spec.slice('remote:'.length);
  const hash = rest.lastIndexOf('#');
  if (hash <= 0 || hash === rest.length - 1) {
    throw new ValidationError(
      'policy',
      spec,
      'must be remote:<baseUrl>#<model>, e.g. remote:http://127.0.0.1:8000#Qwen/Qwen2.5-VL-7B-Instruct',
    );
  }
  return { baseUrl: rest.slice(0, hash), model: rest.slice(hash + 1) };
}
