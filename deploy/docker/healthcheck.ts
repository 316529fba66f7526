/**
 * Container HEALTHCHECK probe, run inside the image by Docker (Kubernetes uses its own native
 * probes instead, see deploy/k8s). Usage:
 *
 *   node --import tsx deploy/docker/healthcheck.ts grpc 127.0.0.1:50051 samveteran.v1.SamEnv
 *   node --import tsx deploy/docker/healthcheck.ts http http://127.0.0.1:9464/metrics
 *
 * `grpc` calls grpc.health.v1.Health/Check (the standard health protocol) and is healthy only on
 * SERVING; `http` is healthy on a 2xx answer. Exit code 0 = healthy, 1 = not, 2 = bad usage.
 */
import { pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { probeHttp } from '../local/index.ts';

/** grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING */
const SERVING = 1;

/**
 * One Health/Check call against `target` (host:port) for `serviceName` ('' = the server as a
 * whole). Resolves true only on SERVING; false on any error, unknown service or timeout.
 */
export function checkGrpcHealth(target: string, serviceName = '', timeoutMs = 3000): Promise<boolean> {
  const Client = grpc.makeGenericClientConstructor(healthService, 'Health');
  const client = new Client(target, grpc.credentials.createInsecure());
  return new Promise<boolean>((resolve) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (arg: { service: string }) => {
        const def = healthService['Check'];
        if (def === undefined) throw new Error('grpc-health-check has no Check method');
        return def.requestSerialize(arg);
      },
      (buf: Buffer) => healthService['Check']!.responseDeserialize(buf) as { status: number | string },
      { service: serviceName },
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err: grpc.ServiceError | null, res?: { status: number | string }) => {
        client.close();
        resolve(err === null && (res?.status === SERVING || res?.status === 'SERVING'));
      },
    );
  });
}

/** Runs the probe named by `argv` (`grpc TARGET [SERVICE]` or `http URL`); returns the exit code. */
export async function runHealthcheck(argv: readonly string[]): Promise<number> {
  const [mode, target, serviceName] = argv;
  if (mode === 'grpc' && target !== undefined)
    return (await checkGrpcHealth(target, serviceName ?? '')) ? 0 : 1;
  if (mode === 'http' && target !== undefined) return (await probeHttp(target, 3000)) ? 0 : 1;
  console.error('usage: healthcheck.ts grpc HOST:PORT [SERVICE] | http URL');
  return 2;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runHealthcheck(process.argv.slice(2));
}
