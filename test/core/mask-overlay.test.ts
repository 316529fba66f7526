import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors/index.ts';
import { BinaryMask, overlayPng, overlayRgb, renderOverlay } from '../../core/mask/index.ts';

const W = 64;
const H = 48;
// Mid-grey image so the green tint is unambiguous.
const image = { width: W, height: H, rgb: new Uint8Array(W * H * 3).fill(100) };
const mask = new BinaryMask(W, H);
for (let y = 10; y < 30; y++) mask.data.fill(1, y * W + 20, y * W + 50);

function px(buf: Uint8Array, x: number, y: number, channels: number): number[] {
  const o = (y * W + x) * channels;
  return [...buf.subarray(o, o + channels)];
}

describe('overlay', () => {
  it('tints mask pixels green by alpha and leaves the rest untouched', () => {
    const rgba = renderOverlay(image, mask, { alpha: 0.5 });
    expect(rgba.length).toBe(W * H * 4);
    // Interior: 100·0.5 + [0,255,0]·0.5 = [50, 177.5→178, 50].
    expect(px(rgba, 30, 20, 4)).toEqual([50, 178, 50, 255]);
    // Boundary pixel is solid green (outline), outside is the image.
    expect(px(rgba, 20, 10, 4)).toEqual([0, 255, 0, 255]);
    expect(px(rgba, 5, 5, 4)).toEqual([100, 100, 100, 255]);
    expect(px(renderOverlay(image, mask, { alpha: 0.5, outline: false }), 20, 10, 4)).toEqual([
      50, 178, 50, 255,
    ]);
  });

  it('draws the box outline and positive/negative dots with a white rim', () => {
    const rgb = overlayRgb(image, null, {
      box: [2, 2, 40, 40],
      lineWidth: 2,
      positive: [[50.5, 10.5]],
      negative: [[50.5, 35.5]],
      pointRadius: 3,
    });
    expect(rgb.length).toBe(W * H * 3);
    expect(px(rgb, 2, 20, 3)).toEqual([30, 144, 255]);
    expect(px(rgb, 3, 20, 3)).toEqual([30, 144, 255]);
    expect(px(rgb, 4, 20, 3)).toEqual([100, 100, 100]);
    expect(px(rgb, 39, 39, 3)).toEqual([30, 144, 255]);
    expect(px(rgb, 50, 10, 3)).toEqual([0, 255, 0]);
    expect(px(rgb, 54, 10, 3)).toEqual([255, 255, 255]); // rim at distance 4
    expect(px(rgb, 50, 35, 3)).toEqual([255, 0, 0]);
    expect(px(rgb, 60, 35, 3)).toEqual([100, 100, 100]);
  });

  it('encodes a PNG that sharp decodes, green where the mask is', async () => {
    const png = await overlayPng(image, mask, { box: [18, 8, 52, 32] });
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([W, H, 4]);
    let greenInside = 0;
    let greenOutside = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const o = (y * W + x) * 4;
        const green = data[o + 1]! > data[o]! + 50 && data[o + 1]! > data[o + 2]! + 50;
        if (mask.get(x, y)) greenInside += green ? 1 : 0;
        else greenOutside += green ? 1 : 0;
      }
    }
    expect(greenInside).toBe(20 * 30);
    expect(greenOutside).toBe(0);
  });

  it('rejects a mask of another size and a short pixel buffer', () => {
    expect(() => renderOverlay(image, new BinaryMask(W, H + 1))).toThrow(ValidationError);
    expect(() => renderOverlay(image, new BinaryMask(W, H + 1))).toThrow(
      'mask "64x49" does not match the 64x48',
    );
    expect(() => renderOverlay({ width: W, height: H, rgb: new Uint8Array(10) }, null)).toThrow(
      'image.rgb <Uint8Array length 10> must be a Uint8Array of 64x48x3 = 9216 bytes',
    );
    expect(() => renderOverlay(image, null, { positive: [[NaN, 1]] })).toThrow(
      'positive[0] [NaN, 1] must be finite',
    );
  });
});
