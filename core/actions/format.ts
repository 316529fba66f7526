/**
 * Action → text, in the exact grammar the policy is asked to emit. Coordinates are rounded to
 * integers: MLLMs are prompted for integer pixels, and the embedded policy's coordinate tokens are
 * whole pixels after de-binning, so the canonical text carries no spurious decimals.
 */
import type { Box, Point } from '../geometry/index.ts';
import type { PointAction } from './types.ts';

function int(v: number): number {
  // Math.round(-0.4) is -0; JSON.stringify renders it as 0 either way, but keep the value clean.
  return Math.round(v) + 0;
}

function pointText(p: Point | null): string {
  return p ? `[${int(p[0])},${int(p[1])}]` : 'null';
}

/** `{"bbox_2d":[x1,y1,x2,y2]}` with integer coordinates. */
export function formatBoxAction(box: Box): string {
  return `{"bbox_2d":[${int(box[0])},${int(box[1])},${int(box[2])},${int(box[3])}]}`;
}

/** `{"positive_point":[x,y]|null,"negative_point":[x,y]|null}` with integer coordinates. */
export function formatPointAction(a: Pick<PointAction, 'positive' | 'negative'>): string {
  return `{"positive_point":${pointText(a.positive)},"negative_point":${pointText(a.negative)}}`;
}
