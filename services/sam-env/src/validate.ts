/**
 * Request validation against the image and the model's limits. Every failure is a ValidationError
 * (→ INVALID_ARGUMENT) or ResourceExhaustedError (→ RESOURCE_EXHAUSTED) naming the field path and
 * quoting the value, e.g. `prompt.box [40, 5, 3, 60] has x2 < x1`.
 */
import { ResourceExhaustedError, ValidationError } from '../../../core/errors/index.ts';
import { validateBox, validatePoint } from '../../../core/geometry/index.ts';
import type { EnvPrompt } from '../../../core/wire/index.ts';
import type { EnvImage, ModelInfo, TransitionPrompt } from './model.ts';
import { rleToMask } from '../../../core/wire/index.ts';

/** An empty `model` means "any"; otherwise it must equal the served model's id or family. */
export function validateModelName(model: string, info: ModelInfo, field = 'model'): void {
  if (model === '' || model === info.id || model === info.family) return;
  throw new ValidationError(
    field,
    model,
    `is not served here (this server runs ${info.id}, family ${info.family})`,
  );
}

export function validateGroupSize(n: number, maxGroupSize: number, field = 'prompts'): void {
  if (n === 0) throw new ValidationError(field, [], 'must contain at least one prompt');
  if (n > maxGroupSize)
    throw new ResourceExhaustedError(field, n, `exceeds the max group size of ${maxGroupSize} prompts`);
}

/** The checks both prompt forms share: the box, the points and the previous logits. */
function checkPromptGeometry(
  p: Pick<EnvPrompt, 'box' | 'points' | 'prevLogits'>,
  image: EnvImage,
  info: ModelInfo,
  field: string,
): Pick<TransitionPrompt, 'box' | 'points' | 'prevLogits'> {
  const size = { width: image.width, height: image.height };
  const box = validateBox(p.box, size, `${field}.box`);
  if (p.points.length > info.maxPoints) {
    throw new ValidationError(
      `${field}.points`,
      p.points.length,
      `has more than the limit of ${info.maxPoints} points`,
    );
  }
  const points = p.points.map((pt, i) => ({
    point: validatePoint(pt.point, size, `${field}.points[${i}].point`),
    label: pt.label,
  }));
  if (!p.prevLogits) return { box, points };
  const l = p.prevLogits;
  if (!info.supportsMaskInput) {
    throw new ValidationError(
      `${field}.prevLogits`,
      `${l.width}x${l.height}`,
      `is not accepted by ${info.id} (no mask input)`,
    );
  }
  if (l.width !== info.lowResSize || l.height !== info.lowResSize) {
    throw new ValidationError(
      `${field}.prevLogits`,
      `${l.width}x${l.height}`,
      `has the wrong size; ${info.id} takes ${info.lowResSize}x${info.lowResSize} logits`,
    );
  }
  for (let i = 0; i < l.data.length; i++) {
    if (!Number.isFinite(l.data[i])) {
      throw new ValidationError(`${field}.prevLogits.data[${i}]`, l.data[i], 'must be finite');
    }
  }
  return { box, points, prevLogits: l };
}

function checkMaskSize(mask: { width: number; height: number }, image: EnvImage, field: string): void {
  if (mask.width !== image.width || mask.height !== image.height) {
    throw new ValidationError(
      `${field}.prevMask`,
      `${mask.width}x${mask.height}`,
      `does not match the ${image.width}x${image.height} image`,
    );
  }
}

/** Checks one wire prompt against the image and model and converts it into the model's prompt type. */
export function validatePrompt(
  p: EnvPrompt,
  image: EnvImage,
  info: ModelInfo,
  field = 'prompt',
): TransitionPrompt {
  const checked = checkPromptGeometry(p, image, info, field);
  if (!p.prevMask) return checked;
  checkMaskSize(p.prevMask, image, field);
  return { ...checked, prevMask: rleToMask(p.prevMask, `${field}.prevMask`) };
}

/**
 * The same checks for a prompt built in this process (LocalEnv, the worker pool): in-process callers
 * get the errors a gRPC caller would, naming the field and the value, instead of a silent empty mask.
 */
export function validateLocalPrompt(
  p: TransitionPrompt,
  image: EnvImage,
  info: ModelInfo,
  field: string,
): TransitionPrompt {
  const checked = checkPromptGeometry(p, image, info, field);
  if (!p.prevMask) return checked;
  checkMaskSize(p.prevMask, image, field);
  return { ...checked, prevMask: p.prevMask };
}
