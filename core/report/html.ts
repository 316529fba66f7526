/**
 * Small HTML building blocks for the report: escaped text, tables, and the inline stylesheet (the
 * report is one self-contained file; images are referenced by relative path).
 */
import { escapeXml } from './svg-text.ts';

export const escapeHtml = escapeXml;

/** A table with a header row; cells are escaped text. */
export function htmlTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  className = '',
): string {
  const cls = className ? ` class="${escapeHtml(className)}"` : '';
  const head = `<tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table${cls}>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/** A number for a table cell: 4 significant decimals for small values, fewer for big ones. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(1);
  if (a >= 1) return v.toFixed(3);
  if (a >= 1e-3) return v.toFixed(4);
  return v.toExponential(2);
}

/** Flattens a config object to [dotted key, JSON-ish value] rows. */
export function flattenConfig(obj: unknown, prefix = '', out: [string, string][] = []): [string, string][] {
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj) && !ArrayBuffer.isView(obj)) {
    const entries = Object.entries(obj as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.push([prefix, '{}']);
    for (const [k, v] of entries) flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    let s: string;
    if (typeof obj === 'number') s = formatNumber(obj);
    else if (typeof obj === 'string') s = obj;
    else if (obj === undefined) s = 'undefined';
    else s = JSON.stringify(obj) ?? String(obj);
    out.push([prefix || '(value)', s.length > 200 ? `${s.slice(0, 197)}...` : s]);
  }
  return out;
}

export const REPORT_CSS = `
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; margin: 24px auto; max-width: 1180px; color: #222; background: #fff; }
h1 { font-size: 24px; margin-bottom: 4px; }
h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #666; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f4f4f4; }
td:not(:first-child) { font-variant-numeric: tabular-nums; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 12px; color: #555; }
.missing { color: #a33; font-size: 13px; }
ul.notes li { margin: 2px 0; }
`;
