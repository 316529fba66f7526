/**
 * Renders what the policy sees after each SAM call: the image with the current mask as a
 * translucent layer (out = (1 − α)·image + α·colour on mask pixels), an optional solid outline
 * of the mask, the box prompt as a rectangle outline, and click prompts as dots — positive filled
 * green, negative filled red, both with a white rim so they stand out on any background.
 */
import { ValidationError } from '../errors/index.ts';
import type { Box, Point } from '../geometry/index.ts';
import { assertSameSize, type BinaryMask } from './binary-mask.ts';

/** An 8-bit RGB image, row-major, 3 bytes per pixel. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
}

export type Rgb = readonly [r: number, g: number, b: number];

export interface OverlayOptions {
  /** Box prompt to outline, in absolute pixels [x1, y1, x2, y2]. */
  box?: Box;
  /** Positive clicks (drawn green with a white rim). */
  positive?: readonly Point[];
  /** Negative clicks (drawn red with a white rim). */
  negative?: readonly Point[];
  /** Opacity of the mask layer in [0, 1] (default 0.45). */
  alpha?: number;
  /** Mask colour (default green [0, 255, 0]). */
  color?: Rgb;
  /** Draw the mask's boundary pixels in solid `color` (default true). */
  outline?: boolean;
  /** Box outline colour (default [30, 144, 255], blue). */
  boxColor?: Rgb;
  /** Box line width in pixels (default max(2, round(min(W, H) / 256))). */
  lineWidth?: number;
  /** Dot radius in pixels, rim excluded (default max(4, round(min(W, H) / 80))). */
  pointRadius?: number;
}

/** Default overlay colour and opacity of the mask layer (what `overlayRgb` draws without options). */
export const OVERLAY_COLOR: Rgb = [0, 255, 0];
export const OVERLAY_ALPHA = 0.45;
const POSITIVE: Rgb = OVERLAY_COLOR;
const NEGATIVE: Rgb = [255, 0, 0];
const WHITE: Rgb = [255, 255, 255];

/** Draws the overlay into a new buffer with `channels` (3 = RGB, 4 = RGBA, alpha 255). */
function render(image: RgbImage, mask: BinaryMask | null, opts: OverlayOptions, channels: 3 | 4): Uint8Array {
  const { width: w, height: h, rgb } = image;
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) {
    throw new ValidationError('image.size', [w, h], 'must be positive integers');
  }
  if (!(rgb instanceof Uint8Array) || rgb.length !== w * h * 3) {
    throw new ValidationError('image.rgb', rgb, `must be a Uint8Array of ${w}x${h}x3 = ${w * h * 3} bytes`);
  }
  const alpha = opts.alpha ?? OVERLAY_ALPHA;
  if (!(alpha >= 0 && alpha <= 1)) throw new ValidationError('alpha', alpha, 'must be in [0, 1]');
  const color = opts.color ?? POSITIVE;
  const out = new Uint8Array(w * h * channels);
  for (let i = 0, o = 0, s = 0; i < w * h; i++, o += channels, s += 3) {
    out[o] = rgb[s]!;
    out[o + 1] = rgb[s + 1]!;
    out[o + 2] = rgb[s + 2]!;
    if (channels === 4) out[o + 3] = 255;
  }
  const put = (x: number, y: number, c: Rgb): void => {
    const o = (y * w + x) * channels;
    out[o] = c[0];
    out[o + 1] = c[1];
    out[o + 2] = c[2];
  };

  if (mask) {
    assertSameSize(image, mask, 'mask');
    const md = mask.data;
    const outline = opts.outline ?? true;
    const [cr, cg, cb] = color;
    const keep = 1 - alpha;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        if (md[i] === 0) continue;
        const edge =
          outline &&
          (x === 0 ||
            y === 0 ||
            x === w - 1 ||
            y === h - 1 ||
            !md[i - 1] ||
            !md[i + 1] ||
            !md[i - w] ||
            !md[i + w]);
        if (edge) {
          put(x, y, color);
        } else {
          const o = i * channels;
          out[o] = Math.round(out[o]! * keep + cr * alpha);
          out[o + 1] = Math.round(out[o + 1]! * keep + cg * alpha);
          out[o + 2] = Math.round(out[o + 2]! * keep + cb * alpha);
        }
      }
    }
  }

  if (opts.box) {
    const lw = opts.lineWidth ?? Math.max(2, Math.round(Math.min(w, h) / 256));
    const c = opts.boxColor ?? [30, 144, 255];
    const [bx1, by1, bx2, by2] = opts.box.map((v, i) => {
      if (!Number.isFinite(v)) throw new ValidationError('box', opts.box, 'must be finite numbers');
      return Math.round(Math.min(Math.max(v, 0), i % 2 === 0 ? w : h));
    }) as [number, number, number, number];
    for (let y = by1; y < by2; y++) {
      for (let x = bx1; x < bx2; x++) {
        if (x < bx1 + lw || x >= bx2 - lw || y < by1 + lw || y >= by2 - lw) put(x, y, c);
      }
    }
  }

  const radius = opts.pointRadius ?? Math.max(4, Math.round(Math.min(w, h) / 80));
  const rim = Math.max(1, Math.round(radius / 3));
  const dot = (p: Point, fill: Rgb, field: string): void => {
    if (!Number.isFinite(p[0]) || !Number.isFinite(p[1]))
      throw new ValidationError(field, p, 'must be finite');
    const outer = radius + rim;
    for (let y = Math.max(0, Math.floor(p[1] - outer)); y < Math.min(h, Math.ceil(p[1] + outer)); y++) {
      for (let x = Math.max(0, Math.floor(p[0] - outer)); x < Math.min(w, Math.ceil(p[0] + outer)); x++) {
        const d = Math.hypot(x + 0.5 - p[0], y + 0.5 - p[1]);
        if (d <= radius) put(x, y, fill);
        else if (d <= outer) put(x, y, WHITE);
      }
    }
  };
  (opts.positive ?? []).forEach((p, i) => dot(p, POSITIVE, `positive[${i}]`));
  (opts.negative ?? []).forEach((p, i) => dot(p, NEGATIVE, `negative[${i}]`));
  return out;
}

