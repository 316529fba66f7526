/**
 * Text → action, tolerant of what MLLMs really emit: reasoning text around the JSON, `<answer>`
 * tags, ```json fences, single quotes, trailing commas, Python `None`, a one-element list around the
 * object, float coordinates. Strict about meaning: wrong arity, NaN/Infinity, x2 < x1, and (when the
 * image size is given) coordinates outside the image are format errors naming the field.
 * The parsers never throw; they return `{ ok: false, error }` with an {@link ActionFormatError}.
 */
import { ValidationError, formatValue } from '../errors/index.ts';
import { validateBox, validatePoint } from '../geometry/index.ts';
import type { Box, ImageSize, Point } from '../geometry/index.ts';
import { findBracketSpans, LenientJsonError, parseLenientJson } from './lenient-json.ts';
import type { LenientValue } from './lenient-json.ts';
import { ActionFormatError } from './types.ts';
import type { BoxAction, ParseResult, PointAction } from './types.ts';

export interface ParseActionOptions {
  /**
   * Clamp coordinates that fall outside the image onto it instead of rejecting them (a box
   * entirely outside is still an error). Default false: training rewards the policy for staying
   * inside the image, so an outside coordinate is a format error.
   */
  readonly clamp?: boolean;
}

type JsonObject = { [key: string]: LenientValue };

/** Parses `{"bbox_2d":[x1,y1,x2,y2]}` out of model text. */
export function parseBoxAction(
  text: string,
  size?: ImageSize,
  options: ParseActionOptions = {},
): ParseResult<BoxAction> {
  const found = findActionObject(text, ['bbox_2d']);
  if (!found.ok) return found;
  const raw = found.object['bbox_2d'];
  const nums = readNumbers(raw, 4, 'bbox_2d', '[x1, y1, x2, y2]');
  if (!nums.ok) return nums;
  try {
    const box: Box = size
      ? validateBox(nums.values, size, 'bbox_2d', options.clamp ?? false)
      : checkOrder(nums.values as unknown as Box);
    return { ok: true, action: { kind: 'box', box } };
  } catch (e) {
    return fail(asFormatError(e, raw));
  }
}

/** Parses `{"positive_point":[x,y]|null,"negative_point":[x,y]|null}` out of model text. */
export function parsePointAction(
  text: string,
  size?: ImageSize,
  options: ParseActionOptions = {},
): ParseResult<PointAction> {
  const found = findActionObject(text, ['positive_point', 'negative_point']);
  if (!found.ok) return found;
  const positive = readPoint(found.object, 'positive_point', size, options);
  if (!positive.ok) return positive;
  const negative = readPoint(found.object, 'negative_point', size, options);
  if (!negative.ok) return negative;
  return { ok: true, action: { kind: 'points', positive: positive.point, negative: negative.point } };
}

function fail(error: ActionFormatError): { ok: false; error: ActionFormatError } {
  return { ok: false, error };
}

function checkOrder(box: Box): Box {
  if (box[2] < box[0]) throw new ValidationError('bbox_2d', box, 'has x2 < x1');
  if (box[3] < box[1]) throw new ValidationError('bbox_2d', box, 'has y2 < y1');
  return box;
}

/** Re-labels a geometry ValidationError as a format error, keeping its field and problem text. */
function asFormatError(e: unknown, raw: unknown): ActionFormatError {
  if (e instanceof ValidationError) {
    const prefix = `${e.field} ${formatValue(e.value)} `;
    const problem = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
    return new ActionFormatError('bad_value', e.field, raw, problem);
  }
  return new ActionFormatError('bad_value', 'action', raw, `could not be read: ${String(e)}`);
}

/** The text the action should be in: the last `<answer>` block if there is one, else everything. */
function answerText(text: string): string {
  const open = /<answer>/gi;
  let last = -1;
  for (let m = open.exec(text); m; m = open.exec(text)) last = m.index + m[0].length;
  if (last < 0) return text;
  const rest = text.slice(last);
  const close = /<\/answer>/i.exec(rest);
  return close ? rest.slice(0, close.index) : rest;
}

