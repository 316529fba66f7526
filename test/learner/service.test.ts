/**
 * The learner service as `sam-veteran learner` runs it (startLearnerService: config file, run folder,
 * warm-start file), on the in-process bus with the minimal real actor of helpers.ts: it trains, and
 * on close it writes the trained policy to the run folder, the weight average and the last weights.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InProcessBroker, InProcessBus } from '../../core/bus/index.ts';
import { silentLogger } from '../../core/log/index.ts';
import { decodePolicyFile, policyToBytes } from '../../core/policy/index.ts';
import { startLearnerService } from '../../services/learner/main.ts';
import { DATASET, TestActor, tinyPolicy } from './helpers.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('learner service', () => {
  it('trains from a warm-start file and leaves the weight average and the last weights in the run folder', async () => {
    const root = await mkdtemp(join(tmpdir(), 'learner-service-'));
    dirs.push(root);
    const warm = await tinyPolicy(5);
    const init = join(root, 'warm.samv');
    await writeFile(init, policyToBytes(warm));
    const configFile = join(root, 'config.json');
    await writeFile(
      configFile,
      JSON.stringify({
        learner: {
          batchStates: 2,
          groupSize: 4,
          maxInFlight: 8,
          learningRate: 1e-2,
          dataset: DATASET,
          weightAverageDecay: 0.5,
        },
      }),
    );
    const broker = `learner-service-${process.pid}`;
    const runDir = join(root, 'run-a');
    const service = await startLearnerService({
      bus: `memory://${broker}`,
      runDir,
      init,
      configFile,
      steps: 3,
      logger: silentLogger,
    });
    const actor = new TestActor(new InProcessBus({ broker }), warm.clone(), { groupSize: 4 });
    actor.start();
    try {
      await service.learner.run();
      expect(service.learner.step).toBe(3);
    } finally {
      await actor.stop();
      await service.close();
      InProcessBroker.destroy(broker);
    }
    const avg = decodePolicyFile(new Uint8Array(await readFile(join(runDir, 'policy.samv'))));
    const last = decodePolicyFile(new Uint8Array(await readFile(join(runDir, 'policy-last.samv'))));
    expect(avg.manifest.metadata).toMatchObject({ result: 'weight average', step: 3, averageDecay: 0.5 });
    expect(last.manifest.metadata).toMatchObject({ result: 'last iterate', step: 3 });
    const start = decodePolicyFile(policyToBytes(warm)).manifest.sha256;
    // Three steps moved the weights, and the average sits between the start and the last weights.
    expect(last.manifest.sha256).not.toBe(start);
    expect(avg.manifest.sha256).not.toBe(last.manifest.sha256);
    expect(avg.manifest.sha256).not.toBe(start);
  });
});
