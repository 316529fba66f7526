import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SamVeteranError, UnavailableError, ValidationError } from '../../core/errors/index.ts';
import {
  ProcessSupervisor,
  getFreePort,
  probeHttp,
  startNatsServer,
  type ProcessSpec,
  type ProcessStatus,
} from '../../deploy/local/index.ts';

// Child programs, run as `node -e` (CommonJS).
const LISTEN = `
const s = require('net').createServer((c) => c.end()).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0); });`;
const PRINT_THEN_IDLE = `console.log('hello from ' + process.env.WHO); console.error('to stderr'); setInterval(() => {}, 1000);`;
const CRASH = `console.log('about to crash'); process.exit(3);`;
const IGNORE_TERM = `process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('up'); setInterval(() => {}, 1000);`;
const WITH_GRANDCHILD = `
const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
console.log('grandchild ' + c.pid); setInterval(() => {}, 1000);`;

const dirs: string[] = [];
const supervisors: ProcessSupervisor[] = [];

function newSupervisor(): ProcessSupervisor {
  const runDir = mkdtempSync(join(tmpdir(), 'samv-sup-'));
  dirs.push(runDir);
  const sup = new ProcessSupervisor({ runDir, pollIntervalMs: 20 });
  supervisors.push(sup);
  return sup;
}

function node(name: string, script: string, extra: Partial<ProcessSpec> = {}): ProcessSpec {
  return { name, command: process.execPath, args: ['-e', script], ...extra };
}

