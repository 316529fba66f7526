import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  episodeSheetLayout,
  episodeSheetPng,
  type Episode,
  type EpisodeInput,
  type EpisodeStep,
} from '../../core/agent/index.ts';
import { ValidationError } from '../../core/errors/index.ts';
import { BinaryMask } from '../../core/mask/index.ts';

const W = 64;
const H = 48;

/** A flat grey image whose GT is a rectangle; step masks are given rectangles. */
function input(id: string): EpisodeInput {
  const gt = rect(10, 10, 40, 30);
  return {
    id,
    image: { width: W, height: H, rgb: new Uint8Array(W * H * 3).fill(128) },
    digest: id.padEnd(64, '0'),
    query: `the thing called ${id}`,
    gtMask: gt,
    gtBox: [10, 10, 40, 30],
  };
}

function rect(x1: number, y1: number, x2: number, y2: number): BinaryMask {
  const m = new BinaryMask(W, H);
  for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) m.data[y * W + x] = 1;
  return m;
}

function step(index: number, type: EpisodeStep['type'], mask: BinaryMask): EpisodeStep {
  return {
    index,
    action:
      index === 0
        ? { kind: 'box', box: [8, 8, 42, 32] }
        : {
            kind: 'points',
            positive: type === 'stop' ? null : [20, 20],
            negative: type === 'both' ? [50, 40] : null,
          },
    type,
    mask,
    iou: 0.5,
    intersection: 1,
    union: 2,
    predictedIou: 0.5,
  };
}

function episode(id: string, steps: EpisodeStep[]): Episode {
  return {
    sampleId: id,
    query: `the thing called ${id}`,
    box: [8, 8, 42, 32],
    boxIou: 0.9,
    steps,
    stoppedBy: 'limit',
    stopStep: null,
    finalMask: (steps[steps.length - 1] as EpisodeStep).mask,
    finalIou: 0.5,
  };
}

async function pixel(png: Buffer, x: number, y: number): Promise<[number, number, number]> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const o = (y * info.width + x) * info.channels;
  return [data[o] as number, data[o + 1] as number, data[o + 2] as number];
}

describe('episodeSheetPng', () => {
  // Episode a: box mask on the left half of the GT, then a refinement whose mask is the right part.
  const a = episode('a', [step(0, 'box', rect(10, 10, 25, 30)), step(1, 'both', rect(30, 12, 40, 30))]);
  const b = episode('b', [
    step(0, 'box', rect(10, 10, 40, 30)),
    step(1, 'positive', rect(10, 10, 40, 30)),
    step(2, 'stop', rect(10, 10, 40, 30)),
  ]);
  const cell = W; // one image pixel per sheet pixel (nearest, no scaling on the long side)

  it('has one row per episode and one column per step after the GT cell', async () => {
    const png = await episodeSheetPng([a, b], [input('a'), input('b')], { cellSize: cell });
    const meta = await sharp(png).metadata();
    const layout = episodeSheetLayout(2, 3, cell);
    expect(meta.format).toBe('png');
    expect([meta.width, meta.height]).toEqual([layout.width, layout.height]);
    expect(layout.columns).toBe(4);
    const only = await sharp(
      await episodeSheetPng([a, b], [input('a'), input('b')], { cellSize: cell, maxEpisodes: 1 }),
    ).metadata();
    expect([only.width, only.height]).toEqual([
      episodeSheetLayout(1, 2, cell).width,
      episodeSheetLayout(1, 2, cell).height,
    ]);
  });

  it("shows green where each step's mask is and not elsewhere", async () => {
    const png = await episodeSheetPng([a, b], [input('a'), input('b')], { cellSize: cell });
    const layout = episodeSheetLayout(2, 3, cell);
    // `contain` centres the 64x48 image in a 64x64 cell: rows are offset by 8.
    const at = async (row: number, col: number, x: number, y: number): Promise<[number, number, number]> => {
      const o = layout.cellOrigin(row, col);
      return pixel(png, o.left + x, o.top + 8 + y);
    };
    const isGreen = ([r, g, bl]: [number, number, number]): boolean => g > r + 40 && g > bl + 40;
    // Row a, step 0 (column 1): mask on x 10..24; step 1 (column 2): mask on x 30..39.
    expect(isGreen(await at(0, 1, 17, 22))).toBe(true);
    expect(isGreen(await at(0, 1, 35, 22))).toBe(false);
    expect(isGreen(await at(0, 2, 35, 22))).toBe(true);
    expect(isGreen(await at(0, 2, 13, 26))).toBe(false); // clear of the click dot at (20, 20)
    // Clicks so far: the negative click of step 1 at (50, 40) is a red dot in its cell, absent before.
    const red = ([r, g, bl]: [number, number, number]): boolean => r > g + 60 && r > bl + 60;
    expect(red(await at(0, 2, 50, 40))).toBe(true);
    expect(red(await at(0, 1, 50, 40))).toBe(false);
    // The GT cell shows the image, not a filled mask.
    expect(await at(0, 0, 25, 20)).toEqual([128, 128, 128]);
    // Row a has no third step: that cell is background.
    expect(isGreen(await at(0, 3, 25, 20))).toBe(false);
  });

  it('refuses inputs that do not belong to the episodes', async () => {
    const err = await episodeSheetPng([a], [input('b')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toBe('inputs[0] "b" must be the sample of episode "a"');
  });
});
