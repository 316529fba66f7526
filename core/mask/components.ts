/**
 * Connected-component labelling of a binary mask by flood fill with an explicit stack (no
 * recursion, one pass over the pixels, each pixel pushed at most once).
 */
import { ValidationError } from '../errors/index.ts';
import type { BinaryMask } from './binary-mask.ts';
import type { Component, Components } from './types.ts';

/** 4-connectivity joins edge neighbours only; 8-connectivity joins diagonal neighbours too. */
export type Connectivity = 4 | 8;

/** Labels the foreground components of `mask` (labels are 1-based, in raster order of first pixel). */
export function connectedComponents(mask: BinaryMask, connectivity: Connectivity = 8): Components {
  if (connectivity !== 4 && connectivity !== 8) {
    throw new ValidationError('connectivity', connectivity, 'must be 4 or 8');
  }
  const { width: w, height: h, data } = mask;
  const labels = new Int32Array(w * h);
  // The stack grows on demand: most components are small, and fresh memory is not free.
  let stack = new Int32Array(Math.min(w * h, 4096));
  const components: Component[] = [];
  const diag = connectivity === 8;
  let next = 0;
  for (let start = 0; start < data.length; start++) {
    if (data[start] === 0 || labels[start] !== 0) continue;
    const label = ++next;
    let top = 0;
    stack[top++] = start;
    labels[start] = label;
    let area = 0;
    let x1 = w;
    let y1 = h;
    let x2 = -1;
    let y2 = -1;
    while (top > 0) {
      if (top + 8 > stack.length && stack.length < w * h) {
        const bigger = new Int32Array(Math.min(w * h, stack.length * 2));
        bigger.set(stack.subarray(0, top));
        stack = bigger;
      }
      const i = stack[--top]!;
      const y = (i / w) | 0;
      const x = i - y * w;
      area++;
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
      const left = x > 0;
      const right = x < w - 1;
      const up = y > 0;
      const down = y < h - 1;
      // Push each unlabelled foreground neighbour, labelling it at push time so it is pushed once.
      if (left && data[i - 1] !== 0 && labels[i - 1] === 0) {
        labels[i - 1] = label;
        stack[top++] = i - 1;
      }
      if (right && data[i + 1] !== 0 && labels[i + 1] === 0) {
        labels[i + 1] = label;
        stack[top++] = i + 1;
      }
      if (up) {
        const j = i - w;
        if (data[j] !== 0 && labels[j] === 0) {
          labels[j] = label;
          stack[top++] = j;
        }
        if (diag && left && data[j - 1] !== 0 && labels[j - 1] === 0) {
          labels[j - 1] = label;
          stack[top++] = j - 1;
        }
        if (diag && right && data[j + 1] !== 0 && labels[j + 1] === 0) {
          labels[j + 1] = label;
          stack[top++] = j + 1;
        }
      }
      if (down) {
        const j = i + w;
        if (data[j] !== 0 && labels[j] === 0) {
          labels[j] = label;
          stack[top++] = j;
        }
        if (diag && left && data[j - 1] !== 0 && labels[j - 1] === 0) {
          labels[j - 1] = label;
          stack[top++] = j - 1;
        }
        if (diag && right && data[j + 1] !== 0 && labels[j + 1] === 0) {
          labels[j + 1] = label;
          stack[top++] = j + 1;
        }
      }
    }
    components.push({ label, area, bbox: [x1, y1, x2 + 1, y2 + 1] });
  }
  return { labels, components };
}