function findActionObject(
  text: string,
  keys: readonly string[],
): { ok: true; object: JsonObject } | { ok: false; error: ActionFormatError } {
  const field = keys.length === 1 ? (keys[0] as string) : 'action';
  if (typeof text !== 'string') {
    return fail(new ActionFormatError('no_json', 'action', text, 'must be a string'));
  }
  const scope = answerText(text);
  const spans = findBracketSpans(scope).filter((s) => keys.some((k) => s.includes(k)));
  // Without a keyed object, accept bare pairs such as `bbox_2d: [1, 2, 3, 4]` in prose.
  if (spans.length === 0) spans.push(...barePairs(scope, keys));
  if (spans.length === 0) spans.push(...findBracketSpans(scope));
  if (spans.length === 0) {
    return fail(
      new ActionFormatError(
        'no_json',
        'action',
        clip(scope),
        `contains no JSON object with ${keys.join('/')}`,
      ),
    );
  }
  // The answer is normally last (models reason first): take the last span that names a key.
  const span = spans[spans.length - 1] as string;
  let value: LenientValue;
  try {
    value = parseLenientJson(span);
  } catch (e) {
    const why = e instanceof LenientJsonError ? e.message : String(e);
    return fail(new ActionFormatError('syntax', 'action', clip(span), `is not valid JSON (${why})`));
  }
  if (Array.isArray(value)) {
    const objects = value.filter((v) => isObject(v));
    if (value.length !== 1 || objects.length !== 1) {
      return fail(
        new ActionFormatError(
          'bad_value',
          'action',
          value,
          `must be one object, not a list of ${value.length} items`,
        ),
      );
    }
    value = objects[0] as JsonObject;
  }
  if (!isObject(value)) {
    return fail(
      new ActionFormatError('missing_field', field, value, `is not an object with ${keys.join('/')}`),
    );
  }
  if (!keys.some((k) => k in value)) {
    return fail(
      new ActionFormatError(
        'missing_field',
        field,
        undefined,
        `is missing (keys present: ${Object.keys(value).join(', ') || 'none'})`,
      ),
    );
  }
  return { ok: true, object: value };
}

/** `key: [..]` / `key = null` pairs outside any braces, rebuilt as one object text (or nothing). */
function barePairs(text: string, keys: readonly string[]): string[] {
  const parts: string[] = [];
  for (const k of keys) {
    const re = new RegExp(`["']?${k}["']?\\s*[:=]\\s*(\\[[^\\[\\]]*\\]|null|none)`, 'gi');
    let last: string | undefined;
    for (let m = re.exec(text); m; m = re.exec(text)) last = m[1];
    if (last !== undefined) parts.push(`"${k}": ${last}`);
  }
  return parts.length > 0 ? [`{${parts.join(', ')}}`] : [];
}

function isObject(v: LenientValue): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function readNumbers(
  raw: LenientValue | undefined,
  arity: number,
  field: string,
  shape: string,
): { ok: true; values: number[] } | { ok: false; error: ActionFormatError } {
  if (!Array.isArray(raw) || raw.length !== arity) {
    return fail(new ActionFormatError('bad_value', field, raw, `must be ${shape}`));
  }
  const values: number[] = [];
  for (const v of raw) {
    // Numbers written as strings ("120") are read; anything else is not a coordinate.
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
    if (!Number.isFinite(n)) {
      return fail(new ActionFormatError('bad_value', field, raw, 'must be finite numbers'));
    }
    values.push(n);
  }
  return { ok: true, values };
}

function readPoint(
  object: JsonObject,
  field: 'positive_point' | 'negative_point',
  size: ImageSize | undefined,
  options: ParseActionOptions,
): { ok: true; point: Point | null } | { ok: false; error: ActionFormatError } {
  const raw = object[field];
  // Absent key, null/None, "null" and [] all mean "no point of this kind".
  if (raw === undefined || raw === null) return { ok: true, point: null };
  if (typeof raw === 'string' && /^\s*(null|none)?\s*$/i.test(raw)) return { ok: true, point: null };
  if (Array.isArray(raw) && raw.length === 0) return { ok: true, point: null };
  const nums = readNumbers(raw, 2, field, '[x, y] or null');
  if (!nums.ok) return nums;
  if (!size) return { ok: true, point: [nums.values[0] as number, nums.values[1] as number] };
  try {
    return { ok: true, point: validatePoint(nums.values, size, field, options.clamp ?? false) };
  } catch (e) {
    return fail(asFormatError(e, raw));
  }
}