/** The overlay as RGBA bytes (alpha 255), row-major. `mask` may be null for prompts only. */
export function renderOverlay(
  image: RgbImage,
  mask: BinaryMask | null,
  opts: OverlayOptions = {},
): Uint8Array {
  return render(image, mask, opts, 4);
}

/** The overlay as RGB bytes, row-major — what the policy model is shown. */
export function overlayRgb(image: RgbImage, mask: BinaryMask | null, opts: OverlayOptions = {}): Uint8Array {
  return render(image, mask, opts, 3);
}

/** The overlay encoded as PNG (RGBA) via sharp (loaded on first use, so importing masks stays light). */
export async function overlayPng(
  image: RgbImage,
  mask: BinaryMask | null,
  opts: OverlayOptions = {},
): Promise<Buffer> {
  const rgba = renderOverlay(image, mask, opts);
  const { default: sharp } = await import('sharp');
  return sharp(rgba, { raw: { width: image.width, height: image.height, channels: 4 } })
    .png()
    .toBuffer();
}

/**
 * The image under a default overlay (`overlayRgb(image, mask)`, no prompts), recovered from the
 * overlay and the mask: inside the mask out = (1 − α)·image + α·colour is inverted (to within a
 * level of rounding); the outline pixels, drawn solid, take the colour of a neighbour outside the
 * mask (at the image border, where there may be none, they stay as drawn). `into` is reused when
 * given.
 */
export function detintOverlay(
  overlay: Uint8Array,
  mask: { readonly width: number; readonly height: number; readonly data: Uint8Array },
  into?: Uint8Array,
): Uint8Array {
  const { width: w, height: h, data: md } = mask;
  const out = into && into.length === overlay.length ? into : new Uint8Array(overlay.length);
  out.set(overlay);
  const keep = 1 - OVERLAY_ALPHA;
  const [cr, cg, cb] = OVERLAY_COLOR;
  const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (md[i] === 0) continue;
      const o = 3 * i;
      const left = x > 0 && !md[i - 1];
      const right = x < w - 1 && !md[i + 1];
      const up = y > 0 && !md[i - w];
      const down = y < h - 1 && !md[i + w];
      if (left || right || up || down) {
        const j = 3 * (left ? i - 1 : right ? i + 1 : up ? i - w : i + w);
        out[o] = overlay[j]!;
        out[o + 1] = overlay[j + 1]!;
        out[o + 2] = overlay[j + 2]!;
      } else if (x > 0 && y > 0 && x < w - 1 && y < h - 1) {
        out[o] = clamp((overlay[o]! - OVERLAY_ALPHA * cr) / keep);
        out[o + 1] = clamp((overlay[o + 1]! - OVERLAY_ALPHA * cg) / keep);
        out[o + 2] = clamp((overlay[o + 2]! - OVERLAY_ALPHA * cb) / keep);
      }
    }
  }
  return out;
}
