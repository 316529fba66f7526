/**
 * The training run report: PNG plots of the per-step metrics (TRAINING_PANELS, whichever keys are
 * present), a before/after bar chart of gIoU / cIoU / box IoU per evaluation split with 95%
 * bootstrap intervals as error bars, gIoU per refinement step, and one self-contained
 * `report.html` (inline CSS, images by relative path) with the config, the final metrics, the
 * evaluation tables and the per-step termination rates.
 */
import { existsSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { EpisodeSummary } from '../agent/index.ts';
import { ValidationError } from '../errors/index.ts';
import { barChartPng, type BarGroup } from './bar-chart.ts';
import { REPORT_CSS, escapeHtml, flattenConfig, formatNumber, htmlTable } from './html.ts';
import { lineChartPng, type LineSeries } from './line-chart.ts';
import { METRIC_KEYS, TRAINING_PANELS, metricSeries, presentKeys } from './metric-keys.ts';
import { writeFileAtomic, type MetricsRecord } from './run-folder.ts';

export type EvalSummaries = Readonly<Record<string, EpisodeSummary>>;

export interface TrainingReportInput {
  /** Run folder; plots go to `<runDir>/plots/`, the report to `<runDir>/report.html`. */
  readonly runDir: string;
  readonly title: string;
  /** The run's configuration, shown as a flattened key/value table. */
  readonly config: object;
  /** Per-step records (see METRIC_KEYS). */
  readonly metrics: readonly MetricsRecord[];
  /** Evaluation of the starting policy, by split name (e.g. "id-val"). */
  readonly evalBefore?: EvalSummaries;
  /** Evaluation of the trained policy, by split name. */
  readonly evalAfter?: EvalSummaries;
  /** Extra images (e.g. episode sheets); `file` is relative to runDir or absolute inside it. */
  readonly images?: readonly { caption: string; file: string }[];
  /** Free-text notes listed at the top. */
  readonly notes?: readonly string[];
  /** EMA smoothing of the training plots (default 0.8 with ≥ 30 steps, else 0). */
  readonly smoothing?: number;
  /** Timestamp shown in the report (default now). */
  readonly generatedAt?: Date;
}

export interface TrainingReport {
  /** Absolute path of the written report.html. */
  readonly html: string;
  /** Absolute paths of the PNGs written under plots/. */
  readonly pngs: string[];
}

const PLOTS = 'plots';

interface Figure {
  readonly caption: string;
  /** Path relative to runDir (forward slashes). */
  readonly rel: string;
}

function toUrl(rel: string): string {
  return rel.split(sep).map(encodeURIComponent).join('/');
}

async function writePng(
  runDir: string,
  name: string,
  png: Promise<Buffer>,
  figs: Figure[],
  caption: string,
  pngs: string[],
): Promise<void> {
  const abs = join(runDir, PLOTS, name);
  writeFileAtomic(abs, await png);
  pngs.push(abs);
  figs.push({ caption, rel: `${PLOTS}/${name}` });
}

function trainingSeries(metrics: readonly MetricsRecord[], keys: readonly string[]): LineSeries[] {
  const series = metricSeries(metrics, keys);
  return keys.map((k) => ({ name: k, points: series.get(k) ?? [] }));
}

function evalBarGroups(before: EvalSummaries | undefined, after: EvalSummaries | undefined): BarGroup[] {
  const splits = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])];
  const groups: BarGroup[] = [];
  const metrics = [
    { label: 'gIoU', value: (s: EpisodeSummary) => s.gIoU, ci: (s: EpisodeSummary) => s.gIoUCi95 },
    { label: 'cIoU', value: (s: EpisodeSummary) => s.cIoU, ci: () => undefined },
    { label: 'box IoU', value: (s: EpisodeSummary) => s.boxIou, ci: (s: EpisodeSummary) => s.boxIouCi95 },
  ];
  for (const split of splits) {
    for (const m of metrics) {
      const bars = [];
      for (const [name, set] of [
        ['before', before],
        ['after', after],
      ] as const) {
        const s = set?.[split];
        if (!s) continue;
        const ci = m.ci(s);
        bars.push({ name, value: m.value(s), ...(ci ? { lo: ci.lo, hi: ci.hi } : {}) });
      }
      groups.push({ label: `${split} ${m.label}`, bars });
    }
  }
  return groups;
}

