/**
 * Loads a service configuration once, at start: schema defaults ← JSON file ← environment
 * variables ← explicit overrides, deep-merged (objects merge, arrays and scalars replace), then
 * validated by the zod schema in one pass. Any problem throws a ConfigError listing every bad key.
 *
 * Environment variables: `<prefix><SECTION>__<KEY>`, nesting with `__`, e.g.
 * `SAMV_LEARNER__BATCH_STATES=16` → `learner.batchStates = 16`. Segments are matched to the
 * schema's keys ignoring case and underscores (`BATCH_STATES` ↔ `batchStates`); where the schema
 * cannot say, SNAKE_CASE becomes camelCase. Values are read as JSON when they parse (`16`, `true`,
 * `["a","b"]`, `{"x":1}`), except for string-typed keys, which keep the raw text; a string-array
 * key also accepts a comma-separated list (`a:1,b:2`).
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { ConfigError } from './config-error.ts';
import type { ConfigIssue } from './config-error.ts';

export interface LoadConfigOptions {
  /** Path of a JSON config file (optional). */
  readonly file?: string | undefined;
  /** Environment to read; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Variable prefix; default `SAMV_`. */
  readonly prefix?: string;
  /** Highest-precedence values (e.g. CLI flags), as a partial nested object. */
  readonly overrides?: Record<string, unknown>;
  /**
   * What to do with a prefixed variable whose path names no key of the schema: `error` (default;
   * catches typos such as SAMV_LEARNER__BATCH_STATE) or `ignore`.
   */
  readonly unknownEnv?: 'error' | 'ignore';
}

type Plain = Record<string, unknown>;

interface ZodDefLike {
  readonly type: string;
  readonly shape?: Record<string, unknown>;
  readonly innerType?: unknown;
  readonly in?: unknown;
  readonly element?: unknown;
}

function defOf(schema: unknown): ZodDefLike | undefined {
  const zod = (schema as { _zod?: { def?: ZodDefLike } } | undefined)?._zod;
  return zod?.def;
}

/** Strips default/prefault/optional/nullable/pipe wrappers. */
function unwrap(schema: unknown): ZodDefLike | undefined {
  let def = defOf(schema);
  for (let i = 0; def && i < 16; i++) {
    if (
      def.innerType !== undefined &&
      ['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(def.type)
    ) {
      def = defOf(def.innerType);
    } else if (def.type === 'pipe' && def.in !== undefined) def = defOf(def.in);
    else break;
  }
  return def;
}

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const prev = out[k];
    out[k] = isPlain(prev) && isPlain(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

function normKey(k: string): string {
  return k.toLowerCase().replaceAll('_', '').replaceAll('-', '');
}

function camel(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

interface EnvEntry {
  readonly path: string[];
  readonly value: unknown;
  readonly name: string;
  readonly known: boolean;
}

function envEntry(name: string, raw: string, rest: string, schema: unknown): EnvEntry {
  const segments = rest.split('__').filter((s) => s.length > 0);
  const path: string[] = [];
  let def = unwrap(schema);
  let known = true;
  for (const seg of segments) {
    const shape = def?.type === 'object' ? def.shape : undefined;
    const match = shape ? Object.keys(shape).find((k) => normKey(k) === normKey(seg)) : undefined;
    if (shape && !match) known = false;
    path.push(match ?? camel(seg));
    def = match && shape ? unwrap(shape[match]) : undefined;
  }
  return { path, value: readEnvValue(raw, def), name, known };
}

function readEnvValue(raw: string, leaf: ZodDefLike | undefined): unknown {
  if (leaf && (leaf.type === 'string' || leaf.type === 'enum' || leaf.type === 'template_literal'))
    return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    if (leaf?.type === 'array') {
      const el = unwrap(leaf.element);
      if (!el || el.type === 'string') {
        return raw
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0);
      }
    }
    return raw;
  }
}

function setPath(target: Plain, path: readonly string[], value: unknown): void {
  let node = target;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i] as string;
    const next = node[k];
    if (!isPlain(next)) node[k] = {};
    node = node[k] as Plain;
  }
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

function getPath(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const k of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[k];
  }
  return node;
}

