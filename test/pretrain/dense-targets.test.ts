/** Dense per-patch targets of synthetic samples: what each patch covers, counted pixel by pixel. */
import { describe, expect, it } from 'vitest';
import { SHAPES, generateSynthetic } from '../../core/data/index.ts';
import { ValidationError } from '../../core/errors/index.ts';
import { BinaryMask } from '../../core/mask/index.ts';
import { resolvePolicyConfig } from '../../core/policy/index.ts';
import { DENSE_CLASSES, denseTargetsOf } from '../../core/pretrain/index.ts';
import { exampleEncoder, freshExample } from '../../core/pretrain/fresh-examples.ts';
import { TINY } from '../policy/fixtures.ts';

describe('denseTargetsOf', () => {
  it('gives each patch its target coverage and class shares, as counted pixel by pixel', () => {
    for (const [index, grid] of [
      [3, 8],
      [11, 5],
    ] as const) {
      // A size the grid does not divide (100 / 8 and 100 / 5 rows per patch are not both whole).
      const { sample, scene } = generateSynthetic('train', index, { seed: 4, size: 100 });
      const d = denseTargetsOf(scene, sample.gtMask, grid);
      const P = grid * grid;
      expect(d.coverage).toHaveLength(P);
      expect(d.classes).toHaveLength(P * DENSE_CLASSES);
      // Brute force: the patch of every pixel by its normalised position.
      const count = new Float64Array(P);
      const target = new Float64Array(P);
      const shares = new Float64Array(P * DENSE_CLASSES);
      for (let y = 0; y < scene.height; y++) {
        for (let x = 0; x < scene.width; x++) {
          const p = Math.floor((y / scene.height) * grid) * grid + Math.floor((x / scene.width) * grid);
          const i = y * scene.width + x;
          count[p] = (count[p] as number) + 1;
          target[p] = (target[p] as number) + (sample.gtMask.data[i] as number);
          const label = scene.labels[i] as number;
          const cls =
            label < 0 ? 0 : 1 + SHAPES.indexOf(scene.objects[label]?.shape as (typeof SHAPES)[number]);
          const k = p * DENSE_CLASSES + cls;
          shares[k] = (shares[k] as number) + 1;
        }
      }
      for (let p = 0; p < P; p++) {
        expect(d.coverage[p]).toBeCloseTo((target[p] as number) / (count[p] as number), 6);
        let sum = 0;
        for (let c = 0; c < DENSE_CLASSES; c++) {
          expect(d.classes[p * DENSE_CLASSES + c]).toBeCloseTo(
            (shares[p * DENSE_CLASSES + c] as number) / (count[p] as number),
            6,
          );
          sum += d.classes[p * DENSE_CLASSES + c] as number;
        }
        expect(sum).toBeCloseTo(1, 5);
      }
      // The target is covered somewhere, and its patches show its own shape.
      const targetClass =
        1 +
        SHAPES.indexOf(
          scene.objects.find((o) => o.id === scene.labels[sample.gtMask.data.indexOf(1)])
            ?.shape as (typeof SHAPES)[number],
        );
      const best = d.coverage.indexOf(Math.max(...d.coverage));
      expect(d.coverage[best]).toBeGreaterThan(0);
      expect(d.classes[best * DENSE_CLASSES + targetClass]).toBeGreaterThanOrEqual(
        d.coverage[best] as number,
      );
    }
  });

  it('rejects a target mask of another size, naming it', () => {
    const { scene } = generateSynthetic('train', 0, { seed: 4, size: 64 });
    expect(() => denseTargetsOf(scene, new BinaryMask(32, 64), 8)).toThrow(ValidationError);
    expect(() => denseTargetsOf(scene, new BinaryMask(32, 64), 8)).toThrow(
      /target "32x64" must be the scene.s 64x64/,
    );
  });

  it('are attached to fresh examples only for an architecture with dense heads', () => {
    const plain = freshExample(exampleEncoder(resolvePolicyConfig(TINY)), 17, 5);
    expect(plain.box[1].dense).toBeUndefined();
    expect(plain.aux![1].dense).toBeUndefined();
    const config = resolvePolicyConfig({ ...TINY, denseClasses: DENSE_CLASSES });
    const e = freshExample(exampleEncoder(config), 17, 5);
    const { sample, scene } = generateSynthetic('train', 17, { seed: 5 });
    const grid = TINY.viewSize / TINY.patchSize;
    const expected = denseTargetsOf(scene, sample.gtMask, grid);
    expect(e.box[1].dense?.coverage).toEqual(expected.coverage);
    expect(e.aux![1].dense?.classes).toEqual(expected.classes);
    // The token targets themselves are unchanged by the dense ones.
    expect(e.box[1].ids).toEqual(plain.box[1].ids);
    expect(e.aux![1].ids).toEqual(plain.aux![1].ids);
  });
});