function evalTable(before: EvalSummaries | undefined, after: EvalSummaries | undefined): string {
  const f = (x: number): string => x.toFixed(3);
  const rows: string[][] = [];
  const splits = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])];
  for (const split of splits) {
    for (const [phase, set] of [
      ['before', before],
      ['after', after],
    ] as const) {
      const s = set?.[split];
      if (!s) continue;
      rows.push([
        split,
        phase,
        String(s.n),
        `${f(s.gIoU)} [${f(s.gIoUCi95.lo)}, ${f(s.gIoUCi95.hi)}]`,
        f(s.cIoU),
        `${f(s.boxIou)} [${f(s.boxIouCi95.lo)}, ${f(s.boxIouCi95.hi)}]`,
        f(s.terminationRate),
        s.meanRefinements.toFixed(2),
      ]);
    }
  }
  return htmlTable(
    [
      'split',
      'policy',
      'n',
      'gIoU [95% CI]',
      'cIoU',
      'box IoU [95% CI]',
      'termination rate',
      'refinements / episode',
    ],
    rows,
  );
}

/** Per refinement step: termination rate and gIoU for each split × phase. */
function perStepTable(before: EvalSummaries | undefined, after: EvalSummaries | undefined): string {
  const cols: { name: string; s: EpisodeSummary }[] = [];
  const splits = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])];
  for (const split of splits)
    for (const [phase, set] of [
      ['before', before],
      ['after', after],
    ] as const) {
      const s = set?.[split];
      if (s) cols.push({ name: `${split} ${phase}`, s });
    }
  const maxStep = Math.max(-1, ...cols.flatMap((c) => c.s.perStep.map((p) => p.step)));
  const rows: string[][] = [];
  for (let k = 0; k <= maxStep; k++) {
    rows.push([
      String(k),
      ...cols.map((c) => {
        const p = c.s.perStep.find((q) => q.step === k);
        return p ? `${p.terminationRate.toFixed(3)} (gIoU ${p.gIoU.toFixed(3)})` : '';
      }),
    ]);
  }
  return htmlTable(['step', ...cols.map((c) => `${c.name}: terminated (gIoU)`)], rows);
}

/** Last value and mean over the last 10% of steps (at least 1) of every numeric key. */
function finalMetricsTable(metrics: readonly MetricsRecord[]): string {
  const keys = presentKeys(metrics);
  const series = metricSeries(metrics, keys);
  const tail = Math.max(1, Math.ceil(metrics.length * 0.1));
  const rows = keys.map((k) => {
    const pts = (series.get(k) ?? []).map((p) => p[1]);
    const finite = pts.filter((v) => Number.isFinite(v));
    const last = finite[finite.length - 1];
    const recent = pts.slice(-tail).filter((v) => Number.isFinite(v));
    const mean = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : Number.NaN;
    return [k, last === undefined ? '' : formatNumber(last), recent.length ? formatNumber(mean) : ''];
  });
  return htmlTable(['metric', 'last', `mean of last ${tail} step${tail === 1 ? '' : 's'}`], rows);
}

function figuresHtml(figs: readonly Figure[]): string {
  return `<div class="plots">\n${figs
    .map(
      (f) =>
        `<figure><img src="${escapeHtml(toUrl(f.rel))}" alt="${escapeHtml(f.caption)}"><figcaption>${escapeHtml(f.caption)}</figcaption></figure>`,
    )
    .join('\n')}\n</div>`;
}

