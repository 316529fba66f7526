import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NotFoundError, SamVeteranError, ValidationError } from '../../core/errors/index.ts';
import { METRICS_FILE, RunFolder, runStamp, writeFileAtomic } from '../../core/report/index.ts';

const root = mkdtempSync(join(tmpdir(), 'report-runs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('RunFolder', () => {
  const now = new Date(Date.UTC(2026, 10, 25, 4, 5, 6));

  it('creates <root>/<yyyymmdd-hhmmss>-<name> in UTC and never reuses a folder', () => {
    expect(runStamp(now)).toBe('20261125-040506');
    const a = RunFolder.create(root, 'my run/../x', now);
    expect(basename(a.dir)).toBe('20261125-040506-my-run-..-x');
    expect(a.id).toBe(basename(a.dir));
    const b = RunFolder.create(root, 'my run/../x', now);
    expect(basename(b.dir)).toBe('20261125-040506-my-run-..-x-2');
    expect(basename(RunFolder.create(root, undefined, now).dir)).toBe('20261125-040506');
    expect(() => RunFolder.create(root, '///', now)).toThrow(ValidationError);
  });

  it('path() stays inside the folder', () => {
    const run = RunFolder.create(root, 'paths', now);
    expect(run.path('plots/a.png')).toBe(join(run.dir, 'plots', 'a.png'));
    expect(() => run.path('../escape.json')).toThrow(ValidationError);
    expect(() => run.path('../escape.json')).toThrow(
      'rel "../escape.json" must be a path inside the run folder',
    );
    expect(() => run.path('/etc/passwd')).toThrow(ValidationError);
  });

  it('appends metrics as JSONL and reads them back in order', () => {
    const run = RunFolder.create(root, 'metrics', now);
    expect(run.readMetrics()).toEqual([]);
    run.appendMetrics({ step: 1, 'reward.localization': 0.25, kl: 0.001 });
    run.appendMetrics({ step: 2, reward: { localization: 0.5 }, kl: Number.NaN });
    run.appendMetrics({ step: 3, note: 'text' });
    const lines = readFileSync(run.path(METRICS_FILE), 'utf8').split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('');
    const back = run.readMetrics();
    expect(back).toEqual([
      { step: 1, 'reward.localization': 0.25, kl: 0.001 },
      { step: 2, reward: { localization: 0.5 }, kl: null },
      { step: 3, note: 'text' },
    ]);
    // A second handle on the same folder sees the same records (appends are not buffered).
    expect(RunFolder.open(run.dir).readMetrics()).toHaveLength(3);
    expect(() => run.appendMetrics([1, 2] as unknown as Record<string, unknown>)).toThrow(
      'record [1, 2] must be a plain object',
    );
  });

  it('skips a torn last line but reports a corrupt middle line with file and line', () => {
    const run = RunFolder.create(root, 'torn', now);
    run.appendMetrics({ step: 1 });
    appendFileSync(run.path(METRICS_FILE), '{"step": 2, "kl"');
    expect(run.readMetrics()).toEqual([{ step: 1 }]);
    appendFileSync(run.path(METRICS_FILE), '\n{"step": 3}\n');
    expect(() => run.readMetrics()).toThrow(ValidationError);
    expect(() => run.readMetrics()).toThrow(
      `${run.path(METRICS_FILE)}:2 "{\\"step\\": 2, \\"kl\\"" is not a JSON object line`,
    );
  });

  it('keepMetrics drops the lines it rejects and a torn last line, atomically', () => {
    const run = RunFolder.create(join(root, 'keep'), 'k');
    for (const step of [1, 2, 3, 4]) run.appendMetrics({ step });
    appendFileSync(run.path(METRICS_FILE), '{"step":5');
    expect(run.keepMetrics((r) => (r['step'] as number) <= 2)).toBe(2);
    expect(readFileSync(run.path(METRICS_FILE), 'utf8')).toBe('{"step":1}\n{"step":2}\n');
    expect(run.keepMetrics(() => true)).toBe(0);
  });

  it('lock() keeps a second job out, names the holder, and takes over a lock whose process is gone', async () => {
    const run = RunFolder.create(join(root, 'lock'), 'l');
    const release = run.lock();
    expect(() => run.lock()).toThrow(SamVeteranError);
    expect(() => run.lock()).toThrow(new RegExp(`in use by pid ${process.pid} on `));
    release();
    release(); // idempotent
    const again = run.lock();
    again();
    // A lock left by a process that has exited (killed before it could release it).
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const pid = Number(dead.stdout.toString());
    writeFileSync(
      run.path('run.lock'),
      JSON.stringify({ pid, host: hostname(), since: new Date().toISOString() }),
    );
    const takeover = run.lock();
    expect(JSON.parse(readFileSync(run.path('run.lock'), 'utf8')).pid).toBe(process.pid);
    takeover();
    expect(existsSync(run.path('run.lock'))).toBe(false);
  });

  it('open() of a missing folder is NotFoundError', () => {
    expect(() => RunFolder.open(join(root, 'nope'))).toThrow(NotFoundError);
  });

  it('writeJson replaces the file by rename (new inode), leaves no temp files, keeps the old file on failure', () => {
    const run = RunFolder.create(root, 'atomic', now);
    const file = run.writeJson('state/checkpoint.json', { version: 1 });
    const ino1 = statSync(file).ino;
    run.writeJson('state/checkpoint.json', { version: 2, nested: { a: [1, 2] } });
    // An in-place write would keep the inode; rename of a fresh temp file gives a new one, so a
    // reader holding the old file, or opening the path at any moment, sees one whole document.
    expect(statSync(file).ino).not.toBe(ino1);
    expect(run.readJson('state/checkpoint.json')).toEqual({ version: 2, nested: { a: [1, 2] } });
    expect(readFileSync(file, 'utf8').endsWith('}\n')).toBe(true);
    // Unserializable value: throws before touching the file.
    expect(() => run.writeJson('state/checkpoint.json', { big: 1n })).toThrow(TypeError);
    expect(run.readJson('state/checkpoint.json')).toEqual({ version: 2, nested: { a: [1, 2] } });
    // Rename onto a directory fails: the temp file is removed, nothing else changes.
    mkdirSync(run.path('state/dir.json'));
    expect(() => run.writeJson('state/dir.json', { x: 1 })).toThrow();
    expect(readdirSync(run.path('state')).sort()).toEqual(['checkpoint.json', 'dir.json']);
  });

  it('writeFileAtomic writes bytes and creates parent folders', () => {
    const run = RunFolder.create(root, 'bytes', now);
    const f = run.writeFile('a/b/c.bin', new Uint8Array([1, 2, 3]));
    expect([...readFileSync(f)]).toEqual([1, 2, 3]);
    writeFileAtomic(join(run.dir, 'x', 'y.txt'), 'hello');
    expect(readFileSync(join(run.dir, 'x', 'y.txt'), 'utf8')).toBe('hello');
  });
});