/** Alive = signal 0 succeeds and the process is not a zombie waiting to be reaped. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function until<T>(f: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.stopAll()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('ProcessSupervisor', () => {
  it('starts processes, waits for tcp/log/file readiness and writes per-process logs', async () => {
    const sup = newSupervisor();
    const port = await getFreePort();
    const flag = join(sup.runDir, 'ready.flag');
    await sup.startAll([
      node('server', LISTEN, { env: { PORT: String(port) }, readiness: { kind: 'tcp', port } }),
      node('printer', PRINT_THEN_IDLE, {
        env: { WHO: 'printer' },
        readiness: { kind: 'log', pattern: /hello from/ },
      }),
      node(
        'filer',
        `require('fs').writeFileSync(${JSON.stringify(flag)}, 'x'); setInterval(() => {}, 1000);`,
        {
          readiness: { kind: 'file', path: flag },
        },
      ),
    ]);
    expect(sup.status().map((s) => [s.name, s.state])).toEqual([
      ['server', 'ready'],
      ['printer', 'ready'],
      ['filer', 'ready'],
    ]);
    await sup.stopAll();
    const log = readFileSync(join(sup.logDir, 'printer.log'), 'utf8');
    expect(log).toContain('hello from printer');
    expect(log).toContain('to stderr');
    expect(readFileSync(join(sup.logDir, 'server.log'), 'utf8')).toContain('got SIGTERM');
  });

  it('rejects a start when the process exits before it is ready, quoting its output', async () => {
    const sup = newSupervisor();
    const err = await sup
      .start(node('crasher', CRASH, { readiness: { kind: 'log', pattern: 'never' } }))
      .catch((e) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toMatch(/^process "crasher" exited \(code 3, signal -\) before it was ready/);
    expect(err.message).toContain('about to crash');
    expect(sup.get('crasher')).toBeUndefined();
  });

  it('rejects a start that is not ready in time and kills the process', async () => {
    const sup = newSupervisor();
    const port = await getFreePort();
    const started = sup.start(
      node('slow', PRINT_THEN_IDLE, {
        readiness: { kind: 'tcp', port },
        readyTimeoutMs: 300,
        stopTimeoutMs: 2000,
      }),
    );
    const err = await started.catch((e) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toContain(`process "slow" not ready after 300 ms (tcp 127.0.0.1:${port})`);
    expect(sup.status()).toEqual([]);
  });

  it('refuses duplicate names and bad scale targets', async () => {
    const sup = newSupervisor();
    await sup.start(node('one', PRINT_THEN_IDLE));
    const dup = await sup.start(node('one', PRINT_THEN_IDLE)).catch((e) => e);
    expect(dup).toBeInstanceOf(ValidationError);
    expect(dup.message).toBe('name "one" is already running; process names must be unique');
    const bad = await sup.scale('actor', -1).catch((e) => e);
    expect(bad).toBeInstanceOf(ValidationError);
    expect(bad.message).toBe('n -1 must be an integer >= 0');
    const noTemplate = await sup.scale('actor', 1).catch((e) => e);
    expect(noTemplate.message).toBe(
      'group "actor" has no template; call defineGroup() or pass one to scale()',
    );
  });

  it('detects a SIGKILLed child: restart none leaves it failed, on-failure restarts it', async () => {
    const sup = newSupervisor();
    const exits: ProcessStatus[] = [];
    sup.on('exit', (s) => exits.push(s));
    const plain = await sup.start(node('plain', PRINT_THEN_IDLE));
    const port = await getFreePort();
    const kept = await sup.start(
      node('kept', LISTEN, {
        env: { PORT: String(port) },
        readiness: { kind: 'tcp', port },
        restart: 'on-failure',
        restartDelayMs: 50,
      }),
    );
    process.kill(plain.pid!, 'SIGKILL');
    process.kill(kept.pid!, 'SIGKILL');
    const failed = await until(() => (sup.get('plain')?.state === 'failed' ? sup.get('plain') : undefined));
    expect(failed.signal).toBe('SIGKILL');
    const restarted = await until(() => {
      const s = sup.get('kept');
      return s?.state === 'ready' && s.pid !== kept.pid ? s : undefined;
    });
    expect(restarted.restarts).toBe(1);
    expect(exits.filter((e) => e.name === 'kept').map((e) => e.signal)).toEqual(['SIGKILL']);
    expect(isAlive(restarted.pid!)).toBe(true);
  });

  it('gives up after maxRestarts on a crash loop', async () => {
    const sup = newSupervisor();
    const failures: ProcessStatus[] = [];
    sup.on('failed', (s) => failures.push(s));
    // Ready at once (readiness none), then crashes: restarted twice, then left failed.
    await sup.start(node('looper', CRASH, { restart: 'on-failure', maxRestarts: 2, restartDelayMs: 20 }));
    const s = await until(() => failures[0]);
    expect(s).toMatchObject({ name: 'looper', state: 'failed', restarts: 2, exitCode: 3 });
    await until(() => readFileSync(s.logFile, 'utf8').match(/^about to crash$/gm)?.length === 3);
  });

  it('scales a group up and down by name index', async () => {
    const sup = newSupervisor();
    sup.defineGroup('actor', (i) => node('ignored', PRINT_THEN_IDLE, { env: { WHO: `actor ${i}` } }));
    const up = await sup.scale('actor', 3);
    expect(up.map((s) => s.name)).toEqual(['actor-1', 'actor-2', 'actor-3']);
    expect(up.every((s) => s.state === 'ready' && s.group === 'actor')).toBe(true);
    const pids = up.map((s) => s.pid!);
    const down = await sup.scale('actor', 1);
    expect(down.map((s) => s.name)).toEqual(['actor-1']);
    expect(isAlive(pids[0]!)).toBe(true);
    expect(isAlive(pids[1]!) || isAlive(pids[2]!)).toBe(false);
    const again = await sup.scale('actor', 2);
    expect(again.map((s) => s.name)).toEqual(['actor-1', 'actor-2']);
    await until(() => readFileSync(join(sup.logDir, 'actor-2.log'), 'utf8').includes('hello from actor 2'));
  });

  it('stops everything in reverse order, SIGKILLs a child that ignores SIGTERM, leaves no orphans', async () => {
    const sup = newSupervisor();
    const order: string[] = [];
    sup.on('exit', (s, { planned }) => planned && order.push(s.name));
    const first = await sup.start(node('first', PRINT_THEN_IDLE));
    const stubborn = await sup.start(
      node('stubborn', IGNORE_TERM, { readiness: { kind: 'log', pattern: 'up' }, stopTimeoutMs: 800 }),
    );
    const parent = await sup.start(
      node('parent', WITH_GRANDCHILD, { readiness: { kind: 'log', pattern: 'grandchild' } }),
    );
    // The log file is written asynchronously: poll it rather than read it once.
    const grandchild = Number(
      await until(() => /^grandchild (\d+)$/m.exec(readFileSync(parent.logFile, 'utf8'))?.[1]),
    );
    expect(isAlive(grandchild)).toBe(true);

    const a = sup.stopAll();
    const b = sup.stopAll();
    expect(b).toBe(a); // idempotent
    await a;
    expect(order).toEqual(['parent', 'stubborn', 'first']);
    expect(sup.get('stubborn')?.signal).toBe('SIGKILL');
    expect(readFileSync(stubborn.logFile, 'utf8')).toContain('ignoring SIGTERM');
    for (const pid of [first.pid!, stubborn.pid!, parent.pid!]) expect(isAlive(pid)).toBe(false);
    await until(() => !isAlive(grandchild), 3000);

    const late = await sup.start(node('late', PRINT_THEN_IDLE)).catch((e) => e);
    expect(late).toBeInstanceOf(SamVeteranError);
    expect(late.code).toBe('FAILED_PRECONDITION');
  });

  it('shuts down once on SIGINT, however often it arrives', async () => {
    const sup = newSupervisor();
    const p = await sup.start(node('victim', PRINT_THEN_IDLE));
    const off = sup.handleSignals({ exit: false });
    try {
      process.emit('SIGINT', 'SIGINT');
      process.emit('SIGINT', 'SIGINT');
      expect(sup.closed).toBe(true);
      await sup.stopAll();
      expect(isAlive(p.pid!)).toBe(false);
      expect(sup.get('victim')?.state).toBe('stopped');
    } finally {
      off();
    }
  });

  it('reports a missing executable as an exit before readiness', async () => {
    const sup = newSupervisor();
    const err = await sup.start({ name: 'ghost', command: 'samv-no-such-binary' }).catch((e) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toContain('spawn error');
    expect(err.message).toContain('ENOENT');
  });
});

describe('startNatsServer', () => {
  it('starts nats-server with JetStream on loopback with its own store and stops it', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'samv-nats-'));
    dirs.push(runDir);
    const nats = await startNatsServer({ runDir });
    try {
      expect(nats.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
      const jsz = (await (await fetch(`${nats.monitorUrl}/jsz`)).json()) as {
        config?: { store_dir?: string };
      };
      expect(jsz.config?.store_dir).toContain(nats.storeDir);
      expect(existsSync(join(nats.storeDir, 'jetstream'))).toBe(true);
    } finally {
      await nats.stop();
    }
    expect(await probeHttp(`${nats.monitorUrl}/healthz`)).toBe(false);
    expect(nats.status()?.state).toBe('stopped');
  });

  it('fails clearly when the nats port is taken', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'samv-nats-'));
    dirs.push(runDir);
    const blocker = createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const port = (blocker.address() as AddressInfo).port;
    try {
      const err = await startNatsServer({ runDir, port, monitorPort: await getFreePort() }).catch((e) => e);
      expect(err).toBeInstanceOf(UnavailableError);
      expect(err.message).toMatch(/^process "nats" exited \(code 1, signal -\) before it was ready/);
      expect(err.message).toContain('address already in use');
    } finally {
      blocker.close();
    }
  });
});
