/**
 * Contact sheets: a grid of image tiles, each with a caption underneath, as one PNG. Tiles are the
 * image with the ground truth drawn the way the policy sees masks (green translucent overlay) and
 * the GT box outlined; ignore regions are shaded grey. Text is drawn by compositing an SVG (librsvg
 * through sharp), so no font rendering code lives here.
 */
import type { Sharp } from 'sharp';
import { ValidationError } from '../errors/index.ts';
import { overlayRgb } from '../mask/index.ts';
import type { RgbImage, Sample } from './sample.ts';

export interface SheetTile {
  readonly image: RgbImage;
  /** Caption lines; the first is drawn bold and wrapped, the others small on one line each. */
  readonly lines: readonly string[];
}

export interface SheetOptions {
  /** Tiles per row (default 4). */
  columns?: number;
  /** Tile side in pixels; images are scaled to fit, keeping their aspect (default 256). */
  tile?: number;
  /** Caption font size in pixels (default 13). */
  fontSize?: number;
}

export interface ContactSheetOptions extends SheetOptions {
  /** Overlay opacity of the GT mask (default 0.45). */
  alpha?: number;
  /** Outline the GT box (default true). */
  showBox?: boolean;
}

function escapeXml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );
}

/** Greedy word wrap to at most `maxLines` lines of `maxChars` (last line ends in "…" if cut). */
export function wrapText(text: string, maxChars: number, maxLines: number): string[] {
  const words = text.split(/\s+/).filter((w) => w !== '');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    const next = line === '' ? w : `${line} ${w}`;
    if (next.length <= maxChars || line === '') {
      line = next.length > maxChars ? `${next.slice(0, maxChars - 1)}…` : next;
    } else {
      lines.push(line);
      line = w;
    }
  }
  if (line !== '') lines.push(line);
  if (lines.length > maxLines) {
    const kept = lines.slice(0, maxLines);
    const last = kept[maxLines - 1] as string;
    kept[maxLines - 1] = `${last.slice(0, Math.max(0, maxChars - 1))}…`;
    return kept;
  }
  return lines;
}

function truncate(s: string, maxChars: number): string {
  return s.length <= maxChars ? s : `${s.slice(0, maxChars - 1)}…`;
}

/** Lays tiles out in a grid with captions and encodes the sheet as PNG. */
export async function renderSheet(tiles: readonly SheetTile[], opts: SheetOptions = {}): Promise<Buffer> {
  if (tiles.length === 0) throw new ValidationError('tiles', tiles, 'must not be empty');
  const columns = Math.min(opts.columns ?? 4, tiles.length);
  const tile = opts.tile ?? 256;
  const fontSize = opts.fontSize ?? 13;
  if (!Number.isInteger(columns) || columns < 1)
    throw new ValidationError('columns', opts.columns, 'must be a positive integer');
  if (!Number.isInteger(tile) || tile < 32)
    throw new ValidationError('tile', tile, 'must be an integer >= 32');
  const { default: sharp } = await import('sharp');
  const pad = 6;
  const maxChars = Math.max(8, Math.floor((tile - 2 * pad) / (fontSize * 0.56)));
  const smallChars = Math.max(8, Math.floor((tile - 2 * pad) / (fontSize * 0.8 * 0.56)));
  const wrapped = tiles.map((t) => ({
    title: wrapText(t.lines[0] ?? '', maxChars, 3),
    rest: t.lines.slice(1).map((l) => truncate(l, smallChars)),
  }));
  const lineHeight = Math.round(fontSize * 1.25);
  const small = Math.round(fontSize * 0.8);
  const captionHeight =
    pad * 2 + Math.max(...wrapped.map((w) => w.title.length * lineHeight + w.rest.length * (small + 3)));
  const cellW = tile + pad;
  const cellH = tile + captionHeight + pad;
  const rows = Math.ceil(tiles.length / columns);
  const width = columns * cellW + pad;
  const height = rows * cellH + pad;

  const composites: Array<{ input: Buffer; top: number; left: number }> = [];
  const svg: string[] = [];
  for (const [k, t] of tiles.entries()) {
    const left = pad + (k % columns) * cellW;
    const top = pad + Math.floor(k / columns) * cellH;
    const resized: Sharp = sharp(t.image.rgb, {
      raw: { width: t.image.width, height: t.image.height, channels: 3 },
    }).resize(
      tile,
      tile,
      // Upscaled small images keep crisp pixels; large photos are downscaled smoothly.
      {
        fit: 'contain',
        background: { r: 24, g: 24, b: 24 },
        kernel: Math.max(t.image.width, t.image.height) > tile ? 'lanczos3' : 'nearest',
      },
    );
    composites.push({ input: await resized.png().toBuffer(), top, left });
    let y = top + tile + pad + fontSize;
    const w = wrapped[k] as { title: string[]; rest: string[] };
    for (const line of w.title) {
      svg.push(
        `<text x="${left}" y="${y}" font-size="${fontSize}" font-weight="bold" fill="#f2f2f2">${escapeXml(line)}</text>`,
      );
      y += lineHeight;
    }
    for (const line of w.rest) {
      svg.push(
        `<text x="${left}" y="${y - lineHeight + small + 3}" font-size="${small}" fill="#a8a8a8">${escapeXml(line)}</text>`,
      );
      y += small + 3;
    }
  }
  const text = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><g font-family="DejaVu Sans, Helvetica, Arial, sans-serif">${svg.join('')}</g></svg>`,
  );
  composites.push({ input: text, top: 0, left: 0 });
  return sharp({ create: { width, height, channels: 3, background: { r: 40, g: 40, b: 44 } } })
    .composite(composites)
    .png()
    .toBuffer();
}

/** A tile showing a sample: GT overlay (green), GT box, ignore region in grey; query and id as caption. */
export function sampleTile(sample: Sample, opts: ContactSheetOptions = {}): SheetTile {
  const alpha = opts.alpha ?? 0.45;
  let rgb = overlayRgb(sample.image, sample.gtMask, {
    alpha,
    ...(opts.showBox === false ? {} : { box: sample.gtBox }),
  });
  if (sample.ignore !== undefined) {
    rgb = overlayRgb({ ...sample.image, rgb }, sample.ignore, {
      alpha: 0.6,
      color: [128, 128, 128],
      outline: false,
    });
  }
  const template = sample.meta.template;
  return {
    image: { width: sample.image.width, height: sample.image.height, rgb },
    lines: [sample.query, `${sample.id}${typeof template === 'string' ? ` · ${template}` : ''}`],
  };
}

/** A PNG contact sheet of samples (see `sampleTile`). */
export async function renderContactSheet(
  samples: readonly Sample[],
  opts: ContactSheetOptions = {},
): Promise<Buffer> {
  return renderSheet(
    samples.map((s) => sampleTile(s, opts)),
    opts,
  );
}
