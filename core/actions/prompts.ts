/**
 * Prompts for a remote MLLM policy (Qwen2.5-VL through an OpenAI-compatible endpoint), in the
 * spirit of the paper's localization prompt Q_B and refinement prompt Q_P. Written for this project;
 * the paper's exact wording is not public. Both ask for reasoning in `<think>` and the action in
 * `<answer>`, which the tolerant parsers read.
 */
import type { ImageSize } from '../geometry/index.ts';

/** Q_B: image + query → one box. `{query}`, `{width}`, `{height}` are substituted. */
export const LOCALIZATION_PROMPT_TEMPLATE = [
  'Find the object described by: "{query}".',
  'The image is {width} pixels wide and {height} pixels high; coordinates are absolute pixels,',
  'x to the right and y downward from the top-left corner.',
  'First think about which object the description refers to inside <think></think>.',
  'Then give one bounding box around the whole object inside <answer></answer>, exactly as',
  '{"bbox_2d": [x1, y1, x2, y2]} with integers, x1 < x2 and y1 < y2.',
].join('\n');

/** Q_P: image with the current mask as a green overlay + query → a point pair or stop. */
export const REFINEMENT_PROMPT_TEMPLATE = [
  'The green translucent region is a segmentation mask for: "{query}".',
  'The image is {width} pixels wide and {height} pixels high; coordinates are absolute pixels.',
  'Judge the mask inside <think></think>: where does it miss part of the object, and where does it',
  'cover things that are not the object?',
  'Then answer inside <answer></answer>, exactly as',
  '{"positive_point": [x, y] or null, "negative_point": [x, y] or null}',
  '- positive_point: the centre of the largest part of the object the mask misses;',
  '- negative_point: the centre of the largest region the mask wrongly covers;',
  '- both null when the mask is already good: that ends the interaction.',
].join('\n');

function fill(template: string, query: string, size: ImageSize): string {
  return template
    .replaceAll('{query}', query.replaceAll('"', "'"))
    .replaceAll('{width}', String(size.width))
    .replaceAll('{height}', String(size.height));
}

export function localizationPrompt(query: string, size: ImageSize): string {
  return fill(LOCALIZATION_PROMPT_TEMPLATE, query, size);
}

export function refinementPrompt(query: string, size: ImageSize): string {
  return fill(REFINEMENT_PROMPT_TEMPLATE, query, size);
}
