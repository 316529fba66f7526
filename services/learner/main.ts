/**
 * Learner entry point — wiring only: config (file ← SAMV_* ← flags) → bus → warm-start policy (the
 * checkpoint, if any, is loaded by Learner.start) → Learner → /metrics → signals.
 * Run via `sam-veteran learner --bus nats://… --run-dir DIR --init warm-start.samv`.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { basename, join, resolve } from 'node:path';
import { Registry } from 'prom-client';
import { createBus, type Bus, type BusOptions } from '../../core/bus/index.ts';
import {
  loadConfig,
  SamVeteranConfigSchema,
  type BusConfig,
  type LearnerConfig,
} from '../../core/config/index.ts';
import { CheckpointError, ensureTf, loadPolicy } from '../../core/policy/index.ts';
import type { Logger } from '../../core/log/index.ts';
import { METRICS_FILE, RunFolder } from '../../core/report/index.ts';
import { checkpointStep } from './src/checkpoint.ts';
import { Learner, type LearnerStepMetrics } from './src/learner.ts';
import { serveMetrics } from './src/metrics.ts';

export interface LearnerServiceOptions {
  /** Bus URL (`memory://…` or `nats://…`); overrides config.learner.busUrl. */
  readonly bus?: string;
  /** Run folder: checkpoints go to `<runDir>/checkpoints` unless configured; its name is the run id. */
  readonly runDir?: string;
  /** Run id (task id prefix); default the run folder's name, else "run". Keep it across restarts. */
  readonly runId?: string;
  /** Warm-start policy file: the initial weights and the frozen KL reference. */
  readonly init: string;
  readonly configFile?: string;
  readonly metricsPort?: number;
  /** Stop after this many steps in total (overrides config.learner.totalSteps). */
  readonly steps?: number;
  readonly logger: Logger;
  readonly onStep?: (m: LearnerStepMetrics) => void;
}

export interface LearnerService {
  readonly learner: Learner;
  readonly bus: Bus;
  readonly config: LearnerConfig;
  readonly metricsPort: number | null;
  /**
   * Stops the learner (checkpoint), writes the trained policy to the run folder (`policy.samv`, the
   * weight average, and `policy-last.samv`), stops the metrics server and the bus. Idempotent.
   */
  close(): Promise<void>;
}

/** Drops undefined values (zod's optional keys vs. exactOptionalPropertyTypes). */
function defined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

/** Maps the config's bus section onto core/bus options (unset keys keep core/bus defaults). */
export function busOptionsFromConfig(c: BusConfig): BusOptions {
  const { prefix, pullExpiresMs, weightsChunkBytes, maxPayloadBytes } = c;
  return {
    ...defined({ prefix, pullExpiresMs, weightsChunkBytes, maxPayloadBytes }),
    tasks: defined(c.tasks),
    groups: defined(c.groups),
  };
}

function busUrl(url: string): string {
  return url === 'memory' ? 'memory://' : url;
}

export async function startLearnerService(opts: LearnerServiceOptions): Promise<LearnerService> {
  const overrides: Record<string, unknown> = {};
  if (opts.bus !== undefined) overrides['busUrl'] = opts.bus;
  if (opts.metricsPort !== undefined) overrides['metricsPort'] = opts.metricsPort;
  if (opts.steps !== undefined) overrides['totalSteps'] = opts.steps;
  const all = loadConfig(SamVeteranConfigSchema, {
    file: opts.configFile,
    overrides: { learner: overrides },
  });
  let config = all.learner;
  // The run folder decides where checkpoints go unless a file or SAMV_LEARNER__CHECKPOINT_DIR did.
  if (opts.runDir !== undefined && config.checkpointDir === 'runs/checkpoints') {
    config = { ...config, checkpointDir: join(opts.runDir, 'checkpoints') };
  }
  const runId = opts.runId ?? (opts.runDir !== undefined ? basename(resolve(opts.runDir)) : 'run');
  const log = opts.logger.child({ runId });

  await ensureTf();
  let initBytes: Uint8Array;
  try {
    initBytes = new Uint8Array(await readFile(opts.init));
  } catch (err) {
    throw new CheckpointError(`warm-start policy ${JSON.stringify(opts.init)} cannot be read`, {
      cause: err,
    });
  }
  const policy = await loadPolicy(initBytes, { source: `warm-start policy ${JSON.stringify(opts.init)}` });
  const reference = policy.clone({ frozen: true });

  const bus = await createBus(busUrl(config.busUrl), {
    ...busOptionsFromConfig(all.bus),
    logger: log,
    name: `learner-${runId}`,
  });
  const registry = new Registry();
  const metricsFile = opts.runDir !== undefined ? join(opts.runDir, METRICS_FILE) : undefined;
  if (opts.runDir !== undefined) {
    mkdirSync(opts.runDir, { recursive: true });
    // A restarted learner takes again the steps after its newest checkpoint: drop their lines (and a
    // line torn by the crash) so that metrics.jsonl keeps one line per step.
    const at = await checkpointStep(config.checkpointDir);
    const dropped = RunFolder.open(opts.runDir).dropMetricsAfter(at);
    if (dropped > 0) log.info({ checkpointStep: at, dropped }, 'dropped metrics lines past the checkpoint');
  }
  const learner = new Learner({
    bus,
    config,
    policy,
    reference,
    runId,
    logger: log,
    metrics: registry,
    onStep: (m) => {
      // The run folder's metrics.jsonl feeds the report (the same file the embedded job writes).
      if (metricsFile) appendFileSync(metricsFile, `${JSON.stringify(m)}\n`);
      opts.onStep?.(m);
    },
  });
  let server: Server | undefined;
  let metricsPort: number | null = null;
  if (config.metricsPort !== null) {
    const s = await serveMetrics(registry, config.metricsPort);
    server = s.server;
    metricsPort = s.port;
    log.info({ port: metricsPort }, 'metrics endpoint listening');
  }
  await learner.start();
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await learner.stop();
      if (opts.runDir !== undefined) {
        const written = await learner.writeResult(opts.runDir);
        log.info({ ...written, step: learner.step }, 'trained policy written');
      }
      if (server) await new Promise<void>((r) => (server as Server).close(() => r()));
      await bus.close();
    })());
  return { learner, bus, config, metricsPort, close };
}

/** SIGTERM/SIGINT → finish the step, checkpoint, exit 0 (a second signal exits at once). */
export function handleSignals(service: LearnerService, logger: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'stopping learner');
    service.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'learner shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
