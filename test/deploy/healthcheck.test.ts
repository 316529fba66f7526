import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkGrpcHealth, runHealthcheck } from '../../deploy/docker/healthcheck.ts';
import { getFreePort } from '../../deploy/local/index.ts';

describe('container healthcheck probe', () => {
  const server = new grpc.Server();
  const health = new HealthImplementation({ '': 'SERVING', 'samveteran.v1.SamEnv': 'NOT_SERVING' });
  let target = '';

  beforeAll(async () => {
    health.addToServer(server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    target = `127.0.0.1:${port}`;
  });
  afterAll(() => server.forceShutdown());

  it('is healthy only when the named gRPC service reports SERVING', async () => {
    expect(await checkGrpcHealth(target, '')).toBe(true);
    expect(await checkGrpcHealth(target, 'samveteran.v1.SamEnv')).toBe(false);
    health.setStatus('samveteran.v1.SamEnv', 'SERVING');
    expect(await runHealthcheck(['grpc', target, 'samveteran.v1.SamEnv'])).toBe(0);
    expect(await checkGrpcHealth(target, 'no.such.Service')).toBe(false);
  });

  it('reports a closed port as unhealthy and bad usage as exit code 2', async () => {
    const closed = await getFreePort();
    expect(await runHealthcheck(['grpc', `127.0.0.1:${closed}`])).toBe(1);
    expect(await runHealthcheck(['http', `http://127.0.0.1:${closed}/metrics`])).toBe(1);
    expect(await runHealthcheck(['tcp'])).toBe(2);
  });
});
