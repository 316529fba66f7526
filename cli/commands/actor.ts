/**
 * `sam-veteran actor` — run one actor: pull tasks from the bus, roll out groups against sam-env
 * (or an in-process GrabCut env when no --env is given), publish them, hot-swap released weights;
 * SIGTERM/SIGINT drains the tasks in flight and exits.
 */
import type { Command } from 'commander';
import { ValidationError } from '../../core/errors/index.ts';
import { createLogger } from '../../core/log/index.ts';
import { handleSignals, startActorService } from '../../services/actor/main.ts';
import { parseImageStoreSpec } from '../../services/sam-env/src/image-store.ts';
import { optionalInt } from '../options.ts';

interface ActorFlags {
  bus?: string;
  env?: string;
  id: string;
  metricsPort?: string;
  concurrency?: string;
  imageStore?: string;
  config?: string;
}

export function registerActorCommand(program: Command): void {
  program
    .command('actor')
    .description(
      'Run an actor: tasks in, rollout groups out (dynamic sampling, SAM-in-the-loop rewards, weight hot-swap)',
    )
    .option('--bus <url>', 'bus URL: memory:// or nats://host:port (default: config actor.busUrl)')
    .option('--env <addresses>', 'sam-env replicas, comma-separated host:port (default: in-process GrabCut)')
    .option('--id <id>', 'actor id (metrics label, group actorId)', `actor-${process.pid}`)
    .option('--metrics-port <port>', 'serve Prometheus /metrics on this port (0 = any free port)')
    .option('--concurrency <n>', 'tasks processed at once (default: config actor.concurrency)')
    .option(
      '--image-store <spec>',
      'send replicas image-store keys instead of pixels: the store the replicas open with --image-store ' +
        '(nats://host:port[/bucket] or a shared directory; default: config actor.envImageStore)',
    )
    .option('--config <file>', 'JSON config file (sections actor, bus, rewards)')
    .action(async (flags: ActorFlags) => {
      if (!/^[A-Za-z0-9_.-]+$/.test(flags.id))
        throw new ValidationError('--id', flags.id, 'must match [A-Za-z0-9_.-]+');
      if (flags.imageStore !== undefined) parseImageStoreSpec(flags.imageStore, '--image-store');
      const logger = createLogger({ service: 'actor' });
      const metricsPort = optionalInt('--metrics-port', flags.metricsPort, 0);
      const concurrency = optionalInt('--concurrency', flags.concurrency, 1);
      const envAddresses =
        flags.env === undefined
          ? undefined
          : flags.env
              .split(',')
              .map((a) => a.trim())
              .filter((a) => a.length > 0);
      const service = await startActorService({
        id: flags.id,
        logger,
        ...(flags.bus !== undefined ? { bus: flags.bus } : {}),
        ...(envAddresses !== undefined ? { envAddresses } : {}),
        ...(flags.config !== undefined ? { configFile: flags.config } : {}),
        ...(metricsPort !== undefined ? { metricsPort } : {}),
        ...(concurrency !== undefined ? { concurrency } : {}),
        ...(flags.imageStore !== undefined ? { imageStore: flags.imageStore } : {}),
      });
      handleSignals(service, logger);
      // One line on stdout so scripts (and tests) can read where it runs.
      console.log(JSON.stringify({ actor: 'ready', id: flags.id, metricsPort: service.metricsPort }));
    });
}
