import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import {
  CLI_PATH,
  ProcessSupervisor,
  actorEntry,
  allocateLocalPorts,
  buildLocalTopology,
  toProcessSpec,
} from '../../deploy/local/index.ts';

describe('local topology', () => {
  it('describes nats, two sam-env replicas, the learner and two actors on distinct loopback ports', async () => {
    const ports = await allocateLocalPorts();
    const t = buildLocalTopology({ runDir: '/tmp/run-x', ports, imageStore: true });
    expect(t.entries.map((e) => e.name)).toEqual([
      'nats',
      'sam-env-1',
      'sam-env-2',
      'learner',
      'actor-1',
      'actor-2',
    ]);
    const all = t.entries.flatMap((e) => Object.values(e.ports));
    expect(new Set(all).size).toBe(all.length);
    expect(all.every((p) => p > 0)).toBe(true);

    const env1 = t.entries[1]!;
    expect(env1.args).toEqual([
      'env',
      'serve',
      '--model',
      'grabcut',
      '--port',
      String(ports.samEnv[0]),
      '--metrics-port',
      String(ports.samEnvMetrics[0]),
      '--image-store',
      `nats://127.0.0.1:${ports.nats}/images`,
    ]);
    expect(env1.readiness).toEqual({ kind: 'tcp', host: '127.0.0.1', port: ports.samEnv[0] });

    const actor = t.entries[4]!;
    expect(actor.args).toEqual([
      'actor',
      '--bus',
      `nats://127.0.0.1:${ports.nats}`,
      '--env',
      `127.0.0.1:${ports.samEnv[0]},127.0.0.1:${ports.samEnv[1]}`,
      '--id',
      'actor-1',
      '--metrics-port',
      String(ports.actorMetrics[0]),
      '--image-store',
      `nats://127.0.0.1:${ports.nats}/images`,
    ]);
    // Services parse SAMV_* strictly: only real config keys may be set.
    expect(Object.keys(actor.env)).toEqual([]);
    expect(t.entries[3]!.env).toEqual({ SAMV_LEARNER__CHECKPOINT_DIR: t.checkpointDir });
    expect(t.entries[3]!.args.slice(0, 3)).toEqual(['learner', '--bus', t.natsUrl]);

    const nats = t.entries[0]!;
    expect(nats.args).toEqual(expect.arrayContaining(['-js', '-sd', t.storeDir, '-a', '127.0.0.1']));
  });

  it('turns entries into process specs that run the CLI with this node', async () => {
    const t0Ports = await allocateLocalPorts({ samEnv: 1, actors: 0 });
    const t = buildLocalTopology({ runDir: '/tmp/run-y', ports: t0Ports, imageStore: true });
    const spec = toProcessSpec(t.entries[1]!);
    expect(spec.command).toBe(process.execPath);
    expect(spec.args?.[0]).toBe(CLI_PATH);
    expect(existsSync(CLI_PATH)).toBe(true);
    expect(toProcessSpec(t.entries[0]!).command).toBe('nats-server');
    const a3 = actorEntry(t, 3, 12345);
    expect(a3.name).toBe('actor-3');
    expect(a3.readiness).toEqual({ kind: 'http', url: 'http://127.0.0.1:12345/metrics' });
    expect(a3.args.slice(-2)).toEqual(['--image-store', `${t.natsUrl}/images`]);
    // Without the image store (the default), neither replicas nor actors are given one.
    const bare = buildLocalTopology({ runDir: '/tmp/run-z', ports: t0Ports });
    expect(bare.imageStoreUrl).toBeUndefined();
    expect(bare.entries.flatMap((e) => e.args)).not.toContain('--image-store');
    expect(actorEntry(bare, 3, 12345).args).not.toContain('--image-store');
  });

  it('its nats entry runs as is under the supervisor (JetStream store created in the run folder)', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'samv-topo-'));
    const sup = new ProcessSupervisor({ runDir });
    try {
      const t = buildLocalTopology({ runDir, ports: await allocateLocalPorts({ samEnv: 1, actors: 0 }) });
      const status = await sup.start(toProcessSpec(t.entries[0]!));
      expect(status.state).toBe('ready');
      expect(existsSync(join(t.storeDir, 'jetstream'))).toBe(true);
    } finally {
      await sup.stopAll();
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  it('rejects impossible replica counts', async () => {
    const err = await allocateLocalPorts({ samEnv: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toBe('samEnv 0 must be an integer >= 1');
  });
});
