import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { episodeInputOf, oraclePolicyFor, runEpisodes, type EpisodeInput } from '../../core/agent/index.ts';
import { generateSample } from '../../core/data/index.ts';
import { GrpcEnvPort } from '../../services/actor/index.ts';
import { SamEnvClient } from '../../services/sam-env/src/client.ts';
import { LocalEnv } from '../../services/sam-env/src/local-env.ts';
import { createGrabCutModel } from '../../services/sam-env/src/models/grabcut.ts';
import { SamEnvServer } from '../../services/sam-env/src/server.ts';

let server: SamEnvServer;
let remote: GrpcEnvPort;
let local: LocalEnv;
let inputs: EpisodeInput[];

beforeAll(async () => {
  server = await SamEnvServer.start({ model: createGrabCutModel(), host: '127.0.0.1', port: 0 });
  remote = new GrpcEnvPort(new SamEnvClient({ addresses: server.address }));
  local = new LocalEnv(createGrabCutModel());
  inputs = Array.from({ length: 3 }, (_, i) =>
    episodeInputOf(generateSample('id-val', i, { seed: 11, size: 96 })),
  );
});

afterAll(async () => {
  await remote.close();
  await local.close();
  await server.shutdown();
});

describe('eval over sam-env gRPC', () => {
  it('reports the served model and gives the same episodes as the in-process environment', async () => {
    expect((await remote.info()).family).toBe('grabcut');
    const overGrpc = await runEpisodes(inputs, oraclePolicyFor(inputs), remote, { maxRefinements: 2 });
    const inProcess = await runEpisodes(inputs, oraclePolicyFor(inputs), local, { maxRefinements: 2 });
    expect(overGrpc.map((e) => e.steps.map((s) => s.type))).toEqual(
      inProcess.map((e) => e.steps.map((s) => s.type)),
    );
    // Refinements went over the wire too (clicks and the previous mask as RLE).
    expect(overGrpc.some((e) => e.steps.some((s) => s.index > 0 && s.type !== 'stop'))).toBe(true);
    overGrpc.forEach((e, i) => {
      const other = inProcess[i];
      expect(e.finalIou).toBe(other?.finalIou);
      expect(Buffer.from(e.finalMask.data).equals(Buffer.from(other?.finalMask.data ?? []))).toBe(true);
    });
  });
});
