/**
 * Shared SVG drawing helpers: XML escaping, the colour palette, the font stack and a width estimate
 * for laying out text (librsvg measures nothing for us, so legends use ~0.6 em per character, the
 * average advance of DejaVu Sans).
 */

/** Escapes text for XML/HTML element content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;',
  );
}

/** Categorical palette (colour-blind friendly "tab10"-like order). */
export const PALETTE: readonly string[] = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

export function paletteColor(i: number): string {
  return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length] as string;
}

export const FONT_FAMILY = 'DejaVu Sans, Arial, Helvetica, sans-serif';

/** Approximate rendered width of `text` at `fontSize` pixels. */
export function textWidth(text: string, fontSize: number): number {
  return text.length * fontSize * 0.6;
}

/** Number formatting for SVG coordinates: two decimals, no trailing noise. */
export function fmt(v: number): string {
  return (Math.round(v * 100) / 100).toString();
}

/** A `<text>` element. */
export function svgText(
  x: number,
  y: number,
  text: string,
  opts: {
    size?: number;
    anchor?: 'start' | 'middle' | 'end';
    weight?: string;
    fill?: string;
    rotate?: number;
  } = {},
): string {
  const size = opts.size ?? 12;
  const rot = opts.rotate ? ` transform="rotate(${opts.rotate} ${fmt(x)} ${fmt(y)})"` : '';
  return (
    `<text x="${fmt(x)}" y="${fmt(y)}" font-size="${size}" font-family="${FONT_FAMILY}"` +
    ` text-anchor="${opts.anchor ?? 'start'}" fill="${opts.fill ?? '#222'}"` +
    `${opts.weight ? ` font-weight="${opts.weight}"` : ''}${rot}>${escapeXml(text)}</text>`
  );
}

export interface LegendItem {
  readonly name: string;
  readonly color: string;
  /** Draw a filled square (bars) instead of a line swatch (lines). */
  readonly square?: boolean;
}

/**
 * A legend laid out left to right, wrapping at `maxWidth`. Returns the SVG and the height it uses.
 */
export function legendSvg(
  items: readonly LegendItem[],
  x: number,
  y: number,
  maxWidth: number,
): { svg: string; height: number } {
  const size = 11;
  const rowH = 16;
  let cx = x;
  let cy = y;
  const parts: string[] = [];
  for (const it of items) {
    const w = 22 + textWidth(it.name, size) + 14;
    if (cx > x && cx + w > x + maxWidth) {
      cx = x;
      cy += rowH;
    }
    const mid = cy + rowH / 2;
    parts.push(
      it.square
        ? `<rect x="${fmt(cx)}" y="${fmt(mid - 5)}" width="16" height="10" fill="${it.color}"/>`
        : `<line x1="${fmt(cx)}" y1="${fmt(mid)}" x2="${fmt(cx + 16)}" y2="${fmt(mid)}" stroke="${it.color}" stroke-width="2.5"/>`,
      svgText(cx + 22, mid + 4, it.name, { size }),
    );
    cx += w;
  }
  return { svg: parts.join(''), height: items.length ? cy - y + rowH : 0 };
}
