/**
 * One entry point for both transports, chosen by URL like a database driver:
 * `memory://` or `memory://<name>` → the embedded InProcessBus on a named broker (default
 * "default"); `nats://host:port` (comma-separated for several servers) → JetStreamBus.
 */
import { ValidationError } from '../errors/index.ts';
import { InProcessBus } from './in-process-bus.ts';
import { JetStreamBus, type JetStreamBusOptions } from './jetstream-bus.ts';
import type { Bus } from './types.ts';

export type CreateBusOptions = JetStreamBusOptions;

export async function createBus(url: string, opts: CreateBusOptions = {}): Promise<Bus> {
  if (typeof url !== 'string') throw new ValidationError('url', url, 'must be a string');
  if (url.startsWith('memory://')) {
    const name = url.slice('memory://'.length) || 'default';
    return new InProcessBus({ ...opts, broker: name });
  }
  if (url.startsWith('nats://') || url.startsWith('tls://')) {
    const servers = url
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    return JetStreamBus.connect(servers, opts);
  }
  throw new ValidationError('url', url, 'must start with memory:// or nats://');
}
