/**
 * `sam-veteran learner` — run the learner service (task feeder, GRPO updates, weight broadcast,
 * checkpoints) against a bus until its step budget is reached or SIGTERM/SIGINT arrives; a restart
 * with the same run folder resumes from the last checkpoint.
 */
import type { Command } from 'commander';
import { createLogger } from '../../core/log/index.ts';
import { handleSignals, startLearnerService } from '../../services/learner/main.ts';
import { DEFAULT_WARM_START } from '../train/paths.ts';
import { optionalInt } from '../options.ts';

interface LearnerFlags {
  bus?: string;
  runDir?: string;
  runId?: string;
  metricsPort?: string;
  init: string;
  config?: string;
  steps?: string;
}

export function registerLearnerCommand(program: Command): void {
  program
    .command('learner')
    .description(
      'Run the learner: feed tasks, apply GRPO updates from rollout groups, publish weights, checkpoint',
    )
    .option('--bus <url>', 'bus URL: memory:// or nats://host:port (default: config learner.busUrl)')
    .option('--run-dir <dir>', 'run folder; checkpoints go to <dir>/checkpoints and its name is the run id')
    .option('--run-id <id>', 'run id (task id prefix); default: the run folder name')
    .option('--metrics-port <port>', 'serve Prometheus /metrics on this port (0 = any free port)')
    .option('--init <file>', 'warm-start policy (initial weights and KL reference)', DEFAULT_WARM_START)
    .option('--config <file>', 'JSON config file (sections learner, bus)')
    .option('--steps <n>', 'stop after this many GRPO steps in total (0 = until stopped)')
    .action(async (flags: LearnerFlags) => {
      const logger = createLogger({ service: 'learner', ...(flags.runId ? { runId: flags.runId } : {}) });
      const metricsPort = optionalInt('--metrics-port', flags.metricsPort, 0);
      const steps = optionalInt('--steps', flags.steps, 0);
      const service = await startLearnerService({
        init: flags.init,
        logger,
        ...(flags.bus !== undefined ? { bus: flags.bus } : {}),
        ...(flags.runDir !== undefined ? { runDir: flags.runDir } : {}),
        ...(flags.runId !== undefined ? { runId: flags.runId } : {}),
        ...(flags.config !== undefined ? { configFile: flags.config } : {}),
        ...(metricsPort !== undefined ? { metricsPort } : {}),
        ...(steps !== undefined ? { steps } : {}),
      });
      handleSignals(service, logger);
      // One line on stdout so scripts (and tests) can read where it runs.
      console.log(
        JSON.stringify({
          learner: 'ready',
          step: service.learner.step,
          version: service.learner.version,
          metricsPort: service.metricsPort,
          checkpointDir: service.config.checkpointDir,
        }),
      );
      await service.learner.run();
      logger.info({ step: service.learner.step }, 'learner run ended');
      await service.close();
    });
}
