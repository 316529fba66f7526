import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, formatDuration } from '../../cli/progress.ts';

/** A non-TTY stream that keeps what is written, and a clock the test moves. */
function sink(): { stream: Writable; lines: () => string[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, lines: () => text.split('\n').filter((l) => l.length > 0) };
}

describe('createProgress without a terminal', () => {
  it('writes a line on the first update, then at most one per interval, and a last one on stop', () => {
    const out = sink();
    let t = 0;
    const p = createProgress({
      label: 'pretrain training',
      fields: ['loss'],
      stream: out.stream,
      everyMs: 30_000,
      now: () => t,
    });
    p.start(6000, 0);
    t = 5_000;
    p.update(10, { loss: 'loss 2.500' });
    t = 20_000;
    p.update(40, { loss: 'loss 2.000' }); // within 30 s of the last line: silent
    t = 65_000;
    p.update(120, { loss: 'loss 1.500' });
    t = 70_000;
    p.update(130);
    p.stop();
    p.stop(); // idempotent
    p.update(140); // after stop: ignored
    expect(out.lines()).toEqual([
      'pretrain training 10/6000 (0%) loss 2.500 | 5s elapsed, ~49m 55s left',
      'pretrain training 120/6000 (2%) loss 1.500 | 1m 05s elapsed, ~53m 05s left',
      // fields persist until replaced
      'pretrain training 130/6000 (2%) loss 1.500 | 1m 10s elapsed, ~52m 41s left',
    ]);
  });

  it('counts the rate from where a restarted phase began and omits what is unknown', () => {
    const out = sink();
    let t = 0;
    const p = createProgress({ label: 'eval id-val', stream: out.stream, everyMs: 0, now: () => t });
    p.start(100, 50); // resumed at 50
    t = 10_000;
    p.update(60);
    t = 20_000;
    p.update(100);
    p.stop();
    expect(out.lines()).toEqual([
      'eval id-val 60/100 (60%) | 10s elapsed, ~40s left',
      'eval id-val 100/100 (100%) | 20s elapsed', // not repeated on stop
    ]);
  });

  it('writes plain lines by default when the stream is not a terminal', () => {
    const out = sink();
    const p = createProgress({ label: 'x', stream: out.stream, everyMs: 0 });
    p.start(2);
    p.update(1);
    p.stop();
    expect(out.lines()[0]).toMatch(/^x 1\/2 \(50%\) \| \d+s elapsed/);
  });
});

describe('formatDuration', () => {
  it('shows seconds, minutes and hours', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(59.4)).toBe('59s');
    expect(formatDuration(83)).toBe('1m 23s');
    expect(formatDuration(3599)).toBe('59m 59s');
    expect(formatDuration(3960)).toBe('1h 06m');
    expect(formatDuration(-3)).toBe('0s');
  });
});
