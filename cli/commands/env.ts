/**
 * `sam-veteran env serve` — run a sam-env replica; `sam-veteran env info` — ask one for its model and
 * limits. Flags override the config file and SAMV_SAM_ENV__* variables.
 */
import type { Command } from 'commander';
import { loadConfig, SamVeteranConfigSchema } from '../../core/config/index.ts';
import { createLogger } from '../../core/log/index.ts';
import {
  handleSignals,
  parseImageStoreSpec,
  SamEnvClient,
  startSamEnv,
} from '../../services/sam-env/index.ts';
import { optionalInt } from '../options.ts';

interface ServeFlags {
  config?: string;
  model?: string;
  host?: string;
  port?: string;
  encoder?: string;
  decoder?: string;
  modelDir?: string;
  provider?: string;
  workingSize?: string;
  maxBatch?: string;
  metricsPort?: string;
  imageStore?: string;
}

function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

export function registerEnvCommand(program: Command): void {
  const env = program.command('env').description('The SAM environment service (sam-env)');

  env
    .command('serve')
    .description('Serve SamEnv over gRPC until SIGTERM (then drain gracefully)')
    .option('--config <file>', 'JSON config file (section samEnv)')
    .option('--model <kind>', 'env model: grabcut | sam2-onnx')
    .option('--host <host>', 'bind host (default 0.0.0.0)')
    .option('--port <port>', 'bind port, 0 = any free port (default 50051)')
    .option('--encoder <file>', 'sam2-onnx encoder .onnx')
    .option('--decoder <file>', 'sam2-onnx decoder .onnx')
    .option('--model-dir <dir>', 'sam2-onnx directory with encoder.onnx and decoder.onnx')
    .option('--provider <ep>', 'sam2-onnx execution provider: cpu | cuda')
    .option('--working-size <px>', 'grabcut working resolution, long side in pixels (default 128)')
    .option('--max-batch <n>', 'max prompts per decoder run')
    .option('--metrics-port <port>', 'serve Prometheus /metrics on this port')
    .option(
      '--image-store <spec>',
      'resolve ImageRef store keys from nats://host:port[/bucket] (Object Store, bucket "images" by default), file:///dir or a directory',
    )
    .action(async (flags: ServeFlags) => {
      const logger = createLogger({ service: 'sam-env' });
      if (flags.imageStore !== undefined) parseImageStoreSpec(flags.imageStore, '--image-store');
      const overrides = {
        samEnv: defined({
          model: flags.model,
          host: flags.host,
          port: optionalInt('--port', flags.port),
          modelDir: flags.modelDir,
          executionProvider: flags.provider,
          maxBatch: optionalInt('--max-batch', flags.maxBatch),
          metricsPort: optionalInt('--metrics-port', flags.metricsPort),
          imageStore: flags.imageStore,
        }),
      };
      const cfg = loadConfig(SamVeteranConfigSchema, { file: flags.config, overrides }).samEnv;
      const workingSize = optionalInt('--working-size', flags.workingSize);
      const server = await startSamEnv(cfg, {
        logger,
        ...(flags.encoder ? { encoderPath: flags.encoder } : {}),
        ...(flags.decoder ? { decoderPath: flags.decoder } : {}),
        ...(workingSize ? { workingSize } : {}),
      });
      handleSignals(server, logger);
      // One line on stdout so scripts (and tests) can read the bound address.
      console.log(
        JSON.stringify({
          listening: server.address,
          model: server.service.info().modelId,
          ...(cfg.imageStore !== null ? { imageStore: server.imageStoreLocation } : {}),
          ...(server.metricsPort !== undefined ? { metricsPort: server.metricsPort } : {}),
        }),
      );
    });

  env
    .command('info')
    .description("Print a replica's model and limits as JSON")
    .requiredOption('--address <target>', 'host:port, comma-separated list, or dns:///name:port')
    .option('--deadline-ms <ms>', 'deadline in milliseconds', '5000')
    .action(async (flags: { address: string; deadlineMs: string }) => {
      const client = new SamEnvClient({ addresses: flags.address, maxAttempts: 1 });
      try {
        const info = await client.info({
          deadlineMs: optionalInt('--deadline-ms', flags.deadlineMs) ?? 5000,
        });
        console.log(JSON.stringify(info, null, 2));
      } finally {
        client.close();
      }
    });
}
