/** Starts real sam-env servers on 127.0.0.1 port 0 for tests and benches. */
import { decodeCocoRle, type BinaryMask } from '../../core/mask/index.ts';
import type { RleMask } from '../../core/wire/index.ts';
import { SamEnvClient, type SamEnvClientOptions } from '../../services/sam-env/src/client.ts';
import { createGrabCutModel, type GrabCutOptions } from '../../services/sam-env/src/models/grabcut.ts';
import { SamEnvServer, type SamEnvServerOptions } from '../../services/sam-env/src/server.ts';

export async function startGrabCut(
  opts: Partial<Omit<SamEnvServerOptions, 'model'>> & { grabcut?: GrabCutOptions } = {},
): Promise<SamEnvServer> {
  const { grabcut, ...rest } = opts;
  return SamEnvServer.start({
    model: createGrabCutModel(grabcut ?? {}),
    host: '127.0.0.1',
    port: 0,
    drainTimeoutMs: 2000,
    ...rest,
  });
}

export function clientFor(
  servers: SamEnvServer | readonly SamEnvServer[],
  opts: Partial<SamEnvClientOptions> = {},
): SamEnvClient {
  const list = Array.isArray(servers) ? servers : [servers as SamEnvServer];
  return new SamEnvClient({ addresses: list.map((s) => s.address), deadlineMs: 20_000, ...opts });
}

export function rleMask(r: RleMask): BinaryMask {
  return decodeCocoRle({ size: [r.height, r.width], counts: r.counts });
}

/** Polls `cond` every 10 ms until true or `timeoutMs` passes. */
export async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
