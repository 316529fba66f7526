import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import type { EpisodeSummary } from '../../core/agent/index.ts';
import { ValidationError } from '../../core/errors/index.ts';
import {
  METRIC_KEYS,
  RunFolder,
  lossCurvePng,
  renderTrainingReport,
  type MetricsRecord,
} from '../../core/report/index.ts';
import { Rng } from '../../core/rng/index.ts';

const root = mkdtempSync(join(tmpdir(), 'report-train-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function summary(g: number, stop: number): EpisodeSummary {
  return {
    n: 500,
    gIoU: g,
    cIoU: g + 0.02,
    boxIou: g - 0.05,
    gIoUCi95: { lo: g - 0.02, hi: g + 0.02 },
    boxIouCi95: { lo: g - 0.07, hi: g - 0.03 },
    terminationRate: stop,
    meanRefinements: 2.5,
    perStep: [0, 1, 2, 3].map((k) => ({
      step: k,
      gIoU: g - 0.1 + 0.03 * k,
      cIoU: g - 0.08 + 0.03 * k,
      terminationRate: (stop * k) / 3,
    })),
  };
}

function fakeMetrics(steps: number): MetricsRecord[] {
  const rng = new Rng('report-test');
  const K = METRIC_KEYS;
  return Array.from({ length: steps }, (_, i) => ({
    [K.step]: i + 1,
    [K.rewardLocalization]: 0.3 + (0.4 * i) / steps + rng.normal() * 0.05,
    [K.rewardMaskUnderstanding]: i === 5 ? null : 0.2 + (0.3 * i) / steps + rng.normal() * 0.05,
    [K.rewardAuxiliary]: 0.5 + rng.normal() * 0.05,
    [K.advMean]: rng.normal() * 0.01,
    [K.advStd]: 1 + rng.normal() * 0.02,
    [K.kl]: 0.001 * i,
    [K.clipFraction]: 0.05 + rng.float() * 0.02,
    staleness: { mean: rng.float() * 2, max: 3 },
    [K.zeroVarianceFraction]: 0.2,
    [K.stopRate]: (0.5 * i) / steps,
    [K.timeComputeMs]: 800 + rng.float() * 100,
    [K.timeOverheadMs]: 50 + rng.float() * 20,
    [K.transitionsPerSec]: 30 + rng.float() * 5,
    [K.policyVersion]: i + 1,
  }));
}

describe('renderTrainingReport', () => {
  it('writes plots and a self-contained report.html whose references all exist', async () => {
    const run = RunFolder.create(root, 'full');
    const metrics = fakeMetrics(60);
    for (const m of metrics) run.appendMetrics(m);
    run.writeFile(
      'sheets/episodes.png',
      await sharp({ create: { width: 8, height: 8, channels: 3, background: '#0a0' } })
        .png()
        .toBuffer(),
    );
    const res = await renderTrainingReport({
      runDir: run.dir,
      title: 'Run <1> & co',
      config: {
        learner: { lr: 1e-4, batch: { states: 16, rollouts: 8 } },
        seed: 7,
        splits: ['id-val', 'ood-val'],
      },
      metrics: run.readMetrics(),
      evalBefore: { 'id-val': summary(0.7, 0.1), 'ood-val': summary(0.5, 0.05) },
      evalAfter: { 'id-val': summary(0.75, 0.3), 'ood-val': summary(0.55, 0.2) },
      images: [
        { caption: 'episodes', file: 'sheets/episodes.png' },
        { caption: 'not there', file: join(run.dir, 'sheets/missing.png') },
      ],
      notes: ['budget 10 min'],
    });
    expect(res.html).toBe(run.path('report.html'));
    const html = readFileSync(res.html, 'utf8');
    expect(html).toContain('<title>Run &lt;1&gt; &amp; co</title>');
    const srcs = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1] as string);
    expect(srcs).toContain('sheets/episodes.png');
    expect(srcs).toContain('plots/eval-before-after.png');
    for (const f of [
      'reward',
      'advantage',
      'kl',
      'clip-fraction',
      'staleness',
      'zero-variance',
      'stop-rate',
      'step-time',
      'throughput',
      'policy-version',
    ])
      expect(srcs).toContain(`plots/${f}.png`);
    expect(srcs).not.toContain('plots/loss.png'); // no `loss` key in the records
    for (const src of srcs) expect(existsSync(join(run.dir, decodeURIComponent(src))), src).toBe(true);
    expect(html).toContain('missing image sheets/missing.png');
    expect(html).not.toMatch(/(href|src)="(\/|https?:)/);
    // Tables: config flattened, eval with CIs, per-step termination, final metrics.
    expect(html).toContain('<td>learner.batch.states</td><td>16</td>');
    expect(html).toContain('<td>id-val</td><td>after</td><td>500</td><td>0.750 [0.730, 0.770]</td>');
    expect(html).toContain('<td>3</td><td>0.100 (gIoU 0.690)</td>');
    expect(html).toContain('<td>staleness.max</td><td>3</td><td>3</td>');
    expect(res.pngs.length).toBe(12);
    for (const p of res.pngs) {
      const meta = await sharp(p).metadata();
      expect(meta.format).toBe('png');
      expect(meta.height).toBe(360);
    }
    // Staleness panel picks up staleness.max via its prefix.
    expect(html.indexOf('plots/reward.png')).toBeLessThan(html.indexOf('plots/advantage.png'));
  });

  it('works with no metrics and no evaluation', async () => {
    const run = RunFolder.create(root, 'empty');
    const res = await renderTrainingReport({ runDir: run.dir, title: 'empty', config: {}, metrics: [] });
    expect(res.pngs).toEqual([]);
    expect(readFileSync(res.html, 'utf8')).toContain('No training metrics recorded.');
  });

  it('rejects a missing run folder and images outside it', async () => {
    await expect(
      renderTrainingReport({ runDir: join(root, 'nope'), title: 't', config: {}, metrics: [] }),
    ).rejects.toThrow(ValidationError);
    const run = RunFolder.create(root, 'outside');
    await expect(
      renderTrainingReport({
        runDir: run.dir,
        title: 't',
        config: {},
        metrics: [],
        images: [{ caption: 'x', file: '../x.png' }],
      }),
    ).rejects.toThrow('images.file "../x.png" must be inside the run folder');
  });
});

describe('lossCurvePng', () => {
  it('writes a PNG of the requested keys over steps', async () => {
    const records = Array.from({ length: 120 }, (_, i) => ({
      step: i,
      loss: { box: 2 * Math.exp(-i / 30), refine: 1 / (1 + i / 10) },
    }));
    const out = await lossCurvePng(records, ['loss.box', 'loss.refine'], join(root, 'pretrain', 'loss.png'), {
      width: 640,
      height: 320,
    });
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([640, 320]);
    await expect(lossCurvePng(records, [], join(root, 'x.png'))).rejects.toThrow(
      'keys [] must name at least one metric to plot',
    );
  });
});
