/**
 * A PNG sheet of episodes for eyeballing what the agent does: one row per episode, the query above
 * the row, then the image with the ground truth as a thin outline, then one cell per step — the
 * step's mask as the green overlay the policy sees, the box, and every click so far (positive
 * green, negative red) — captioned with the step type and its IoU. Text is an SVG layer composited
 * by sharp (librsvg), as in core/data's contact sheets.
 */
import type { Point } from '../geometry/index.ts';
import { ValidationError } from '../errors/index.ts';
import { BinaryMask, overlayRgb } from '../mask/index.ts';
import type { RgbImage } from '../mask/index.ts';
import type { Episode, EpisodeInput } from './agent-loop.ts';

export interface EpisodeSheetOptions {
  /** Rows drawn (the first episodes). Default 16. */
  readonly maxEpisodes?: number;
  /** Side of one image cell in pixels; images are scaled to fit. Default 160. */
  readonly cellSize?: number;
}

/** Pixel geometry of a sheet, exported so callers and tests can find a cell. */
export interface EpisodeSheetLayout {
  readonly width: number;
  readonly height: number;
  readonly rows: number;
  /** Cells per row: the GT cell plus the longest episode's steps. */
  readonly columns: number;
  readonly cellSize: number;
  /** Top-left pixel of the image part of cell (row, column); column 0 is the GT cell. */
  cellOrigin(row: number, column: number): { left: number; top: number };
}

const PAD = 6;
const HEADER = 20;
const CAPTION = 18;
const FONT = 12;
const GT_OUTLINE: readonly [number, number, number] = [255, 214, 0];

/** Layout of a sheet of `rows` episodes whose longest has `maxSteps` steps. */
export function episodeSheetLayout(rows: number, maxSteps: number, cellSize: number): EpisodeSheetLayout {
  const columns = 1 + maxSteps;
  const rowH = HEADER + cellSize + CAPTION + PAD;
  return {
    width: PAD + columns * (cellSize + PAD),
    height: PAD + rows * rowH,
    rows,
    columns,
    cellSize,
    cellOrigin: (row, column) => ({ left: PAD + column * (cellSize + PAD), top: PAD + row * rowH + HEADER }),
  };
}

function escapeXml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );
}

function clip(s: string, maxChars: number): string {
  return s.length <= maxChars ? s : `${s.slice(0, Math.max(1, maxChars - 1))}…`;
}

/** Renders the first episodes as a PNG; `inputs[i]` must be the sample of `episodes[i]`. */
export async function episodeSheetPng(
  episodes: readonly Episode[],
  inputs: readonly EpisodeInput[],
  opts: EpisodeSheetOptions = {},
): Promise<Buffer> {
  const maxEpisodes = opts.maxEpisodes ?? 16;
  const cellSize = opts.cellSize ?? 160;
  if (!Number.isInteger(maxEpisodes) || maxEpisodes < 1)
    throw new ValidationError('maxEpisodes', maxEpisodes, 'must be a positive integer');
  if (!Number.isInteger(cellSize) || cellSize < 16)
    throw new ValidationError('cellSize', cellSize, 'must be an integer >= 16');
  const shown = episodes.slice(0, maxEpisodes);
  if (shown.length === 0) throw new ValidationError('episodes', episodes, 'must not be empty');
  shown.forEach((e, i) => {
    const input = inputs[i];
    if (input === undefined || input.id !== e.sampleId) {
      throw new ValidationError(
        `inputs[${i}]`,
        input?.id,
        `must be the sample of episode ${JSON.stringify(e.sampleId)}`,
      );
    }
  });
  const layout = episodeSheetLayout(shown.length, Math.max(...shown.map((e) => e.steps.length)), cellSize);
  const { default: sharp } = await import('sharp');
  const cell = async (image: RgbImage, rgb: Uint8Array): Promise<Buffer> =>
    sharp(rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
      .resize(cellSize, cellSize, {
        fit: 'contain',
        background: { r: 24, g: 24, b: 24 },
        kernel: Math.max(image.width, image.height) > cellSize ? 'lanczos3' : 'nearest',
      })
      .png()
      .toBuffer();

  const composites: { input: Buffer; left: number; top: number }[] = [];
  const svg: string[] = [];
  const chars = Math.floor((cellSize - 2) / (FONT * 0.56));
  const rowChars = Math.floor((layout.width - 2 * PAD) / (FONT * 0.6));
  for (const [r, e] of shown.entries()) {
    const input = inputs[r] as EpisodeInput;
    const { left: rowLeft, top: rowTop } = layout.cellOrigin(r, 0);
    svg.push(
      `<text x="${rowLeft}" y="${rowTop - 6}" font-size="${FONT + 1}" font-weight="bold" fill="#f2f2f2">` +
        `${escapeXml(clip(`${e.sampleId}: “${e.query}”`, rowChars))}</text>`,
    );
    const gt = overlayRgb(input.image, input.gtMask, { alpha: 0, outline: true, color: GT_OUTLINE });
    composites.push({ input: await cell(input.image, gt), ...layout.cellOrigin(r, 0) });
    caption(svg, layout, r, 0, clip('GT', chars), '#ffd600');
    const positive: Point[] = [];
    const negative: Point[] = [];
    for (const [c, s] of e.steps.entries()) {
      if (s.action.kind === 'points') {
        if (s.action.positive) positive.push(s.action.positive);
        if (s.action.negative) negative.push(s.action.negative);
      }
      const rgb = overlayRgb(input.image, sizedMask(s.mask, input.image), {
        box: e.box,
        positive: positive.slice(),
        negative: negative.slice(),
      });
      composites.push({ input: await cell(input.image, rgb), ...layout.cellOrigin(r, c + 1) });
      const label = s.index === 0 ? 'box' : `${s.index}: ${s.type}`;
      caption(
        svg,
        layout,
        r,
        c + 1,
        clip(`${label} IoU ${s.iou.toFixed(3)}`, chars),
        s.type === 'stop' ? '#9ad0ff' : '#d8d8d8',
      );
    }
  }
  composites.push({
    input: Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}">` +
        `<g font-family="DejaVu Sans, Helvetica, Arial, sans-serif">${svg.join('')}</g></svg>`,
    ),
    left: 0,
    top: 0,
  });
  return sharp({
    create: { width: layout.width, height: layout.height, channels: 3, background: { r: 40, g: 40, b: 44 } },
  })
    .composite(composites)
    .png()
    .toBuffer();
}

function caption(
  svg: string[],
  layout: EpisodeSheetLayout,
  row: number,
  column: number,
  text: string,
  fill: string,
): void {
  const { left, top } = layout.cellOrigin(row, column);
  svg.push(
    `<text x="${left}" y="${top + layout.cellSize + FONT + 2}" font-size="${FONT}" fill="${fill}">${escapeXml(text)}</text>`,
  );
}

/** A step mask of another size (a misbehaving env) is drawn as empty rather than failing the sheet. */
function sizedMask(mask: BinaryMask, image: RgbImage): BinaryMask {
  return mask.width === image.width && mask.height === image.height
    ? mask
    : new BinaryMask(image.width, image.height);
}
