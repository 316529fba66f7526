/**
 * Readiness predicates for locally supervised processes: "the process is up" means a TCP port
 * accepts connections, an HTTP endpoint answers 2xx, a log line appeared, or a file exists.
 * Each is polled (never a fixed sleep) until it holds or the start times out.
 */
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';

/** How to tell that a started process is ready to serve. */
export type Readiness =
  /** Ready as soon as it was spawned. */
  | { kind: 'none' }
  /** A TCP connection to host:port succeeds (host defaults to 127.0.0.1). */
  | { kind: 'tcp'; port: number; host?: string }
  /** GET on `url` answers with a 2xx status (e.g. nats-server `/healthz`, a `/metrics` endpoint). */
  | { kind: 'http'; url: string }
  /** A line of stdout or stderr matches `pattern` (a string matches as a substring). */
  | { kind: 'log'; pattern: RegExp | string }
  /** A file exists at `path` (e.g. a port file or a pid file the process writes when ready). */
  | { kind: 'file'; path: string };

/** Human-readable description of a readiness predicate, for error messages and status listings. */
export function describeReadiness(r: Readiness): string {
  switch (r.kind) {
    case 'none':
      return 'spawned';
    case 'tcp':
      return `tcp ${r.host ?? '127.0.0.1'}:${r.port}`;
    case 'http':
      return `http ${r.url}`;
    case 'log':
      return `log line matching ${String(r.pattern)}`;
    case 'file':
      return `file ${r.path}`;
  }
}

/** True when `line` satisfies a `log` readiness pattern. */
export function lineMatches(pattern: RegExp | string, line: string): boolean {
  if (typeof pattern === 'string') return line.includes(pattern);
  pattern.lastIndex = 0; // a /g or /y regex keeps state between test() calls
  return pattern.test(line);
}

/** One TCP connection attempt; resolves true if it connects within `timeoutMs`. */
export function probeTcp(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok: boolean): void => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** One HTTP GET; resolves true on a 2xx answer within `timeoutMs`. */
export function probeHttp(url: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (ok: boolean): void => {
      if (!settled) {
        settled = true;
        resolve(ok);
      }
    };
    const req = request(url, { method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume(); // drain the body so the socket is released
      const code = res.statusCode ?? 0;
      finish(code >= 200 && code < 300);
    });
    req.once('timeout', () => {
      req.destroy();
      finish(false);
    });
    req.once('error', () => finish(false));
    req.end();
  });
}

/**
 * Checks a readiness predicate once. `logSeen` says whether a matching log line has been seen
 * (log scanning happens as output arrives, not here).
 */
export async function checkReadiness(r: Readiness, logSeen: boolean): Promise<boolean> {
  switch (r.kind) {
    case 'none':
      return true;
    case 'tcp':
      return probeTcp(r.port, r.host);
    case 'http':
      return probeHttp(r.url);
    case 'log':
      return logSeen;
    case 'file':
      return existsSync(r.path);
  }
}
