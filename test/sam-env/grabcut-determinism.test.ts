import { describe, expect, it } from 'vitest';
import { generateSample } from '../../core/data/index.ts';
import { LocalEnv } from '../../services/sam-env/index.ts';
import { createGrabCutModel } from '../../services/sam-env/src/models/grabcut.ts';

describe('GrabCut determinism', () => {
  it('gives the same mask for the same prompt whatever ran before it', async () => {
    const env = new LocalEnv(createGrabCutModel());
    const s = generateSample('id-val', 3, { seed: 1 });
    const t = generateSample('id-val', 4, { seed: 1 });
    const img = (x: typeof s) => ({
      digest: x.id,
      width: x.image.width,
      height: x.image.height,
      rgb: x.image.rgb,
    });
    const first = await env.transitionGroup(img(s), [{ box: s.gtBox, points: [] }]);
    // Other work on the same thread moves OpenCV's global RNG; the model must reseed it.
    await env.transitionGroup(img(t), [
      { box: t.gtBox, points: [] },
      { box: [0, 0, 120, 120], points: [] },
    ]);
    const again = await env.transitionGroup(img(s), [{ box: s.gtBox, points: [] }]);
    expect(Buffer.from(again[0]!.mask.data).equals(Buffer.from(first[0]!.mask.data))).toBe(true);
    await env.close();
  });
});