export async function renderTrainingReport(input: TrainingReportInput): Promise<TrainingReport> {
  const runDir = resolve(input.runDir);
  if (!existsSync(runDir))
    throw new ValidationError('runDir', input.runDir, 'does not exist; create it with RunFolder.create');
  const pngs: string[] = [];
  const trainFigs: Figure[] = [];
  const evalFigs: Figure[] = [];
  const smoothing = input.smoothing ?? (input.metrics.length >= 30 ? 0.8 : 0);

  // Training panels, each drawn when at least one of its keys has data.
  const present = presentKeys(input.metrics);
  const xKey = present.includes(METRIC_KEYS.step) ? 'step' : 'record';
  const jobs: Promise<void>[] = [];
  for (const panel of TRAINING_PANELS) {
    const keys = panel.keys.filter((k) => present.includes(k));
    if (panel.prefix)
      for (const k of present) if (k.startsWith(panel.prefix) && !keys.includes(k)) keys.push(k);
    if (keys.length === 0) continue;
    const png = lineChartPng({
      title: panel.title,
      xLabel: xKey,
      yLabel: panel.yLabel,
      series: trainingSeries(input.metrics, keys),
      smoothing,
      ...(panel.yRange ? { yRange: panel.yRange } : {}),
    });
    jobs.push(writePng(runDir, panel.file, png, trainFigs, panel.title, pngs));
  }
  await Promise.all(jobs);
  // Promise.all completes in any order: keep the panels' report order.
  const order = TRAINING_PANELS.map((p) => `${PLOTS}/${p.file}`);
  trainFigs.sort((a, b) => order.indexOf(a.rel) - order.indexOf(b.rel));
  pngs.sort((a, b) => order.indexOf(`${PLOTS}/${basename(a)}`) - order.indexOf(`${PLOTS}/${basename(b)}`));

  const hasEval = Object.keys(input.evalBefore ?? {}).length + Object.keys(input.evalAfter ?? {}).length > 0;
  if (hasEval) {
    await writePng(
      runDir,
      'eval-before-after.png',
      barChartPng({
        title: 'Evaluation before / after training (95% bootstrap CI)',
        groups: evalBarGroups(input.evalBefore, input.evalAfter),
        yLabel: 'IoU',
        width: 960,
        colors: { before: '#9aa5b1', after: '#1f77b4' },
      }),
      evalFigs,
      'gIoU, cIoU and box IoU per split, before and after training; error bars are 95% bootstrap intervals',
      pngs,
    );
    const series: LineSeries[] = [];
    for (const [phase, set] of [
      ['before', input.evalBefore],
      ['after', input.evalAfter],
    ] as const)
      for (const [split, s] of Object.entries(set ?? {}))
        series.push({
          name: `${split} ${phase}`,
          points: s.perStep.map((p) => [p.step, p.gIoU] as [number, number]),
        });
    await writePng(
      runDir,
      'eval-per-step.png',
      lineChartPng({
        title: 'gIoU after k refinement steps',
        xLabel: 'refinement step',
        yLabel: 'gIoU',
        series,
      }),
      evalFigs,
      'gIoU after k refinement steps (episodes that stopped keep their mask)',
      pngs,
    );
  }

  const extra: string[] = [];
  for (const img of input.images ?? []) {
    const abs = isAbsolute(img.file) ? img.file : resolve(runDir, img.file);
    const rel = relative(runDir, abs);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw new ValidationError(
        'images.file',
        img.file,
        `must be inside the run folder ${runDir} (the report links it relatively)`,
      );
    }
    extra.push(
      existsSync(abs)
        ? `<figure><img src="${escapeHtml(toUrl(rel))}" alt="${escapeHtml(img.caption)}"><figcaption>${escapeHtml(img.caption)}</figcaption></figure>`
        : `<p class="missing">missing image ${escapeHtml(rel)}: ${escapeHtml(img.caption)}</p>`,
    );
  }

  const generated = (input.generatedAt ?? new Date()).toISOString();
  const sections = [
    `<h1>${escapeHtml(input.title)}</h1>`,
    `<p class="meta">generated ${escapeHtml(generated)} · ${input.metrics.length} metric records · run folder ${escapeHtml(runDir)}</p>`,
    input.notes?.length
      ? `<ul class="notes">${input.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`
      : '',
  ];
  if (hasEval) {
    sections.push('<h2>Evaluation</h2>', evalTable(input.evalBefore, input.evalAfter), figuresHtml(evalFigs));
    sections.push(
      '<h2>Termination rate per refinement step</h2>',
      perStepTable(input.evalBefore, input.evalAfter),
    );
  }
  sections.push(
    '<h2>Training</h2>',
    trainFigs.length ? figuresHtml(trainFigs) : '<p>No training metrics recorded.</p>',
  );
  if (input.metrics.length) sections.push('<h2>Final metrics</h2>', finalMetricsTable(input.metrics));
  if (extra.length) sections.push('<h2>Images</h2>', `<div class="plots">${extra.join('\n')}</div>`);
  sections.push('<h2>Configuration</h2>', htmlTable(['key', 'value'], flattenConfig(input.config)));

  const html = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${escapeHtml(input.title)}</title>`,
    `<style>${REPORT_CSS}</style>`,
    '</head>',
    '<body>',
    ...sections.filter(Boolean),
    '</body>',
    '</html>',
    '',
  ].join('\n');
  const htmlPath = join(runDir, 'report.html');
  writeFileAtomic(htmlPath, html);
  return { html: htmlPath, pngs };
}