function readFile(file: string): Plain {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(
      [
        {
          path: '',
          value: file,
          problem: `config file could not be read: ${(e as Error).message}`,
          source: `file ${file}`,
        },
      ],
      { cause: e },
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(
      [
        {
          path: '',
          value: file,
          problem: `is not valid JSON: ${(e as Error).message}`,
          source: `file ${file}`,
        },
      ],
      { cause: e },
    );
  }
  if (!isPlain(data))
    throw new ConfigError([
      { path: '', value: data, problem: 'must be a JSON object', source: `file ${file}` },
    ]);
  return data;
}

/** Turns a zod issue into "what is wrong" text without the key path (that is printed separately). */
function problemOf(issue: z.core.$ZodIssue, value: unknown): string {
  switch (issue.code) {
    case 'too_small': {
      const op = issue.inclusive === false ? '>' : '>=';
      if (issue.origin === 'array' || issue.origin === 'set')
        return `must have ${op} ${String(issue.minimum)} items`;
      if (issue.origin === 'string') return `must have ${op} ${String(issue.minimum)} characters`;
      return `must be ${op} ${String(issue.minimum)}`;
    }
    case 'too_big': {
      const op = issue.inclusive === false ? '<' : '<=';
      if (issue.origin === 'array' || issue.origin === 'set')
        return `must have ${op} ${String(issue.maximum)} items`;
      if (issue.origin === 'string') return `must have ${op} ${String(issue.maximum)} characters`;
      return `must be ${op} ${String(issue.maximum)}`;
    }
    case 'invalid_type':
      if (value === undefined) return 'is required';
      return `must be ${issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return `must be a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'unrecognized_keys':
      return 'is not a known key';
    default:
      return issue.message;
  }
}

/**
 * Merges defaults ← file ← env ← overrides and validates against `schema` once.
 * @throws ConfigError listing every bad key path, value, reason and source.
 */
export function loadConfig<S extends z.ZodType>(schema: S, options: LoadConfigOptions = {}): z.output<S> {
  const prefix = options.prefix ?? 'SAMV_';
  const env = options.env ?? process.env;
  const sources = new Map<string, string>();
  const fileData = options.file ? readFile(options.file) : {};
  const envData: Plain = {};
  const unknown: ConfigIssue[] = [];
  for (const name of Object.keys(env).sort()) {
    const raw = env[name];
    if (raw === undefined || !name.startsWith(prefix)) continue;
    const entry = envEntry(name, raw, name.slice(prefix.length), schema);
    if (entry.path.length === 0) continue;
    if (!entry.known) {
      if (options.unknownEnv !== 'ignore') {
        unknown.push({
          path: entry.path.join('.'),
          value: raw,
          problem: 'is not a known key',
          source: `env ${name}`,
        });
      }
      continue;
    }
    setPath(envData, entry.path, entry.value);
    sources.set(entry.path.join('.'), `env ${name}`);
  }
  if (unknown.length > 0) throw new ConfigError(unknown);
  const overrides = options.overrides ?? {};
  recordLeaves(overrides, [], sources, 'override');
  const merged = deepMerge(deepMerge(fileData, envData), overrides);
  const result = schema.safeParse(merged);
  if (result.success) return result.data;
  const issues: ConfigIssue[] = [];
  for (const issue of result.error.issues) {
    const keys =
      issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    for (const p of keys) {
      const path = p.map(String).join('.');
      const value = getPath(merged, p);
      issues.push({
        path,
        value,
        problem: problemOf(issue, value),
        source: sourceOf(path, sources, fileData, p, options.file),
      });
    }
  }
  throw new ConfigError(issues);
}

function recordLeaves(obj: Plain, prefix: string[], sources: Map<string, string>, label: string): void {
  for (const [k, v] of Object.entries(obj)) {
    const p = [...prefix, k];
    if (isPlain(v)) recordLeaves(v, p, sources, label);
    else sources.set(p.join('.'), label);
  }
}

function sourceOf(
  path: string,
  sources: Map<string, string>,
  fileData: Plain,
  p: readonly PropertyKey[],
  file: string | undefined,
): string {
  // The most specific recorded source at or above this path (env/override set whole subtrees).
  const parts = path.split('.');
  for (let n = parts.length; n > 0; n--) {
    const s = sources.get(parts.slice(0, n).join('.'));
    if (s) return s;
  }
  if (file && getPath(fileData, p) !== undefined) return `file ${file}`;
  return 'default';
}
