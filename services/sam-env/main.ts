/**
 * sam-env entry point — wiring only: config → model → server → signals.
 * Run directly (`tsx services/sam-env/main.ts [config.json]`) or via `sam-veteran env serve`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig, SamVeteranConfigSchema, type SamEnvConfig } from '../../core/config/index.ts';
import { createLogger, type Logger } from '../../core/log/index.ts';
import type { ImageStore } from './src/image-resolver.ts';
import { openImageStore } from './src/image-store.ts';
import { createEnvModel, type EnvModelSpec } from './src/models/registry.ts';
import { SamEnvServer } from './src/server.ts';

export interface StartOptions {
  /** Encoder/decoder ONNX files for sam2-onnx (default `<modelDir>/encoder.onnx`, `decoder.onnx`). */
  readonly encoderPath?: string;
  readonly decoderPath?: string;
  /** GrabCut working resolution (long side, px). */
  readonly workingSize?: number;
  readonly logger?: Logger;
}

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export function modelSpecFromConfig(cfg: SamEnvConfig, opts: StartOptions = {}): EnvModelSpec {
  if (cfg.model === 'grabcut') {
    return {
      kind: 'grabcut',
      options: {
        maxPoints: cfg.limits.maxPoints,
        maxBatch: cfg.maxBatch,
        ...(opts.workingSize ? { workingSize: opts.workingSize } : {}),
      },
    };
  }
  const dir = cfg.modelDir ?? '.';
  return {
    kind: 'sam2-onnx',
    options: {
      encoderPath: opts.encoderPath ?? join(dir, 'encoder.onnx'),
      decoderPath: opts.decoderPath ?? join(dir, 'decoder.onnx'),
      executionProviders: [cfg.executionProvider],
      maxBatch: cfg.maxBatch,
      maxPoints: cfg.limits.maxPoints,
    },
  };
}

/**
 * Opens the image store (if configured), builds the model from config and starts a serving
 * SamEnvServer, which closes the store when it stops.
 */
export async function startSamEnv(cfg: SamEnvConfig, opts: StartOptions = {}): Promise<SamEnvServer> {
  const imageStore: ImageStore | undefined =
    cfg.imageStore !== null
      ? await openImageStore(cfg.imageStore, {
          field: 'samEnv.imageStore',
          ...(opts.logger ? { logger: opts.logger } : {}),
        })
      : undefined;
  try {
    return await startServer(cfg, opts, imageStore);
  } catch (err) {
    await imageStore?.close?.().catch(() => undefined);
    throw err;
  }
}

async function startServer(
  cfg: SamEnvConfig,
  opts: StartOptions,
  imageStore: ImageStore | undefined,
): Promise<SamEnvServer> {
  const model = await createEnvModel(modelSpecFromConfig(cfg, opts));
  return SamEnvServer.start({
    model,
    ...(imageStore ? { imageStore, ownsImageStore: true } : {}),
    host: cfg.host,
    port: cfg.port,
    maxMessageBytes: cfg.limits.maxReceiveMessageBytes,
    maxImageBytes: cfg.limits.maxImageBytes,
    maxImagePixels: cfg.limits.maxImagePixels,
    maxGroupSize: cfg.limits.maxTransitionsPerRequest,
    embeddingCacheBytes: cfg.embeddingCacheBytes,
    maxBatch: cfg.maxBatch,
    maxBatchWaitMs: cfg.maxBatchWaitMs,
    maxConcurrent: cfg.maxConcurrent,
    drainTimeoutMs: cfg.shutdownGraceMs,
    ...(cfg.metricsPort !== null ? { metricsPort: cfg.metricsPort } : {}),
    serverVersion: version,
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
}

/** SIGTERM/SIGINT → graceful drain, then exit 0 (a second signal exits at once). */
export function handleSignals(server: SamEnvServer, logger: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'draining');
    server.shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

async function main(): Promise<void> {
  const logger = createLogger({ service: 'sam-env' });
  const cfg = loadConfig(SamVeteranConfigSchema, { file: process.argv[2] }).samEnv;
  const server = await startSamEnv(cfg, { logger });
  handleSignals(server, logger);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
