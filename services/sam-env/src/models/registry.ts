/**
 * The env-model registry: one place that turns a model spec into an EnvModel plugin. Heavy plugins
 * are imported lazily, so a GrabCut server never loads onnxruntime and vice versa.
 */
import { ValidationError } from '../../../../core/errors/index.ts';
import type { EnvModel } from '../model.ts';
import type { GrabCutOptions } from './grabcut.ts';
import type { Sam2OnnxOptions } from './sam2-onnx/index.ts';

export const ENV_MODEL_KINDS = ['grabcut', 'sam2-onnx'] as const;
export type EnvModelKind = (typeof ENV_MODEL_KINDS)[number];

export type EnvModelSpec =
  | { readonly kind: 'grabcut'; readonly options?: GrabCutOptions }
  | { readonly kind: 'sam2-onnx'; readonly options: Sam2OnnxOptions };

/** Creates (but does not initialise) the model; the server calls `init()` before serving. */
export async function createEnvModel(spec: EnvModelSpec): Promise<EnvModel> {
  switch (spec.kind) {
    case 'grabcut': {
      const { createGrabCutModel } = await import('./grabcut.ts');
      return createGrabCutModel(spec.options ?? {});
    }
    case 'sam2-onnx': {
      const { createSam2OnnxModel } = await import('./sam2-onnx/index.ts');
      return createSam2OnnxModel(spec.options);
    }
    default:
      throw new ValidationError(
        'model',
        (spec as { kind: unknown }).kind,
        `must be one of ${ENV_MODEL_KINDS.join(', ')}`,
      );
  }
}
