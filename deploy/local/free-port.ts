/**
 * Free loopback ports for locally launched servers. The kernel picks an unused port for a listen
 * on port 0; we close it and hand the number to the child. Another process can grab it in between
 * (a small race), so launchers that use it retry on "address in use" (see nats-process.ts).
 */
import { createServer } from 'node:net';

/** Returns a TCP port that was free on `host` a moment ago. */
export function getFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Returns `n` distinct free ports (held open together while choosing, so they differ). */
export async function getFreePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.unref();
          server.once('error', reject);
          server.listen({ port: 0, host, exclusive: true }, () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}
